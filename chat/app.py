"""The chat server: the Gradio interface (chat/ui.py) mounted beside the route that serves source documents."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from pathlib import Path

import gradio as gr
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

from chat.ui import CSS, build_app
from index import Index, Searcher, Settings, make_embedder


def resolve_source(corpus: Path, relative: str) -> Path:
    """The corpus file at `relative`, or 404 for anything outside the corpus (also through links)."""
    root = corpus.resolve()
    candidate = (root / relative).resolve()
    if relative.startswith("/") or not candidate.is_relative_to(root) or not candidate.is_file():
        raise HTTPException(status_code=404, detail="Nicht gefunden")
    return candidate


def create_server(settings: Settings) -> FastAPI:
    index = Index.open(settings.index, make_embedder(settings.model))
    searcher = Searcher(index, mode=settings.search_mode, dense_weight=settings.dense_weight)
    server = FastAPI()

    @server.get("/quelle/{relative:path}")
    def source_document(relative: str) -> FileResponse:
        return FileResponse(resolve_source(settings.corpus, relative))

    return gr.mount_gradio_app(server, build_app(searcher, settings), path="/", css=CSS)


def serve(settings: Settings) -> None:
    import uvicorn

    server = create_server(settings)
    print(f"LvO-Wissenssuche läuft auf http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(server, host=settings.host, port=settings.port, log_level="warning")
