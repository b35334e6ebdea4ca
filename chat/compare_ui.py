"""The chat's comparison by Kommune: the button „Nach Kommunen vergleichen“, its table, its exports, and the
`compare` API endpoint (the same JSON as `lvo compare --json`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from chat.compare_view import comparison_html, write_comparison
from chat.export import Turn
from chat.limits import query_problem
from chat.ui import FilterChoice, as_filters, shown_to_user
from index import COMPARE_LIMIT, Comparer

COMPARE_LABEL = "Nach Kommunen vergleichen"
MAX_COMPARE_LIMIT = 50
ASK_FIRST = "Bitte zuerst eine Frage eingeben oder stellen – der Vergleich bezieht sich auf sie."
CSS = """
.lvo-compare-title {font-weight: bold; margin: 6px 0;}
.lvo-compare-table {width: 100%; border-collapse: collapse; font-size: 0.92em;}
.lvo-compare-table th, .lvo-compare-table td {border: 1px solid var(--border-color-primary); padding: 6px 8px;
  text-align: left; vertical-align: top;}
.lvo-compare-table td {overflow-wrap: anywhere;}
.lvo-compare-table th:first-child {width: 10em; hyphens: auto;}
.lvo-compare-table th:last-child, .lvo-compare-table td:last-child {width: 5.5em; text-align: center;}
.lvo-compare-land {font-weight: normal; font-size: 0.85em; opacity: 0.8;}
.lvo-compare-quote {margin-bottom: 4px;}
.lvo-compare-source {font-size: 0.85em; white-space: nowrap; color: var(--color-accent);}
"""


class CompareHandlers:
    def __init__(self, comparer: Comparer, export_dir: Path):
        self.comparer = comparer
        self.export_dir = export_dir

    @shown_to_user
    def compare(self, query: str, limit: int = COMPARE_LIMIT, kommune: str | list[str] = "",
                bundesland: str | list[str] = "", typ: str | list[str] = "", year_from: int | None = None,
                year_to: int | None = None) -> dict:
        """One row per Kommune, best first: its Bundesland, the 1–2 sentences that answer the question there
        (exactly quoted, with source and page) and how many further passages support it. Filters are optional."""
        query = (query or "").strip()
        if query_problem(query):
            return {"query": query, "communes": []}
        filters = as_filters(kommune, bundesland, typ, year_from, year_to)
        limit = max(1, min(int(limit), MAX_COMPARE_LIMIT))
        return self.comparer.compare(query, limit, filters).to_json()

    @shown_to_user
    def show(self, message: str, turns: list[Turn], session: str, kommune: list[str], bundesland: list[str],
             typ: list[str], year_from: str, year_to: str):
        """The table for the question in the box, else for the last question asked; with its two downloads."""
        question = (message or "").strip() or (turns[-1].searched if turns else "")
        if not question or query_problem(question):
            gr.Warning(query_problem(question) if question else ASK_FIRST)
            return gr.update(), gr.update(), gr.update()
        filters = FilterChoice(kommune, bundesland, typ, year_from, year_to).filters()
        comparison = self.comparer.compare(question, COMPARE_LIMIT, filters)
        markdown, table = write_comparison(comparison, self.export_dir / (session or "sitzung") / uuid.uuid4().hex)
        shown = bool(comparison.rows)
        return (comparison_html(comparison), gr.update(value=str(markdown), visible=shown),
                gr.update(value=str(table), visible=shown))


@dataclass(frozen=True)
class ComparePanel:
    button: gr.Button
    table: gr.HTML
    markdown: gr.DownloadButton
    csv: gr.DownloadButton


def compare_panel() -> ComparePanel:
    """The button, the table below it and its two downloads (hidden until there is a table), placed here."""
    button = gr.Button(COMPARE_LABEL, size="sm", elem_id="lvo-vergleichen")
    table = gr.HTML(elem_id="lvo-vergleich")
    with gr.Row():
        markdown = gr.DownloadButton("Vergleich als Markdown", value=None, size="sm", visible=False,
                                     elem_id="lvo-vergleich-md")
        csv = gr.DownloadButton("Vergleich als CSV", value=None, size="sm", visible=False,
                                elem_id="lvo-vergleich-csv")
    return ComparePanel(button, table, markdown, csv)


def connect_compare(panel: ComparePanel, comparer: Comparer, export_dir: Path, question: gr.Textbox,
                    turns: gr.State, session: gr.State, filters: list[gr.components.Component]) -> None:
    """The panel's click and the `compare` API endpoint. `filters`: the filter widgets Kommune … Jahr bis."""
    handlers = CompareHandlers(comparer, export_dir)
    panel.button.click(handlers.show, [question, turns, session, *filters], [panel.table, panel.markdown, panel.csv],
                       api_visibility="private")
    gr.api(handlers.compare, api_name="compare")
