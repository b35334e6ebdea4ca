"""Numbers, dates and proper names of a German sentence, normalised so that a passage can be checked for them.

„1.500“, „1500“ and „1,5 Tsd.“ are not all caught, but the common forms are: thousands separators, decimal
commas, „Mio.“/„Millionen“, number words up to zwölf, dates as „12. März 2011“, „12.03.2011“ or „März 2011“.
A date in a passage also supports its coarser forms (month and year, year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MONTHS = {"januar": 1, "jan": 1, "jänner": 1, "februar": 2, "feb": 2, "märz": 3, "mär": 3, "maerz": 3, "april": 4,
          "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
          "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "dezember": 12, "dez": 12}
NUMBER_WORDS = {"zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9,
                "zehn": 10, "elf": 11, "zwölf": 12, "zwanzig": 20, "dreißig": 30, "vierzig": 40, "fünfzig": 50,
                "hundert": 100}
SCALES = {"tsd": 1000, "tausend": 1000, "mio": 10**6, "million": 10**6, "millionen": 10**6, "mrd": 10**9,
          "milliarde": 10**9, "milliarden": 10**9}

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})\.\s*({_MONTH})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})\b")
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?\s+(\d{{4}})\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w,.])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(?:\s*(tsd|tausend|mio|millionen|million|mrd|"
                     r"milliarden|milliarde)\b)?", re.IGNORECASE)
_NUMBER_WORD = re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\b", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-zÄÖÜäöüß][\w\-]*")
_MARKER = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")

# Words after which a capitalised word is a name: „Stadt Herne“, „Kreis Lippe“, „Frau Müller“.
NAME_INTRODUCERS = {"Stadt", "Landkreis", "Kreis", "Gemeinde", "Bezirk", "Landeshauptstadt", "Hansestadt", "Herr",
                    "Frau", "Dr", "Prof", "Stiftung", "Region", "Freistaat", "Land"}
# Länder and the larger cities are names wherever they appear; communes from the index's metadata are added.
GAZETTEER = frozenset("""
Baden-Württemberg Bayern Berlin Brandenburg Bremen Hamburg Hessen Mecklenburg-Vorpommern Niedersachsen
Nordrhein-Westfalen Rheinland-Pfalz Saarland Sachsen Sachsen-Anhalt Schleswig-Holstein Thüringen
Aachen Augsburg Bielefeld Bochum Bonn Bottrop Braunschweig Chemnitz Darmstadt Dessau-Roßlau Dortmund Dresden
Duisburg Düsseldorf Erfurt Erlangen Essen Frankfurt Freiburg Fürth Gelsenkirchen Görlitz Göttingen Gütersloh
Hagen Halle Hamm Hannover Heidelberg Heilbronn Herne Ingolstadt Jena Karlsruhe Kassel Kiel Koblenz Köln Krefeld
Leipzig Leverkusen Lippe Lübeck Ludwigshafen Magdeburg Mainz Mannheim Moers Mönchengladbach Mülheim München
Münster Neuss Nürnberg Oberhausen Offenbach Oldenburg Osnabrück Paderborn Pforzheim Potsdam Recklinghausen
Regensburg Remscheid Reutlingen Rostock Saarbrücken Salzgitter Siegen Solingen Stuttgart Trier Ulm Weimar
Wiesbaden Wolfsburg Wuppertal Würzburg Kyffhäuserkreis Rheingau-Taunus-Kreis Steinfurt Lichtenberg
""".split())


@dataclass(frozen=True)
class Facts:
    numbers: frozenset[str]
    dates: frozenset[str]  # "2011-03-12" or "2011-03"


def without_markers(text: str) -> str:
    return _MARKER.sub(" ", text)


def _canonical(integer: str, fraction: str | None, scale: str | None) -> str | None:
    try:
        value = Decimal(integer.replace(".", "") + (f".{fraction}" if fraction else ""))
    except InvalidOperation:
        return None
    value *= SCALES.get((scale or "").lower().rstrip("."), 1)
    return format(value.normalize(), "f")


def _year(text: str) -> int:
    year = int(text)
    return year + (2000 if year < 50 else 1900) if len(text) == 2 else year


def _dates(text: str) -> tuple[list[str], str]:
    """Dates found, and the text with them blanked out so that their parts do not count as numbers."""
    found = [f"{int(m[3]):04d}-{MONTHS[m[2].lower()]:02d}-{int(m[1]):02d}" for m in _DAY_MONTH_YEAR.finditer(text)]
    text = _DAY_MONTH_YEAR.sub(" ", text)
    for match in _NUMERIC_DATE.finditer(text):
        day, month = int(match[1]), int(match[2])
        if 1 <= day <= 31 and 1 <= month <= 12:
            found.append(f"{_year(match[3]):04d}-{month:02d}-{day:02d}")
    text = _NUMERIC_DATE.sub(" ", text)
    found += [f"{int(m[2]):04d}-{MONTHS[m[1].lower()]:02d}" for m in _MONTH_YEAR.finditer(text)]
    return found, _MONTH_YEAR.sub(" ", text)


def extract_facts(text: str) -> Facts:
    """The numbers and dates of `text` (citation markers ignored), each at the precision it is written."""
    dates, rest = _dates(without_markers(text))
    numbers = {value for match in _NUMBER.finditer(rest) if (value := _canonical(*match.groups()))}
    numbers |= {str(NUMBER_WORDS[match.group(1).lower()]) for match in _NUMBER_WORD.finditer(rest)}
    return Facts(frozenset(numbers), frozenset(dates))


def supporting_facts(text: str) -> Facts:
    """What a passage supports: its facts, plus each date's month and year."""
    facts = extract_facts(text)
    coarser = {date[:7] for date in facts.dates} | {str(int(date[:4])) for date in facts.dates}
    return Facts(facts.numbers | {c for c in coarser if "-" not in c}, facts.dates | {c for c in coarser if "-" in c})


def _is_name(token: str, previous: str | None, known: frozenset[str]) -> bool:
    if not token[0].isupper():
        return False
    parts = token.split("-")
    if any(part in GAZETTEER or part in known or _genitive_base(part) in GAZETTEER | known for part in parts):
        return True
    if "-" not in token and sum(char.isupper() for char in token) >= 2:  # acronyms and the like: BMBF, LvO
        return True
    return previous in NAME_INTRODUCERS and token not in NAME_INTRODUCERS


def names_in(sentence: str, known: frozenset[str] = frozenset()) -> list[str]:
    """Proper names of a sentence: acronyms (BMBF, LvO), known places, and words after „Stadt“, „Frau“ and the like.

    German capitalises every noun, so capitalisation alone cannot tell a name; the rest is left to the similarity
    check.
    """
    tokens = [match.group().rstrip("-") for match in _TOKEN.finditer(without_markers(sentence))]
    names = [token for position, token in enumerate(tokens)
             if token and _is_name(token, tokens[position - 1] if position else None, known)]
    return list(dict.fromkeys(names))


def _genitive_base(name: str) -> str:
    return name[:-1] if name.endswith("s") and len(name) > 3 else name


def name_occurs(name: str, passage: str) -> bool:
    """The name, or its base without a genitive s („Dresdens“), appears in the passage."""
    return name in passage or _genitive_base(name) in passage
