"""Fuzz every loader and gold-set reader with atheris (libFuzzer) and count the crashes.

    .venv/bin/python fuzz/run.py [--seconds 60] [--targets pdf docx …]      # make fuzz [FUZZ_SECONDS=60]

`--seconds` is the total over all targets, shared equally (60: six seconds each for the ten targets; worker
start-up not counted). Each target starts from its seed corpus (`fuzz/seeds.py`) plus what earlier runs found
interesting (`.fuzz/corpus/TARGET/`), in worker processes (`fuzz/worker.py`) that are started again after a
hang, a memory overrun or a native crash until the target's time is used up. A crash is an exception outside the
`LvoError` family, a hang over 10 s on one input or a resident size over 1 GB; its input and reason are kept in
`.fuzz/crashes/TARGET/`. Prints one line per target and finally exactly one line `N inputs, K crashes`
(K: distinct crashes, i.e. distinct places an exception was raised, plus each hang, memory overrun, native crash
or worker that ended without saying why); the exit status is 1 when K > 0.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz.seeds import write_seeds  # noqa: E402
from fuzz.targets import TARGETS  # noqa: E402

WORK = Path(os.environ.get("FUZZ_WORK", ROOT / ".fuzz"))
HANG_SECONDS = 10
MEMORY_MB = 1024
MIN_SLICE = 1.0  # a worker gets at least this long; less time left ends the target
STARTUP_SECONDS = 60  # allowance for imports and loading the corpus, on top of the fuzzing time
EXECUTED = re.compile(r"stat::number_of_executed_units:\s*(\d+)")
ARTIFACT_KINDS = ("timeout", "oom", "crash", "leak")


@dataclass
class TargetResult:
    name: str
    inputs: int = 0
    crashes: list[str] = field(default_factory=list)  # one reason line each

    def line(self) -> str:
        return f"{self.name:10} {self.inputs:8} inputs, {len(self.crashes)} crashes" + "".join(
            f"\n    {reason}" for reason in self.crashes)


def _worker_env() -> dict[str, str]:
    """No PATH: the PDF target must not start Tesseract (seconds per page; OCR has tests of its own)."""
    return {**os.environ, "PATH": "", "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}


def _crash_reasons(folder: Path) -> list[str]:
    reasons = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("exception-") and path.suffix == ".txt":
            reasons.append(f"{path.read_text('utf-8').splitlines()[0]} ({path.with_suffix('').name})")
        elif path.name.startswith(ARTIFACT_KINDS):
            reasons.append(f"{path.name.split('-')[0]} ({path.name})")
    return reasons


def fuzz_target(name: str, seconds: float) -> TargetResult:
    corpus, crashes = WORK / "corpus" / name, WORK / "crashes" / name
    shutil.rmtree(crashes, ignore_errors=True)
    crashes.mkdir(parents=True)
    write_seeds(name, corpus)
    result = TargetResult(name)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) >= MIN_SLICE:
        flags = [f"-max_total_time={max(1, int(left))}", f"-timeout={HANG_SECONDS}", f"-rss_limit_mb={MEMORY_MB}",
                 f"-artifact_prefix={crashes}/", "-print_final_stats=1", "-max_len=262144"]
        command = [sys.executable, "-m", "fuzz.worker", name, str(crashes), str(corpus), *flags]
        started, kept = time.monotonic(), len(_crash_reasons(crashes))
        try:
            finished = subprocess.run(command, cwd=ROOT, env=_worker_env(), capture_output=True, text=True,
                                      errors="replace", timeout=left + HANG_SECONDS + STARTUP_SECONDS)
            log, code = finished.stderr, finished.returncode
        except subprocess.TimeoutExpired as expired:
            log, code = (expired.stderr or b"").decode(errors="replace"), None
            (crashes / f"timeout-worker-{int(started)}").write_text("the worker did not end in time", "utf-8")
        result.inputs += sum(int(count) for count in EXECUTED.findall(log))
        (crashes / f"worker-{int(started * 1000)}.log").write_text(log[-20000:], "utf-8")
        if code == 0:
            break
        if len(_crash_reasons(crashes)) == kept:  # ended without saying why: count it, keep the log's end
            (crashes / f"crash-worker-{int(started * 1000)}").write_text(log[-2000:], "utf-8")
    result.crashes = _crash_reasons(crashes)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", 60)))
    parser.add_argument("--targets", nargs="+", choices=sorted(TARGETS), default=list(TARGETS))
    options = parser.parse_args()
    share = options.seconds / len(options.targets)
    results = []
    for name in options.targets:
        results.append(fuzz_target(name, share))
        print(results[-1].line(), flush=True)
    inputs, crashes = sum(r.inputs for r in results), sum(len(r.crashes) for r in results)
    print(f"{inputs} inputs, {crashes} crashes")
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
