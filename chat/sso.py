"""Single sign-on: login with the organisation's OpenID Connect provider, with readers and editors.

The browser logs in by the authorization code flow with PKCE (Authlib checks the ID token's signature, issuer,
audience, expiry and nonce); the session is a signed, HttpOnly, SameSite=Lax cookie that expires. Scripts send a
bearer access token of the same provider (client credentials), verified against its keys (joserfc, which Authlib
uses). Every route but login, callback and logout needs one of the two; uploads need the editor role.
"""

from __future__ import annotations

import html
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.integrations.httpx_client._compat import httpx2
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection

from core import ConfigError, Settings

SECRET_VARIABLE = "LVO_OIDC_CLIENT_SECRET"
LOGIN, CALLBACK, LOGOUT = "/anmelden", "/anmelden/rueckkehr", "/abmelden"
PUBLIC_PATHS = frozenset({LOGIN, CALLBACK, LOGOUT, "/favicon.ico"})
EDITOR_PATHS = ("/gradio_api/upload",)  # Gradio's file upload: only editors may send documents
SESSION_COOKIE = "lvo_sitzung"
READER, EDITOR = "leser", "redaktion"
KEYS_REFETCH_SECONDS = 60
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
NETWORK_ERRORS = (httpx.HTTPError, httpx2.HTTPError)  # Authlib talks through httpx2 where it is installed
log = logging.getLogger("lvo.sso")


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[str]

    @property
    def editor(self) -> bool:
        return EDITOR in self.roles


class ProviderUnavailable(ConfigError):
    """The identity provider did not answer (at start: `Fehler: …`, exit 2)."""


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name or dotted path (Keycloak's `realm_access.roles`)."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def roles_of(claims: dict[str, Any], settings: Settings) -> frozenset[str]:
    """The lvo roles that the provider's role claim grants; empty: no access."""
    granted = claim(claims, settings.oidc_roles_claim) or []
    granted = {granted} if isinstance(granted, str) else {str(value) for value in granted}
    roles = set()
    if granted & set(settings.oidc_editor_roles):
        roles |= {EDITOR, READER}
    if not settings.oidc_reader_roles or granted & set(settings.oidc_reader_roles):
        roles.add(READER)
    return frozenset(roles)


def safe_return_path(value: str | None) -> str:
    """Only a path on this server: never another host (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or urlsplit(value).netloc:
        return "/"
    return value


class SingleSignOn:
    """The provider's metadata and keys, the login routes and the guard in front of every other route."""

    def __init__(self, settings: Settings, metadata: dict[str, Any]) -> None:
        self.settings = settings
        self.metadata = metadata
        self.base = settings.public_url.rstrip("/")
        self.oauth = OAuth()
        self.oauth.register("provider", client_id=settings.oidc_client_id,
                            client_secret=os.environ[SECRET_VARIABLE],
                            server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
                            client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"})
        self._keys: KeySet | None = None
        self._fetched = 0.0

    @classmethod
    def discover(cls, settings: Settings) -> SingleSignOn:
        """Read the provider's discovery document; an unreachable or wrong provider stops the start."""
        url = f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            metadata = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"Der Anmeldedienst {settings.oidc_issuer} ist nicht erreichbar "
                                      f"({type(error).__name__}).") from None
        if metadata.get("issuer", "").rstrip("/") != settings.oidc_issuer.rstrip("/"):
            raise ProviderUnavailable(f"Der Anmeldedienst meldet den Aussteller {metadata.get('issuer')!r}, "
                                      f"erwartet {settings.oidc_issuer!r}.")
        return cls(settings, metadata)

    def install(self, server: FastAPI) -> None:
        server.add_api_route(LOGIN, self.login, methods=["GET"])
        server.add_api_route(CALLBACK, self.callback, methods=["GET"])
        server.add_api_route(LOGOUT, self.logout, methods=["GET"])
        server.add_middleware(_Guard, sso=self)
        # added last, so it runs first: the guard and the routes find the session in place
        server.add_middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32), session_cookie=SESSION_COOKIE,
                              max_age=int(self.settings.session_hours * 3600), same_site="lax",
                              https_only=self.base.startswith("https://"))

    # -- the browser's login ------------------------------------------------------------------------------
    async def login(self, request: Request) -> Response:
        request.session["next"] = safe_return_path(request.query_params.get("next"))
        try:
            return await self.oauth.provider.authorize_redirect(request, self.base + CALLBACK)
        except NETWORK_ERRORS as error:
            return unavailable_page(error)

    async def callback(self, request: Request) -> Response:
        try:
            token = await self.oauth.provider.authorize_access_token(request)
        except NETWORK_ERRORS as error:
            return unavailable_page(error)
        except (OAuthError, JoseError, KeyError, ValueError) as error:
            log.warning("Anmeldung abgewiesen: %s", type(error).__name__)
            return message_page("Anmeldung fehlgeschlagen", "Die Anmeldung konnte nicht bestätigt werden. "
                                f'<a href="{LOGIN}">Erneut anmelden</a>', 401)
        claims = dict(token.get("userinfo") or {})
        roles = roles_of(claims, self.settings)
        if READER not in roles:
            return message_page("Kein Zugang", "Ihr Konto hat keine Berechtigung für die LvO-Wissenssuche.", 403)
        name = str(claims.get("name") or claims.get("preferred_username") or claims.get("sub"))
        next_path = request.session.pop("next", "/")
        request.session.clear()
        request.session.update({"user": name, "roles": sorted(roles), "until": time.time() + self.max_age,
                                "id_token": token.get("id_token", "")})
        return RedirectResponse(safe_return_path(next_path), status_code=303)

    async def logout(self, request: Request) -> Response:
        id_token = request.session.get("id_token")
        request.session.clear()
        end_session = self.metadata.get("end_session_endpoint")
        if end_session and id_token:
            query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": self.base + "/",
                               "client_id": self.settings.oidc_client_id})
            return RedirectResponse(f"{end_session}?{query}", status_code=303)
        return message_page("Abgemeldet", f'Sie sind abgemeldet. <a href="{LOGIN}">Erneut anmelden</a>', 200)

    @property
    def max_age(self) -> float:
        return self.settings.session_hours * 3600

    # -- who is asking ------------------------------------------------------------------------------------
    def session_user(self, session: dict[str, Any]) -> User | None:
        if not session.get("user") or session.get("until", 0) < time.time():
            return None
        return User(session["user"], frozenset(session.get("roles", ())))

    async def bearer_user(self, token: str) -> User | None:
        """The script behind a bearer access token of the provider, or None when it is not valid for lvo."""
        try:
            claims = await self._verified_claims(token)
        except (JoseError, ValueError) as error:
            log.warning("Zugriffstoken abgewiesen: %s", type(error).__name__)
            return None
        roles = roles_of(claims, self.settings)
        return User(str(claims.get("client_id") or claims.get("sub")), roles) if READER in roles else None

    async def _verified_claims(self, token: str) -> dict[str, Any]:
        kid = extract_compact(token.encode()).headers().get("kid")
        keys = await self._key_set(kid)
        decoded = jwt.decode(token, keys, algorithms=SIGNING_ALGORITHMS)
        registry = jwt.JWTClaimsRegistry(leeway=30, iss={"essential": True, "value": self.metadata["issuer"]},
                                         aud={"essential": True, "value": self.settings.oidc_client_id},
                                         exp={"essential": True})
        registry.validate(decoded.claims)
        return decoded.claims

    async def _key_set(self, kid: str | None) -> KeySet:
        """The provider's keys; fetched again for a key id not seen yet (a rotation), at most once a minute."""
        if self._keys is None or (not self._knows(kid) and time.monotonic() - self._fetched > KEYS_REFETCH_SECONDS):
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(self.metadata["jwks_uri"])
                response.raise_for_status()
            self._keys, self._fetched = KeySet.import_key_set(response.json()), time.monotonic()
        return self._keys

    def _knows(self, kid: str | None) -> bool:
        try:
            return kid is None or bool(self._keys.get_by_kid(kid))
        except JoseError:
            return False


class _Guard:
    """ASGI middleware: no route without a valid session or bearer token; uploads only for editors."""

    def __init__(self, app, sso: SingleSignOn) -> None:
        self.app = app
        self.sso = sso

    async def __call__(self, scope, receive, send) -> None:
        # the chat needs no websocket; one without a session is closed
        if scope["type"] == "websocket" and self.sso.session_user(HTTPConnection(scope).session) is None:
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            user = await self._user(request)
        except httpx.HTTPError as error:
            await unavailable_page(error)(scope, receive, send)
            return
        if user is None:
            await self._refusal(request)(scope, receive, send)
            return
        if scope["path"].startswith(EDITOR_PATHS) and not user.editor:
            await JSONResponse({"detail": "Nur die Redaktion darf Dokumente hinzufügen."}, 403)(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)

    async def _user(self, request: Request) -> User | None:
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return await self.sso.bearer_user(authorization[7:].strip())
        return self.sso.session_user(request.session)

    @staticmethod
    def _refusal(request: Request) -> Response:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"{LOGIN}?{urlencode({'next': request.url.path})}", status_code=303)
        return JSONResponse({"detail": "Anmeldung erforderlich"}, 401, headers={"WWW-Authenticate": "Bearer"})


def user_of(request: Any) -> User | None:
    """The logged-in user of a Gradio request (set by the guard), or None without single sign-on."""
    state = getattr(getattr(request, "request", request), "scope", {}).get("state", {})
    return state.get("user")


def message_page(title: str, text: str, status: int) -> HTMLResponse:
    return HTMLResponse(f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{html.escape(title)}'
                        f'</title></head><body><main><h1>{html.escape(title)}</h1><p role="alert">{text}</p>'
                        "</main></body></html>", status)


def unavailable_page(error: Exception) -> HTMLResponse:
    log.warning("Anmeldedienst nicht erreichbar: %s", type(error).__name__)
    return message_page("Anmeldedienst nicht erreichbar", "Der Anmeldedienst ist zurzeit nicht erreichbar. Bitte "
                        "versuchen Sie es in einigen Minuten noch einmal.", 503)
