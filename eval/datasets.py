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


def _read_jsonl(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise EvalDataError(f"{path} kann nicht gelesen werden: {error}") from None


def load_beir(folder: Path, split: str = "test") -> EvalSet:
    corpus, queries, qrels = folder / BEIR_CORPUS, folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"
    for needed in (corpus, queries, qrels):
        if not needed.is_file():
            raise EvalDataError(f"BEIR-Ordner {folder}: {needed.relative_to(folder)} fehlt")
    relevant: dict[str, list[Relevant]] = {}
    for line in qrels.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3 and float(parts[2]) > 0:
            relevant.setdefault(parts[0], []).append(Relevant(source=f"{BEIR_CORPUS}#{parts[1]}"))
    answers = _beir_answers(folder / BEIR_ANSWERS)
    questions = [Question(str(q["_id"]), q["text"], tuple(relevant[str(q["_id"])]), answers.get(str(q["_id"]), ()))
                 for q in _read_jsonl(queries) if str(q["_id"]) in relevant]
    return EvalSet(folder.name, [corpus], folder, questions)


def _answers(record: dict, where: Path) -> tuple[str, ...]:
    answers = record.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise EvalDataError(f"{where}: answers muss eine Liste von Texten sein: {record}")
    return tuple(a for a in answers if a.strip())


def _communes(record: dict, where: Path) -> tuple[str, ...] | None:
    communes = record.get("communes")
    if communes is None:
        return None
    if not isinstance(communes, list) or not all(isinstance(c, str) and c.strip() for c in communes):
        raise EvalDataError(f"{where}: communes muss eine Liste von Kommunennamen sein: {record}")
    return tuple(communes)


def _beir_answers(path: Path) -> dict[str, tuple[str, ...]]:
    if not path.is_file():
        return {}
    try:
        return {str(record["_id"]): _answers(record, path) for record in _read_jsonl(path)}
    except KeyError:
        raise EvalDataError(f"{path}: Zeile ohne _id") from None


def load_gold(questions_file: Path, corpus: Path) -> EvalSet:
    if not corpus.is_dir():
        raise EvalDataError(f"Korpus-Ordner {corpus} existiert nicht")
    questions = []
    for record in _read_jsonl(questions_file):
        try:
            communes = _communes(record, questions_file)
            compare_only = communes is not None and "relevant" not in record
            relevant = () if compare_only else tuple(Relevant(r["source"], r.get("text", ""), r.get("page"))
                                                     for r in record["relevant"])
            questions.append(Question(str(record["id"]), record["question"], relevant,
                                      _answers(record, questions_file), communes, compare_only))
        except (KeyError, TypeError):
            raise EvalDataError(f"{questions_file}: Frage ohne id/question/relevant: {record}") from None
    name = questions_file.parent.name if questions_file.stem == "questions" else questions_file.stem
    return EvalSet(name, [], corpus, questions)
