"""The middleware that hands every HTML page of the chat out as German, with the accessibility fixes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chat.a11y import SKIP_LINK, GermanPages

PAGE = '<!doctype html>\n<html\n\tlang="en"\n><head><meta charset="utf-8"></head><body>Hallo</body></html>'


def client() -> TestClient:
    routes = [Route("/", lambda request: HTMLResponse(PAGE)),
              Route("/quelle/bericht.html", lambda request: HTMLResponse(PAGE)),
              Route("/config", lambda request: JSONResponse({"lang": "en"}))]
    return TestClient(GermanPages(Starlette(routes=routes), title="LvO-Wissenssuche", untouched=("/quelle/",)))


def test_html_pages_become_german_with_title_styles_and_script():
    page = client().get("/")
    assert page.status_code == 200 and int(page.headers["content-length"]) == len(page.content)
    assert '<html\n\tlang="de"' in page.text and 'lang="en"' not in page.text
    assert "<title>LvO-Wissenssuche</title>" in page.text and ":focus-visible" in page.text
    assert SKIP_LINK in page.text and page.text.index("<script>") < page.text.index("</head>")


def test_source_documents_and_other_responses_pass_unchanged():
    assert client().get("/quelle/bericht.html").text == PAGE
    assert client().get("/config").json() == {"lang": "en"}
