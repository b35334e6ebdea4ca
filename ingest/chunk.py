"""Sentence-aware chunking with overlap; chunks never cross a page and prefer to start at headings."""

from __future__ import annotations

import re

from core import ChunkingOptions
from ingest.model import Chunk, Document

# Abbreviations after which a period does not end a German sentence.
_ABBREVIATIONS = {
    "a", "abb", "abs", "bzw", "ca", "d", "dr", "etc", "evtl", "ggf", "h", "hrsg", "inkl", "jh", "mio", "mrd",
    "nr", "o", "prof", "s", "sog", "st", "str", "tab", "u", "usw", "v", "vgl", "z", "zb", "zt", "bspw",
}
_CANDIDATE = re.compile(r"[.!?…][\"“”»«')\]]*\s+|\n+")
_WORD_BEFORE = re.compile(r"(\S+?)[.!?…][\"“”»«')\]]*$")
_WORD = re.compile(r"\S+")


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    if "\n" in match.group():
        return True
    following = text[match.end() : match.end() + 1]
    if following and following.islower():
        return False
    punctuation_end = match.start() + len(match.group().rstrip())
    before = _WORD_BEFORE.search(text, max(0, match.start() - 40), punctuation_end)
    if not before:
        return True
    word = before.group(1).lower().strip("(\"„“")
    is_ordinal = word.isdigit() and len(word) <= 2
    return not (word in _ABBREVIATIONS or is_ordinal or re.fullmatch(r"\w\.\w", word))


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets) within text[start:end], white space trimmed."""
    spans, cursor = [], start
    for match in _CANDIDATE.finditer(text, start, end):
        if _is_sentence_end(text, match):
            spans.append((cursor, match.end()))
            cursor = match.end()
    spans.append((cursor, end))
    return [trimmed for span in spans if (trimmed := _trim(text, *span))]


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _split_long(text: str, span: tuple[int, int], limit: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than `limit` words into word windows."""
    words = list(_WORD.finditer(text, *span))
    if len(words) <= limit:
        return [span]
    return [(words[i].start(), words[min(i + limit, len(words)) - 1].end()) for i in range(0, len(words), limit)]


def _page_ranges(document: Document) -> list[tuple[int, int]]:
    starts = document.page_starts or [0]
    ends = [*starts[1:], len(document.text)]
    return list(zip(starts, ends))


def chunk_document(document: Document, options: ChunkingOptions = ChunkingOptions()) -> list[Chunk]:
    """Pack sentences into chunks of about `options.words` words, repeating ~`options.overlap` words."""
    heading_starts = {start for start, _ in document.headings}
    spans: list[tuple[int, int]] = []
    for page_start, page_end in _page_ranges(document):
        sentences = [piece for s in split_sentences(document.text, page_start, page_end)
                     for piece in _split_long(document.text, s, options.words)]
        spans.extend(_pack(document.text, sentences, heading_starts, options))
    return [_make_chunk(document, ordinal, span) for ordinal, span in enumerate(spans)]


def _pack(text: str, sentences: list[tuple[int, int]], heading_starts: set[int],
          options: ChunkingOptions) -> list[tuple[int, int]]:
    counts = [len(_WORD.findall(text, *s)) for s in sentences]
    chunks: list[tuple[int, int]] = []
    first = 0
    while first < len(sentences):
        last, words = first, counts[first]
        while last + 1 < len(sentences) and words + counts[last + 1] <= options.words:
            at_heading = sentences[last + 1][0] in heading_starts
            if at_heading and words >= options.words // 3:
                break
            last += 1
            words += counts[last]
        chunks.append((sentences[first][0], sentences[last][1]))
        if last + 1 >= len(sentences):
            break
        first = _overlap_start(counts, first, last, options.overlap, sentences[last + 1][0] in heading_starts)
    return chunks


def _overlap_start(counts: list[int], first: int, last: int, overlap: int, next_is_heading: bool) -> int:
    """Index of the sentence the next chunk starts with: repeat trailing sentences up to `overlap` words."""
    start, repeated = last + 1, 0
    if next_is_heading:
        return start
    while start - 1 > first and repeated + counts[start - 1] <= overlap:
        start -= 1
        repeated += counts[start]
    return start


def _make_chunk(document: Document, ordinal: int, span: tuple[int, int]) -> Chunk:
    start, end = span
    page = document.page_at(start)
    return Chunk(
        source=document.source,
        title=document.title,
        text=document.text[start:end],
        ordinal=ordinal,
        char_start=start,
        char_end=end,
        page_start=page,
        page_end=document.page_at(end - 1),
        heading=document.heading_at(start),
        ocr=page in document.ocr_pages,  # chunks never cross a page
    )
