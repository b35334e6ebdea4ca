"""Security of the served app: loopback by default, login everywhere else, /quelle only inside the corpus,
document strings escaped, limits on queries and uploads. Real servers, real HTTP, real files.

The tests that need the two servers (one process each) are marked slow."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from gradio_client import Client

from chat.limits import MAX_QUERY_CHARS, MAX_UPLOAD_BYTES, query_problem, upload_problem
from chat.render import reply
from chat.security import Authenticator, check_password, hash_password, requires_auth
from index import Index, Searcher, sync
from ingest import ChunkingOptions
from tests.conftest import Server, Servers, free_port, run_lvo

PASSWORD = "Lernen-vor-Ort-2014"
EVIL_NAME = "<img src=x onerror=alert(1)>.txt"
EVIL_TEXT = "Bildungsmonitoring <script>alert('text')</script> und <img src=x onerror=alert(2)> in Kassel."
GOOD_NAMES = ["bericht mit leerzeichen.txt", "Größe äöü ß.txt", "zitat \"doppelt\" 'einfach'.txt"]
TRAVERSALS = ["/quelle/../geheim.txt", "/quelle/..%2Fgeheim.txt", "/quelle/%2e%2e/geheim.txt",
              "/quelle/%2e%2e%2fgeheim.txt", "/quelle/..%252Fgeheim.txt", "/quelle/unter/..%2F..%2Fgeheim.txt",
              "/quelle//etc/passwd", "/quelle/%2Fetc%2Fpasswd", "/quelle/%2fetc/passwd", "/quelle/..\\geheim.txt",
              "/quelle/link-nach-draussen.txt", "/quelle/ordner-link/geheim.txt", "/quelle/.lvoignore",
              "/quelle/%00", "/quelle/a%00.txt", "/quelle/" + "x" * 5000 + ".txt", "/quelle/nicht-da.txt",
              "/quelle/unter/../../geheim.txt", "/quelle/unter/.%2e/.%2e/geheim.txt"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, minilm_embedder) -> dict[str, Path]:
    """A corpus with hostile names and text, a secret beside it, links out, and its index."""
    root = tmp_path_factory.mktemp("site")
    corpus = root / "corpus"
    (corpus / "unter").mkdir(parents=True)
    (root / "geheim.txt").write_text("Geheimes Passwort: hunter2", "utf-8")
    for name in GOOD_NAMES:
        (corpus / name).write_text(f"Die Datei {name} beschreibt die Bildungskonferenz in Essen.", "utf-8")
    (corpus / EVIL_NAME).write_text(EVIL_TEXT, "utf-8")
    (corpus / "titel.html").write_text("<html><head><title>&lt;script&gt;alert('titel')&lt;/script&gt;</title>"
                                       "</head><body><p>Bildungsmonitoring mit Titel in Kassel.</p></body></html>")
    (corpus / "unter" / "innen.txt").write_text("Ein Bericht im Unterordner.", "utf-8")
    (corpus / ".lvoignore").write_text("nichts\n", "utf-8")
    (corpus / "link-nach-draussen.txt").symlink_to(root / "geheim.txt")
    (corpus / "ordner-link").symlink_to(root, target_is_directory=True)
    index = Index.open(root / "index", minilm_embedder, create=True)
    sync(index, corpus, ChunkingOptions(words=60, overlap=10))
    index.close()
    users = root / "users.json"
    added = run_lvo("users", "add", "anna", "--users", users, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    return {"root": root, "corpus": corpus, "index": root / "index", "users": users}


def serve_args(site: dict[str, Path], minilm: str, *extra: str) -> list[str]:
    return ["--index", str(site["index"]), "--corpus", str(site["corpus"]), "--model", minilm, *extra]


@pytest.fixture(scope="module")
def servers(site: dict[str, Path], minilm: str, lvo_server: Servers) -> Iterator[tuple[Server, Server]]:
    """Both servers, started at once: `lvo serve` with no --host (the loopback default, no login), and
    `lvo serve --host 127.0.0.2` (another address) with a users file."""
    started = (lvo_server.launch(*serve_args(site, minilm), cwd=site["root"]),
               lvo_server.launch(*serve_args(site, minilm, "--users", str(site["users"])), host="127.0.0.2",
                                 cwd=site["root"]))
    try:
        yield tuple(server.wait() for server in started)
    finally:
        for server in started:
            lvo_server.stop(server)


@pytest.fixture(scope="module")
def open_server(servers: tuple[Server, Server]) -> tuple[str, int]:
    return servers[0].address


@pytest.fixture(scope="module")
def guarded_server(servers: tuple[Server, Server]) -> tuple[str, int]:
    return servers[1].address


def raw_get(host: str, port: int, target: str, cookies: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET exactly `target` (no client-side normalisation of ../ or escapes)."""
    connection = http.client.HTTPConnection(host, port, timeout=30)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())} if cookies else {}
    try:
        connection.request("GET", target, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def login(host: str, port: int, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(f"http://{host}:{port}/login", data={"username": "anna", "password": password}, timeout=30)


def test_only_the_loopback_default_is_open():
    assert not requires_auth("127.0.0.1") and not requires_auth("localhost") and not requires_auth("::1")
    assert requires_auth("0.0.0.0") and requires_auth("127.0.0.2") and requires_auth("192.168.1.5")


def test_passwords_are_salted_scrypt_hashes():
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and PASSWORD not in first and first.startswith("scrypt$")
    assert check_password(PASSWORD, first) and not check_password(PASSWORD + "x", first)
    assert not check_password(PASSWORD, "scrypt$kaputt")
    check = Authenticator({"anna": first})
    assert check("anna", PASSWORD) and not check("anna", "falsch") and not check("bert", PASSWORD)


def test_users_file_holds_no_plain_passwords_and_is_private(site: dict[str, Path]):
    text = site["users"].read_text("utf-8")
    assert "anna" in text and PASSWORD not in text
    assert site["users"].stat().st_mode & 0o077 == 0


def test_serve_on_another_address_refuses_to_start_without_users(lvo, site: dict[str, Path], minilm: str,
                                                                 monkeypatch: pytest.MonkeyPatch):
    def never(*args, **kwargs):
        raise AssertionError("the server started")

    monkeypatch.setattr("uvicorn.run", never)
    for users in (site["root"] / "fehlt.json", site["root"] / "leer.json"):
        if users.name == "leer.json":
            users.write_text("{}", "utf-8")
        done = lvo("serve", *serve_args(site, minilm, "--host", "127.0.0.2", "--port", str(free_port()),
                                        "--users", str(users)), cwd=site["root"])
        output = done.stdout + done.stderr
        assert done.returncode == 2
        assert output.startswith("Fehler: Für --host 127.0.0.2 ist eine Anmeldung nötig")
        assert "Traceback" not in output and len(output.strip().splitlines()) == 1


@pytest.mark.slow
def test_default_binds_loopback_only(open_server: tuple[str, int]):
    host, port = open_server
    assert raw_get(host, port, "/quelle/unter/innen.txt")[0] == 200
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.settimeout(10)
        probe.connect(("127.0.0.2", port))


@pytest.mark.slow
def test_source_route_serves_corpus_files_with_any_name(open_server: tuple[str, int], site: dict[str, Path]):
    host, port = open_server
    for name in [*GOOD_NAMES, EVIL_NAME, "unter/innen.txt"]:
        status, body = raw_get(host, port, "/quelle/" + quote(name))
        assert status == 200, name
        assert body == (site["corpus"] / name).read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("target", TRAVERSALS)
def test_source_route_refuses_everything_outside_the_corpus(open_server: tuple[str, int], target: str):
    status, body = raw_get(*open_server, target)
    assert status in (400, 404), target
    assert b"hunter2" not in body and b"root:" not in body


@pytest.mark.slow
def test_another_address_needs_a_login_everywhere(guarded_server: tuple[str, int]):
    host, port = guarded_server
    assert raw_get(host, port, "/quelle/unter/innen.txt")[0] == 401
    assert httpx.post(f"http://{host}:{port}/gradio_api/call/search", json={"data": ["Kassel", 3]},
                      timeout=30).status_code == 401
    assert httpx.get(f"http://{host}:{port}/config", timeout=30).status_code == 401
    assert login(host, port, "falsch").status_code == 400
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error types here
        Client(f"http://{host}:{port}/", verbose=False).predict("Kassel", 3, api_name="/search")


@pytest.mark.slow
def test_after_login_search_and_sources_work_and_stay_confined(guarded_server: tuple[str, int]):
    host, port = guarded_server
    response = login(host, port)
    assert response.status_code == 200
    cookies = dict(response.cookies)
    status, body = raw_get(host, port, "/quelle/unter/innen.txt", cookies)
    assert (status, body) == (200, b"Ein Bericht im Unterordner.")
    for target in TRAVERSALS:
        status, body = raw_get(host, port, target, cookies)
        assert status in (400, 404) and b"hunter2" not in body, target
    client = Client(f"http://{host}:{port}/", auth=("anna", PASSWORD), verbose=False)
    result = client.predict("Bildungskonferenz Essen", 3, api_name="/search")
    assert len(result["passages"]) == 3


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data):
        self.text += data


def test_document_text_titles_and_file_names_are_escaped(site: dict[str, Path], minilm_embedder):
    index = Index.open(site["index"], minilm_embedder)
    try:
        query = "Bildungsmonitoring Kassel <b>fett</b>"
        result = Searcher(index).search(query, 5)
    finally:
        index.close()
    sources = {hit.source for hit in result.hits}
    assert {EVIL_NAME, "titel.html"} <= sources
    html = reply(result, searched=query + " <script>x</script>")
    parsed = _Elements()
    parsed.feed(html)
    assert not parsed.tags & {"script", "img", "iframe", "object", "b"}
    assert not any(name.startswith("on") for name in parsed.attributes)
    assert EVIL_NAME in parsed.text and "<script>alert('titel')</script>" in parsed.text
    assert "<script>alert('text')</script>" in parsed.text


@pytest.mark.slow
def test_limits_on_queries_and_uploads(open_server: tuple[str, int]):
    host, port = open_server
    client = Client(f"http://{host}:{port}/", verbose=False)
    too_long = "Bildung " * (MAX_QUERY_CHARS // 8 + 10)
    assert "zu lang" in query_problem(too_long)
    assert client.predict(too_long, 3, api_name="/search")["passages"] == []
    assert len(client.predict("Bildungskonferenz Essen", 3, api_name="/search")["passages"]) == 3
    assert "nicht erlaubt" in upload_problem("programm.exe", 10)
    assert "zu groß" in upload_problem("gross.pdf", MAX_UPLOAD_BYTES + 1)
    assert upload_problem("bericht.pdf", 1000) is None
    oversized = httpx.post(f"http://{host}:{port}/gradio_api/upload",
                           files={"files": ("gross.txt", b"a" * (MAX_UPLOAD_BYTES + 1), "text/plain")}, timeout=120)
    assert oversized.status_code == 413
