"""Turn search hits into safe HTML for the chat. Every document string is escaped here.

The HTML is one block without blank lines, so the chat's Markdown renderer leaves it alone, and every
document text passes through `html.escape`: `<script>` in a document is shown as text, never run.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from generate import GeneratedAnswer
from index import AnswerSentence, Hit, SearchResult, Span, analyze

NOTHING_FOUND = "Dazu habe ich in den Dokumenten nichts gefunden."
SHOW_ANYWAY = "Trotzdem ähnlichste Stellen zeigen"
OCR_LABEL = ('<span class="lvo-ocr" title="Die Seite ist ein Scan; Lesefehler sind möglich.">'
             "Text per Texterkennung</span>")
NO_SENTENCE = "Kein einzelner Satz beantwortet die Frage wörtlich; die passendsten Belegstellen:"
_WORD = re.compile(r"\w+")
_MARKER = re.compile(r"\[(\d+)\]")
GENERATED_TITLE = "Formulierte Antwort (Sprachmodell, jeder Satz gegen seine Belegstelle geprüft)"
GENERATING = "Das Sprachmodell formuliert …"
UNSUPPORTED = "nicht belegt"


def source_link(hit: Hit) -> str:
    """URL of the cited document inside the corpus; PDFs open at the cited page."""
    path = hit.source.split("#", 1)[0]
    anchor = f"#page={hit.page}" if hit.page and path.lower().endswith(".pdf") else ""
    return f"/quelle/{quote(path)}{anchor}"


def _text(text: str) -> str:
    """Escaped text whose line breaks survive the Markdown renderer (no blank lines in the block)."""
    return html.escape(text).replace("\n", "<br>")


def highlight(text: str, query: str) -> str:
    """Escape `text` and wrap the words that share a stem with the query in <mark>."""
    wanted = set(analyze(query))
    parts, cursor = [], 0
    for match in _WORD.finditer(text):
        if match.group() and set(analyze(match.group())) & wanted:
            parts.append(_text(text[cursor:match.start()]))
            parts.append(f"<mark>{html.escape(match.group())}</mark>")
            cursor = match.end()
    parts.append(_text(text[cursor:]))
    return "".join(parts)


def passage_html(text: str, query: str, quoted: list[Span]) -> str:
    """The passage with query terms highlighted and the sentences quoted in the answer underlined."""
    parts, cursor = [], 0
    for span in sorted(quoted, key=lambda s: s.start):
        parts.append(highlight(text[cursor:span.start], query))
        parts.append(f'<span class="lvo-quoted">{highlight(text[span.start:span.end], query)}</span>')
        cursor = span.end
    parts.append(highlight(text[cursor:], query))
    return "".join(parts)


def page_label(hit: Hit) -> str:
    if not hit.page:
        return ""
    return f"S. {hit.page}" if hit.page_end in (None, hit.page) else f"S. {hit.page}–{hit.page_end}"


def card_id(turn: int, rank: int) -> str:
    return f"beleg-{turn}-{rank}"


def card(hit: Hit, query: str, turn: int = 0, quoted: list[Span] | None = None) -> str:
    details = [html.escape(hit.source), page_label(hit)]
    details += [html.escape(str(hit.metadata[key])) for key in ("kommune", "bundesland", "jahr", "typ")
                if key in hit.metadata]
    details.append(OCR_LABEL if hit.ocr else "")
    return (
        f'<div class="lvo-card" id="{card_id(turn, hit.rank)}" data-rank="{hit.rank}">'
        f'<div class="lvo-card-head"><span class="lvo-marker">[{hit.rank}]</span> '
        f"<strong>{html.escape(hit.title)}</strong></div>"
        f'<div class="lvo-card-meta">{" · ".join(d for d in details if d)} · Relevanz {hit.score:.2f} · '
        f'<a class="lvo-source" href="{html.escape(source_link(hit))}" target="_blank" rel="noopener">'
        f"Quelle öffnen</a></div>"
        f'<div class="lvo-card-text" tabindex="0" role="group" aria-label="Text der Belegstelle [{hit.rank}]">'
        f"{passage_html(hit.text, query, quoted or [])}</div></div>"
    )


def answer_html(sentences: list[AnswerSentence], turn: int = 0) -> str:
    """The extractive answer: each quoted sentence followed by its marker, a link to its card."""
    quoted = " ".join(
        f'<span class="lvo-sentence">{_text(s.text)}</span> '
        f'<a class="lvo-ref" href="#{card_id(turn, s.rank)}" data-rank="{s.rank}">[{s.rank}]</a>'
        for s in sentences)
    return f'<div class="lvo-answer">{quoted}</div>'


def _linked_markers(escaped: str, turn: int, ranks: set[int]) -> str:
    """Markers [n] of shown passages become links to their cards; others stay visibly unlinked."""
    def link(match: re.Match[str]) -> str:
        rank = int(match.group(1))
        if rank in ranks:
            return f'<a class="lvo-ref" href="#{card_id(turn, rank)}" data-rank="{rank}">[{rank}]</a>'
        return f'<span class="lvo-ref-missing" title="keine gezeigte Belegstelle">[{rank}]</span>'
    return _MARKER.sub(link, escaped)


def streaming_html(text: str, turn: int, ranks: set[int]) -> str:
    """The answer while it streams in: not yet checked, and saying so."""
    body = _linked_markers(_text(text), turn, ranks)
    return (f'<div class="lvo-generated lvo-streaming"><div class="lvo-generated-title">{GENERATING}</div>'
            f'<div class="lvo-generated-text">{body}</div></div>')


def generated_html(answer: GeneratedAnswer, turn: int, ranks: set[int], hide_unsupported: bool = False) -> str:
    """The checked answer: supported sentences plain, the others marked „nicht belegt“ (or left out)."""
    parts, hidden = [], 0
    for sentence in answer.sentences:
        body = _linked_markers(_text(sentence.text), turn, ranks)
        why = html.escape(sentence.why, quote=True)
        if sentence.supported:
            parts.append(f'<span class="lvo-gen-sentence lvo-supported" title="{why}">{body}</span>')
        elif hide_unsupported:
            hidden += 1
        else:
            parts.append(f'<span class="lvo-gen-sentence lvo-unsupported" title="{why}">{body} '
                         f'<span class="lvo-unbelegt">{UNSUPPORTED}</span> '
                         f'<span class="lvo-why">({why})</span></span>')
    if hidden:
        parts.append(f'<span class="lvo-hidden-note">{hidden} nicht belegte(r) Satz/Sätze ausgelassen.</span>')
    if not parts:
        parts.append('<span class="lvo-hidden-note">Das Sprachmodell hat keinen Satz formuliert.</span>')
    model = html.escape(answer.model)
    return (f'<div class="lvo-generated lvo-checked" data-model="{model}"><div class="lvo-generated-title">'
            f'{GENERATED_TITLE}</div><div class="lvo-generated-text">{" ".join(parts)}</div></div>')


def generation_error_html(message: str) -> str:
    return (f'<div class="lvo-generated lvo-gen-error" role="alert"><div class="lvo-generated-title">'
            f"{GENERATED_TITLE}</div><div>{html.escape(message)} Die Belegstellen und die zitierten Sätze unten "
            "gelten weiter.</div></div>")


def searched_note(searched: str) -> str:
    return f'<div class="lvo-searched">Gesucht wurde: „{html.escape(searched)}“</div>'


def document_label(hit: Hit) -> str:
    """How the overview names a passage's origin: its commune where known, else its document title."""
    return str(hit.metadata.get("kommune") or hit.title or hit.source)


def sources_overview(hits: list[Hit], turn: int = 0) -> str:
    """„Dresden · 2 Stellen, Leipzig · 1 Stelle“: where the passages come from, each a link to its first card."""
    first: dict[str, int] = {}
    counts: dict[str, int] = {}
    for hit in hits:
        label = document_label(hit)
        first.setdefault(label, hit.rank)
        counts[label] = counts.get(label, 0) + 1
    entries = [f'<a class="lvo-origin" href="#{card_id(turn, first[label])}">{html.escape(label)}</a> · '
               f'{count} {"Stelle" if count == 1 else "Stellen"}' for label, count in counts.items()]
    return f'<div class="lvo-sources">Belegstellen aus: {", ".join(entries)}</div>'


def cards_html(result_hits: list[Hit], query: str, turn: int, sentences: list[AnswerSentence]) -> str:
    spans = {hit.rank: [s.span for s in sentences if s.rank == hit.rank] for hit in result_hits}
    return "".join(card(hit, query, turn, spans[hit.rank]) for hit in result_hits)


def reply(result: SearchResult, searched: str | None = None, turn: int = 0, generated: str = "") -> str:
    """The assistant's message: what was searched, the formulated answer (if any, as ready-made HTML), the
    answer sentences with markers, where the passages come from, then the cited passages. When the search
    abstains: a plain „nothing found“, and the closest passages behind a collapsed, labelled switch."""
    note = searched_note(searched or result.query)
    if not result.hits:
        nearest = ""
        if result.withheld:
            nearest = (f'<details class="lvo-nearest"><summary>{SHOW_ANYWAY}</summary>'
                       f'<div class="lvo-cards">{cards_html(result.withheld, result.query, turn, [])}</div></details>')
        return f'<div class="lvo-reply">{note}<div class="lvo-nothing">{NOTHING_FOUND}</div>{nearest}</div>'
    sentences = result.answer
    if sentences:
        answer = answer_html(sentences, turn)
    elif result.note:  # the question asks for a figure, date or person that no passage holds
        answer = f'<div class="lvo-answer lvo-note">{html.escape(result.note)}</div>'
    else:
        answer = f'<div class="lvo-answer">{NO_SENTENCE}</div>'
    cards = cards_html(result.hits, result.query, turn, sentences)
    heading = '<div class="lvo-cards-title">Belegstellen</div>'
    overview = sources_overview(result.hits, turn)
    cited = f'{generated}{answer}{heading}{overview}<div class="lvo-cards">{cards}</div>'
    return f'<div class="lvo-reply">{note}{cited}</div>'
