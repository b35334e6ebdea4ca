"""Who may use the server and what it may serve: users file with scrypt hashes, host policy, corpus files."""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import json
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import unquote

from core import ConfigError, Settings
from index import SUPPORTED_SUFFIXES

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD_CHARS = 8


def requires_auth(host: str) -> bool:
    """Only the loopback default is open; every other address needs users with passwords."""
    return host not in LOCAL_HOSTS


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash as one self-describing string."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    encoded = [base64.b64encode(part).decode() for part in (salt, digest)]
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${encoded[0]}${encoded[1]}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(actual, expected)


def load_users(path: Path) -> dict[str, str]:
    """User name -> password hash; a missing, broken or empty file is a user error."""
    if not path.is_file():
        raise ConfigError(f"Benutzerdatei {path} fehlt. Mit `lvo users add NAME` anlegen.")
    try:
        users = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"Benutzerdatei {path} ist ungültig ({type(error).__name__}).") from None
    if not isinstance(users, dict) or not all(isinstance(v, str) and v.startswith("scrypt$") for v in users.values()):
        raise ConfigError(f"Benutzerdatei {path} ist ungültig (erwartet: Name -> scrypt-Hash).")
    if not users:
        raise ConfigError(f"Benutzerdatei {path} enthält keine Benutzer. Mit `lvo users add NAME` anlegen.")
    return users


def add_user(path: Path, name: str, password: str) -> None:
    """Add or replace a user; the file is written atomically and readable only by its owner."""
    if not name or name != name.strip() or any(ch in name for ch in ":\n\t"):
        raise ConfigError("Benutzername darf nicht leer sein und keine Leerzeichen am Rand oder ':' enthalten.")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(f"Das Passwort muss mindestens {MIN_PASSWORD_CHARS} Zeichen haben.")
    users = load_users(path) if path.is_file() else {}
    users[name] = hash_password(password)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        json.dump(users, stream, indent=1, sort_keys=True)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


def read_password() -> str:
    """Ask twice on a terminal; read one line from stdin otherwise (scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Passwort: ")
    if getpass.getpass("Passwort wiederholen: ") != password:
        raise ConfigError("Die Passwörter stimmen nicht überein.")
    return password


class Authenticator:
    """Checks logins against the users file (the callable Gradio's `auth` expects)."""

    def __init__(self, users: dict[str, str]):
        self._users = dict(users)
        self._decoy = hash_password(secrets.token_hex(8))  # unknown names cost as much as wrong passwords

    def __call__(self, username: str, password: str) -> bool:
        return check_password(password, self._users.get(username, self._decoy)) and username in self._users


def authenticator(host: str, users_file: Path) -> Authenticator | None:
    """None for the loopback default; otherwise the users, or a user error when there are none."""
    if not requires_auth(host):
        return None
    try:
        return Authenticator(load_users(users_file))
    except ConfigError as error:
        raise ConfigError(f"Für --host {host} ist eine Anmeldung nötig: {error}") from None


def corpus_file(corpus: Path, relative: str) -> Path | None:
    """The document at `relative` inside the corpus, or None for anything else.

    Refused: absolute paths, `..`, (still) encoded separators, hidden files, links out of the corpus,
    types that are not documents, and names the file system cannot handle.
    """
    try:
        root = corpus.resolve()
        parts = relative.split("/")
        if (not relative or relative.startswith("/") or "\\" in relative or "\x00" in relative
                or unquote(relative) != relative or any(part in ("", ".", "..") or part.startswith(".")
                                                         for part in parts)):
            return None
        candidate = (root / relative).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
    except (OSError, ValueError, RuntimeError):
        return None
    return candidate if candidate.suffix.lower() in SUPPORTED_SUFFIXES else None


def add_users_command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`lvo users add NAME [--users FILE]`: the password comes from the terminal or one line of stdin."""
    users = commands.add_parser("users", parents=[common], help="Benutzer für den Chat-Server verwalten")
    actions = users.add_subparsers(dest="action", required=True, metavar="AKTION")
    add = actions.add_parser("add", help="Benutzer anlegen oder Passwort ändern")
    add.add_argument("name", help="Benutzername")
    add.add_argument("--users", type=Path, help="Benutzerdatei (Standard: lvo-users.json, oder LVO_USERS)")


def run_users(args: argparse.Namespace, settings: Settings) -> int:
    add_user(settings.users, args.name, read_password())
    print(f"Benutzer {args.name} in {settings.users} gespeichert.")
    return 0
