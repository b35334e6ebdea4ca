"""The Gradio interface: chat with answers and evidence, filters, uploads, export and the `search` API."""

from __future__ import annotations

import functools
import html
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from chat.export import Turn, write_export
from chat.followup import contextual_query
from chat.limits import MAX_QUERY_CHARS, UPLOAD_TYPES, query_problem
from chat.render import generated_html, generation_error_html, reply, streaming_html
from chat.sso import LOGOUT, user_of
from chat.upload import add_documents, summary
from core import LvoError, Settings
from generate import GenerationError, Generator
from index import Comparer, Filters, Searcher, SearchResult

TITLE = "LvO-Wissenssuche"
ALL_YEARS = "alle"
GENERATE_LABEL = "Antwort formulieren (Sprachmodell)"
GENERATE_INFO = "Frage und gezeigte Belegstellen gehen an das eingestellte Sprachmodell; jeder Satz wird geprüft."
GENERATE_CONCURRENCY = 2  # generations in parallel; they have their own queue, so searches never wait for them
STREAM_INTERVAL = 0.15  # seconds between screen updates while an answer streams in
CSS = """
.lvo-reply {line-height: 1.45;}
.lvo-searched {font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 6px;}
.lvo-answer {margin: 4px 0 10px; padding: 8px 10px; border-left: 4px solid var(--color-accent); border-radius: 4px;
  background: var(--background-fill-secondary);}
.lvo-ref {font-weight: bold; text-decoration: none; color: var(--lvo-accent-text); white-space: nowrap;}
.lvo-cards-title {font-weight: bold; margin-top: 8px;}
.lvo-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 8px 0;}
.lvo-card:target {outline: 2px solid var(--color-accent);}
.lvo-card-meta {font-size: 0.85em; color: var(--body-text-color-subdued); margin: 2px 0 6px; overflow-wrap: anywhere;}
.lvo-card-text {overflow-wrap: anywhere; max-height: 9.5em; overflow-y: auto;}
.lvo-quoted {text-decoration: underline; text-decoration-thickness: 2px; text-decoration-color: var(--color-accent);
  text-underline-offset: 3px;}
.lvo-marker {font-weight: bold; color: var(--lvo-accent-text);}
.lvo-sources {font-size: 0.9em; margin: 2px 0 4px;}
.lvo-origin {color: var(--lvo-accent-text);}
.lvo-nearest {margin-top: 8px;}
.lvo-nearest summary {cursor: pointer; font-size: 0.9em;}
.lvo-generated {margin: 4px 0 10px; padding: 8px 10px; border: 1px dashed var(--border-color-primary);
  border-radius: 4px;}
.lvo-generated-title {font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 4px;}
.lvo-unsupported {text-decoration: line-through wavy #c0392b; text-decoration-thickness: 1px;}
.lvo-unbelegt {text-decoration: none; display: inline-block; font-size: 0.8em; font-weight: bold; color: #fff;
  background: #c0392b; border-radius: 3px; padding: 0 4px;}
.lvo-why {font-size: 0.8em; color: var(--body-text-color-subdued); display: inline-block; text-decoration: none;}
.lvo-ref-missing {font-weight: bold; color: var(--lvo-alert-text);}
.lvo-gen-error {border-color: #c0392b;}
#lvo-chat {min-height: 320px;}
@media (max-width: 640px) { #lvo-chat {height: 62vh !important;} }
"""
SHOW_LATEST_REPLY = """() => setTimeout(() => {
  const replies = document.querySelectorAll('#lvo-chat .lvo-reply');
  const latest = replies[replies.length - 1];
  let box = latest && latest.parentElement;
  while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
  if (latest && box) box.scrollTop += latest.getBoundingClientRect().top - box.getBoundingClientRect().top - 60;
}, 150)"""
INTRO = ("## LvO-Wissenssuche\nFragen zu „Lernen vor Ort“ und kommunalem Bildungsmanagement – jede Antwort "
         "zitiert die passenden Sätze und zeigt darunter die Belegstellen (Dokument, Seite, Originaltext).")


def shown_to_user(handler: Callable) -> Callable:
    """A handler whose user errors (`LvoError`) reach the browser or API client as their German message."""

    @functools.wraps(handler)
    def guarded(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except LvoError as error:
            raise gr.Error(f"Fehler: {error}", title="Fehler", print_exception=False) from None

    return guarded


@dataclass(frozen=True)
class FilterChoice:
    """The filter widgets' values as they arrive from the browser."""

    kommune: list[str] | None
    bundesland: list[str] | None
    typ: list[str] | None
    year_from: str | int | None
    year_to: str | int | None

    def filters(self) -> Filters:
        return Filters(kommune=tuple(self.kommune or ()), bundesland=tuple(self.bundesland or ()),
                       typ=tuple(self.typ or ()), year_from=_year(self.year_from), year_to=_year(self.year_to))

    def describe(self) -> str:
        parts = [f"{label}: {', '.join(values)}" for label, values in
                 (("Kommune", self.kommune), ("Bundesland", self.bundesland), ("Typ", self.typ)) if values]
        years = self.filters()
        if years.year_from is not None or years.year_to is not None:
            parts.append(f"Jahr: {years.year_from or '…'}–{years.year_to or '…'}")
        return "; ".join(parts)


def _year(value: str | int | None) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


def as_filters(kommune: Any = "", bundesland: Any = "", typ: Any = "", year_from: Any = None,
               year_to: Any = None) -> Filters:
    """Filters from API arguments: a value or a list of values each; empty means no restriction."""
    def values(value: Any) -> list[str]:
        items = value if isinstance(value, list | tuple) else [value]
        return [str(item).strip() for item in items if item not in (None, "") and str(item).strip()]

    return FilterChoice(values(kommune), values(bundesland), values(typ), year_from, year_to).filters()


def _year_choices(years: list[str | int]) -> list[str]:
    return [ALL_YEARS, *(str(year) for year in years)]


def _filter_updates(facets: dict[str, list[str | int]]) -> tuple[Any, ...]:
    return (gr.update(choices=facets.get("kommune", [])), gr.update(choices=facets.get("bundesland", [])),
            gr.update(choices=facets.get("typ", [])), gr.update(choices=_year_choices(facets.get("jahr", []))),
            gr.update(choices=_year_choices(facets.get("jahr", []))))


class ChatHandlers:
    """The event handlers of one app; they share the searcher and settings, nothing else."""

    def __init__(self, searcher: Searcher, settings: Settings, export_dir: Path, generator: Generator | None = None):
        self.searcher = searcher
        self.settings = settings
        self.export_dir = export_dir
        self.generator = generator

    @shown_to_user
    def filter_choices(self) -> tuple[Any, ...]:
        """The filters' choices as the index holds them now (another server may have added documents)."""
        return _filter_updates(self.searcher.index.catalog.facets())

    def names(self) -> list[str]:
        facets = self.searcher.index.catalog.facets()
        return [str(name) for name in (*facets.get("kommune", []), *facets.get("bundesland", []))]

    @shown_to_user
    def search(self, query: str, top_k: int = 5, kommune: str | list[str] = "", bundesland: str | list[str] = "",
               typ: str | list[str] = "", year_from: int | None = None, year_to: int | None = None) -> dict:
        """Ranked, cited passages for a query; the same JSON as `lvo ask --json`. Filters are optional."""
        query = (query or "").strip()
        if query_problem(query):
            return {"query": query, "passages": [], "answer": []}
        filters = as_filters(kommune, bundesland, typ, year_from, year_to)
        return self.searcher.search(query, max(1, min(int(top_k), 50)), filters=filters).to_json()

    @shown_to_user
    def answer(self, query: str, top_k: int = 5, kommune: str | list[str] = "", bundesland: str | list[str] = "",
               typ: str | list[str] = "", year_from: int | None = None, year_to: int | None = None) -> dict:
        """The `search` JSON plus `generated`: the model's answer with every sentence checked against its passage.

        When no passage is found, no model is asked; a failure of the model is reported in `generated.error`.
        """
        query = (query or "").strip()
        if query_problem(query):
            return {"query": query, "passages": [], "answer": []}
        filters = as_filters(kommune, bundesland, typ, year_from, year_to)
        result = self.searcher.search(query, max(1, min(int(top_k), 50)), filters=filters)
        payload = result.to_json()
        try:
            generated = self.generator.answer(result.query, result.hits)
            payload["generated"] = generated.to_json() if generated else self._empty_generated()
        except GenerationError as error:
            payload["generated"] = self._empty_generated() | {"error": str(error)}
        return payload

    def _empty_generated(self) -> dict:
        return {"text": "", "sentences": [], "model": self.settings.llm_model}

    def formulate(self, history: list[dict], turns: list[Turn], enabled: bool, formulated: int) -> Iterator[tuple]:
        """Stream the model's answer into the latest reply, then replace it by the checked version."""
        if not enabled or self.generator is None or len(turns) <= formulated or not turns[-1].hits:
            yield history, len(turns)
            return
        number, turn = len(turns), turns[-1]
        result = SearchResult(turn.searched, turn.hits, turn.sentences, note=turn.note)
        ranks = {hit.rank for hit in turn.hits}

        def shown(block: str) -> list[dict]:
            content = reply(result, turn.searched, turn=number, generated=block)
            return [*history[:-1], {"role": "assistant", "content": content}]

        yield shown(streaming_html("", number, ranks)), number
        text, updated = "", time.monotonic()
        try:
            for piece in self.generator.stream(turn.searched, turn.hits):
                text += piece
                if time.monotonic() - updated >= STREAM_INTERVAL:
                    updated = time.monotonic()
                    yield shown(streaming_html(text, number, ranks)), number
            checked = self.generator.check(text, turn.hits)
            block = generated_html(checked, number, ranks, self.settings.llm_unsupported == "hide")
        except GenerationError as error:
            block = generation_error_html(str(error))
        yield shown(block), number

    @shown_to_user
    def respond(self, message: str, history: list[dict], turns: list[Turn], session: str, top_k: int,
                kommune: list[str], bundesland: list[str], typ: list[str], year_from: str, year_to: str):
        message = (message or "").strip()
        problem = query_problem(message)
        if problem:
            gr.Warning(problem)
            return gr.update(), history, turns, gr.update()
        previous = turns[-1].searched if turns else None
        searched = contextual_query(message, previous, self.names())
        choice = FilterChoice(kommune, bundesland, typ, year_from, year_to)
        result = self.searcher.search(searched, int(top_k), filters=choice.filters())
        turn = Turn(message, searched, result.answer, result.hits, choice.describe(), result.note)
        turns = [*turns, turn]
        content = reply(result, searched, turn=len(turns))
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": content}]
        return "", history, turns, self.export(turns, session)

    def export(self, turns: list[Turn], session: str) -> str:
        folder = self.export_dir / (session or "sitzung")
        folder.mkdir(parents=True, exist_ok=True)
        return str(write_export(turns, folder))

    def viewer(self, request: gr.Request) -> tuple[str, Any]:
        """Who is logged in (single sign-on), and the upload panel only for editors."""
        user = user_of(request)
        if user is None:
            return "", gr.update()
        role = "Redaktion" if user.editor else "Lesen"
        return (f'Angemeldet als <strong>{html.escape(user.name)}</strong> ({role}) · '
                f'<a href="{LOGOUT}" target="_self">Abmelden</a>', gr.update(visible=user.editor))

    @shown_to_user
    def upload(self, files: list[str] | None, request: gr.Request, progress: gr.Progress = gr.Progress()):
        user = user_of(request)
        if user is not None and not user.editor:
            raise LvoError("Nur die Redaktion darf Dokumente hinzufügen.")
        if not files:
            return "Bitte zuerst Dateien auswählen.", None, *_filter_updates(self.searcher.index.catalog.facets())

        def report_progress(stage: str, done: int, total: int) -> None:
            progress(done / total if total else 1.0, desc=stage)

        report = add_documents([Path(file) for file in files], self.settings.corpus, self.settings.index,
                               self.searcher.index.embedder, self.settings.chunking, report_progress)
        facets = report.facets or self.searcher.index.catalog.facets()
        return summary(report), None, *_filter_updates(facets)


def _filters_panel(settings: Settings, facets: dict[str, list[str | int]]) -> list[gr.components.Component]:
    with gr.Accordion("Filter", open=True, elem_id="lvo-filter"):
        kommune = gr.Dropdown(facets.get("kommune", []), multiselect=True, label="Kommune", elem_id="lvo-kommune")
        bundesland = gr.Dropdown(facets.get("bundesland", []), multiselect=True, label="Bundesland",
                                 elem_id="lvo-bundesland")
        typ = gr.Dropdown(facets.get("typ", []), multiselect=True, label="Dokumenttyp", elem_id="lvo-typ")
        years = _year_choices(facets.get("jahr", []))
        with gr.Row():
            year_from = gr.Dropdown(years, value=ALL_YEARS, label="Jahr von", min_width=100, elem_id="lvo-jahr-von")
            year_to = gr.Dropdown(years, value=ALL_YEARS, label="Jahr bis", min_width=100, elem_id="lvo-jahr-bis")
        top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Anzahl Belegstellen", elem_id="lvo-anzahl")
    return [top_k, kommune, bundesland, typ, year_from, year_to]


def _upload_panel(shown: bool) -> tuple[gr.Accordion, gr.File, gr.Button, gr.Markdown]:
    with gr.Accordion("Dokumente hinzufügen", open=False, visible=shown, elem_id="lvo-upload") as panel:
        files = gr.File(file_count="multiple", file_types=list(UPLOAD_TYPES), type="filepath",
                        label="Dateien (PDF, DOCX, HTML, Markdown, TXT, JSONL)", elem_id="lvo-dateien")
        add = gr.Button("Zum Korpus hinzufügen", elem_id="lvo-hinzufuegen")
        status = gr.Markdown(elem_id="lvo-upload-status")
    return panel, files, add, status


def build_app(searcher: Searcher, settings: Settings, generator: Generator | None = None) -> gr.Blocks:
    from chat.compare_ui import compare_panel, connect_compare  # it builds on this module's filters

    handlers = ChatHandlers(searcher, settings, Path(tempfile.mkdtemp(prefix="lvo-export-")), generator)
    facets = searcher.index.catalog.facets()
    with gr.Blocks(title=TITLE) as app:
        turns = gr.State([])
        session = gr.State(lambda: uuid.uuid4().hex)
        gr.Markdown(INTRO)
        who = gr.HTML(elem_id="lvo-angemeldet") if settings.single_sign_on else None
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(label="Unterhaltung", height=520, elem_id="lvo-chat", latex_delimiters=[],
                                     autoscroll=False, buttons=["copy"])
                with gr.Row():
                    question = gr.Textbox(placeholder="Ihre Frage, z. B. „Wie hat Dresden die Bildungsberatung "
                                          "organisiert?“", label="Ihre Frage", show_label=False, scale=5, min_width=200,
                                          max_length=MAX_QUERY_CHARS, elem_id="lvo-frage")
                    send = gr.Button("Fragen", variant="primary", scale=1, min_width=80, elem_id="lvo-senden")
                formulate = formulated = None
                if generator is not None:  # without an endpoint the chat stays exactly as it was
                    formulate = gr.Checkbox(False, label=GENERATE_LABEL, info=GENERATE_INFO, elem_id="lvo-formulieren")
                    formulated = gr.State(0)
                with gr.Row():
                    export = gr.DownloadButton("Unterhaltung als Markdown", value=None, size="sm",
                                               elem_id="lvo-export")
                    clear = gr.Button("Neue Unterhaltung", size="sm", elem_id="lvo-neu")
                comparing = compare_panel()
            with gr.Column(scale=1, min_width=260):
                filters = _filters_panel(settings, facets)
                # with single sign-on the panel appears once the viewer is known to be an editor
                upload_panel, files, add, status = _upload_panel(shown=not settings.single_sign_on)
        inputs = [question, chatbot, turns, session, *filters]
        outputs = [question, chatbot, turns, export]
        formulating = []
        for event in (send.click, question.submit):
            answered = event(handlers.respond, inputs, outputs, api_visibility="private")
            answered = answered.then(None, js=SHOW_LATEST_REPLY, api_visibility="private")
            if generator is not None:
                formulating.append(answered.then(
                    handlers.formulate, [chatbot, turns, formulate, formulated], [chatbot, formulated],
                    concurrency_limit=GENERATE_CONCURRENCY, concurrency_id="lvo-generate", api_visibility="private",
                    show_progress="hidden"))
        for event in (send.click, question.submit, clear.click) if formulating else ():
            # a new question (or a new conversation) stops the answer still streaming into the previous reply
            event(None, None, None, cancels=formulating, api_visibility="private")
        clear.click(lambda: ([], [], None), None, [chatbot, turns, export], api_visibility="private")
        if generator is not None:
            clear.click(lambda: 0, None, [formulated], api_visibility="private")
        add.click(handlers.upload, [files], [status, files, *filters[1:]], api_visibility="private")
        app.load(handlers.filter_choices, None, filters[1:], api_visibility="private", show_progress="hidden")
        if who is not None:
            app.load(handlers.viewer, None, [who, upload_panel], api_visibility="private", show_progress="hidden")
        gr.api(handlers.search, api_name="search")
        connect_compare(comparing, Comparer(searcher), handlers.export_dir, question, turns, session, filters[1:])
        if generator is not None:
            gr.api(handlers.answer, api_name="answer", concurrency_limit=GENERATE_CONCURRENCY,
                   concurrency_id="lvo-generate")
    return app
