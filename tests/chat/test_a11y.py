"""Accessibility (BITV 2.0 / WCAG 2.1 AA) of the chat in a real browser: axe-core in every state, and the keyboard.

axe-core comes from the npm registry (tests/node/package.json, installed by `make test`); Playwright injects its
`axe.min.js` into Debian's Chromium. Each state's full axe result is saved as tests/artifacts/axe-STATE.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.a11y import SKIP_LINK
from chat.security import add_user
from tests.chat import test_browser
from tests.chat.test_browser import ARTIFACTS, CHROMIUM, DESKTOP, PHONE, ask, shoot
from tests.conftest import REPO, SAMPLE_CORPUS, Server, Servers

AXE = REPO / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "EN-301-549"]
REFLOW = {"width": 320, "height": 640}  # 1280 CSS px at 400 % zoom
DRESDEN = "Wie hat Dresden die Bildungsberatung organisiert?"
OFF_TOPIC = "Wer wurde 2014 Fußball-Weltmeister?"
browser = test_browser.browser  # the same fixture: one Chromium for this module
pytestmark = [pytest.mark.slow,  # a browser and a server
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian-Chromium fehlt: apt-get install chromium")]


def assert_accessible(page, state: str) -> dict:
    """Run axe-core on the page as it is, save the result as tests/artifacts/axe-STATE.json, expect no violation."""
    assert AXE.is_file(), "axe-core fehlt: `make test` installiert es (npm ci --prefix tests/node)"
    page.wait_for_function("!document.getAnimations().some(a => a instanceof CSSTransition)")  # no fade half-way
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{state}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    found = [f"{v['id']} ({v['impact']}): {[node['target'] for node in v['nodes']][:5]}" for v in result["violations"]]
    assert not found, f"{state}: {found}"
    assert result["passes"], "axe checked something"
    return result


@pytest.fixture
def open_page(browser) -> Iterator:
    """`open_page(url, color_scheme=...)` -> a fresh page at `url`, ready for a question; closed afterwards."""
    contexts = []

    def opened(url: str, color_scheme: str = "light", viewport: dict = DESKTOP):
        context = browser.new_context(viewport=viewport, accept_downloads=True, locale="de-DE",
                                      color_scheme=color_scheme)
        contexts.append(context)
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector("#lvo-frage textarea")
        return page

    yield opened
    for context in contexts:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violations_from_empty_page_to_follow_up_abstention_and_export(open_page, sample_server: Server,
                                                                              scheme: str):
    page = open_page(sample_server.url, scheme)
    assert page.evaluate("document.documentElement.lang") == "de"
    assert_accessible(page, f"{scheme}-leer")
    reply = ask(page, DRESDEN)
    assert reply.locator(".lvo-card").count() >= 1
    assert_accessible(page, f"{scheme}-antwort")
    ask(page, "Und in Leipzig?")
    assert_accessible(page, f"{scheme}-nachfrage")
    silent = ask(page, OFF_TOPIC)
    silent.locator("summary", has_text="Trotzdem ähnlichste Stellen zeigen").click()
    assert silent.locator(".lvo-card:visible").count() >= 1
    assert_accessible(page, f"{scheme}-schweigen-geoeffnet")
    with page.expect_download() as download:
        page.click("#lvo-export")
    assert "## Frage 1:" in Path(download.value.path()).read_text(encoding="utf-8")
    assert_accessible(page, f"{scheme}-export")


def test_chat_log_and_messages_have_german_names(open_page, sample_server: Server):
    page = open_page(sample_server.url)
    ask(page, DRESDEN)
    log = page.locator("#lvo-chat [role=log]")
    assert log.get_attribute("aria-label") == "Unterhaltung"
    assert log.get_attribute("aria-live") == "polite" and log.get_attribute("aria-busy") == "false"
    messages = log.locator("[role=article]")
    assert [messages.nth(i).get_attribute("aria-label") for i in range(messages.count())] == ["Frage 1", "Antwort 1"]
    names = page.evaluate("""() => [...document.querySelectorAll('button, input, textarea, [role=slider], a')]
        .map(e => e.getAttribute('aria-label') || e.getAttribute('title') || '').filter(Boolean)""")
    english = [name for name in names if any(word in name.lower() for word in ("message", "copy", "scroll", "reset",
                                                                                "input for", "conversation"))]
    assert not english, english
    assert page.get_by_role("textbox", name="Ihre Frage").count() == 1
    filters = page.get_by_role("button", name="Filter", exact=True)
    assert filters.get_attribute("aria-expanded") == "true"
    page.fill("#lvo-frage textarea", "   ")
    page.press("#lvo-frage textarea", "Enter")
    alert = page.locator("[data-testid=toast-body][role=alert]")
    alert.wait_for(timeout=10_000)
    assert "Bitte eine Frage eingeben." in alert.inner_text()
    assert_accessible(page, "fehlermeldung")


def test_no_axe_violations_with_filters_set_and_a_rejected_upload(open_page, sample_server: Server, tmp_path: Path):
    page = open_page(sample_server.url)
    page.click("#lvo-kommune input")
    page.get_by_role("option", name="Leipzig", exact=True).wait_for()
    assert_accessible(page, "filter-liste-offen")
    page.get_by_role("option", name="Leipzig", exact=True).click()
    page.keyboard.press("Escape")
    ask(page, "Welche Ziele hat die Stadt für die Bildung gesetzt?")
    assert_accessible(page, "filter-gesetzt")
    empty = tmp_path / "leer.txt"
    empty.write_bytes(b"")  # refused before it reaches the corpus
    page.click("#lvo-upload button, #lvo-upload .label-wrap")
    page.locator("#lvo-dateien input[type=file]").set_input_files([str(empty)])
    page.wait_for_timeout(1500)
    page.click("#lvo-hinzufuegen")
    status = page.locator("#lvo-upload-status[role=status]")
    status.filter(has_text="nicht übernommen").wait_for(timeout=60_000)
    assert "leer.txt" in status.inner_text()
    assert_accessible(page, "upload-abgelehnt")


@pytest.mark.parametrize(("name", "viewport"), [("telefon", PHONE), ("reflow-320", REFLOW)])
def test_no_axe_violations_and_no_sideways_scrolling_on_small_screens(open_page, sample_server: Server, name: str,
                                                                      viewport: dict):
    page = open_page(sample_server.url, viewport=viewport)
    assert_accessible(page, f"{name}-leer")
    ask(page, DRESDEN)
    assert_accessible(page, f"{name}-antwort")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "reflow without scrolling"
    silent = ask(page, OFF_TOPIC)
    silent.locator("summary", has_text="Trotzdem ähnlichste Stellen zeigen").click()
    page.click("#lvo-upload button, #lvo-upload .label-wrap")
    assert_accessible(page, f"{name}-schweigen-upload-offen")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "reflow without scrolling"


BORDERS = """selectors => selectors.map(selector => {
  const opaque = element => {  // the colour behind an element: its first ancestor with a background
    while (element && getComputedStyle(element).backgroundColor.match(/rgba\\(.*, 0\\)|transparent/))
      element = element.parentElement;
    return element ? getComputedStyle(element).backgroundColor : 'rgb(255, 255, 255)';
  };
  let element = document.querySelector(selector);
  while (element && parseFloat(getComputedStyle(element).borderTopWidth) === 0) element = element.parentElement;
  return [selector, getComputedStyle(element).borderTopColor, opaque(element.parentElement)];
})"""


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS colours `rgb(r, g, b)`."""
    def luminance(color: str) -> float:
        channels = [int(value) / 255 for value in re.findall(r"\d+", color)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_field_borders_and_focus_ring_stand_out_by_three_to_one(open_page, sample_server: Server, scheme: str):
    page = open_page(sample_server.url, scheme)
    fields = ["#lvo-frage textarea", "#lvo-kommune input", "#lvo-jahr-von input", "#lvo-anzahl input[type=number]"]
    for field in fields:  # Gradio renders the side panel after the question box
        page.wait_for_selector(field)
    for selector, border, background in page.evaluate(BORDERS, fields):
        assert contrast(border, background) >= 3, (selector, border, background)
    page.keyboard.press("Tab")
    ring, page_background = page.evaluate("""() => [getComputedStyle(document.activeElement).outlineColor,
        getComputedStyle(document.body).backgroundColor]""")
    assert contrast(ring, page_background) >= 3, (ring, page_background)


def focus_shown(page) -> dict:
    """What has the keyboard focus, and whether an outline (or a focus shadow) shows it."""
    return page.evaluate("""() => {
      const element = document.activeElement;
      const style = getComputedStyle(element);
      const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
      return {tag: element.tagName, id: element.id, text: (element.innerText || '').trim().slice(0, 40),
              card: element.closest('.lvo-card') ? element.closest('.lvo-card').id : '',
              inside: (element.closest('[id^=lvo-]') || {id: ''}).id,
              visible: outline || style.boxShadow !== 'none'};
    }""")


def walk(page, key: str, done, limit: int = 200) -> list[dict]:
    """Press `key` until `done(stop)`; every stop on the way must show where the focus is."""
    stops = []
    for _ in range(limit):
        page.keyboard.press(key)
        stop = focus_shown(page)
        if stop["tag"] != "BODY":
            assert stop["visible"], f"focus not visible at {stop}"
            stops.append(stop)
        if done(stop):
            return stops
    raise AssertionError(f"not reached after {limit} × {key}: {stops[-5:]}")


def test_keyboard_alone_reaches_question_sources_filters_and_upload(open_page, sample_server: Server):
    page = open_page(sample_server.url)
    page.keyboard.press("Tab")
    first = focus_shown(page)
    assert first["text"] == SKIP_LINK and first["visible"], first
    page.keyboard.press("Enter")
    in_question = "document.activeElement === document.querySelector('#lvo-frage textarea')"
    assert page.evaluate(in_question)
    page.keyboard.type(DRESDEN)
    page.keyboard.press("Enter")
    page.wait_for_selector("#lvo-chat .lvo-reply .lvo-card", timeout=90_000)
    page.wait_for_timeout(500)
    assert page.evaluate(in_question), "the focus stays in the question box after sending"
    cards = page.locator("#lvo-chat .lvo-reply .lvo-card")
    wanted = {cards.nth(i).get_attribute("id") for i in range(cards.count())}

    first_card = cards.first.get_attribute("id")  # the chat lies above the question: back to its first card
    back = walk(page, "Shift+Tab", lambda stop: stop["text"] == "Quelle öffnen" and stop["card"] == first_card)
    assert {stop["card"] for stop in back if stop["text"] == "Quelle öffnen"} == wanted, "each „Quelle öffnen“"
    shoot(page, "desktop-tastatur")  # the README's screenshot: the focus on a card's „Quelle öffnen“
    walk(page, "Shift+Tab", lambda stop: stop["text"] == SKIP_LINK)
    forward = walk(page, "Tab", lambda stop: stop["inside"] == "lvo-upload")
    inside = {stop["inside"] for stop in forward}
    reached = {"lvo-frage", "lvo-senden", "lvo-kommune", "lvo-bundesland", "lvo-typ", "lvo-anzahl", "lvo-upload"}
    assert reached <= inside, inside
    onward = walk(page, "Tab", lambda stop: stop["inside"] != "lvo-upload", limit=20)
    assert onward, "the keyboard leaves the upload again (no trap)"


@pytest.fixture(scope="module")
def login_server(sample_index: Path, lvo_server: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    users = tmp_path_factory.mktemp("login") / "users.json"
    add_user(users, "anna", "geheim-genug")
    server = lvo_server.start("--index", sample_index, "--corpus", SAMPLE_CORPUS, "--users", users,
                              host="127.0.0.2")
    yield server.url
    lvo_server.stop(server)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_axe_violations_on_the_login_page(browser, login_server: str, scheme: str):
    context = browser.new_context(viewport=DESKTOP, locale="de-DE", color_scheme=scheme)
    page = context.new_page()
    page.goto(login_server, wait_until="load")
    page.wait_for_selector("input[type=password]")
    page.wait_for_function("document.documentElement.lang === 'de'")
    assert_accessible(page, f"{scheme}-anmeldung")
    page.set_viewport_size(REFLOW)
    assert_accessible(page, f"{scheme}-anmeldung-320")
    assert page.evaluate("document.documentElement.scrollWidth") <= REFLOW["width"], "reflow without scrolling"
    context.close()
