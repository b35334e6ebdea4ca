"""Every entry point fails on purpose: one German line `Fehler: …`, exit code 2, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr
import pytest

from chat.cli import main
from chat.ui import shown_to_user
from core import LvoError
from embed.e5 import weights


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert err.startswith("Fehler: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no lvo.toml of the repository, no default .lvo
    for name in ("LVO_INDEX", "LVO_MODEL", "LVO_TOP_K", "LVO_CORPUS"):
        monkeypatch.delenv(name, raising=False)


def test_missing_index(capsys, tmp_path: Path):
    for command in (["ask", "Frage"], ["serve"]):
        code, _, err = run(capsys, *command, "--index", str(tmp_path / "fehlt"))
        assert_one_line_error(code, err, "Kein Index")


def test_index_of_another_model(capsys, sample_index: Path, minilm: str):
    code, _, err = run(capsys, "ask", "Frage", "--index", str(sample_index), "--model", minilm)
    assert_one_line_error(code, err, "--rebuild")


def test_bad_settings_from_file_environment_and_flags(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      sample_index: Path):
    (tmp_path / "lvo.toml").write_text("top_k = [\n", "utf-8")
    assert_one_line_error(*run(capsys, "ask", "Frage")[::2], "lvo.toml")
    (tmp_path / "lvo.toml").unlink()
    monkeypatch.setenv("LVO_TOP_K", "viele")
    assert_one_line_error(*run(capsys, "ask", "Frage", "--index", str(sample_index))[::2], "top_k")
    monkeypatch.delenv("LVO_TOP_K")
    assert_one_line_error(*run(capsys, "ask", "Frage", "--top-k", "0", "--index", str(sample_index))[::2], "top_k")
    assert_one_line_error(*run(capsys, "serve", "--host", "0.0.0.0", "--index", str(sample_index))[::2],
                          "Anmeldung")


def test_unreadable_model_and_missing_inputs(capsys, tmp_path: Path):
    broken_model = tmp_path / "modell"
    broken_model.mkdir()
    (broken_model / "config.json").write_text("{kaputt", "utf-8")
    (tmp_path / "korpus").mkdir()
    (tmp_path / "korpus" / "a.txt").write_text("Ein Text über Bildungsberatung.", "utf-8")
    code, _, err = run(capsys, "ingest", str(tmp_path / "korpus"), "--model", str(broken_model))
    assert_one_line_error(code, err, "kann nicht geladen werden")
    code, _, err = run(capsys, "ingest", str(tmp_path / "gibt-es-nicht"), "--model", str(broken_model))
    assert code == 2 and "Traceback" not in err
    code, _, err = run(capsys, "eval", "--beir", str(tmp_path / "kein-beir"))
    assert_one_line_error(code, err)
    code, _, err = run(capsys, "eval", "--gold", str(tmp_path / "fragen.jsonl"))
    assert_one_line_error(code, err, "--corpus")


def test_chat_and_api_show_user_errors_as_their_message():
    class Broken(LvoError):
        pass

    def search(query: str) -> dict:
        raise Broken("Der Index ist beschädigt.")

    with pytest.raises(gr.Error, match=r"Fehler: Der Index ist beschädigt\."):
        shown_to_user(search)("Frage")


@pytest.mark.slow
def test_damaged_converted_weights_are_converted_again(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       sample_index: Path):
    intact = weights.converted(weights.bundled_model_file())
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    damaged = weights.default_cache_root() / intact.name
    shutil.copytree(intact, damaged)
    with (damaged / "weights.safetensors").open("r+b") as file:  # as a conversion killed half-way leaves it
        file.truncate(1_000_000)
    code, out, err = run(capsys, "ask", "Wie hat Dresden die Bildungsberatung organisiert?", "--index",
                         str(sample_index))
    assert code == 0, err
    assert "Dresden" in out
    assert weights.converted(weights.bundled_model_file()) == damaged
    assert (damaged / "weights.safetensors").stat().st_size == (intact / "weights.safetensors").stat().st_size
