"""The `lvo` command as users and scripts call it, on the real sample corpus: `chat.cli.main` in this process,
and once as the installed `lvo` program in a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, make_pdf


def test_installed_entry_point_prints_one_line_errors_and_exits_2(tmp_path: Path):
    """The console script itself (exit code, stderr, no traceback), as scripts call it."""
    program = shutil.which("lvo", path=str(Path(sys.executable).parent))
    command = [program] if program else [sys.executable, "-m", "chat.cli"]
    done = subprocess.run([*command, "ask", "--index", str(tmp_path / "leer"), "Frage"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and done.stderr.startswith("Fehler: Kein Index")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_ask_json_schema_and_dresden_question(lvo, sample_index: Path):
    done = lvo("ask", "--json", "--index", str(sample_index), "Welche Strukturen wurden in Dresden etabliert?")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert set(payload) == {"query", "passages", "answer", "note"}
    assert payload["query"] == "Welche Strukturen wurden in Dresden etabliert?"
    assert len(payload["passages"]) == 5
    for rank, passage in enumerate(payload["passages"], start=1):
        assert set(passage) == {"rank", "score", "source", "title", "page", "text", "chunk_id", "ocr"}
        assert passage["ocr"] is False
        assert passage["rank"] == rank and isinstance(passage["score"], float) and isinstance(passage["chunk_id"], int)
    first = payload["passages"][0]
    assert first["source"] == "transmit-lvo-kommunen-im-transfer.txt"
    assert "Bildungsbüros in Dresden und Dessau-Roßlau" in first["text"]


def test_ask_top_k_and_pdf_pages(lvo, sample_index: Path):
    done = lvo("ask", "--json", "--top-k", "10", "--index", str(sample_index),
               "Landkreis Görlitz Regionales Bildungsforum Handlungsempfehlungen")
    passages = json.loads(done.stdout)["passages"]
    assert len(passages) == 10
    pdf_pages = {p["page"] for p in passages if p["source"] == "praxisbeispiele-mitteldeutschland.pdf"}
    assert 3 in pdf_pages


def test_compare_json_table_limit_and_silence(lvo, sample_index: Path):
    question = "Welche Kommunen haben ein Bildungsbüro eingerichtet?"
    done = lvo("compare", "--json", "--index", str(sample_index), question)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # exactly one JSON object
    assert set(payload) == {"query", "communes"} and payload["query"] == question
    names = [row["kommune"] for row in payload["communes"]]
    assert {"Dresden", "Dessau-Roßlau", "Herne", "Mülheim an der Ruhr"} <= set(names)
    for row in payload["communes"]:
        assert set(row) == {"kommune", "bundesland", "sentences", "more"} and 1 <= len(row["sentences"]) <= 2
        assert all(set(sentence) == {"text", "source", "page"} for sentence in row["sentences"])
    dresden = next(row for row in payload["communes"] if row["kommune"] == "Dresden")
    assert dresden["bundesland"] == "Sachsen"
    table = lvo("compare", "--limit", "2", "--index", str(sample_index), question)
    assert table.returncode == 0 and "1. " in table.stdout and "\n2. " in table.stdout and "\n3. " not in table.stdout
    assert f"„{payload['communes'][0]['sentences'][0]['text']}“" in " ".join(table.stdout.split())
    filtered = lvo("compare", "--json", "--kommune", "Herne", "--index", str(sample_index), question)
    assert [row["kommune"] for row in json.loads(filtered.stdout)["communes"]] == ["Herne"]
    silent = lvo("compare", "--index", str(sample_index), "Wer wurde 2014 Fußball-Weltmeister?")
    assert silent.returncode == 0 and silent.stdout.strip() == "Dazu habe ich in den Dokumenten nichts gefunden."
    silent_json = lvo("compare", "--json", "--index", str(sample_index), "Wer wurde 2014 Fußball-Weltmeister?")
    assert json.loads(silent_json.stdout)["communes"] == []
    bad = lvo("compare", "--limit", "0", "--index", str(sample_index), question)
    assert bad.returncode == 2 and bad.stderr.startswith("Fehler: --limit")


def test_ingest_twice_reports_nothing_new_and_names_broken_pdfs(lvo, tmp_path: Path, minilm: str):
    corpus = tmp_path / "korpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Die Transferagentur berät Kommunen.", "utf-8")
    make_pdf(corpus / "verschlüsselt.pdf", pages=[["Geheim."]], password="pw")
    (corpus / "defekt.pdf").write_bytes(b"%PDF-1.4 kaputt")
    args = ("ingest", str(corpus), "--index", str(tmp_path / "idx"), "--model", minilm)
    first = lvo(*args)
    assert first.returncode == 0, first.stderr
    assert "verschlüsselt.pdf: PDF ist verschlüsselt" in first.stdout
    assert "defekt.pdf: PDF" in first.stdout
    second = lvo(*args)
    assert "0 neue Abschnitte, nichts eingebettet" in second.stdout
    asked = lvo("ask", "--json", "--index", str(tmp_path / "idx"), "--model", minilm, "Transferagentur")
    assert json.loads(asked.stdout)["passages"][0]["source"] == "a.txt"


def test_user_errors_are_one_line_messages_not_tracebacks(lvo, tmp_path: Path, minilm: str):
    missing = lvo("ask", "--index", str(tmp_path / "leer"), "Frage")
    assert missing.returncode == 2 and missing.stderr.startswith("Fehler: Kein Index")
    assert "Traceback" not in missing.stderr
    corpus = tmp_path / "k"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Text.", "utf-8")
    lvo("ingest", str(corpus), "--index", str(tmp_path / "idx"), "--model", minilm)
    mismatch = lvo("ask", "--index", str(tmp_path / "idx"), "Frage")
    assert mismatch.returncode == 2 and "--rebuild" in mismatch.stderr and "Traceback" not in mismatch.stderr
    bad_setting = lvo("ask", "--top-k", "0", "--index", str(tmp_path / "idx"), "Frage")
    assert bad_setting.returncode == 2 and "top_k" in bad_setting.stderr
