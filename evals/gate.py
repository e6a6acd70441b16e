"""Fit the answer gate (Answering.min_evidence and min_margin, rag/settings.py) and estimate what it does to
answers it was not fitted on. An answer is given only when its best paragraph has strong evidence or
stands clearly ahead of the next; the thresholds chosen are those under which the answers refused were
more often wrong than right (utility: right answers − wrong answers, ties to the fewer refusals). The
estimate is repeated k-fold cross-validation: fitted on k−1 folds, scored on the one left out. The
questions run through rag.evaluate, as in `rag eval`.

    python evals/gate.py [--index DIR] [--gold FILE] [--folds 5] [--repeats 5]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed import embedder_for  # noqa: E402
from rag.evaluate import ANSWER_K, DEFAULT_GOLD, GoldQuestion, cited_gold, load_gold, open_for, run_question  # noqa: E402
from rag.retrieve import Searcher  # noqa: E402
from rag.settings import Answering, Settings  # noqa: E402

EVIDENCE = np.round(np.arange(1.0, 2.51, 0.05), 2)
MARGIN = np.round(np.arange(0.0, 0.31, 0.01), 2)
UNGATED = Answering(min_evidence=0, min_margin=0)


def answered(searcher: Searcher, gold: list[GoldQuestion]) -> np.ndarray:
    """(evidence, margin, cites gold, has the key facts) of each answerable question answered ungated."""
    out = []
    for q in gold:
        if not q.answerable:
            continue  # the gate only refuses more: unanswerable questions can only gain
        row = run_question(q, searcher=searcher, generator=None, depth=ANSWER_K, rules=UNGATED)
        if row.refused:
            continue
        hits = searcher.search(q.question, k=2, doc=q.doc)
        margin = hits[0].score - hits[1].score if len(hits) > 1 else np.inf
        out.append((hits[0].score, margin, cited_gold(row.citations, q.gold_units) > 0, row.facts_found))
    return np.array(out, dtype=float).reshape(-1, 4)


def outcome(data: np.ndarray, evidence: float, margin: float) -> np.ndarray:
    """(right, wrong, refused, with key facts) among `data` under the thresholds."""
    kept = data[(data[:, 0] >= evidence) | (data[:, 1] >= margin)]
    right = kept[:, 2].sum()
    return np.array([right, len(kept) - right, len(data) - len(kept), kept[:, 3].sum()])


def fit(data: np.ndarray) -> tuple[float, float]:
    """The thresholds with the most right answers less wrong ones (the first such: fewest refusals)."""
    best, chosen = -np.inf, (0.0, 0.0)
    for evidence, margin in itertools.product(EVIDENCE, MARGIN):
        right, wrong, _, _ = outcome(data, evidence, margin)
        if right - wrong > best:
            best, chosen = right - wrong, (float(evidence), float(margin))
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, help="an index of the default corpus (default: build a fresh one)")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    gold = list(load_gold(args.gold))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index=args.index or Path(tmp) / "index")
        searcher = open_for(gold, settings=settings, embedder=embedder_for(settings), progress=False)
        data = answered(searcher, gold)
    answerable = sum(q.answerable for q in gold)
    refused_anyway = answerable - len(data)
    rng = np.random.default_rng(0)
    held_out = np.zeros(4)
    for _ in range(args.repeats):
        for fold in np.array_split(rng.permutation(len(data)), args.folds):
            train = np.delete(data, fold, axis=0)
            held_out += outcome(data[fold], *fit(train))
    held_out /= args.repeats
    defaults, fitted = Answering(), fit(data)
    print(
        f"{len(data)} answerable questions answered without the gate ({refused_anyway} refused all the same: a "
        f"name the documents lack, or no answer of the kind asked for)\n"
    )
    print("| gate | evidence ≥ | or margin ≥ | citation precision | refusals added | key facts (of answerable) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, thresholds, (right, wrong, refused, facts) in [
        ("none", (0.0, 0.0), outcome(data, 0, 0)),
        (
            "shipped (Answering defaults)",
            (defaults.min_evidence, defaults.min_margin),
            outcome(data, defaults.min_evidence, defaults.min_margin),
        ),
        ("fitted on all", fitted, outcome(data, *fitted)),
        (f"{args.repeats}×{args.folds}-fold held out", ("fitted per fold", ""), held_out),
    ]:
        print(
            f"| {name} | {thresholds[0]} | {thresholds[1]} | {right / (right + wrong):.3f} | "
            f"{refused / answerable:.3f} | {facts / answerable:.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
