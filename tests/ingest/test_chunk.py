"""Chunking: sentence boundaries, size and overlap, offsets that point at the exact text, headings."""

from __future__ import annotations

import itertools

from ingest import ChunkingOptions, Document, chunk_document
from ingest.chunk import split_sentences


def test_sentences_respect_german_abbreviations_and_ordinals():
    text = "Die Stadt plante z. B. einen Bus. Am 1. September 2009 begann Phase I. Dr. Leser berät u. a. Kommunen."
    sentences = [text[s:e] for s, e in split_sentences(text, 0, len(text))]
    assert sentences == ["Die Stadt plante z. B. einen Bus.", "Am 1. September 2009 begann Phase I.",
                         "Dr. Leser berät u. a. Kommunen."]


def test_chunks_have_size_overlap_and_exact_offsets():
    text = " ".join(f"Dies ist Satz Nummer {i} mit einigen Wörtern mehr." for i in range(120))
    document = Document(source="a.txt", text=text, title="A")
    chunks = chunk_document(document, ChunkingOptions(words=100, overlap=20))
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text == text[chunk.char_start:chunk.char_end]
        assert len(chunk.text.split()) <= 100
    for previous, following in itertools.pairwise(chunks):
        assert following.char_start < previous.char_end, "consecutive chunks overlap"
    assert chunks[-1].char_end == len(text)


def test_chunks_start_at_headings_and_record_them():
    intro = " ".join(["Einleitender Satz über Bildung."] * 30)
    body = " ".join(["Ein Satz über die Beratung."] * 30)
    text = f"Einleitung\n\n{intro}\n\nBeratung\n\n{body}"
    document = Document(source="b.md", text=text, title="B",
                        headings=[(0, "Einleitung"), (text.index("Beratung\n"), "Beratung")])
    chunks = chunk_document(document, ChunkingOptions(words=200, overlap=20))
    assert [c.heading for c in chunks] == ["Einleitung", "Beratung"]
    assert chunks[1].text.startswith("Beratung")


def test_overlong_sentence_is_split_by_words():
    text = " ".join(["Wort"] * 450)
    chunks = chunk_document(Document(source="c.txt", text=text, title="C"), ChunkingOptions(words=200, overlap=0))
    assert [len(c.text.split()) for c in chunks] == [200, 200, 50]
