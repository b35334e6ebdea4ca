"""Document metadata: Markdown front matter, sidecar `NAME.meta.json` files, merging."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from ingest.model import METADATA_KEYS, IngestError

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
SIDECAR_SUFFIX = ".meta.json"


def sidecar_paths(path: Path) -> list[Path]:
    """`report.pdf.meta.json` and `report.meta.json` both describe `report.pdf`."""
    return [path.with_name(path.name + SIDECAR_SUFFIX), path.with_name(path.stem + SIDECAR_SUFFIX)]


def _clean(raw: dict) -> dict[str, str | int]:
    cleaned: dict[str, str | int] = {}
    for key in ("title", *METADATA_KEYS):
        value = raw.get(key)
        if value is None or value == "":
            continue
        if key == "jahr":
            try:
                cleaned[key] = int(str(value).strip()[:4])
            except ValueError:
                continue
        else:
            cleaned[key] = str(value).strip()
    return cleaned


def split_front_matter(text: str) -> tuple[dict[str, str | int], str]:
    """Split optional YAML front matter from a Markdown body."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        raw = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        raise IngestError("Front Matter ist kein gültiges YAML") from None
    return (_clean(raw) if isinstance(raw, dict) else {}), text[match.end():]


def read_sidecar(path: Path) -> dict[str, str | int]:
    for sidecar in sidecar_paths(path):
        if sidecar.is_file():
            try:
                raw = json.loads(sidecar.read_text(encoding="utf-8-sig"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise IngestError(f"Metadaten-Datei {sidecar.name} ist kein gültiges JSON") from None
            return _clean(raw) if isinstance(raw, dict) else {}
    return {}


def merge_metadata(*layers: dict[str, str | int]) -> dict[str, str | int]:
    """Later layers win; empty values never override."""
    merged: dict[str, str | int] = {}
    for layer in layers:
        merged.update({key: value for key, value in layer.items() if value not in ("", None)})
    return merged
