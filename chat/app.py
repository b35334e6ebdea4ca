"""The chat server: the Gradio interface (chat/ui.py) mounted beside the route that serves source documents."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from pathlib import Path

import gradio as gr
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse
from gradio.routes import App as GradioApp
from starlette.routing import Mount

from chat.a11y import GermanPages
from chat.compare_ui import CSS as COMPARE_CSS
from chat.limits import MAX_UPLOAD_BYTES, BusyInGerman
from chat.security import authenticator, corpus_file, requires_auth
from chat.sso import SingleSignOn
from chat.ui import CSS, TITLE, build_app
from core import Settings
from generate import Generator
from index import Index, Searcher, make_embedder

SEARCH_CONCURRENCY = 4  # searches in parallel per event; more would only queue up on a laptop CPU


def create_server(settings: Settings) -> FastAPI:
    """The whole web server: chat, `search` API and /quelle; refuses to start unprotected off loopback."""
    sso = SingleSignOn.discover(settings) if settings.single_sign_on else None
    auth = None if sso else authenticator(settings.host, settings.users)
    index = Index.open(settings.index, make_embedder(settings.model))
    searcher = Searcher.from_settings(index, settings)
    server = FastAPI()
    server.add_api_route("/quelle/{relative:path}", _source_route(server, settings.corpus, auth is not None))
    generator = Generator.from_settings(settings, index)
    blocks = build_app(searcher, settings, generator).queue(default_concurrency_limit=SEARCH_CONCURRENCY,
                                                            max_size=settings.queue_size)
    server.add_middleware(BusyInGerman)
    server.add_middleware(GermanPages, title=TITLE, untouched=("/quelle/",))  # documents stay as they are
    if sso:
        sso.install(server)
    return gr.mount_gradio_app(server, blocks, path="/", css=CSS + COMPARE_CSS, auth=auth,
                               max_file_size=MAX_UPLOAD_BYTES,
                               auth_message="Bitte mit Benutzername und Passwort anmelden.")


def _source_route(server: FastAPI, corpus: Path, protected: bool):
    """GET /quelle/PATH: a document from inside the corpus, 404 for anything else, 401 without login."""

    def source_document(relative: str, request: Request) -> FileResponse:
        if protected and _logged_in_user(server, request) is None:
            raise HTTPException(status_code=401, detail="Anmeldung erforderlich")
        path = corpus_file(corpus, relative)
        if path is None:
            raise HTTPException(status_code=404, detail="Nicht gefunden")
        return FileResponse(path)

    return source_document


def _logged_in_user(server: FastAPI, request: Request) -> str | None:
    """The user of the request's Gradio login cookie, if any."""
    for route in server.routes:
        if isinstance(route, Mount) and isinstance(route.app, GradioApp):
            cookie_id = route.app.cookie_id
            token = (request.cookies.get(f"access-token-{cookie_id}")
                     or request.cookies.get(f"access-token-unsecure-{cookie_id}"))
            return route.app.tokens.get(token)
    return None


def serve(settings: Settings) -> None:
    import uvicorn

    server = create_server(settings)
    login = " (Anmeldung erforderlich)" if requires_auth(settings.host) or settings.single_sign_on else ""
    print(f"LvO-Wissenssuche läuft auf http://{settings.host}:{settings.port}{login}", flush=True)
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning")
