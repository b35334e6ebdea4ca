"""Find the files of a corpus folder: supported types, `.lvoignore`, no links out of the corpus."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from ingest.loaders import LOADERS, read_bounded
from ingest.metadata import SIDECAR_SUFFIX, sidecar_paths
from ingest.model import IngestError

IGNORE_FILE = ".lvoignore"


Signature = tuple[tuple[int, int, int, int] | None, ...]
CHANGED_WHILE_READING = "Datei wurde während des Einlesens geändert – sie wird beim nächsten Lauf eingelesen"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    source: str  # path relative to the corpus root, with forward slashes
    signature: Signature | None = None  # file and sidecar state when discovered (None: not checked)


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    ignore_file = root / IGNORE_FILE
    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines() if ignore_file.is_file() else []
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (ValueError, re.error):  # pathspec's pattern errors, or a bracket its regex cannot hold: name the line
        for number, line in enumerate(lines, start=1):
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except (ValueError, re.error):
                raise IngestError(f"{IGNORE_FILE} Zeile {number}: ungültiges Muster {line[:200]!r}") from None
        raise


def discover(root: Path) -> Discovery:
    """Walk `root` in a stable order and sort its files into ingestible and skipped.

    Links are never followed out of the corpus; linked folders are named as skipped.
    """
    root = root.resolve()
    ignore = _ignore_spec(root)
    found = Discovery()
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        linked = [d for d in subdirectories if (Path(directory) / d).is_symlink()]
        subdirectories[:] = [d for d in subdirectories if d not in linked]
        for name in sorted([*names, *linked]):
            path = Path(directory) / name
            source = path.relative_to(root).as_posix()
            if name.startswith(".") or name.endswith(SIDECAR_SUFFIX) or ignore.match_file(source):
                continue
            reason = _skip_reason(path, root)
            if reason:
                found.skipped.append((source, reason))
            else:
                found.files.append(SourceFile(path, source, signature(path)))
    return found


def _skip_reason(path: Path, root: Path) -> str:
    if path.is_symlink() and not path.resolve().is_relative_to(root):
        return "Verknüpfung zeigt auf eine Datei außerhalb des Korpus"
    if path.is_dir():
        return "Verknüpfung auf einen Ordner wird nicht verfolgt"
    if path.suffix.lower() not in LOADERS:
        return f"Dateityp {path.suffix or '(ohne Endung)'} wird nicht unterstützt"
    if not path.is_file():
        return "keine reguläre Datei"
    return ""


def signature(path: Path) -> Signature:
    """Identity, size and times of a file and its sidecars: any write or replacement changes it."""
    states = []
    for part in (path, *sidecar_paths(path)):
        try:
            stat = part.stat()
        except OSError:
            states.append(None)
            continue
        states.append((stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))
    return tuple(states)


def fingerprint(path: Path, data: bytes | None = None) -> str:
    """Content hash of a file together with its metadata sidecar (`data`: the file's bytes, if read)."""
    digest = hashlib.sha256()
    for number, part in enumerate((path, *sidecar_paths(path))):
        if number == 0 and data is not None:
            digest.update(data)
            digest.update(b"\0")
        elif part.is_file():
            with part.open("rb") as stream:
                for block in iter(lambda stream=stream: stream.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def read_snapshot(file: SourceFile) -> tuple[bytes, str]:
    """The file's bytes and fingerprint, read once, so the fingerprint describes exactly what gets parsed."""
    data = read_bounded(file.path)
    return data, fingerprint(file.path, data)


def ensure_unchanged(file: SourceFile) -> None:
    """Raise if the file or its sidecar changed since discovery: what was read may be a torn state."""
    if file.signature is not None and signature(file.path) != file.signature:
        raise IngestError(CHANGED_WHILE_READING)
