"""Turn search hits into safe HTML/Markdown for the chat. Every document string is escaped here."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from index import Hit, SearchResult
from index.keywords import analyze

NOTHING_FOUND = "Dazu habe ich in den Dokumenten nichts gefunden."
_WORD = re.compile(r"\w+")


def source_link(hit: Hit) -> str:
    """URL of the cited document inside the corpus; PDFs open at the cited page."""
    path = hit.source.split("#", 1)[0]
    anchor = f"#page={hit.page}" if hit.page and path.lower().endswith(".pdf") else ""
    return f"/quelle/{quote(path)}{anchor}"


def highlight(text: str, query: str) -> str:
    """Escape `text` and wrap the words that share a stem with the query in <mark>."""
    wanted = set(analyze(query))
    parts, cursor = [], 0
    for match in _WORD.finditer(text):
        if match.group() and set(analyze(match.group())) & wanted:
            parts.append(html.escape(text[cursor:match.start()]))
            parts.append(f"<mark>{html.escape(match.group())}</mark>")
            cursor = match.end()
    parts.append(html.escape(text[cursor:]))
    return "".join(parts)


def _page_label(hit: Hit) -> str:
    if not hit.page:
        return ""
    return f"S. {hit.page}" if hit.page_end in (None, hit.page) else f"S. {hit.page}–{hit.page_end}"


def card(hit: Hit, query: str) -> str:
    details = [html.escape(hit.source), _page_label(hit)]
    details += [html.escape(str(hit.metadata[key])) for key in ("kommune", "jahr", "typ") if key in hit.metadata]
    return (
        f'<div class="lvo-card" id="beleg-{hit.rank}">'
        f'<div class="lvo-card-head"><span class="lvo-marker">[{hit.rank}]</span> '
        f"<strong>{html.escape(hit.title)}</strong></div>"
        f'<div class="lvo-card-meta">{" · ".join(d for d in details if d)} · Relevanz {hit.score:.2f} · '
        f'<a href="{html.escape(source_link(hit))}" target="_blank" rel="noopener">Quelle öffnen</a></div>'
        f'<div class="lvo-card-text">{highlight(hit.text, query)}</div></div>'
    )


def reply(result: SearchResult, searched: str | None = None) -> str:
    """The assistant's message: answer sentences with markers, then one card per cited passage."""
    if not result.hits:
        return NOTHING_FOUND
    searched_note = ""
    if searched and searched != result.query:
        searched_note = f'<div class="lvo-searched">Gesucht wurde: „{html.escape(searched)}“</div>'
    cards = "".join(card(hit, result.query) for hit in result.hits)
    return f"{searched_note}<div class='lvo-cards'>{cards}</div>"
