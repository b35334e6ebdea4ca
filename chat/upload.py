"""Add documents from the browser: copy uploads into the corpus under safe names, then index incrementally."""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chat.limits import upload_problem
from core import ChunkingOptions, LvoError
from index import Embedder, Index, sync

Progress = Callable[[str, int, int], None]
MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\- ()äöüÄÖÜß]+")


@dataclass
class UploadReport:
    added: list[str] = field(default_factory=list)  # corpus-relative names of indexed uploads
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (uploaded name, name in the corpus)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (uploaded name, German reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (name, page that could not be read)
    new_chunks: int = 0
    facets: dict[str, list[str | int]] = field(default_factory=dict)


def safe_name(name: str) -> str:
    """A plain file name: no folders, no leading dots, no control or shell characters."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base).strip(" ._")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem.strip(" ._")[: MAX_NAME_CHARS] or "dokument"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def _same_content(path: Path, upload: Path) -> bool:
    if path.stat().st_size != upload.stat().st_size:
        return False
    return path.read_bytes() == upload.read_bytes()


def place(upload: Path, corpus: Path, name: str) -> tuple[Path | None, str | None]:
    """Copy `upload` into `corpus` as `name`, or as `name-2`, `name-3` … if that name is taken.

    Never overwrites: the target is created exclusively. An identical file already in the corpus is refused.
    """
    stem, suffix = Path(name).stem, Path(name).suffix
    for number in range(1, 1000):
        target = corpus / (name if number == 1 else f"{stem}-{number}{suffix}")
        if target.exists() or target.is_symlink():
            if target.is_file() and _same_content(target, upload):
                return None, f"{name}: ist bereits als {target.name} im Korpus."
            continue
        try:
            with open(upload, "rb") as source, open(target, "xb") as copy:
                shutil.copyfileobj(source, copy)
        except FileExistsError:
            continue
        return target, None
    return None, f"{name}: kein freier Dateiname im Korpus."


def copy_uploads(uploads: list[Path], corpus: Path, report: UploadReport) -> dict[str, str]:
    """Copy the acceptable uploads into the corpus; return corpus name → uploaded name."""
    placed: dict[str, str] = {}
    for upload in uploads:
        original = safe_name(upload.name)
        problem = upload_problem(original, upload.stat().st_size)
        target, problem = (None, problem) if problem else place(upload, corpus, original)
        if target is None:
            report.failed.append((original, problem.removeprefix(f"{original}: ")))
            continue
        placed[target.name] = original
        if target.name != original:
            report.renamed.append((original, target.name))
    return placed


def add_documents(uploads: list[Path], corpus: Path, index_location: str, embedder: Embedder,
                  chunking: ChunkingOptions, progress: Progress | None = None) -> UploadReport:
    """Copy uploads into the corpus and index them; uploads that cannot be indexed are removed again."""
    report = UploadReport()
    placed = copy_uploads(uploads, corpus, report)
    if not placed:
        return report
    index = Index.open(index_location, embedder)
    try:
        ingest = sync(index, corpus, chunking, progress)
        report.facets = index.catalog.facets()
    except LvoError as error:
        _remove(corpus, placed)
        report.failed.extend((original, str(error)) for original in placed.values())
        return report
    finally:
        index.close()
    reasons = dict(ingest.failed)
    for name, original in placed.items():
        if name in ingest.indexed:
            report.added.append(name)
            report.notes.extend((name, note) for source, note in ingest.notes if source == name)
        else:
            report.failed.append((original, reasons.get(name, "wird im Korpus ignoriert (.lvoignore)")))
            (corpus / name).unlink(missing_ok=True)
    report.new_chunks = ingest.new_chunks
    return report


def _remove(corpus: Path, placed: dict[str, str]) -> None:
    for name in placed:
        (corpus / name).unlink(missing_ok=True)


def summary(report: UploadReport) -> str:
    """The German report shown below the upload field (Markdown)."""
    lines = []
    if report.added:
        lines.append(f"**{len(report.added)} Datei(en) hinzugefügt** ({report.new_chunks} neue Abschnitte): "
                     + ", ".join(f"`{name}`" for name in report.added))
    lines += [f"- `{original}` wurde als `{name}` gespeichert (Name war schon vergeben)."
              for original, name in report.renamed if name in report.added]
    lines += [f"- `{name}`, {note}" for name, note in report.notes]
    if report.failed:
        lines.append(f"**{len(report.failed)} Datei(en) nicht übernommen:**")
        lines += [f"- `{name}`: {reason}" for name, reason in report.failed]
    return "\n".join(lines) or "Keine Dateien ausgewählt."
