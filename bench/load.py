"""Bounded load test of the search API on loopback: N concurrent clients for a fixed time each.

    .venv/bin/python bench/load.py [--index .lvo] [--corpus corpus] [--model NAME] [--seconds 30]
                                   [--clients 8 32 64] [--max-requests 20000] [--retry-after 1] [--replicas 1]

Starts `lvo serve` on 127.0.0.1 (free port) against an existing index (with `--replicas 2` and a
`postgresql://…` index: two servers on one database), warms it up, then for each client count runs that many
threads, spread evenly over the servers, each calling the Gradio `search` endpoint over HTTP (POST
/gradio_api/call/search, then reading the result stream) back to back until the time or the request budget is
used up. A request the
server refuses as overloaded (503 with its German „Zu viele Anfragen …“) is counted apart, and that client waits
`--retry-after` seconds, as a person or a polite script would. Prints accepted requests/s, their p50/p95
latency, the refusals and the errors (any other non-200, error event or malformed result) per level.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from chat.limits import BUSY_MESSAGE
from core import is_database

REPO = Path(__file__).resolve().parents[1]
QUERIES = [
    "Wie hat Dresden die Bildungsberatung organisiert?",
    "Welche Aufgaben hat ein kommunales Bildungsbüro?",
    "Bildungsmonitoring und Bildungsberichte in Kommunen",
    "Wie arbeiten Stiftungen mit Kommunen zusammen?",
    "Übergang von der Kita in die Grundschule",
    "Regionale Bildungskonferenzen: Formate und Beteiligte",
    "Transferagenturen Kommunales Bildungsmanagement",
    "Sprachbildung und Bildungspatenschaften in Freiburg",
]


@dataclass
class Level:
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    seconds: float = 0.0

    def row(self) -> str:
        done = len(self.latencies)
        p50 = statistics.median(self.latencies) * 1000 if done else float("nan")
        p95 = statistics.quantiles(self.latencies, n=20)[-1] * 1000 if done >= 2 else float("nan")
        rate = done / self.seconds if self.seconds else 0.0
        return (f"| {self.clients:>7} | {done:>8} | {rate:>10.1f} | {p50:>8.0f} | {p95:>8.0f} | {self.refused:>10} "
                f"| {len(self.errors):>6} |")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


REFUSED = "refused"


def search_once(http: httpx.Client, base: str, query: str) -> str | None:
    """One search through the API (all seven inputs: query, top_k, filters); None when it succeeded, REFUSED
    when the server said it is overloaded, else what went wrong."""
    started = http.post(f"{base}gradio_api/call/search", json={"data": [query, 5, "", "", "", None, None]})
    if started.status_code == 503 and started.json().get("detail") == BUSY_MESSAGE:
        return REFUSED
    if started.status_code != 200:
        return f"POST {started.status_code}"
    event_id = started.json()["event_id"]
    with http.stream("GET", f"{base}gradio_api/call/search/{event_id}") as stream:
        if stream.status_code != 200:
            return f"GET {stream.status_code}"
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    return f"error event: {line[:200]}"
                payload = json.loads(line.split(":", 1)[1])
                passages = payload[0].get("passages") if payload and isinstance(payload[0], dict) else None
                return None if passages else f"no passages: {line[:200]}"
    return "stream ended without result"


def run_level(bases: list[str], clients: int, seconds: float, budget: int, retry_after: float) -> Level:
    level = Level(clients)
    lock, issued = threading.Lock(), [0]
    deadline = time.monotonic() + seconds

    def worker(number: int) -> None:
        with httpx.Client(timeout=120) as http:
            turn = number
            while time.monotonic() < deadline:
                with lock:
                    if issued[0] >= budget:
                        return
                    issued[0] += 1
                started = time.monotonic()
                try:
                    problem = search_once(http, bases[number % len(bases)], QUERIES[turn % len(QUERIES)])
                except (httpx.HTTPError, ValueError, KeyError) as error:
                    problem = f"{type(error).__name__}: {error}"
                with lock:
                    if problem == REFUSED:
                        level.refused += 1
                    elif problem:
                        level.errors.append(problem)
                    else:
                        level.latencies.append(time.monotonic() - started)
                if problem == REFUSED:
                    time.sleep(retry_after)
                turn += clients

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    level.seconds = time.monotonic() - began
    return level


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "chat.cli", "serve", "--index", str(args.index), "--corpus", str(args.corpus),
               "--port", str(port), *(["--model", args.model] if args.model else [])]
    return subprocess.Popen(command, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def wait_ready(base: str, server: subprocess.Popen, attempts: int = 600) -> None:
    for _ in range(attempts):
        if server.poll() is not None:
            raise SystemExit(f"Fehler: der Server hat sich beendet (Code {server.returncode}).")
        try:
            if search_once(httpx.Client(timeout=120), base, QUERIES[0]) is None:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("Fehler: der Server antwortet nicht.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Lasttest der Such-API auf 127.0.0.1")
    parser.add_argument("--index", default=str(REPO / ".lvo"), help="Index-Ordner oder postgresql://…")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--model", help="Modell des Index (Standard: aus den Einstellungen)")
    parser.add_argument("--seconds", type=float, default=30.0, help="Dauer je Stufe (höchstens 120)")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--retry-after", type=float, default=1.0, help="Wartezeit eines abgewiesenen Clients (s)")
    parser.add_argument("--max-requests", type=int, default=20000, help="höchstens so viele Anfragen je Stufe")
    parser.add_argument("--replicas", type=int, default=1, help="so viele Server auf demselben Index (Datenbank)")
    args = parser.parse_args(argv)
    if not is_database(args.index) and not (Path(args.index) / "catalog.sqlite3").is_file():
        print(f"Fehler: kein Index in {args.index}; zuerst `lvo ingest` ausführen.", file=sys.stderr)
        return 2
    ports = [free_port() for _ in range(args.replicas)]
    bases = [f"http://127.0.0.1:{port}/" for port in ports]
    servers = [start_server(args, port) for port in ports]
    try:
        for base, server in zip(bases, servers):
            wait_ready(base, server)
        levels = [run_level(bases, clients, min(args.seconds, 120.0), args.max_requests, args.retry_after)
                  for clients in args.clients]
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    print(f"Such-API auf 127.0.0.1, {args.seconds:.0f} s je Stufe, Index {args.index}, {args.replicas} Server, "
          f"{os.cpu_count()} Kerne")
    print("| Clients | Anfragen | Anfragen/s | p50 (ms) | p95 (ms) | abgewiesen | Fehler |")
    print("| ------: | -------: | ---------: | -------: | -------: | ---------: | -----: |")
    for level in levels:
        print(level.row())
    for level in levels:
        for problem in sorted(set(level.errors))[:5]:
            print(f"  {level.clients} Clients: {problem}")
    return 1 if any(level.errors for level in levels) else 0


if __name__ == "__main__":
    sys.exit(main())
