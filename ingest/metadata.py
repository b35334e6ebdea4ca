"""Document metadata: Markdown front matter, sidecar `NAME.meta.json` files, merging."""

from __future__ import annotations

import datetime
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


def clean_metadata(raw: dict) -> dict[str, str | int]:
    """The known keys with scalar values: `jahr` as a number, the others as stripped text."""
    cleaned: dict[str, str | int] = {}
    for key in ("title", *METADATA_KEYS):
        value = raw.get(key)
        if value is None or value == "" or not isinstance(value, str | int | float | datetime.date):
            continue  # lists and mappings are no metadata values (and YAML aliases could make them huge)
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
    except (yaml.YAMLError, ValueError):  # ValueError: a date like 2012-13-45, an integer of 5,000 digits
        raise IngestError("Front Matter ist kein gültiges YAML") from None
    return (clean_metadata(raw) if isinstance(raw, dict) else {}), text[match.end():]


def read_sidecar(path: Path) -> dict[str, str | int]:
    for sidecar in sidecar_paths(path):
        if sidecar.is_file():
            try:
                raw = json.loads(sidecar.read_text(encoding="utf-8-sig"))
            except ValueError:  # invalid JSON or UTF-8, or an integer of more than 4,300 digits
                raise IngestError(f"Metadaten-Datei {sidecar.name} ist kein gültiges JSON") from None
            return clean_metadata(raw) if isinstance(raw, dict) else {}
    return {}


def merge_metadata(*layers: dict[str, str | int]) -> dict[str, str | int]:
    """Later layers win; empty values never override."""
    merged: dict[str, str | int] = {}
    for layer in layers:
        merged.update({key: value for key, value in layer.items() if value not in ("", None)})
    return merged
