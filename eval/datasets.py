"""The two gold formats: BEIR folders and gold-snippet question files over a folder of real files."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from core import LvoError
from index import join_hyphenated

BEIR_CORPUS = "corpus.jsonl"
BEIR_ANSWERS = "answers.jsonl"  # optional: {"_id", "answers": ["…"]} per query


class EvalDataError(LvoError):
    """A gold set that cannot be read; the message is meant for the user."""


@dataclass(frozen=True)
class Relevant:
    source: str
    text: str = ""  # snippet the passage must contain ("" = any passage of the source counts)
    page: int | None = None


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    relevant: tuple[Relevant, ...]
    answers: tuple[str, ...] = ()  # gold answer strings, when the set gives them
    communes: tuple[str, ...] | None = None  # the Kommunen whose documents answer it (a compare question)
    compare_only: bool = False  # no gold passages: only the comparison is measured

    @property
    def off_topic(self) -> bool:
        return not self.relevant


@dataclass
class EvalSet:
    name: str
    corpus_files: list[Path]  # what gets indexed
    corpus_root: Path
    questions: list[Question] = field(default_factory=list)


def normalize(text: str) -> str:
    """Compare snippets after joining hyphenated line breaks and collapsing white space."""
    return re.sub(r"\s+", " ", join_hyphenated(text)).strip().lower()


def _shown(record: object, limit: int = 200) -> str:
    text = repr(record)
    return text if len(text) <= limit else text[:limit] + " …"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise EvalDataError(f"{path} ist nicht in UTF-8 kodiert (Byte {error.start})") from None
    except OSError as error:
        raise EvalDataError(f"{path} kann nicht gelesen werden ({error.strerror or type(error).__name__})") from None


def _read_jsonl(path: Path) -> list[dict]:
    """The JSON objects of a JSONL file, one per non-empty line."""
    records = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as error:  # ValueError: also an integer of more than 4,300 digits
            where = f" (Spalte {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
            raise EvalDataError(f"{path} Zeile {number} ist kein gültiges JSON{where}") from None
        if not isinstance(record, dict):
            raise EvalDataError(f"{path} Zeile {number} ist kein JSON-Objekt: {_shown(record)}")
        records.append(record)
    return records


def _text(record: dict, key: str, where: Path) -> str:
    """A required text field (ids may also be numbers)."""
    value = record.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and key in ("_id", "id"):
        return str(value)
    if not isinstance(value, str):
        raise EvalDataError(f"{where}: {key} fehlt oder ist kein Text: {_shown(record)}")
    return value


def _relevance(qrels: Path) -> dict[str, list[Relevant]]:
    """Query id -> relevant corpus ids, from a BEIR qrels file (header line, then id, id, score)."""
    relevant: dict[str, list[Relevant]] = {}
    for number, line in enumerate(_read_text(qrels).splitlines()[1:], start=2):
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        try:
            score = float(parts[2])
        except ValueError:
            raise EvalDataError(f"{qrels} Zeile {number}: Bewertung {_shown(parts[2])} ist keine Zahl") from None
        if score > 0:
            relevant.setdefault(parts[0], []).append(Relevant(source=f"{BEIR_CORPUS}#{parts[1]}"))
    return relevant


def load_beir(folder: Path, split: str = "test") -> EvalSet:
    corpus, queries, qrels = folder / BEIR_CORPUS, folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    for needed in (corpus, queries, qrels):
        if not needed.is_file():
            raise EvalDataError(f"BEIR-Ordner {folder}: {needed.relative_to(folder)} fehlt")
    relevant = _relevance(qrels)
    answers = _beir_answers(folder / BEIR_ANSWERS)
    questions = []
    for record in _read_jsonl(queries):
        key = _text(record, "_id", queries)
        if key in relevant:
            questions.append(Question(key, _text(record, "text", queries), tuple(relevant[key]), answers.get(key, ())))
    return EvalSet(folder.name, [corpus], folder, questions)


def _answers(record: dict, where: Path) -> tuple[str, ...]:
    answers = record.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise EvalDataError(f"{where}: answers muss eine Liste von Texten sein: {_shown(record)}")
    return tuple(a for a in answers if a.strip())


def _communes(record: dict, where: Path) -> tuple[str, ...] | None:
    communes = record.get("communes")
    if communes is None:
        return None
    if not isinstance(communes, list) or not all(isinstance(c, str) and c.strip() for c in communes):
        raise EvalDataError(f"{where}: communes muss eine Liste von Kommunennamen sein: {_shown(record)}")
    return tuple(communes)


def _beir_answers(path: Path) -> dict[str, tuple[str, ...]]:
    if not path.is_file():
        return {}
    return {_text(record, "_id", path): _answers(record, path) for record in _read_jsonl(path)}


def _relevant(record: dict, where: Path) -> tuple[Relevant, ...]:
    """The gold passages of a question: a list of {"source", "text"?, "page"?}."""
    items = record.get("relevant")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise EvalDataError(f"{where}: relevant muss eine Liste von Objekten sein: {_shown(record)}")
    found = []
    for item in items:
        page = item.get("page")
        if page is not None and (not isinstance(page, int) or isinstance(page, bool)):
            raise EvalDataError(f"{where}: page muss eine Seitenzahl sein: {_shown(record)}")
        text = item.get("text", "")
        if not isinstance(text, str):
            raise EvalDataError(f"{where}: text muss ein Text sein: {_shown(record)}")
        found.append(Relevant(_text(item, "source", where), text, page))
    return tuple(found)


def load_gold(questions_file: Path, corpus: Path) -> EvalSet:
    if not corpus.is_dir():
        raise EvalDataError(f"Korpus-Ordner {corpus} existiert nicht")
    questions = []
    for record in _read_jsonl(questions_file):
        communes = _communes(record, questions_file)
        compare_only = communes is not None and "relevant" not in record
        relevant = () if compare_only else _relevant(record, questions_file)
        questions.append(Question(_text(record, "id", questions_file), _text(record, "question", questions_file),
                                  relevant, _answers(record, questions_file), communes, compare_only))
    name = questions_file.parent.name if questions_file.stem == "questions" else questions_file.stem
    return EvalSet(name, [], corpus, questions)
