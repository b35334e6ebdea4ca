"""What a question asks for (an amount of money, a figure, a date or time, a person or body) and whether a
sentence holds such a thing that the question does not already name.

The patterns are lenient on purpose: a sentence that might answer keeps its place, only sentences without any
fitting thing are not quoted (docs/answers.md measures what this costs on MLQA-de dev). Numbers count in
digits („345.000“, „2,5“) and in words („drei“, „zweieinhalb“, „Hälfte“); dates as years, „15. November 2013“,
„12.03.2011“, months, weekdays, times of day and spans of time („einen Monat nach der Konferenz“).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = "ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun"
_NUMBER_WORD = re.compile(
    rf"\b(?:(?:{_UNITS})?(?:hundert|tausend))*(?:(?:{_UNITS})und)?"
    rf"(?:zehn|elf|zwölf|dreizehn|vierzehn|fünfzehn|sechzehn|siebzehn|achtzehn|neunzehn|"
    rf"zwanzig|dreißig|vierzig|fünfzig|sechzig|siebzig|achtzig|neunzig|{_UNITS}|hundert|tausend)(?:einhalb)?\b"
    r"|\b(?:millionen?|milliarden?|mio|mrd|tsd|dutzende?|hunderte|tausende|hälfte|drittel|viertel|doppelte?n?|"
    r"dreifache?n?|mehrere|einige|zahlreiche|wenige|anderthalb|eineinhalb|zweieinhalb|prozent)\b", re.IGNORECASE)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_MONEY = re.compile(
    r"\d[\d.,]*\s*(?:€|euro\b|eur\b|dollar\b|us-dollar\b|\$|pfund\b|£|franken\b|mark\b|dm\b|cent\b|prozent\b|%|"
    r"(?:tsd|mio|mrd)\.?\s*(?:€|euro\b)|(?:millionen|milliarden|tausend)\s+(?:€|euro\b|dollar\b|mark\b))"
    r"|(?:€|\$|£)\s*\d"
    r"|\b(?:kostenlos|kostenfrei|gebührenfrei|beitragsfrei|unentgeltlich|eigenanteil\w*|monatlich\w*\s+\d)\b",
    re.IGNORECASE)
_MONTHS = ("januar|jänner|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember|"
           r"jan\.|feb\.|mär\.|apr\.|jun\.|jul\.|aug\.|sept?\.|okt\.|nov\.|dez\.")
_DATE = re.compile(
    r"\b(?:1[0-9]{3}|20[0-9]{2})(?:er)?\b|\b\d{1,2}\.\s?\d{1,2}\.(?:\d{2,4})?|\b\d{1,2}(?:[:.]\d{2})?\s*uhr\b"
    rf"|(?<!\w)(?:{_MONTHS})(?!\w)"
    r"|\b(?:montags?|dienstags?|mittwochs?|donnerstags?|freitags?|samstags?|sonnabends?|sonntags?|werktags?|"
    r"jahrhunderts?|jahrzehnts?|jahrtausends?|frühjahr|frühling|sommer|herbst|winter|quartal|halbjahr|"
    r"(?:tag|woche|monat|jahr)(?:e|en|n|s)?|jährlich|monatlich|wöchentlich|täglich|zuletzt|zunächst|"
    r"bislang|bisher|seitdem|damals|heute|derzeit|anfangs?|ende|mitte|beginn)\b", re.IGNORECASE)
_PERSON_WORDS = (
    r"amt|ämter|ämtern|stelle|stellen|büro|büros|behörde|behörden|ministerium|ministerin|minister|verwaltung|"
    r"agentur|stiftung|stiftungen|verein|verband|verbände|kammer|institut|rat|rates|räte|ausschuss|gremium|"
    r"gremien|team|leitung|leiter|leiterin|meister|meisterin|dezernent|dezernentin|referent|referentin|"
    r"koordinator|koordinatorin|manager|managerin|beauftragte|beauftragter|landrat|landrätin|kreistag|senat|"
    r"regierung|bund|träger|trägern|universität|hochschule|schule|schulen|partner|partnerin|partnern|akteure|"
    r"vertreter|vertreterin|vertretern|mitglied|mitglieder|präsident|präsidentin|direktor|direktorin|"
    r"vorsitzende|vorsitzender|geschäftsführer|geschäftsführerin|kommune|kommunen|gemeinde|stadt|kreis|"
    r"landkreis|land|länder|firma|unternehmen|gesellschaft|partei|kirche|könig|königin|kaiser|fürst|herzog|"
    r"gründer|gründerin|autor|autorin|erfinder|entdecker|kanzler|kanzlerin")
_PERSON = re.compile(
    r"\b(?:herrn?|frau|dr\.|prof\.)\s+[A-ZÄÖÜ]\w+"  # a titled person
    r"|(?<![.!?:]\s)(?<!^)\b[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?\s+[A-ZÄÖÜ][a-zäöüß]+(?:s\b)?"  # two names
    r"|\b[A-ZÄÖÜ]{2,}[a-z]?\b|\b(?:e\.\s?V\.|GmbH|gGmbH|AG|mbH)"  # abbreviations of bodies
    rf"|\b[A-ZÄÖÜ]\w*(?:{_PERSON_WORDS})\b"  # an office, a body or a role, also in compounds
    r"|(?<![.!?:]\s)(?<!^)\b[A-ZÄÖÜ][a-zäöüß]+(?<!ung)(?<!heit)(?<!keit)(?<!schaft)(?<!tion)(?<!tät)(?<!ismus)"
    r"(?<!nis)(?<!tum)(?<!ik)\b")  # any other capitalised word inside the sentence but abstract nouns


@dataclass(frozen=True)
class AnswerType:
    """One kind of thing a question asks for: the question words that ask for it, the things that answer,
    and the German note shown when no found passage holds one."""

    name: str
    asked: re.Pattern[str]
    things: tuple[re.Pattern[str], ...]
    note: str

    def found(self, text: str) -> set[str]:
        return {" ".join(match.group().lower().split()) for pattern in self.things for match in pattern.finditer(text)}

    def answers(self, sentence: str, named: set[str]) -> bool:
        """The sentence holds a thing of this type beyond those the question names (`found(question)`)."""
        return bool(self.found(sentence) - named)


_AMOUNT_QUESTION = (r"\bwie (?:viele?|hoch|lange?|alt|groß|weit|oft|schwer|breit|tief|schnell|stark|teuer)\b|"
                    r"\bwieviele?\b|\bwievielte[nmr]?\b|\banzahl\b|\bin welcher höhe\b|\bwelche[nr]? (?:anteil|betrag|"
                    r"summe|höhe)\b")
_MONEY_WORDS = (r"\bwas kostet|\bkostet\b|\bkosten\b|\bteuer\b|\bwie viel geld\b|gebühr|\bpreis|\bgehalt|\blohn\b|"
                r"verdien|honorar|zuschuss|zuschüsse|pauschale|\w+geld\b|\w*steuer\b|\bbudget|\betat\b|\bmiete\b|"
                r"\bgeld\b|\bregelsatz|\bbeitrag|\bförderbetrag|\bfördersumme")

COST = AnswerType("cost", re.compile(rf"\bwas kostet|\bwie teuer|(?=.*(?:{_AMOUNT_QUESTION}))(?=.*(?:{_MONEY_WORDS}))",
                                     re.IGNORECASE),
                  (_MONEY,), "Eine Angabe zu den Kosten enthalten die gefundenen Stellen nicht.")
AMOUNT = AnswerType("amount", re.compile(_AMOUNT_QUESTION, re.IGNORECASE), (_DIGITS, _NUMBER_WORD),
                    "Die gefundenen Stellen nennen keine Zahl dazu.")
DATE = AnswerType("date", re.compile(r"\bwann\b|\bin welchem jahr|\ban welchem (?:tag|datum)|\bzu welchem zeitpunkt|"
                                     r"\bab welchem|\bum wie viel uhr|\böffnungszeit|\bsprechzeit|\bgeöffnet\b",
                                     re.IGNORECASE),
                  (_DATE,), "Die gefundenen Stellen nennen kein Datum und keine Zeitangabe dazu.")
PERSON = AnswerType("person", re.compile(r"\bwer\b|\bwen\b|\bwem\b|\bwessen\b|\bwelche[rsmn]? (?:person|stelle|"
                                         r"behörde|institution|organisation|einrichtung|stiftung|partner|akteur|"
                                         r"träger|amt|ämter|ministerium|ansprechp)", re.IGNORECASE),
                    (_PERSON,), "Die gefundenen Stellen nennen keine Person oder Stelle dazu.")
ANSWER_TYPES = (COST, DATE, AMOUNT, PERSON)  # the first that the question asks for counts


def asked_type(question: str) -> AnswerType | None:
    """The kind of thing the question asks for, or None for open questions (wie, warum, welche Ziele …)."""
    return next((kind for kind in ANSWER_TYPES if kind.asked.search(question)), None)
