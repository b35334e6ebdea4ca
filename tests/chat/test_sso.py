"""Single sign-on against a real OpenID Provider (tests/node/oidc-provider.mjs: oidc-provider, OpenID Certified).

Chromium logs in through the provider's own login form as a reader and as an editor; scripts get a bearer token
by client credentials. The only tokens made here are the forged ones: signed with the provider's key but with
the wrong audience or expired, or signed with another key.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.chat.test_browser import CHROMIUM, CHROMIUM_ARGS, browser  # noqa: F401 – the module's browser fixture
from tests.conftest import REPO, Server, Servers, copy_sample, free_port, lvo_process, run_lvo

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.slow,  # a provider, a server and a browser
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian-Chromium fehlt: apt-get install chromium"),
              pytest.mark.skipif(shutil.which("node") is None, reason="node fehlt")]

PROVIDER = REPO / "tests" / "node" / "oidc-provider.mjs"
SECRET = "test-geheimnis-0123456789"
UPLOADED = "Die Gemeinde Anmeldingen führt seit 2012 ein Bildungsbüro mit drei Stellen.\n"


@dataclass
class Provider:
    issuer: str
    keys: KeySet
    process: subprocess.Popen

    def client_token(self, resource: str | None = None) -> str:
        data = {"grant_type": "client_credentials", "scope": "api", **({"resource": resource} if resource else {})}
        response = httpx.post(f"{self.issuer}/token", data=data, auth=("lvo", SECRET))
        response.raise_for_status()
        return response.json()["access_token"]

    def forged(self, keys: KeySet | None = None, **claims) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": "lvo", "sub": "lvo", "client_id": "lvo", "iat": now, "exp": now + 600,
                   **claims}
        key = (keys or self.keys).keys[0]
        return jwt.encode({"alg": "RS256", "kid": key.kid}, payload, key)


def start_provider(folder: Path, lvo_url: str) -> Provider:
    keys = KeySet([RSAKey.generate_key(2048, parameters={"use": "sig"})])
    jwks = folder / "jwks.json"
    jwks.write_text(json.dumps(keys.as_dict(private=True)))
    port = free_port()
    # stdout carries only "ready"; the provider's development warnings go to stderr
    process = subprocess.Popen(["node", str(PROVIDER), str(port), SECRET, f"{lvo_url}anmelden/rueckkehr", lvo_url,
                                str(jwks)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout.readline().strip() == "ready", "der OpenID-Provider startete nicht"
    return Provider(f"http://127.0.0.1:{port}", keys, process)


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory, minilm: str, lvo_server: Servers) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("sso")
    corpus = root / "corpus"
    corpus.mkdir()
    copy_sample(corpus, "dresden-zielgruppen-bildungsmarketing.md", "kreis-lippe-bildungsberatung.md")
    assert run_lvo("ingest", corpus, "--index", root / "index", "--model", minilm).returncode == 0
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    provider = start_provider(root, url)
    env = {"LVO_OIDC_ISSUER": provider.issuer, "LVO_OIDC_CLIENT_ID": "lvo", "LVO_OIDC_CLIENT_SECRET": SECRET,
           "LVO_PUBLIC_URL": url}
    server = lvo_server.start("--index", root / "index", "--corpus", corpus, "--model", minilm, cwd=root, env=env,
                              port=port)
    yield {"url": url, "provider": provider, "server": server, "corpus": corpus, "env": env, "root": root}
    lvo_server.stop(server)
    provider.process.terminate()
    provider.process.wait(timeout=10)


def log_in(page, url: str, provider: Provider, login: str) -> None:
    page.goto(url, wait_until="load")
    assert page.url.startswith(provider.issuer), page.url  # sent to the provider's login form
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "beliebig")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    if page.url.startswith(provider.issuer):  # the provider's consent for the first login of a session
        page.click("button[type=submit]")
    page.locator("#lvo-angemeldet", has_text="Angemeldet als").wait_for()
    page.wait_for_selector("#lvo-frage textarea")


def status_of(page, path: str, method: str = "GET") -> int:
    """A request with the page's session cookie."""
    context = page.context.request
    if method == "POST":
        return context.post(path, multipart={"files": {"name": "a.txt", "mimeType": "text/plain",
                                                       "buffer": UPLOADED.encode()}}).status
    return context.get(path, max_redirects=0, headers={"Accept": "text/html"}).status


def test_reader_asks_but_may_not_upload_then_logs_out(browser, sso: dict):  # noqa: F811
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    log_in(page, sso["url"], sso["provider"], "leserin")
    assert "Angemeldet als Leserin (Lesen)" in page.inner_text("#lvo-angemeldet")
    page.fill("#lvo-frage textarea", "Wie hat Dresden die Bildungsberatung organisiert?")
    page.keyboard.press("Enter")
    page.wait_for_selector("#lvo-chat .lvo-card")
    assert not page.is_visible("#lvo-upload")
    assert status_of(page, f"{sso['url']}gradio_api/upload", "POST") == 403
    assert status_of(page, f"{sso['url']}quelle/kreis-lippe-bildungsberatung.md") == 200
    issuer = sso["provider"].issuer
    page.click("#lvo-angemeldet a")  # Abmelden: lvo's session ends, then (after its question) the provider's
    page.wait_for_url(f"{issuer}/session/end**")
    page.click("button[value=yes]")
    page.wait_for_url(f"{issuer}/interaction/**")  # back at lvo, which sends the browser to a fresh login form
    assert page.is_visible("input[name=login]")
    assert status_of(page, sso["url"]) == 303
    context.close()


def test_editor_sees_the_upload_panel_and_adds_a_document(browser, sso: dict):  # noqa: F811
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    log_in(page, sso["url"], sso["provider"], "redakteur")
    assert "(Redaktion)" in page.inner_text("#lvo-angemeldet")
    page.click("#lvo-upload button")  # opens the panel
    page.set_input_files("#lvo-dateien input[type=file]", files=[{"name": "anmeldingen.txt", "mimeType": "text/plain",
                                                                   "buffer": UPLOADED.encode()}])
    page.wait_for_timeout(500)
    page.click("#lvo-hinzufuegen")
    page.wait_for_function("document.querySelector('#lvo-upload-status').innerText.includes('anmeldingen.txt')")
    assert (sso["corpus"] / "anmeldingen.txt").is_file()
    context.close()


def search(url: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{url}gradio_api/call/search", headers=headers, timeout=60,
                      json={"data": ["Bildungsberatung Dresden", 3, "", "", "", None, None]})


def test_api_needs_a_valid_bearer_token(sso: dict):
    provider: Provider = sso["provider"]
    url = sso["url"]
    assert search(url, None).status_code == 401
    token = provider.client_token()
    accepted = search(url, token)
    assert accepted.status_code == 200
    lines = httpx.get(f"{url}gradio_api/call/search/{accepted.json()['event_id']}",
                      headers={"Authorization": f"Bearer {token}"}, timeout=60).text.splitlines()
    assert json.loads(lines[lines.index("event: complete") + 1].removeprefix("data:"))[0]["passages"]
    other_key = KeySet([RSAKey.generate_key(2048, parameters={"use": "sig"})])
    forged = {"fremder Schlüssel": provider.forged(other_key), "falsche Zielgruppe": provider.forged(aud="anderer"),
              "abgelaufen": provider.forged(exp=int(time.time()) - 3600, iat=int(time.time()) - 4000),
              "falscher Aussteller": provider.forged(iss="http://127.0.0.1:9/"),
              "verändert": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")}
    refused = {why: search(url, value).status_code for why, value in forged.items()}
    assert refused == dict.fromkeys(forged, 401)
    assert search(url, "kein.jwt").status_code == 401


def test_callback_replay_state_mismatch_and_open_redirect_are_refused(browser, sso: dict):  # noqa: F811
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    callbacks: list[str] = []
    page.on("request", lambda request: callbacks.append(request.url) if "/anmelden/rueckkehr" in request.url else None)
    page.goto(f"{sso['url']}anmelden?next=https://boese.example/falle", wait_until="load")
    page.fill("input[name=login]", "leserin")
    page.fill("input[name=password]", "beliebig")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    if page.url.startswith(sso["provider"].issuer):
        page.click("button[type=submit]")
    page.locator("#lvo-angemeldet", has_text="Angemeldet als").wait_for()
    assert page.url == sso["url"]  # never the foreign host
    replay = page.context.request.get(callbacks[-1], max_redirects=0)
    assert replay.status == 401 and "Anmeldung fehlgeschlagen" in replay.text()
    mismatch = page.context.request.get(f"{sso['url']}anmelden/rueckkehr?code=abc&state=falsch", max_redirects=0)
    assert mismatch.status == 401
    context.close()


def test_provider_unreachable_at_start_and_later(sso: dict, minilm: str, tmp_path: Path):
    closed = f"http://127.0.0.1:{free_port()}"
    done = lvo_process("serve", "--index", sso["root"] / "index", "--model", minilm, "--port", str(free_port()),
                       env={**sso["env"], "LVO_OIDC_ISSUER": closed}, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("Fehler: Der Anmeldedienst"), done.stderr
    assert "Traceback" not in done.stderr


def test_provider_down_later_gives_a_german_page_and_no_entry(sso: dict, lvo_server: Servers, minilm: str):
    # its own provider and server: the module's provider stays up for the other tests
    root: Path = sso["root"]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    provider = start_provider(root, url)
    env = {**sso["env"], "LVO_OIDC_ISSUER": provider.issuer, "LVO_PUBLIC_URL": url}
    server: Server = lvo_server.start("--index", root / "index", "--model", minilm, cwd=root, env=env, port=port)
    provider.process.terminate()
    provider.process.wait(timeout=10)
    login = httpx.get(f"{url}anmelden")
    assert login.status_code == 503 and "Anmeldedienst ist zurzeit nicht erreichbar" in login.text
    assert httpx.get(url, headers={"Accept": "text/html"}).status_code == 303  # still no way in
    assert search(url, "ein.falsches.token").status_code in (401, 503)
    lvo_server.stop(server)
