"""Tune the answer-sentence weights and the abstention rule on the public MLQA-de dev set.

Runs every question once, keeps each search's candidate sentences and evidence, then scores a grid of
settings without searching again. Off-topic questions: MLQA questions asked of `corpus/`, the sample set's
questions asked of the MLQA paragraphs, the near-domain questions asked of `corpus/`: the tuning set
`near-domain-dev.jsonl` and the test set `near-domain.jsonl` (tune on the dev set and the test set's even
questions, report the odd ones).
Usage: `python bench/answer_tuning.py [--cache DIR] [--saved FILE.pkl]`.
"""

from __future__ import annotations

import argparse
import itertools
import pickle
from dataclasses import dataclass
from pathlib import Path

from core import load_settings
from eval import answer_found, load_beir, load_gold, prepare_index
from index import Index, Searcher, make_embedder
from index.abstain import AbstainRule, Evidence
from index.answer import AnswerWeights, pick
from index.answer_type import asked_type

REPO = Path(__file__).resolve().parent.parent
SETS = REPO / "eval" / "sets"
SEEDS = Path("/work/shared/seeds")
ISSUE_QUESTIONS = ("Was kostet ein Bildungsbüro pro Jahr?", "Wie viele Modellkommunen förderte Lernen vor Ort?")
QUOTES = "\"'“”»«)] "  # the shared seed documents (eval/sets/README.md)


@dataclass
class Asked:
    set: str
    question: str
    answerable: bool
    answers: tuple[str, ...]
    evidence: Evidence
    hits: int
    quoted: tuple[str, ...] = ()  # the answer sentences shown (as the search picks them, without abstaining)


def run(searcher: Searcher, name: str, questions: list[tuple[str, bool, tuple[str, ...]]]) -> list[Asked]:
    asked = []
    for text, answerable, answers in questions:
        result = searcher.search(text, 5)
        asked.append(Asked(name, text, answerable, answers, result.evidence, len(result.hits or result.withheld),
                           tuple(sentence.text for sentence in result.answer)))
    return asked


def collect(cache: Path) -> list[Asked]:
    settings = load_settings()
    mlqa = load_beir(SETS / "mlqa-de-dev")
    sample = load_gold(SETS / "sample-questions.jsonl", REPO / "corpus")
    seeds = load_gold(SETS / "seed-gold" / "questions.jsonl", SEEDS)
    near = load_gold(SETS / "near-domain.jsonl", REPO / "corpus")
    near_dev = load_gold(SETS / "near-domain-dev.jsonl", REPO / "corpus")
    asked = []
    with_answers = [(q.text, True, q.answers) for q in mlqa.questions]
    for evalset, questions in ((mlqa, {"mlqa": with_answers,
                                       "sample-vs-mlqa": [(q.text, False, ()) for q in sample.questions]}),
                               (sample, {"mlqa-vs-corpus": [(q.text, False, ()) for q in mlqa.questions],
                                         "sample": [(q.text, not q.off_topic, ()) for q in sample.questions],
                                         "near-vs-corpus": [(q.text, False, ()) for q in near.questions],
                                         "near-dev": [(q.text, False, ()) for q in near_dev.questions],
                                         "issue-24": [(q, True, ()) for q in ISSUE_QUESTIONS]}),
                               (seeds, {"seed": [(q.text, not q.off_topic, ()) for q in seeds.questions]})):
        index = Index.open(prepare_index(evalset, settings, cache), make_embedder(settings.model))
        try:
            searcher = Searcher.from_settings(index, settings)
            searcher.abstention.rule = AbstainRule(sigma=-1)  # every search keeps its passages: rules compared below
            for name, items in questions.items():
                asked += run(searcher, name, items)
        finally:
            index.close()
    return asked


def answer_table(asked: list[Asked]) -> None:
    mlqa = [a for a in asked if a.set == "mlqa" and any(answer_found(c.sentence.text, a.answers)
                                                        for c in a.evidence.candidates)]
    print(f"answer_reachable (candidates of the top-5 passages): {len(mlqa)}")
    print(f"{'closeness':>9} {'coverage':>8} {'kind':>6} {'rank':>6} {'gap':>6} {'answer@1':>9} {'@any':>6} "
          f"{'words':>6}")
    rows = []
    for closeness, coverage, kind, rank, gap in itertools.product(
            (1.0,), (0.0, 0.02, 0.05, 0.1), (0.0, 0.02), (0.0, 0.01, 0.02), (0.0, 0.02, 0.04, 0.06, 0.1)):
        weights = AnswerWeights(closeness, coverage, kind, rank, gap)
        first = anywhere = words = 0
        for a in mlqa:
            shown = pick(list(a.evidence.candidates), weights)
            first += answer_found(shown[0].text, a.answers)
            anywhere += any(answer_found(s.text, a.answers) for s in shown)
            words += sum(len(s.text.split()) for s in shown)
        rows.append((closeness, coverage, kind, rank, gap, first / len(mlqa), anywhere / len(mlqa), words / len(mlqa)))
    for row in rows:
        print("{:9.2f} {:8.2f} {:6.2f} {:6.2f} {:6.2f} {:9.3f} {:6.3f} {:6.1f}".format(*row))


def type_table(asked: list[Asked]) -> None:
    """What quoting only sentences that hold the asked-for thing (index/answer_type.py) does on MLQA-de dev:
    answer@1/@any over the reachable questions with and without the filter, and how many questions get the note
    instead of sentences."""
    mlqa = [a for a in asked if a.set == "mlqa" and any(answer_found(c.sentence.text, a.answers)
                                                        for c in a.evidence.candidates)]
    for label, typed in (("all candidates", False), ("fitting candidates only", True)):
        first = anywhere = 0
        for a in mlqa:
            found = list(a.evidence.candidates)
            if typed and asked_type(a.question):
                found = [c for c in found if c.kind]
            shown = pick(found, AnswerWeights())
            first += bool(shown) and answer_found(shown[0].text, a.answers)
            anywhere += any(answer_found(s.text, a.answers) for s in shown)
        print(f"{label}: answer@1 {first / len(mlqa):.3f}, answer@any {anywhere / len(mlqa):.3f}")
    for group in sorted({a.set for a in asked}):
        chosen = [a for a in asked if a.set == group]
        print(f"{group}: {sum(asked_type(a.question) is not None for a in chosen)} of {len(chosen)} ask for a type, "
              f"{sum(a.evidence.fits is False for a in chosen)} get the note")


def ceiling_table(asked: list[Asked]) -> None:
    """How far any ranking of these candidates can go with the stored sentence vectors: the share of reachable
    questions whose answer is in a sentence of the top passage, how often the sentence closest to the question
    within that passage holds it, and answer@any when always quoting 3 or 4 sentences."""
    mlqa = [a for a in asked if a.set == "mlqa" and any(answer_found(c.sentence.text, a.answers)
                                                        for c in a.evidence.candidates)]
    in_top = closest = 0
    for a in mlqa:
        top = [c for c in a.evidence.candidates if c.sentence.rank == 1]
        if any(answer_found(c.sentence.text, a.answers) for c in top):
            in_top += 1
            closest += answer_found(max(top, key=lambda c: c.cosine).sentence.text, a.answers)
    print(f"answer in a sentence of the top passage: {in_top / len(mlqa):.3f}; there, the closest sentence "
          f"holds it: {closest / max(in_top, 1):.3f}")
    for limit in (3, 4):
        shown = [pick(list(a.evidence.candidates), AnswerWeights(extra_gap=1.0), limit) for a in mlqa]
        found = sum(any(answer_found(s.text, a.answers) for s in sentences) for a, sentences in zip(mlqa, shown))
        print(f"answer@any when always quoting {limit} sentences: {found / len(mlqa):.3f}")


def handled(asked: list[Asked], rule: AbstainRule, group: str, half: int | None = None) -> float:
    """Share of a set handled correctly by `rule` (answerable: answered; off-topic: refused); `half`: only the
    even (0) or odd (1) questions."""
    chosen = [a for i, a in enumerate([a for a in asked if a.set == group]) if half is None or i % 2 == half]
    wrong = sum((a.hits == 0 or rule.abstains(a.evidence)) == a.answerable for a in chosen)
    return 1 - wrong / len(chosen)


def abstain_table(asked: list[Asked]) -> None:
    """Share of each set handled correctly by the rule at a range of floors and neighbouring-domain settings
    (near sigma, topic share, missing-type sigma; -99: that check off), without the alike check (below);
    MLQA and the near-domain set also by halves (even/odd question), to see that a setting is no lucky point."""
    groups = sorted({a.set for a in asked})
    print("sets:", {g: sum(a.set == g for a in asked) for g in groups})
    columns = [(g, None) for g in groups] + [(g, h) for g in ("mlqa", "near-vs-corpus") for h in (0, 1)]
    print(f"{'floor':>6} {'near':>5} {'topic':>5} {'miss':>5} " + " ".join(
        f"{g + ('' if h is None else f'/{h}'):>15}" for g, h in columns))
    settings = [(floor, -99.0, 0.4, -99.0) for floor in (0.8175, 0.82, 0.825)]
    settings += itertools.product((0.8175, 0.82, 0.8225), (0.25, 0.5, 0.75, 1.0), (0.34, 0.4, 0.5), (-99.0, 2.0, 3.0))
    for floor, near, topic, missing in settings:
        rule = AbstainRule(floor=floor, near_sigma=near, topic_min=topic, missing_sigma=missing, alike_sigma=99.0)
        cells = [f"{handled(asked, rule, g, half):15.3f}" for g, half in columns]
        print(f"{floor:6.4f} {near:5.2f} {topic:5.2f} {missing:5.1f} " + " ".join(cells))


ALIKE_COLUMNS = (("mlqa", None), ("mlqa", 0), ("mlqa", 1), ("mlqa-vs-corpus", None), ("near-dev", None),
                 ("near-vs-corpus", 0), ("near-vs-corpus", 1), ("near-vs-corpus", None), ("sample", None),
                 ("sample-vs-mlqa", None), ("seed", None), ("issue-24", None))


def alike_table(asked: list[Asked]) -> None:
    """The alike check (a question that reads like the neighbouring probes needs passages clearly closer than
    theirs) over a grid, the other settings at their defaults; tuned on near-dev and the even near-domain
    questions (near/0), reported on the odd ones (near/1). The chosen setting: the most refusals of the tuning
    questions among those with at most 1 % false abstention in both MLQA halves that answer every answerable
    sample, seed and issue question; ties go to the fewer refused MLQA questions, then the stricter alike sigma."""
    print(f"{'alike':>6} {'a.near':>6} " + " ".join(f"{g + ('' if h is None else f'/{h}'):>15}"
                                                      for g, h in ALIKE_COLUMNS))
    grid = itertools.product((-1.5, -1.25, -1.0, -0.75, -0.5, -0.25, 0.0, 0.5), (1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0))
    tuning = [a for a in asked if a.set == "near-dev"] + [a for a in asked if a.set == "near-vs-corpus"][::2]
    best = None
    for alike, alike_near in [(99.0, 0.0), *grid]:
        rule = AbstainRule(alike_sigma=alike, alike_near_sigma=alike_near)
        cells = {(g, h): handled(asked, rule, g, h) for g, h in ALIKE_COLUMNS}
        print(f"{alike:6.2f} {alike_near:6.1f} " + " ".join(f"{cells[c]:15.3f}" for c in ALIKE_COLUMNS))
        allowed = (min(cells["mlqa", 0], cells["mlqa", 1]) >= 0.99
                   and cells["sample", None] == cells["seed", None] == cells["issue-24", None] == 1.0)
        tuned = sum(a.hits == 0 or rule.abstains(a.evidence) for a in tuning)
        key = (tuned, cells["mlqa", None], alike)
        if allowed and (best is None or key > best[0]):
            best = (key, alike, alike_near, cells)
    if best:
        _, alike, alike_near, cells = best
        print(f"chosen: alike sigma {alike}, alike near sigma {alike_near}: near-dev {cells['near-dev', None]:.3f}, "
              f"near tuning half {cells['near-vs-corpus', 0]:.3f}, near test half {cells['near-vs-corpus', 1]:.3f}, "
              f"near all {cells['near-vs-corpus', None]:.3f}, MLQA {cells['mlqa', None]:.3f}")


def quoted_questions(asked: list[Asked]) -> None:
    """Quoted sentences that are questions, per set (the rule: never quote a question)."""
    for group in sorted({a.set for a in asked}):
        quoted = [s for a in asked if a.set == group for s in a.quoted]
        print(f"{group}: {sum(s.rstrip(QUOTES).endswith('?') for s in quoted)} of {len(quoted)} quoted sentences "
              "end with „?“")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lvo" / "eval")
    parser.add_argument("--saved", type=Path, help="pickle of the collected searches (made if missing)")
    args = parser.parse_args()
    if args.saved and args.saved.exists():
        asked = pickle.loads(args.saved.read_bytes())
    else:
        asked = collect(args.cache)
        if args.saved:
            args.saved.write_bytes(pickle.dumps(asked))
    answer_table(asked)
    type_table(asked)
    ceiling_table(asked)
    abstain_table(asked)
    alike_table(asked)
    quoted_questions(asked)


if __name__ == "__main__":
    main()
