"""Find the files of a corpus folder: supported types, `.lvoignore`, no links out of the corpus."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from ingest.loaders import LOADERS
from ingest.metadata import SIDECAR_SUFFIX, sidecar_paths

IGNORE_FILE = ".lvoignore"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    source: str  # path relative to the corpus root, with forward slashes


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def _ignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    ignore_file = root / IGNORE_FILE
    lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines() if ignore_file.is_file() else []
    return pathspec.GitIgnoreSpec.from_lines(lines)


def discover(root: Path) -> Discovery:
    """Walk `root` in a stable order and sort its files into ingestible and skipped."""
    root = root.resolve()
    ignore = _ignore_spec(root)
    found = Discovery()
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for name in sorted(names):
            path = Path(directory) / name
            source = path.relative_to(root).as_posix()
            if name.startswith(".") or name.endswith(SIDECAR_SUFFIX) or ignore.match_file(source):
                continue
            reason = _skip_reason(path, root)
            if reason:
                found.skipped.append((source, reason))
            else:
                found.files.append(SourceFile(path, source))
    return found


def _skip_reason(path: Path, root: Path) -> str:
    if path.is_symlink() and not path.resolve().is_relative_to(root):
        return "Verknüpfung zeigt auf eine Datei außerhalb des Korpus"
    if path.suffix.lower() not in LOADERS:
        return f"Dateityp {path.suffix or '(ohne Endung)'} wird nicht unterstützt"
    if not path.is_file():
        return "keine reguläre Datei"
    return ""


def fingerprint(path: Path) -> str:
    """Content hash of a file together with its metadata sidecar."""
    digest = hashlib.sha256()
    for part in (path, *sidecar_paths(path)):
        if part.is_file():
            with part.open("rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()
