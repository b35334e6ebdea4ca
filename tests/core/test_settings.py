"""Settings precedence (defaults < lvo.toml < LVO_* environment < flags) and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import ConfigError, LvoError, Settings, load_settings


def test_each_source_overrides_the_one_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in ("LVO_TOP_K", "LVO_SEARCH_MODE", "LVO_MODEL", "LVO_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert load_settings(cwd=tmp_path).top_k == Settings.top_k
    (tmp_path / "lvo.toml").write_text('top_k = 8\nsearch_mode = "bm25"\nmodel = "aus-toml"\nport = 9000\n', "utf-8")
    monkeypatch.setenv("LVO_SEARCH_MODE", "dense")
    monkeypatch.setenv("LVO_MODEL", "aus-env")
    settings = load_settings({"model": "aus-flag", "port": None}, cwd=tmp_path)
    assert settings.top_k == 8  # lvo.toml over the default
    assert settings.search_mode == "dense"  # environment over lvo.toml
    assert settings.model == "aus-flag"  # flag over environment
    assert settings.port == 9000  # a flag that was not given (None) changes nothing
    assert settings.index == str(tmp_path / ".lvo")  # paths are relative to the working directory


def test_chunking_defaults_are_defined_once():
    assert (Settings().chunking.words, Settings().chunking.overlap) == (Settings.chunk_words, Settings.chunk_overlap)


@pytest.mark.parametrize(("toml", "env", "message"), [
    ("top_k = 0\n", {}, "top_k"),
    ('search_mode = "schnell"\n', {}, "search_mode"),
    ("unbekannt = 1\n", {}, "unbekannte Einstellung"),
    ("top_k = [\n", {}, "lvo.toml ist ungültig"),
    ("", {"LVO_PORT": "achtzig"}, "port"),
    ("", {"LVO_DENSE_WEIGHT": "-1"}, "dense_weight"),
    ("", {"LVO_QUEUE_SIZE": "0"}, "queue_size"),
])
def test_bad_settings_are_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, env: dict,
                                        message: str):
    (tmp_path / "lvo.toml").write_text(toml, "utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(cwd=tmp_path)
    assert isinstance(raised.value, LvoError)
