"""Inputs on which the fuzzer (`make fuzz`, fuzz/) crashed a gold-set reader: each now gets a clear German error."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import LvoError
from tests.ingest.test_fuzz_cases import replay

CASES = Path(__file__).parent / "fuzz_cases"
EXPECTED = {
    "beir-answers-line-not-an-object": r"answers.jsonl Zeile 1 ist kein JSON-Objekt: 2$",
    "beir-qrels-empty-score": r"qrels/test.tsv Zeile 3: Bewertung '' ist keine Zahl$",
    "beir-queries-line-not-an-object": r"queries.jsonl Zeile 1 ist kein JSON-Objekt: 4$",
    "beir-queries-without-id": r"queries.jsonl: _id fehlt oder ist kein Text: \{'_di': 'q1'",
    "beir-qrels-not-utf-8": r"qrels/test.tsv ist nicht in UTF-8 kodiert \(Byte 2\)$",
    "gold-5000-digit-id": r"questions.jsonl Zeile 1 ist kein gültiges JSON$",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_former_crash_is_a_clear_error(name: str, tmp_path: Path):
    with pytest.raises(LvoError, match=EXPECTED[name]):
        replay(CASES / name, tmp_path / "input")


def test_every_kept_input_is_replayed():
    assert sorted(path.name for path in CASES.iterdir()) == sorted(EXPECTED)
