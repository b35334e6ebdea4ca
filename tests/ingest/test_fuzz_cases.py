"""Inputs on which the fuzzer (`make fuzz`, fuzz/) crashed a loader: each now gets a clear German error.

The files in fuzz_cases/ are the crashing inputs as the fuzzer found them, named `TARGET-what`; the test feeds
them to the same fuzz target. A short fuzzing run of two targets checks the fuzzer itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core import LvoError
from fuzz.targets import TARGETS
from tests.conftest import REPO

CASES = Path(__file__).parent / "fuzz_cases"
EXPECTED = {
    "docx-document-without-body": "DOCX ist beschädigt (AttributeError)",
    "lvoignore-bad-character-range": ".lvoignore Zeile 2: ungültiges Muster '[]-[Xnt.# Kommx][Tt\\x00\\x00\\x00Tt]'",
    "lvoignore-bare-negation": ".lvoignore Zeile 3: ungültiges Muster '!'",
    "lvoignore-trailing-backslash": ".lvoignore Zeile 3: ungültiges Muster '**/*.mn#i\\\\'",
    "markdown-month-15": "Front Matter ist kein gültiges YAML",
    "markdown-5000-digit-year": "Front Matter ist kein gültiges YAML",
    "sidecar-5000-digit-year": "Metadaten-Datei bericht.txt.meta.json ist kein gültiges JSON",
    "jsonl-5000-digit-year": 'Zeile 1: kein JSON-Objekt mit "_id" und "text"',
}


def replay(case: Path, scratch: Path) -> None:
    """Feed a kept input to the fuzz target its name starts with."""
    TARGETS[case.name.split("-")[0]](case.read_bytes(), scratch)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_former_crash_is_a_clear_error(name: str, tmp_path: Path):
    with pytest.raises(LvoError) as refused:
        replay(CASES / name, tmp_path / "input")
    assert str(refused.value) == EXPECTED[name]


def test_metadata_keeps_only_single_values(tmp_path: Path):
    """Lists and mappings are no metadata (a YAML alias could make them huge; SQLite cannot store them)."""
    front = b"---\ntitle: [a, b]\nkommune: {x: 1}\njahr: 2012-01-02\ntyp: Bericht\n---\nText"
    assert TARGETS["markdown"](front, tmp_path / "md")[0].metadata == {"jahr": 2012, "typ": "Bericht"}
    line = b'{"_id": 1, "text": "Text", "kommune": ["Jena"], "bundesland": {"x": 1}, "jahr": "2013"}'
    assert TARGETS["jsonl"](line, tmp_path / "jsonl")[0].metadata == {"jahr": 2013}


def test_every_kept_input_is_replayed():
    assert sorted(path.name for path in CASES.iterdir()) == sorted(EXPECTED)


@pytest.mark.slow
def test_a_short_fuzzing_run_counts_inputs_and_finds_no_crash(tmp_path: Path):
    done = subprocess.run([sys.executable, "fuzz/run.py", "--seconds", "6", "--targets", "txt", "lvoignore"],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "FUZZ_WORK": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    last = done.stdout.splitlines()[-1]
    assert re.fullmatch(r"(\d+) inputs, 0 crashes", last) and int(last.split()[0]) > 10, done.stdout
