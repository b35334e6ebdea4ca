"""`lvo eval` on real gold sets: both formats, all modes, JSON output, reports, page accuracy, abstention."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, SAMPLE_CORPUS, make_pdf

METRICS = {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "false_abstain_rate"}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


def beir_folder(folder: Path) -> Path:
    (folder / "qrels").mkdir(parents=True)
    topics = {"d1": "Die Stadt Dresden eröffnete 2010 eine Beratungsstelle für Bildung.",
              "d2": "Der Kyffhäuserkreis veröffentlichte seinen Bildungsbericht im Jahr 2014.",
              "d3": "Leipzig beschloss bildungspolitische Leitlinien im Stadtrat.",
              "d4": "Herne baute eine naturwissenschaftliche Bildungskette auf."}
    write_jsonl(folder / "corpus.jsonl", [{"_id": k, "title": "", "text": v} for k, v in topics.items()])
    write_jsonl(folder / "queries.jsonl", [{"_id": "q1", "text": "Beratungsstelle Dresden"},
                                           {"_id": "q2", "text": "Bildungsbericht Kyffhäuserkreis"},
                                           {"_id": "q3", "text": "Leitlinien Leipzig Stadtrat"}])
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\n")
    return folder


def test_beir_all_modes_as_json(lvo, tmp_path: Path, minilm: str):
    folder = beir_folder(tmp_path / "beir")
    done = lvo("eval", "--beir", str(folder), "--mode", "all", "--json", "--model", minilm,
               "--cache", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["mode"] for r in results] == ["dense", "bm25", "hybrid"]
    for result in results:
        assert result["queries"] == 3 and set(result["metrics"]) >= METRICS
        assert set(result["latency_ms"]) == {"p50", "p95"}
    assert {r["mode"]: r["metrics"]["recall@1"] for r in results}["bm25"] == 1.0
    table = lvo("eval", "--beir", str(folder), "--mode", "all", "--model", minilm, "--cache", str(tmp_path / "cache"))
    assert "dense" in table.stdout and "hybrid" in table.stdout and "mrr@10" in table.stdout


def test_gold_pages_offtopic_and_report(lvo, tmp_path: Path, minilm: str):
    corpus = tmp_path / "korpus"
    corpus.mkdir()
    make_pdf(corpus / "bericht.pdf", pages=[["Die Bildungskonferenz tagte im Rathaus."],
                                            ["Das Bildungsmonitoring zählte 42 Schulen im Kreis."]])
    questions = write_jsonl(tmp_path / "questions.jsonl", [
        {"id": "a", "question": "Wie viele Schulen zählte das Bildungsmonitoring?",
         "relevant": [{"source": "bericht.pdf", "text": "42 Schulen", "page": 2}]},
        {"id": "b", "question": "Wo tagte die Bildungskonferenz?",
         "relevant": [{"source": "bericht.pdf", "text": "tagte im Rathaus", "page": 1}]},
        {"id": "c", "question": "Wo tagte die Bildungskonferenz?",
         "relevant": [{"source": "bericht.pdf", "text": "tagte im Rathaus", "page": 2}]},
        {"id": "x", "question": "Wie backe ich Brot?", "relevant": []}])
    report = tmp_path / "verfehlt.jsonl"
    done = lvo("eval", "--gold", str(questions), "--corpus", str(corpus), "--json", "--report", str(report),
               "--model", minilm, "--cache", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    assert metrics["page_accuracy@1"] == round(2 / 3, 4), "question c cites the wrong page on purpose"
    assert metrics["recall@10"] == round(2 / 3, 4)
    assert "abstain_accuracy" in metrics
    missed = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert "c" in {m["id"] for m in missed} and all(m["results"] is not None for m in missed)


def test_seed_gold_is_fully_recalled_with_the_default_model(lvo, tmp_path: Path):
    corpus = tmp_path / "seeds"
    corpus.mkdir()
    shutil.copy(SAMPLE_CORPUS / "transmit-lvo-kommunen-im-transfer.txt", corpus)
    done = lvo("eval", "--gold", str(REPO / "eval" / "sets" / "seed-gold" / "questions.jsonl"), "--corpus",
               str(corpus), "--json", "--cache", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    assert metrics["recall@5"] == 1.0 and metrics["false_abstain_rate"] == 0.0


def test_bad_gold_input_is_a_clear_error(lvo, tmp_path: Path):
    missing = lvo("eval", "--beir", str(tmp_path / "fehlt"))
    assert missing.returncode == 2 and missing.stderr.startswith("Fehler: BEIR-Ordner")
    no_corpus = lvo("eval", "--gold", str(tmp_path / "q.jsonl"))
    assert no_corpus.returncode == 2 and "--corpus" in no_corpus.stderr


def test_answer_metrics_from_an_answers_file_and_gold_answers(lvo, tmp_path: Path, minilm: str):
    folder = beir_folder(tmp_path / "beir")
    write_jsonl(folder / "answers.jsonl", [{"_id": "q1", "answers": ["2010"]},
                                           {"_id": "q2", "answers": ["im  JAHR 2014"]},
                                           {"_id": "q3", "answers": ["steht nirgends"]}])
    report = tmp_path / "verfehlt.jsonl"
    done = lvo("eval", "--beir", str(folder), "--json", "--report", str(report), "--model", minilm,
               "--cache", str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads(done.stdout)["metrics"]
    assert metrics["answer_reachable"] == round(2 / 3, 4), "q3's answer is in no passage; case and spaces ignored"
    assert metrics["answer@1"] <= metrics["answer@any"] and metrics["answer_words"] > 0
    missed = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert all("answer" in m for m in missed)
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "question": "Wo?", "relevant": [], "answers": "x"}])
    wrong = lvo("eval", "--gold", str(bad), "--corpus", str(tmp_path), "--model", minilm)
    assert wrong.returncode == 2 and "answers" in wrong.stderr


def test_compare_questions_reach_the_commune_targets_on_the_sample_corpus(lvo, sample_index: Path):
    gold = REPO / "eval" / "sets" / "compare-questions.jsonl"
    done = lvo("eval", "--gold", str(gold), "--corpus", str(SAMPLE_CORPUS), "--index", str(sample_index), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result["metrics"]) == {"commune_recall@10", "commune_precision@10"}, "compare-only questions"
    assert result["metrics"]["commune_recall@10"] >= 0.85 and result["metrics"]["commune_precision@10"] >= 0.80
    assert {"compare_p50", "compare_p95"} <= set(result["latency_ms"])


def test_commune_names_compare_after_folding_variants_and_bad_lists_are_errors(lvo, tmp_path: Path):
    from eval.communes import score_comparison
    from index import CommuneRow, Comparison, Gazetteer

    rows = [CommuneRow(name, "", [], 0) for name in ("Landkreis Görlitz", "Dessau-Roßlau", "Berlin")]
    recall, precision, missed, wrong = score_comparison(("GÖRLITZ", "Dessau-Rosslau", "Leipzig"),
                                                        Comparison("Frage", rows), Gazetteer.shipped())
    assert (round(recall, 3), round(precision, 3)) == (0.667, 0.667)
    assert missed == {"Leipzig"} and wrong == {"Berlin"}
    assert score_comparison((), Comparison("Frage", []), Gazetteer.shipped())[:2] == (None, 1.0)
    bad = write_jsonl(tmp_path / "q.jsonl", [{"id": "v1", "question": "Frage?", "communes": "Dresden"}])
    done = lvo("eval", "--gold", str(bad), "--corpus", str(SAMPLE_CORPUS))
    assert done.returncode == 2 and "communes muss eine Liste" in done.stderr
