"""How far a learned combination of the answer signals gets: a listwise (softmax) ranker over the candidate
sentences of each reachable MLQA-de dev question, fitted and scored by 5-fold cross-validation.

Reads the searches that `bench/answer_tuning.py --saved FILE` keeps. Usage:
`python bench/answer_fit.py --saved /tmp/asked.pkl`.
"""

from __future__ import annotations

import argparse
import collections
import pickle
import re
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answer_tuning import Asked  # the pickle names `__main__.Asked`

from eval import answer_found
from index.answer_type import asked_type
from index.keywords import analyze

FEATURES = ["cosine - best", "cosine - best in passage", "closest", "passage rank", "coverage (index idf)",
            "coverage (candidates' idf)", "5-letter prefixes shared", "kind", "new number / capitalised word",
            "log words", "position in passage", "share of new terms"]
_CAPITALISED = re.compile(r"\b[A-ZÄÖÜ][\wäöüß-]+")
_NUMBER = re.compile(r"\d+")


def features(asked: Asked) -> tuple[np.ndarray, np.ndarray]:
    found = list(asked.evidence.candidates)
    question = list(dict.fromkeys(analyze(asked.question)))
    known_words = set(_CAPITALISED.findall(asked.question)) | set(_NUMBER.findall(asked.question))
    frequency = collections.Counter(term for c in found for term in c.terms)
    rarity = {t: np.log((len(found) + 1) / (frequency[t] + 0.5)) for t in question}
    prefixes = {t[:5] for t in question if len(t) >= 5}
    best = max(c.cosine for c in found)
    best_in = collections.defaultdict(float)
    position = collections.Counter()
    rows = []
    for c in found:
        best_in[c.sentence.rank] = max(best_in[c.sentence.rank], c.cosine)
    for c in found:
        text = c.sentence.text
        new = (set(_CAPITALISED.findall(text)) | set(_NUMBER.findall(text))) - known_words
        rows.append([c.cosine - best, c.cosine - best_in[c.sentence.rank], c.cosine == best, c.sentence.rank - 1,
                     c.coverage, sum(w for t, w in rarity.items() if t in c.terms) / (sum(rarity.values()) or 1),
                     len(prefixes & {t[:5] for t in c.terms}) / max(len(prefixes), 1), c.kind,
                     float(bool(new)) * (asked_type(asked.question) is not None), np.log(len(text.split())),
                     min(position[c.sentence.rank], 5), len(c.terms - set(question)) / max(len(c.terms), 1)])
        position[c.sentence.rank] += 1
    return np.array(rows, float), np.array([answer_found(c.sentence.text, asked.answers) for c in found])


def fit(data: list[tuple[np.ndarray, np.ndarray]], penalty: float) -> np.ndarray:
    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        total, gradient = 0.0, np.zeros_like(weights)
        for x, y in data:
            scores = x @ weights
            p = np.exp(scores - scores.max())
            p /= p.sum()
            target = y / y.sum()
            total -= float(target @ np.log(p + 1e-12))
            gradient -= x.T @ (target - p)
        return total / len(data) + penalty * weights @ weights, gradient / len(data) + 2 * penalty * weights

    return minimize(loss, np.zeros(data[0][0].shape[1]), jac=True, method="L-BFGS-B").x


def first_right(data: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray) -> float:
    return float(np.mean([y[np.argmax(x @ weights)] for x, y in data]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saved", type=Path, required=True, help="pickle made by bench/answer_tuning.py --saved")
    asked = pickle.loads(parser.parse_args().saved.read_bytes())
    reachable = [a for a in asked if a.set == "mlqa" and any(answer_found(c.sentence.text, a.answers)
                                                             for c in a.evidence.candidates)]
    raw = [features(a) for a in reachable]
    stacked = np.vstack([x for x, _ in raw])
    mean, spread = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9
    data = [((x - mean) / spread, y) for x, y in raw]
    print(f"{len(data)} reachable questions; answer@1 by 5-fold cross-validation")
    for penalty in (0.001, 0.01, 0.1):
        right = 0.0
        for fold in range(5):
            weights = fit([d for i, d in enumerate(data) if i % 5 != fold], penalty)
            held_out = [d for i, d in enumerate(data) if i % 5 == fold]
            right += first_right(held_out, weights) * len(held_out)
        print(f"  L2 {penalty:<6} held out {right / len(data):.3f}")
    weights = fit(data, 0.001)
    print(f"fitted on all (training fit, not a result): {first_right(data, weights):.3f}")
    for name, weight in zip(FEATURES, weights):
        print(f"  {name:32s} {weight:+.3f}")


if __name__ == "__main__":
    main()
