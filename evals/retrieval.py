"""Retrieval quality, side by side: Paracite's hybrid search vs. the LangChain tutorial pipeline, on the
answerable gold questions (hit@1, hit@5, MRR per group), each searched within its document; with --grid,
every tuned number of the Retrieval settings tried (fusion weights jointly, each rerank weight
alone; the development set only: never tune on evals/heldout.jsonl). Everything but the tutorial
pipeline comes from rag.evaluate (`rag eval`).

    python evals/retrieval.py [--gold FILE] [--index DIR] [--grid] [--no-baseline]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.tutorial_baseline import TutorialPipeline, covers  # noqa: E402
from rag.embed import embedder_for  # noqa: E402
from rag.evaluate import DEFAULT_GOLD, GoldQuestion, corpus_files, first_rank, load_gold, open_for  # noqa: E402
from rag.parse import parse_file  # noqa: E402
from rag.retrieve import Searcher, doc_key  # noqa: E402
from rag.settings import Retrieval, Settings  # noqa: E402

K = 10
Ranks = dict[str, int | None]


def paracite_ranks(
    searcher: Searcher, gold: list[GoldQuestion], *, scoped: bool = True, params: Retrieval | None = None
) -> Ranks:
    """Rank of each question's first gold unit in Paracite's search (within its document when scoped)."""
    out = {}
    for q in gold:
        hits = searcher.search(q.question, k=K, doc=q.doc if scoped else None, params=params)
        out[q.id] = first_rank([(h.unit.doc, h.unit.para) for h in hits], q.gold_units)
    return out


def tutorial_ranks(gold: list[GoldQuestion], model, settings: Settings) -> Ranks:
    """Rank of the first tutorial chunk that covers half of a gold paragraph, over the question's raw file."""
    files = corpus_files(settings.corpus)
    pipelines, texts, out = {}, {}, {}
    for q in gold:
        key = doc_key(q.doc)
        if key not in pipelines:
            pipelines[key] = TutorialPipeline(files[key], model)
            texts[key] = {u.para: u.text for u in parse_file(files[key], settings=settings).units}
        chunks = pipelines[key].search(q.question, K)
        paragraphs = [texts[key][p] for p in q.paragraphs]
        out[q.id] = next((i for i, c in enumerate(chunks, start=1) if any(covers(c.text, p) for p in paragraphs)), None)
    return out


def summarise(ranks: list[int | None]) -> dict[str, float]:
    """hit@1, hit@5 and MRR of a list of first-gold ranks."""
    n = len(ranks) or 1
    return {
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def groups(gold: list[GoldQuestion]) -> dict[str, list[GoldQuestion]]:
    """S/2020/754 and the PDFs, all and per question type."""
    out: dict[str, list[GoldQuestion]] = defaultdict(list)
    for q in gold:
        scope = "S/2020/754" if q.doc == "S/2020/754" else "PDFs"
        out[f"{scope} all"].append(q)
        out[f"{scope} {q.type}"].append(q)
        if q.doc == "S/2020/754" and q.type != "paraphrase":
            out["S/2020/754 non-paraphrase"].append(q)
    return dict(sorted(out.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD[0], help="the questions (default: evals/gold.jsonl)")
    parser.add_argument("--index", type=Path, help="an index of the default corpus (default: build a fresh one)")
    parser.add_argument("--grid", action="store_true", help="also try every tuned retrieval parameter")
    parser.add_argument("--no-baseline", action="store_true", help="leave out the tutorial pipeline")
    args = parser.parse_args()
    gold = [q for q in load_gold(args.gold) if q.answerable]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index=args.index or Path(tmp) / "index")
        embedder = embedder_for(settings)
        searcher = open_for(gold, settings=settings, embedder=embedder, progress=False)
        systems = {
            "paracite": paracite_ranks(searcher, gold),
            "paracite-library": paracite_ranks(searcher, gold, scoped=False),
        }
        if not args.no_baseline:
            systems["tutorial"] = tutorial_ranks(gold, embedder.sentence_transformer, settings)
        print(
            "paracite: searched within the question's document (as the tutorial pipeline over that raw file); "
            "paracite-library: over the whole library.\n"
        )
        print("| group | n | " + " | ".join(f"{s} hit@1 | hit@5 | MRR" for s in systems) + " |")
        print("|" + "---|" * (2 + 3 * len(systems)))
        for name, members in groups(gold).items():
            cells = [summarise([ranks[q.id] for q in members]) for ranks in systems.values()]
            print(
                f"| {name} | {len(members)} | "
                + " | ".join(f"{c['hit@1']:.2f} | {c['hit@5']:.2f} | {c['mrr']:.2f}" for c in cells)
                + " |"
            )
        if args.grid:
            grid(searcher, gold, settings)
    return 0


# Each rerank weight is tried alone around its shipped value (the others as shipped): a coordinate sweep.
SWEEPS = {
    "rerank_depth": (0, 5, 10, 20),
    "word_match": (0, 1, 2, 3, 4),
    "unit_coverage": (0, 0.2, 0.4, 0.6, 1),
    "sentence_coverage": (0, 0.15, 0.3, 0.6),
    "rank_prior": (0, 0.05, 0.15, 0.3),
    "section_match": (0, 0.3, 0.6),
    "dense_overfetch": (2, 4, 6, 10),
}


def grid(searcher: Searcher, gold: list[GoldQuestion], settings: Settings) -> None:
    """Every tuned number of `Retrieval` tried (questions searched within their document): the fusion
    weights jointly, then each rerank parameter alone around its shipped value."""
    subsets = {
        "754": lambda q: q.doc == "S/2020/754",
        "754 paraphrase": lambda q: q.doc == "S/2020/754" and q.type == "paraphrase",
        "PDF": lambda q: q.doc != "S/2020/754",
    }

    def row(update: dict) -> str:
        ranks = paracite_ranks(searcher, gold, params=settings.retrieval.model_copy(update=update))
        cells = [summarise([ranks[q.id] for q in gold if keep(q)]) for keep in subsets.values()]
        return " | ".join(f"{c['hit@1']:.2f} | {c['hit@5']:.2f}" for c in cells)

    head = " | ".join(f"{name} hit@1 | hit@5" for name in subsets)
    print(f"\n| lexical w | confidence power | rrf k | {head} |\n|---|---|---|" + "---|" * 6)
    for lexical, power in ((0, 1), (1, 0), (0.5, 0), (1, 1), (1, 2), (2, 1), (2, 2), (3, 2), (4, 3)):
        for rrf_k in (10, 30, 60):
            update = {"lexical_weight": lexical, "lexical_confidence_power": power, "rrf_k": rrf_k}
            print(f"| {lexical} | {power} | {rrf_k} | {row(update)} |")
    for name, values in SWEEPS.items():
        shipped = getattr(settings.retrieval, name)
        print(f"\n| {name} (shipped {shipped}) | {head} |\n|---|" + "---|" * 6)
        for value in values:
            print(f"| {value} | {row({name: value})} |")


if __name__ == "__main__":
    raise SystemExit(main())
