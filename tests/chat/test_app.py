"""The Gradio app started for real and queried over HTTP, as scripts and browsers do."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from gradio_client import Client

from tests.conftest import Server

pytestmark = pytest.mark.slow  # a real server


@pytest.fixture(scope="module")
def server(sample_server: Server) -> str:
    return sample_server.url


def test_search_endpoint_returns_the_ask_json_schema(server: str):
    client = Client(server, verbose=False)
    result = client.predict("Welche Strukturen wurden in Dresden etabliert?", 3, api_name="/search")
    assert set(result) == {"query", "passages", "answer", "note"}
    assert len(result["passages"]) == 3
    assert set(result["passages"][0]) == {"rank", "score", "source", "title", "page", "text", "chunk_id", "ocr"}
    assert result["passages"][0]["source"] == "transmit-lvo-kommunen-im-transfer.txt"


def test_search_endpoint_says_what_the_passages_lack(server: str):
    client = Client(server, verbose=False)
    result = client.predict("Was kostet ein Bildungsbüro pro Jahr?", 5, api_name="/search")
    assert result["passages"] and result["answer"] == []
    assert result["note"] == "Eine Angabe zu den Kosten enthalten die gefundenen Stellen nicht."


def test_source_route_serves_corpus_files_only(server: str):
    with urllib.request.urlopen(server + "quelle/praxisbeispiele-mitteldeutschland.pdf") as response:
        assert response.read(5) == b"%PDF-"
    for attempt in ("quelle/../pyproject.toml", "quelle/..%2Fpyproject.toml", "quelle/%2Fetc%2Fpasswd",
                    "quelle//etc/passwd", "quelle/nicht-da.pdf"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server + attempt)
        assert refused.value.code == 404, attempt


def test_search_endpoint_takes_optional_filters(server: str):
    client = Client(server, verbose=False)
    result = client.predict("Wie wurde die Bildungsberatung organisiert?", 5, "Leipzig", "", "", None, None,
                            api_name="/search")
    assert set(result) == {"query", "passages", "answer", "note"}
    assert result["passages"]
    assert {passage["source"] for passage in result["passages"]} == {"leipzig-leitlinien-zweck-zielsystem.md"}
    assert set(result["passages"][0]) == {"rank", "score", "source", "title", "page", "text", "chunk_id", "ocr"}


def test_compare_endpoint_returns_the_compare_json(server: str):
    client = Client(server, verbose=False)
    question = "Welche Kommunen haben ein Bildungsbüro eingerichtet?"
    result = client.predict(question, 3, api_name="/compare")
    assert set(result) == {"query", "communes"} and len(result["communes"]) == 3
    assert set(result["communes"][0]) == {"kommune", "bundesland", "sentences", "more"}
    assert {"Dresden", "Dessau-Roßlau", "Herne", "Kyffhäuserkreis", "Mülheim an der Ruhr", "Nürnberg"} >= {
        row["kommune"] for row in result["communes"]}
    filtered = client.predict(question, 10, "Herne", "", "", None, None, api_name="/compare")
    assert [row["kommune"] for row in filtered["communes"]] == ["Herne"]
    assert client.predict("Wer wurde 2014 Fußball-Weltmeister?", 10, api_name="/compare")["communes"] == []
