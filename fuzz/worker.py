"""One fuzzing process for one target: atheris (libFuzzer) mutates the corpus folder's inputs and feeds them in.

    python -m fuzz.worker TARGET CRASH_DIR CORPUS_DIR [libFuzzer flags…]     # started by fuzz/run.py

A Python exception other than the `LvoError` family is a crash: its input and traceback are kept in CRASH_DIR
(`exception-<sha1>`, one per place it was raised) and fuzzing goes on. libFuzzer itself ends the process on a
hang (`-timeout`), on a resident size over `-rss_limit_mb` or on a native crash, leaving `timeout-…`, `oom-…` or
`crash-…` there; a peak resident size over MEMORY_LIMIT_MB measured after an input does the same as `oom-…`.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import resource
import sys
import tempfile
import traceback
from pathlib import Path

import atheris

MEMORY_LIMIT_MB = 1024
ADDRESS_SPACE_LIMIT = 8 * 2**30  # a backstop for the machine: allocations beyond fail with MemoryError
MEMORY_EXIT = 71

OWN_CODE = ["core", "ingest", "eval", "fuzz"]
PARSERS = {"pdf": ["pypdf"], "docx": ["docx"], "html": ["bs4"], "markdown": ["yaml"], "lvoignore": ["pathspec"]}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _raised_at(error: BaseException) -> str:
    """Where the exception was raised: the innermost frame, e.g. `ingest/loaders.py:93`."""
    frame = traceback.extract_tb(error.__traceback__)[-1]
    parts = Path(frame.filename).parts
    return f"{'/'.join(parts[-2:])}:{frame.lineno}"


def main() -> None:
    name, crashes = sys.argv[1], Path(sys.argv[2])
    parsers = PARSERS.get(name, [])
    # Coverage of our code and of the parser the target calls (instrumenting every library costs minutes).
    with atheris.instrument_imports(include=[*OWN_CODE, *parsers]):
        for module in parsers:
            importlib.import_module(module)
        from core import LvoError
        from fuzz.targets import TARGETS
    target = TARGETS[name]
    scratch = Path(tempfile.mkdtemp(prefix=f"lvo-fuzz-{name}-"))
    logging.disable(logging.CRITICAL)  # pypdf logs a warning for each broken object: noise and time
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    seen: set[str] = set()
    inputs = 0

    def test_one_input(data: bytes) -> None:
        nonlocal inputs
        inputs += 1
        try:
            target(data, scratch / "input")
        except LvoError:
            pass
        except Exception as error:  # any other exception is what the fuzzer looks for
            signature = f"{type(error).__name__} at {_raised_at(error)}"
            if signature not in seen:
                seen.add(signature)
                digest = hashlib.sha1(data).hexdigest()
                (crashes / f"exception-{digest}").write_bytes(data)
                (crashes / f"exception-{digest}.txt").write_text(
                    f"{signature}\n\n{''.join(traceback.format_exception(error))}", "utf-8")
        if _peak_mb() > MEMORY_LIMIT_MB:
            digest = hashlib.sha1(data).hexdigest()
            (crashes / f"oom-{digest}").write_bytes(data)
            print(f"peak resident size {_peak_mb():.0f} MB after this input\n"
                  f"stat::number_of_executed_units: {inputs}", file=sys.stderr, flush=True)
            os._exit(MEMORY_EXIT)

    atheris.Setup([sys.argv[0], *sys.argv[3:]], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
