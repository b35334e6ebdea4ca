"""An overloaded server refuses the excess at once, in German, and still answers the requests it accepted."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest

from chat.limits import BUSY_MESSAGE
from tests.conftest import Servers

pytestmark = pytest.mark.slow  # a server and a burst of clients

CLIENTS = 24


def search(url: str) -> tuple[int, dict]:
    """POST one search; for an accepted one also read its result. (status, payload or refusal)"""
    with httpx.Client(timeout=120) as http:
        posted = http.post(f"{url}gradio_api/call/search", json={"data": ["Bildungsbüro Dresden", 3, "", "", "",
                                                                          None, None]})
        if posted.status_code != 200:
            return posted.status_code, posted.json()
        lines = http.get(f"{url}gradio_api/call/search/{posted.json()['event_id']}").text.splitlines()
        return 200, json.loads(lines[lines.index("event: complete") + 1].removeprefix("data:"))[0]


def test_a_burst_beyond_the_queue_gets_the_german_refusal(lvo_server: Servers, sample_index: Path):
    server = lvo_server.start("--index", sample_index, env={"LVO_QUEUE_SIZE": "1"})
    answers: list[tuple[int, dict]] = []
    start = threading.Barrier(CLIENTS)

    def client() -> None:
        start.wait()
        answers.append(search(server.url))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lvo_server.stop(server)
    refused = [payload for status, payload in answers if status == 503]
    accepted = [payload for status, payload in answers if status == 200]
    assert len(refused) + len(accepted) == CLIENTS, answers
    assert refused and all(payload == {"detail": BUSY_MESSAGE} for payload in refused)
    assert accepted and all(payload["passages"] for payload in accepted)
