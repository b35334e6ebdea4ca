"""The Gradio chat: German interface, cited passages, a `search` API endpoint, source documents."""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from pathlib import Path

import gradio as gr
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

from chat.render import reply
from index import Index, Searcher, Settings, make_embedder

CSS = """
.lvo-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0;}
.lvo-card-meta {font-size: 0.85em; opacity: 0.8; margin: 2px 0 6px;}
.lvo-card-text {white-space: pre-wrap;}
.lvo-marker {font-weight: bold; color: var(--color-accent);}
.lvo-searched {font-size: 0.85em; opacity: 0.8; margin-bottom: 6px;}
"""


def resolve_source(corpus: Path, relative: str) -> Path:
    """The corpus file at `relative`, or 404 for anything outside the corpus (also through links)."""
    root = corpus.resolve()
    candidate = (root / relative).resolve()
    if relative.startswith("/") or not candidate.is_relative_to(root) or not candidate.is_file():
        raise HTTPException(status_code=404, detail="Nicht gefunden")
    return candidate


def build_app(searcher: Searcher, settings: Settings) -> gr.Blocks:
    def search(query: str, top_k: int = settings.top_k) -> dict:
        """Ranked, cited passages for a query; the same JSON as `lvo ask --json`."""
        if not query.strip():
            return {"query": query, "passages": []}
        return searcher.search(query.strip(), int(top_k)).to_json()

    def respond(message: str, history: list[dict], top_k: int):
        message = (message or "").strip()
        if not message:
            return "", history
        result = searcher.search(message, int(top_k))
        history = [*history, {"role": "user", "content": message},
                   {"role": "assistant", "content": reply(result)}]
        return "", history

    with gr.Blocks(title="LvO-Wissenssuche") as app:
        gr.Markdown("## LvO-Wissenssuche\nFragen zu „Lernen vor Ort“ und kommunalem Bildungsmanagement – "
                    "jede Antwort mit Belegstellen (Dokument, Seite, Originaltext).")
        with gr.Row():
            with gr.Column(scale=4):
                chatbot = gr.Chatbot(label="Unterhaltung", height=560, elem_id="lvo-chat")
                with gr.Row():
                    question = gr.Textbox(placeholder="Ihre Frage, z. B. „Wie hat Dresden die Bildungsberatung "
                                          "organisiert?“", show_label=False, scale=5, elem_id="lvo-frage")
                    send = gr.Button("Fragen", variant="primary", scale=1, elem_id="lvo-senden")
            with gr.Column(scale=1, min_width=220):
                top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Anzahl Belegstellen")
        send.click(respond, [question, chatbot, top_k], [question, chatbot], api_visibility="private")
        question.submit(respond, [question, chatbot, top_k], [question, chatbot], api_visibility="private")
        gr.api(search, api_name="search")
    return app


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
