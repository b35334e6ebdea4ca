"""How the comparison by Kommune behaves over a range of its settings, on the compare gold questions.

    .venv/bin/python bench/compare_tuning.py [--index DIR] [--gold eval/sets/compare-questions.jsonl]

Prints commune_recall@10 and commune_precision@10 for each pair of `CompareWeights.coverage` (how much the share
of the question's term weight said of a Kommune adds to the sentence's cosine) and `CompareWeights.margin` (how
far below the best sentence a Kommune's sentence may score). Without --index the sample corpus is indexed into
the eval cache.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import load_settings  # noqa: E402
from eval import load_gold, prepare_index  # noqa: E402
from eval.communes import evaluate_communes  # noqa: E402
from index import Comparer, CompareWeights, Index, Searcher, make_embedder  # noqa: E402

COVERAGE = (0.05, 0.1, 0.15, 0.2, 0.3)
MARGIN = (0.06, 0.08, 0.1, 0.12, 0.15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "sets" / "compare-questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    args = parser.parse_args()
    settings = load_settings({})
    evalset = load_gold(args.gold, args.corpus)
    directory = args.index or prepare_index(evalset, settings, Path.home() / ".cache" / "lvo" / "eval")
    index = Index.open(directory, make_embedder(settings.model))
    searcher = Searcher.from_settings(index, settings)
    questions = [question for question in evalset.questions if question.communes is not None]
    default = CompareWeights()
    print(f"{len(questions)} Fragen; recall / precision (Standard: coverage {default.coverage}, "
          f"margin {default.margin})")
    print("coverage \\ margin " + "".join(f"{margin:>14}" for margin in MARGIN))
    for coverage in COVERAGE:
        cells = []
        for margin in MARGIN:
            weights = CompareWeights(coverage=coverage, margin=margin)
            metrics = evaluate_communes(Comparer(searcher, weights), questions).metrics()
            cells.append(f"{metrics['commune_recall@10']:.2f} / {metrics['commune_precision@10']:.2f}")
        print(f"{coverage:<18}" + "".join(f"{cell:>14}" for cell in cells))
    index.close()


if __name__ == "__main__":
    main()
