"""The rules of single sign-on that need no provider: roles from claims, return paths, settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from chat.sso import EDITOR, READER, roles_of, safe_return_path
from core import ConfigError, Settings, load_settings

SSO = {"LVO_OIDC_ISSUER": "https://anmeldung.example.de/realms/kommune", "LVO_OIDC_CLIENT_ID": "lvo",
       "LVO_OIDC_CLIENT_SECRET": "geheim", "LVO_PUBLIC_URL": "https://lvo.example.de"}


@pytest.mark.parametrize(("given", "kept"), [("/", "/"), ("/?x=1", "/?x=1"), ("//boese.example", "/"),
                                             ("https://boese.example/", "/"), ("/\\boese.example", "/"),
                                             ("", "/"), (None, "/"), ("boese", "/")])
def test_only_local_return_paths(given: str | None, kept: str):
    assert safe_return_path(given) == kept


@pytest.mark.parametrize(("claims", "settings", "roles"), [
    ({"groups": ["lvo-redaktion"]}, {}, {EDITOR, READER}),
    ({"groups": ["mitarbeitende"]}, {}, {READER}),
    ({}, {}, {READER}),
    ({"groups": "lvo-redaktion"}, {}, {EDITOR, READER}),
    ({"realm_access": {"roles": ["lvo-redaktion"]}}, {"oidc_roles_claim": "realm_access.roles"}, {EDITOR, READER}),
    ({"groups": ["gast"]}, {"oidc_reader_roles": ("mitarbeitende",)}, set()),
    ({"groups": ["mitarbeitende"]}, {"oidc_reader_roles": ("mitarbeitende",)}, {READER}),
    ({"groups": ["lvo-redaktion"]}, {"oidc_reader_roles": ("mitarbeitende",)}, {EDITOR, READER}),
])
def test_roles_from_the_role_claim(claims: dict, settings: dict, roles: set[str]):
    assert roles_of(claims, replace(Settings(), **settings)) == roles


@pytest.mark.parametrize(("value", "roles"), [('["a", "b c"]', ("a", "b c")), ("a, b", ("a", "b")), ("", ())])
def test_editor_roles_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, roles):
    for name, setting in {**SSO, "LVO_OIDC_EDITOR_ROLES": value}.items():
        monkeypatch.setenv(name, setting)
    assert load_settings(cwd=tmp_path).oidc_editor_roles == roles


@pytest.mark.parametrize(("toml", "drop", "message"), [
    ('oidc_client_secret = "x"\n', None, "LVO_OIDC_CLIENT_SECRET"),
    ("", "LVO_OIDC_CLIENT_SECRET", "LVO_OIDC_CLIENT_SECRET fehlt"),
    ("", "LVO_OIDC_CLIENT_ID", "oidc_client_id fehlt"),
    ("", "LVO_PUBLIC_URL", "public_url"),
    ('oidc_scopes = "profile"\n', None, "openid"),
])
def test_incomplete_single_sign_on_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str,
                                                      drop: str | None, message: str):
    for name, setting in SSO.items():
        if name != drop:
            monkeypatch.setenv(name, setting)
    (tmp_path / "lvo.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cwd=tmp_path)
