"""The comparison by Kommune as people read it: a text table (CLI), HTML (chat), Markdown and CSV (export).

Every document string is escaped in the HTML; quoted sentences are shown exactly as in the passage.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import textwrap
from pathlib import Path

from chat.render import NOTHING_FOUND, source_link
from index import Comparison, Filters, Quote

NO_PRACTICE = ("Kein Satz in den gefundenen Stellen ordnet die Frage einer Kommune zu. Ein Vergleich braucht eine "
               "Praxis, die Kommunen umsetzen, z. B. „Welche Kommunen haben ein Bildungsbüro eingerichtet?“")
CSV_COLUMNS = ("kommune", "bundesland", "satz", "quelle", "seite", "weitere_stellen")


def note(comparison: Comparison) -> str:
    """The plain German sentence shown instead of an empty table, or "" when there are rows."""
    if comparison.rows:
        return ""
    return NOTHING_FOUND if not comparison.found else NO_PRACTICE


def citation(quote: Quote) -> str:
    return quote.source + (f", S. {quote.page}" if quote.page else "")


def more_label(count: int) -> str:
    return f"{count} weitere {'Stelle' if count == 1 else 'Stellen'}" if count else ""


def comparison_text(comparison: Comparison) -> str:
    """The table for the terminal: one block per Kommune, best first."""
    if not comparison.rows:
        return note(comparison)
    blocks = [f"Nach Kommunen verglichen: „{comparison.query}“ ({len(comparison.rows)} Kommunen)"]
    for number, row in enumerate(comparison.rows, start=1):
        more = more_label(row.more)
        lines = [f"{number}. {row.kommune} ({row.bundesland})" + (f" · {more}" if more else "")]
        for sentence in row.sentences:
            quoted = textwrap.fill(f"„{sentence.text}“ — {citation(sentence)}", width=100,
                                   initial_indent="   ", subsequent_indent="     ")
            lines.append(quoted)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def comparison_html(comparison: Comparison) -> str:
    """The table for the chat, with a link to each source (PDFs at the page); one block without blank lines."""
    heading = (f'<div class="lvo-compare-title">Nach Kommunen verglichen: „{html.escape(comparison.query)}“</div>')
    if not comparison.rows:
        return f'<div class="lvo-compare">{heading}<div class="lvo-compare-note">{html.escape(note(comparison))}' \
               f"</div></div>"
    rows = []
    for row in comparison.rows:
        quotes = "".join(
            f'<div class="lvo-compare-quote">„{html.escape(sentence.text)}“ '
            f'<a class="lvo-compare-source" href="{html.escape(source_link(sentence))}" target="_blank" '
            f'rel="noopener">{html.escape(citation(sentence))}</a></div>' for sentence in row.sentences)
        rows.append(f'<tr class="lvo-compare-row"><th scope="row">{html.escape(row.kommune)}<br>'
                    f'<span class="lvo-compare-land">{html.escape(row.bundesland)}</span></th>'
                    f"<td>{quotes}</td><td>{row.more}</td></tr>")
    table = ('<table class="lvo-compare-table"><thead><tr><th scope="col">Kommune</th><th scope="col">Was die '
             'Dokumente sagen</th><th scope="col">weitere Stellen</th></tr></thead>'
             f'<tbody>{"".join(rows)}</tbody></table>')
    return f'<div class="lvo-compare">{heading}{table}</div>'


def comparison_markdown(comparison: Comparison) -> str:
    lines = [f"# Nach Kommunen verglichen: {comparison.query}", ""]
    if not comparison.rows:
        return "\n".join([*lines, note(comparison), ""])
    lines += ["| Kommune | Bundesland | Was die Dokumente sagen | Quelle | weitere Stellen |",
              "| --- | --- | --- | --- | --- |"]
    for row in comparison.rows:
        said = "<br>".join(f"„{_cell(sentence.text)}“" for sentence in row.sentences)
        sources = "<br>".join(_cell(citation(sentence)) for sentence in row.sentences)
        lines.append(f"| {_cell(row.kommune)} | {_cell(row.bundesland)} | {said} | {sources} | {row.more} |")
    return "\n".join(lines) + "\n"


def comparison_csv(comparison: Comparison) -> str:
    """One line per quoted sentence (a Kommune with two sentences has two lines)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in comparison.rows:
        for sentence in row.sentences:
            writer.writerow((row.kommune, row.bundesland, sentence.text, sentence.source, sentence.page or "",
                             row.more))
    return buffer.getvalue()


def write_comparison(comparison: Comparison, folder: Path) -> tuple[Path, Path]:
    """The comparison as `lvo-vergleich.md` and `lvo-vergleich.csv` in `folder`, ready to download."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown, table = folder / "lvo-vergleich.md", folder / "lvo-vergleich.csv"
    markdown.write_text(comparison_markdown(comparison), encoding="utf-8")
    table.write_text(comparison_csv(comparison), encoding="utf-8-sig", newline="")  # BOM: Excel reads UTF-8
    return markdown, table


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """The search filters as options (each may be given several times; values as in the chat's filter lists)."""
    parser.add_argument("--kommune", action="append", default=[], help="nur Dokumente dieser Kommune")
    parser.add_argument("--bundesland", action="append", default=[], help="nur Dokumente dieses Bundeslands")
    parser.add_argument("--typ", action="append", default=[], help="nur dieser Dokumenttyp")
    parser.add_argument("--jahr-von", type=int, metavar="JAHR", help="nur Dokumente ab diesem Jahr")
    parser.add_argument("--jahr-bis", type=int, metavar="JAHR", help="nur Dokumente bis zu diesem Jahr")


def filters_from_arguments(args: argparse.Namespace) -> Filters:
    return Filters(kommune=tuple(args.kommune), bundesland=tuple(args.bundesland), typ=tuple(args.typ),
                   year_from=args.jahr_von, year_to=args.jahr_bis)
