"""The chat with a configured language model: the `answer` API and the switch in a real browser.

One `lvo serve` with `--llm-url` pointing at the session's real llama.cpp server (Gemma 3 270M).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client

from tests.conftest import SAMPLE_CORPUS, Servers
from tests.llm_server import MODEL_ALIAS

pytestmark = pytest.mark.slow
DRESDEN = "Wie hat Dresden die Bildungsberatung organisiert?"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def server(sample_index: Path, llm_url: str, lvo_server: Servers) -> Iterator[str]:
    short_answers = {"LVO_LLM_MAX_TOKENS": "64"}  # the small model is slow on a shared CPU
    started = lvo_server.start("--index", sample_index, "--corpus", SAMPLE_CORPUS, "--llm-url", llm_url,
                               "--llm-model", MODEL_ALIAS, env=short_answers)
    yield started.url
    lvo_server.stop(started)


def test_answer_endpoint_returns_search_json_plus_checked_generation(server: str):
    client = Client(server, verbose=False)
    result = client.predict(DRESDEN, 2, api_name="/answer")
    assert set(result) == {"query", "passages", "answer", "note", "generated"}
    assert len(result["passages"]) == 2
    assert set(result["generated"]) == {"text", "sentences", "model"}
    assert result["generated"]["model"] == MODEL_ALIAS
    for sentence in result["generated"]["sentences"]:
        assert set(sentence) == {"text", "citations", "supported", "why"}
        assert isinstance(sentence["supported"], bool)
    searched = client.predict(DRESDEN, 2, api_name="/search")
    assert searched["passages"] == result["passages"]


def test_answer_endpoint_abstains_without_asking_the_model(server: str):
    result = Client(server, verbose=False).predict("Wie backe ich einen Käsekuchen?", 3, api_name="/answer")
    assert result["passages"] == []
    assert result["generated"] == {"text": "", "sentences": [], "model": MODEL_ALIAS}


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian-Chromium fehlt: apt-get install chromium")
def test_switch_streams_a_checked_answer_with_linked_markers(server: str):
    from playwright.sync_api import sync_playwright

    from tests.chat.test_a11y import assert_accessible
    from tests.chat.test_browser import CHROMIUM_ARGS, DESKTOP, ask, shoot

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport=DESKTOP, locale="de-DE").new_page()
        page.goto(server, wait_until="load")
        switch = page.locator("#lvo-formulieren")
        assert "Antwort formulieren (Sprachmodell)" in switch.inner_text()
        switch.locator("input[type=checkbox]").check()
        page.locator("#lvo-anzahl input[type=number]").fill("3")
        page.locator("#lvo-anzahl input[type=number]").press("Enter")
        reply = ask(page, DRESDEN)
        reply.locator(".lvo-generated").wait_for(timeout=60_000)  # the stream has begun
        log = page.locator("#lvo-chat [role=log]")
        if page.locator("#lvo-chat .lvo-streaming").count():  # a screen reader waits for the finished answer
            assert log.get_attribute("aria-busy") == "true"
            assert_accessible(page, "formuliert-waehrend")
        checked = page.locator("#lvo-chat .lvo-reply .lvo-checked")
        checked.wait_for(timeout=120_000)
        page.wait_for_function("document.querySelector('#lvo-chat [role=log]').getAttribute('aria-busy') === 'false'")
        assert_accessible(page, "formuliert")
        reply = page.locator("#lvo-chat .lvo-reply").last
        sentences = reply.locator(".lvo-gen-sentence")
        assert sentences.count() >= 1
        for number in range(sentences.count()):
            sentence = sentences.nth(number)
            classes = sentence.get_attribute("class")
            assert ("lvo-supported" in classes) != ("lvo-unsupported" in classes)
            if "lvo-unsupported" in classes:
                assert sentence.locator(".lvo-unbelegt").inner_text() == "nicht belegt"
        links = reply.locator(".lvo-generated a.lvo-ref")
        for number in range(links.count()):
            target = links.nth(number).get_attribute("href").removeprefix("#")
            assert reply.locator(f'.lvo-card[id="{target}"]').count() == 1
        assert reply.locator(".lvo-unsupported").count() >= 1, "the small model's invented sentences are marked"
        assert reply.locator(".lvo-answer .lvo-ref").count() >= 1  # the extractive answer stays underneath
        assert reply.locator(".lvo-card").count() == 3
        shoot(page, "desktop-formuliert")
        browser.close()
