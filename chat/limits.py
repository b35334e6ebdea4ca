"""Limits on what users send, each refusal with a clear German message."""

from __future__ import annotations

from pathlib import Path

from index import SUPPORTED_SUFFIXES

MAX_QUERY_CHARS = 1000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_TYPES = tuple(sorted(SUPPORTED_SUFFIXES))


def query_problem(query: str) -> str | None:
    """Why a query is refused, or None when it is fine."""
    if not query.strip():
        return "Bitte eine Frage eingeben."
    if len(query) > MAX_QUERY_CHARS:
        return f"Die Frage ist zu lang ({len(query)} Zeichen, höchstens {MAX_QUERY_CHARS})."
    return None


def upload_problem(name: str, size: int) -> str | None:
    """Why an uploaded file is refused, or None when it may be added to the corpus."""
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        return f"{name}: Dateityp {suffix or '(ohne Endung)'} nicht erlaubt (erlaubt: {', '.join(UPLOAD_TYPES)})."
    if size > MAX_UPLOAD_BYTES:
        return f"{name}: zu groß ({size / 2**20:.1f} MB, höchstens {MAX_UPLOAD_BYTES // 2**20} MB)."
    if size == 0:
        return f"{name}: Datei ist leer."
    return None
