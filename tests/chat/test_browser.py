"""The chat in a real browser: Playwright drives Debian's Chromium against a real server.

The server runs on its own copy of a few sample files (plus a hostile document), indexed with the small
MiniLM model so that uploads are embedded quickly. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, Server, Servers, copy_sample, make_pdf, run_lvo

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "tests" / "artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SAMPLES = ("praxisbeispiele-mitteldeutschland.pdf", "dresden-zielgruppen-bildungsmarketing.md",
           "leipzig-leitlinien-zweck-zielsystem.md", "kreis-lippe-bildungsberatung.md",
           "transmit-lvo-kommunen-im-transfer.txt")
HOSTILE = ("Sicherheitsprotokoll der Testkommune Skriptingen. Das Sicherheitsprotokoll enthält den Code "
           "<script>window.lvoAngriff = 'script'</script> und das Bild <img src=x onerror=\"window.lvoAngriff = "
           "'img'\"> als reinen Text. Das Sicherheitsprotokoll wurde im Jahr 2013 von der Testkommune beschlossen.\n")
UPLOADED = ("Die Gemeinde Quellenfeld betreibt seit 2014 einen Bildungskompass für Zugewanderte. Der Bildungskompass "
            "von Quellenfeld bündelt Beratung, Sprachkurse und Patenschaften an einem Ort.\n")
SHOW_FIRST_REPLY = """() => {
  const first = document.querySelector('#lvo-chat .lvo-reply');
  let box = first && first.parentElement;
  while (box && box.scrollHeight <= box.clientHeight + 1) box = box.parentElement;
  if (first && box) box.scrollTop += first.getBoundingClientRect().top - box.getBoundingClientRect().top - 60;
}"""
pytestmark = [pytest.mark.slow,  # a browser and a server
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian-Chromium fehlt: apt-get install chromium")]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser") / "corpus"
    folder.mkdir()
    copy_sample(folder, *SAMPLES)
    (folder / "skriptingen-sicherheitsprotokoll.txt").write_text(HOSTILE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def server(corpus_dir: Path, minilm: str, lvo_server: Servers) -> Iterator[str]:
    index_dir = corpus_dir.parent / "index"
    ingested = run_lvo("ingest", corpus_dir, "--index", index_dir, "--model", minilm)
    assert ingested.returncode == 0, ingested.stderr
    server = lvo_server.start("--index", index_dir, "--corpus", corpus_dir, "--model", minilm)
    yield server.url
    lvo_server.stop(server)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server: str) -> Iterator[object]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, locale="de-DE")
    page = context.new_page()
    page.goto(server, wait_until="load")
    page.wait_for_selector("#lvo-frage textarea")
    yield page
    context.close()


def ask(page, question: str) -> object:
    """Send a question and return the locator of the new reply."""
    before = page.locator("#lvo-chat .lvo-reply").count()
    page.fill("#lvo-frage textarea", question)
    page.click("#lvo-senden")
    page.wait_for_function(f"document.querySelectorAll('#lvo-chat .lvo-reply').length > {before}", timeout=90_000)
    return page.locator("#lvo-chat .lvo-reply").nth(before)


def shoot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def normalized(text: str) -> str:
    return " ".join(text.split())


def assert_traceable(reply) -> None:
    """Every marker points to a card of this reply, and its sentence is in that card's passage."""
    references = reply.locator(".lvo-ref")
    assert references.count() >= 1
    for number in range(references.count()):
        reference = references.nth(number)
        target = reference.get_attribute("href").removeprefix("#")
        card = reply.locator(f'.lvo-card[id="{target}"]')
        assert card.count() == 1, target
        assert reference.inner_text() == card.locator(".lvo-marker").inner_text()
        sentence = reply.locator(".lvo-sentence").nth(number).inner_text()
        assert normalized(sentence) in normalized(card.locator(".lvo-card-text").inner_text())


def test_no_generation_switch_without_an_endpoint(page):
    reply = ask(page, "Wie hat Dresden die Bildungsberatung organisiert?")
    assert page.locator("#lvo-formulieren").count() == 0
    assert reply.locator(".lvo-generated").count() == 0


def test_answer_with_markers_cards_and_page_links(page, server: str):
    reply = ask(page, "Welche Organisationsmodelle der Bildungsberatung gab es in Mitteldeutschland?")
    assert reply.locator(".lvo-answer").count() == 1
    assert_traceable(reply)
    cards = reply.locator(".lvo-card")
    assert cards.count() == 5
    pdf_cards = [cards.nth(i) for i in range(cards.count())
                 if ".pdf" in cards.nth(i).locator(".lvo-card-meta").inner_text()]
    assert pdf_cards, "the PDF about Bildungsberatung is cited"
    for card in pdf_cards:
        page_number = re.search(r"S\. (\d+)", card.locator(".lvo-card-meta").inner_text()).group(1)
        link = card.locator("a.lvo-source").get_attribute("href")
        assert link == f"/quelle/praxisbeispiele-mitteldeutschland.pdf#page={page_number}"
    assert any(card.locator("mark").count() >= 1 for card in pdf_cards), "query terms are highlighted"
    response = page.request.get(server + link.lstrip("/").split("#")[0])
    assert response.ok and response.body()[:5] == b"%PDF-"
    shoot(page, "desktop-antwort")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)
    shoot(page, "phone-antwort")


def choose(page, dropdown: str, option: str) -> None:
    page.click(f"{dropdown} input")
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def test_commune_filter_restricts_the_cards(page):
    choose(page, "#lvo-kommune", "Leipzig")
    reply = ask(page, "Welche Ziele hat die Stadt für die Bildung gesetzt?")
    metas = reply.locator(".lvo-card-meta")
    assert metas.count() >= 1
    for number in range(metas.count()):
        assert "Leipzig" in metas.nth(number).inner_text()
    shoot(page, "desktop-filter")


def test_follow_up_searches_in_context(page):
    first = ask(page, "Wie hat Dresden die Zielgruppen angesprochen?")
    assert "Dresden" in first.locator(".lvo-searched").inner_text()
    follow_up = ask(page, "Und in Leipzig?")
    searched = follow_up.locator(".lvo-searched").inner_text()
    assert "Gesucht wurde" in searched and "Leipzig" in searched and "Zielgruppen" in searched
    assert "Dresden" not in searched
    with page.expect_download() as download:
        page.click("#lvo-export")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "## Frage 1: Wie hat Dresden die Zielgruppen angesprochen?" in text
    assert "## Frage 2: Und in Leipzig?" in text and "Gesucht wurde" in text
    assert re.search(r"\*\*\[1\] .+\*\* – `", text)


def test_off_topic_question_shows_no_cards(page):
    reply = ask(page, "Wie backe ich Brot?")
    assert "Dazu habe ich in den Dokumenten nichts gefunden" in reply.inner_text()
    assert reply.locator(".lvo-card:visible").count() == 0
    assert reply.locator(".lvo-ref").count() == 0


def test_document_markup_is_shown_as_text_and_never_runs(page):
    reply = ask(page, "Was steht im Sicherheitsprotokoll von Skriptingen?")
    card = reply.locator(".lvo-card", has_text="Sicherheitsprotokoll").first
    text = card.locator(".lvo-card-text").inner_text()
    assert "<script>window.lvoAngriff = 'script'</script>" in text
    assert "<img src=x onerror=" in text
    assert page.evaluate("window.lvoAngriff") is None
    assert page.locator("#lvo-chat img[src='x']").count() == 0
    assert page.locator("#lvo-chat script").count() == 0


def test_upload_indexes_new_files_and_names_failures(page, corpus_dir: Path, tmp_path: Path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    good = uploads / "quellenfeld-bildungskompass.txt"
    good.write_text(UPLOADED, encoding="utf-8")
    pdf = make_pdf(uploads / "quellenfeld-bericht.pdf", [["Quellenfeld Bericht Seite eins."],
                                                         ["Der Bildungskompass in Quellenfeld hat viele Nutzer."]])
    broken = uploads / "kaputt.pdf"
    broken.write_bytes(b"%PDF-1.4 kein echtes PDF")
    clash = uploads / "dresden-zielgruppen-bildungsmarketing.md"
    clash.write_text("# Anderes Dokument\n\nDieser Text über Quellenfeld ist neu und anders.\n", encoding="utf-8")
    refused = uploads / "programm.exe"
    refused.write_bytes(b"MZ")
    original = (corpus_dir / clash.name).read_bytes()

    page.click("#lvo-upload button, #lvo-upload .label-wrap")
    page.locator("#lvo-dateien input[type=file]").set_input_files([str(good), str(pdf), str(broken), str(clash),
                                                                   str(refused)])
    page.wait_for_timeout(1500)
    page.click("#lvo-hinzufuegen")
    status = page.locator("#lvo-upload-status")
    status.filter(has_text="hinzugefügt").wait_for(timeout=120_000)
    report = status.inner_text()
    assert "quellenfeld-bildungskompass.txt" in report and "quellenfeld-bericht.pdf" in report
    assert "kaputt.pdf" in report and "nicht übernommen" in report
    assert "dresden-zielgruppen-bildungsmarketing-2.md" in report
    assert (corpus_dir / clash.name).read_bytes() == original
    assert not (corpus_dir / "kaputt.pdf").exists()
    shoot(page, "desktop-upload")

    reply = ask(page, "Was bietet der Bildungskompass in Quellenfeld?")
    assert_traceable(reply)
    assert "quellenfeld-" in reply.locator(".lvo-card-meta").first.inner_text()
    assert "Quellenfeld" in reply.locator(".lvo-answer").inner_text()


@pytest.fixture(scope="module")
def default_server(sample_server: Server) -> str:
    """`make run`'s setting: the whole sample corpus with the default model."""
    return sample_server.url


@pytest.fixture
def default_page(browser, default_server: str) -> Iterator[object]:
    context = browser.new_context(viewport=DESKTOP, locale="de-DE")
    page = context.new_page()
    page.goto(default_server, wait_until="load")
    page.wait_for_selector("#lvo-frage textarea")
    yield page
    context.close()


def test_default_answer_starts_with_the_organisation_and_off_topic_stays_silent(default_page):
    page = default_page
    reply = ask(page, "Wie hat Dresden die Bildungsberatung organisiert?")
    first = normalized(reply.locator(".lvo-sentence").first.inner_text())
    assert "Dresden" in first or "Bildungsberatung" in first, first
    assert re.search(r"Beratung|Bildungsberatung|Anlaufstelle|Beratungsstelle", first), first
    assert not re.search(r"\b(2009|2010)\b.*(startete|Start|beworben)", first), first
    assert_traceable(reply)
    origins = reply.locator(".lvo-sources a.lvo-origin")
    assert origins.count() >= 2, "the passages come from several documents"
    target = origins.first.get_attribute("href").removeprefix("#")
    assert reply.locator(f'.lvo-card[id="{target}"]').count() == 1
    silent = ask(page, "Wer wurde 2014 Fußball-Weltmeister?")
    assert "Dazu habe ich in den Dokumenten nichts gefunden" in silent.inner_text()
    assert silent.locator(".lvo-card:visible").count() == 0
    shoot(page, "desktop-schweigen")
    silent.locator("summary", has_text="Trotzdem ähnlichste Stellen zeigen").click()
    assert silent.locator(".lvo-card:visible").count() >= 1
    page.locator("#lvo-chat .lvo-reply").first.scroll_into_view_if_needed()
    page.evaluate(SHOW_FIRST_REPLY)
    page.wait_for_timeout(300)
    shoot(page, "desktop-antwort-dresden")


def test_a_missing_amount_is_said_plainly_and_the_passages_stay(default_page):
    page = default_page
    reply = ask(page, "Was kostet ein Bildungsbüro pro Jahr?")
    note = reply.locator(".lvo-note")
    assert note.inner_text() == "Eine Angabe zu den Kosten enthalten die gefundenen Stellen nicht."
    assert reply.locator(".lvo-sentence").count() == 0
    assert reply.locator(".lvo-card:visible").count() >= 1
    answered = ask(page, "Wie viele Modellkommunen förderte Lernen vor Ort?")
    assert answered.locator(".lvo-note").count() == 0
    assert any("40" in sentence for sentence in answered.locator(".lvo-sentence").all_inner_texts())
    reply.scroll_into_view_if_needed()
    shoot(page, "desktop-hinweis-kosten")


def test_compare_button_table_source_links_and_exports(browser, default_server: str):
    """„Nach Kommunen vergleichen“ under an answer (the last question) and for a fresh question in the box, on
    the whole sample corpus with the default model."""
    server = default_server
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, locale="de-DE")
    page = context.new_page()
    page.goto(server, wait_until="load")
    page.wait_for_selector("#lvo-frage textarea")
    ask(page, "Welche Kommunen haben ein Bildungsbüro eingerichtet?")
    assert page.input_value("#lvo-frage textarea") == ""
    page.click("#lvo-vergleichen")
    table = page.locator("#lvo-vergleich .lvo-compare-table")
    table.wait_for(timeout=90_000)
    assert "Bildungsbüro eingerichtet" in page.locator("#lvo-vergleich .lvo-compare-title").inner_text()
    names = [name.split("\n")[0] for name in table.locator("tbody th").all_inner_texts()]
    assert {"Dresden", "Dessau-Roßlau", "Herne", "Mülheim an der Ruhr"} <= set(names), names

    page.fill("#lvo-frage textarea", "Welche Organisationsmodelle der Bildungsberatung gab es in Mitteldeutschland?")
    page.click("#lvo-vergleichen")
    page.locator("#lvo-vergleich .lvo-compare-title", has_text="Organisationsmodelle").wait_for(timeout=90_000)
    rows = page.locator("#lvo-vergleich tbody tr")
    assert rows.count() >= 2
    links = page.locator("#lvo-vergleich a.lvo-compare-source")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    pdf = [href for href in hrefs if href.startswith("/quelle/praxisbeispiele-mitteldeutschland.pdf#page=")]
    assert pdf, hrefs
    response = page.request.get(server + pdf[0].lstrip("/").split("#")[0])
    assert response.ok and response.body()[:5] == b"%PDF-"
    first_quote = normalized(page.locator("#lvo-vergleich .lvo-compare-quote").first.inner_text())
    page.locator("#lvo-vergleichen").evaluate("button => button.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    shoot(page, "desktop-vergleich")

    with page.expect_download() as download:
        page.click("#lvo-vergleich-csv")
    lines = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "kommune,bundesland,satz,quelle,seite,weitere_stellen"
    assert len(lines) - 1 >= rows.count()
    assert any("praxisbeispiele-mitteldeutschland.pdf" in line for line in lines[1:])
    with page.expect_download() as download:
        page.click("#lvo-vergleich-md")
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# Nach Kommunen verglichen: Welche Organisationsmodelle")
    assert "| Kommune | Bundesland |" in markdown
    assert first_quote.split("“")[0].strip("„ ")[:40] in " ".join(markdown.split())
    context.close()
