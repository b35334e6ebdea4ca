"""Text cleaning shared by all loaders: hyphenation, running headers/footers, white space."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\n[ \t]*(\w)")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff\u00ad]")
_DIGITS = re.compile(r"\d+")


def _join_hyphen(match: re.Match[str]) -> str:
    before, after = match.group(1), match.group(2)
    # "Bildungs-\nbüro" -> "Bildungsbüro"; "Kita-\nGrundschule" keeps its hyphen.
    return before + ("" if after.islower() else "-") + after


def join_hyphenated(text: str) -> str:
    """Join words hyphenated across line breaks."""
    return _HYPHEN_BREAK.sub(_join_hyphen, text)


def normalize_whitespace(text: str, *, join_lines: bool) -> str:
    """NFC-normalise, drop control characters, collapse spaces, keep paragraph breaks.

    With `join_lines`, single line breaks (wrapped lines of a PDF) become spaces.
    """
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    if join_lines:
        text = re.sub(r"(?<!\n)\n(?!\n)", " ", text)
    text = _SPACES.sub(" ", text)
    text = re.sub(r" ?\n ?", "\n", text)
    return text.strip()


def _line_key(line: str) -> str:
    return _DIGITS.sub("#", line.strip().lower())


def strip_running_lines(pages: list[str], *, edge_lines: int = 2, share: float = 0.6) -> list[str]:
    """Drop header and footer lines that repeat (digits ignored) on most pages."""
    if len(pages) < 3:
        return pages
    counts: Counter[str] = Counter()
    for page in pages:
        lines = [line for line in page.splitlines() if line.strip()]
        edges = lines[:edge_lines] + lines[-edge_lines:]
        counts.update({_line_key(line) for line in edges})
    running = {key for key, count in counts.items() if key and count >= share * len(pages)}
    if not running:
        return pages
    return [_drop_edges(page, running, edge_lines) for page in pages]


def _drop_edges(page: str, running: set[str], edge_lines: int) -> str:
    """The page without its running lines; a page that would be left empty is its own content and stays."""
    lines = page.splitlines()
    content = [i for i, line in enumerate(lines) if line.strip()]
    edges = set(content[:edge_lines] + content[-edge_lines:])
    dropped = {i for i in edges if _line_key(lines[i]) in running}
    if len(dropped) == len(content):
        return page
    return "\n".join(line for i, line in enumerate(lines) if i not in dropped)
