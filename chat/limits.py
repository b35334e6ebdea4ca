"""Limits on what users send, each refusal with a clear German message."""

from __future__ import annotations

import json
from pathlib import Path

from index import SUPPORTED_SUFFIXES

MAX_QUERY_CHARS = 1000
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_TYPES = tuple(sorted(SUPPORTED_SUFFIXES))
BUSY_MESSAGE = "Zu viele Anfragen, bitte gleich noch einmal."


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


class BusyInGerman:
    """ASGI middleware: a 503 of Gradio's API (its refusal when the queue is full, in English) becomes BUSY_MESSAGE.

    The refusal costs the server next to nothing, so an overloaded server stays fast for the requests it accepts.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/gradio_api/"):
            await self.app(scope, receive, send)
            return
        refused = False

        async def relay(message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] == 503:
                refused = True
                body = json.dumps({"detail": BUSY_MESSAGE}, ensure_ascii=False).encode()
                await send({"type": "http.response.start", "status": 503, "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()), (b"retry-after", b"1")]})
                await send({"type": "http.response.body", "body": body})
            elif not refused:
                await send(message)

        await self.app(scope, receive, relay)
