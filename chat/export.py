"""Take the conversation away: every question with its answer and cited passages as Markdown."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from chat.render import NO_SENTENCE, NOTHING_FOUND, page_label
from index import AnswerSentence, Hit


@dataclass(frozen=True)
class Turn:
    """One question of the conversation and what it was answered with."""

    question: str
    searched: str
    sentences: list[AnswerSentence] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    filters: str = ""
    note: str | None = None  # what the passages lack (SearchResult.note)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


def _citation(hit: Hit) -> str:
    details = [f"`{hit.source}`", page_label(hit)]
    details += [str(hit.metadata[key]) for key in ("kommune", "bundesland", "jahr", "typ") if key in hit.metadata]
    heading = f"**[{hit.rank}] {hit.title}** – {' · '.join(d for d in details if d)} · Relevanz {hit.score:.2f}"
    return f"{heading}\n\n{_quote(hit.text)}"


def turn_markdown(number: int, turn: Turn) -> str:
    lines = [f"## Frage {number}: {turn.question}", ""]
    if turn.searched != turn.question:
        lines += [f"*Gesucht wurde: „{turn.searched}“*", ""]
    if turn.filters:
        lines += [f"*Filter: {turn.filters}*", ""]
    if not turn.hits:
        return "\n".join([*lines, NOTHING_FOUND, ""])
    answer = " ".join(f"{s.text} [{s.rank}]" for s in turn.sentences) or turn.note or NO_SENTENCE
    lines += ["**Antwort:** " + answer, "", "### Belegstellen", ""]
    lines += [part for hit in turn.hits for part in (_citation(hit), "")]
    return "\n".join(lines)


def conversation_markdown(turns: list[Turn], now: datetime | None = None) -> str:
    stamp = (now or datetime.now()).strftime("%d.%m.%Y %H:%M")
    header = ["# LvO-Wissenssuche – Unterhaltung", "", f"Exportiert am {stamp}.", ""]
    if not turns:
        header.append("Noch keine Fragen gestellt.")
    return "\n".join([*header, *(turn_markdown(n, t) for n, t in enumerate(turns, start=1))]).rstrip() + "\n"


def write_export(turns: list[Turn], folder: Path | None = None) -> Path:
    """The conversation as a Markdown file in a fresh temporary folder, ready to download."""
    folder = folder or Path(tempfile.mkdtemp(prefix="lvo-export-"))
    path = folder / "lvo-unterhaltung.md"
    path.write_text(conversation_markdown(turns), encoding="utf-8")
    return path
