"""Retrieval quality, side by side: Paracite's hybrid search vs. the LangChain tutorial pipeline,
on the gold questions (hit@1, hit@5, MRR per question type and per document).

    python evals/retrieval.py [--index DIR] [--grid] [--out evals/reports/retrieval.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.tutorial_baseline import TutorialPipeline, covers  # noqa: E402
from rag.embed import ModelEmbedder  # noqa: E402
from rag.library import open_searcher  # noqa: E402
from rag.parse import parse_file  # noqa: E402
from rag.retrieve import Searcher  # noqa: E402
from rag.settings import Settings  # noqa: E402

GOLD = ROOT / "evals" / "gold.jsonl"
FILES = {
    "S/2020/754": "S_2020_754.txt", "S/2025/72": "S_2025_72.en.pdf", "S/2025/194": "S_2025_194.en.pdf",
    "S/2025/389": "S_2025_389.en.pdf", "S/RES/2768 (2025)": "S_RES_2768 (2025).en.pdf", "A/80/1": "A_80_1.en.pdf",
}  # fmt: skip
K = 10


def load_gold(path: Path = GOLD) -> list[dict]:
    """Answerable gold questions (unanswerable ones have no paragraphs to find)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["paragraphs"]]


def gold_ids(row: dict) -> set[str]:
    return {str(p) for p in row["paragraphs"]}


def first_rank(flags: list[bool]) -> int | None:
    return next((i + 1 for i, f in enumerate(flags) if f), None)


def summarise(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "n": n,
        "hit@1": sum(r == 1 for r in ranks) / n,
        "hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def paracite_ranks(searcher: Searcher, gold: list[dict], *, scoped: bool) -> dict[str, int | None]:
    out = {}
    for row in gold:
        hits = searcher.search(row["question"], k=K, doc=row["doc"] if scoped else None)
        out[row["id"]] = first_rank([h.unit.doc == row["doc"] and h.unit.para in gold_ids(row) for h in hits])
    return out


def baseline_ranks(gold: list[dict], model, settings: Settings) -> dict[str, int | None]:
    out = {}
    pipelines, texts = {}, {}
    for doc, name in FILES.items():
        path = ROOT / "corpus" / name
        pipelines[doc] = TutorialPipeline(path, model)
        texts[doc] = {u.para: u.text for u in parse_file(path, settings=settings).units}
    for row in gold:
        chunks = pipelines[row["doc"]].search(row["question"], K)
        paras = [texts[row["doc"]][p] for p in gold_ids(row)]
        out[row["id"]] = first_rank([any(covers(c.text, p) for p in paras) for c in chunks])
    return out


def table(gold: list[dict], systems: dict[str, dict[str, int | None]]) -> list[dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in gold:
        scope = "S/2020/754" if row["doc"] == "S/2020/754" else "PDFs"
        groups[f"{scope} all"].append(row)
        groups[f"{scope} {row['type']}"].append(row)
        if row["doc"] == "S/2020/754" and row["type"] != "paraphrase":
            groups["S/2020/754 non-paraphrase"].append(row)
    lines = []
    for group in sorted(groups):
        line = {"group": group, "n": len(groups[group])}
        for name, ranks in systems.items():
            m = summarise([ranks[r["id"]] for r in groups[group]])
            line[name] = {k: round(v, 3) for k, v in m.items() if k != "n"}
        lines.append(line)
    return lines


def print_table(lines: list[dict], systems: list[str]) -> None:
    head = "| group | n | " + " | ".join(f"{s} hit@1 | hit@5 | MRR" for s in systems) + " |"
    print(head)
    print("|" + "---|" * (2 + 3 * len(systems)))
    for line in lines:
        cells = [f"{line[s]['hit@1']:.2f} | {line[s]['hit@5']:.2f} | {line[s]['mrr']:.2f}" for s in systems]
        print(f"| {line['group']} | {line['n']} | " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, help="an index of the default corpus (default: build a fresh one)")
    parser.add_argument("--grid", action="store_true", help="also try fusion weights and print each setting")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--gold", type=Path, default=GOLD, help="the questions (default: evals/gold.jsonl)")
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "reports" / "retrieval.json")
    args = parser.parse_args()
    gold = load_gold(args.gold)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index=args.index or Path(tmp) / "index")
        embedder = ModelEmbedder(settings.embed_model)
        searcher = open_searcher(settings=settings, embedder=embedder, progress=False)
        systems = {"paracite": paracite_ranks(searcher, gold, scoped=True),
                   "paracite-library": paracite_ranks(searcher, gold, scoped=False)}  # fmt: skip
        if not args.no_baseline:
            systems["tutorial"] = baseline_ranks(gold, embedder._model, settings)
        lines = table(gold, systems)
        print("Scoped = searched within the question's document (as the tutorial pipeline over that raw file);")
        print("paracite-library = over the whole six-document library.\n")
        print_table(lines, list(systems))
        if args.grid:
            grid(searcher, gold, settings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"table": lines, "ranks": systems}, indent=1))
    print(f"\nreport: {args.out}")
    return 0


def grid(searcher: Searcher, gold: list[dict], settings: Settings) -> None:
    """Fusion settings, then rerank depths, side by side (questions searched within their document)."""
    print("\n| lexical w | confidence power | rrf k | 754 hit@1 | 754 hit@5 | 754 paraphrase hit@1 | hit@5 "
          "| PDF hit@1 | PDF hit@5 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for lexical, power in ((0, 1), (1, 0), (0.5, 0), (1, 1), (1, 2), (2, 1), (2, 2), (3, 2), (4, 3)):
        for rrf_k in (10, 30, 60):
            searcher.settings = settings.model_copy(
                update={"lexical_weight": lexical, "lexical_confidence_power": power, "rrf_k": rrf_k}
            )
            ranks = paracite_ranks(searcher, gold, scoped=True)

            def m(keep, ranks=ranks) -> dict[str, float]:
                return summarise([ranks[r["id"]] for r in gold if keep(r)])

            s754 = m(lambda r: r["doc"] == "S/2020/754")
            para = m(lambda r: r["doc"] == "S/2020/754" and r["type"] == "paraphrase")
            pdf = m(lambda r: r["doc"] != "S/2020/754")
            print(f"| {lexical} | {power} | {rrf_k} | {s754['hit@1']:.2f} | {s754['hit@5']:.2f} | "
                  f"{para['hit@1']:.2f} | {para['hit@5']:.2f} | {pdf['hit@1']:.2f} | {pdf['hit@5']:.2f} |")
    print("\n| rerank depth (0: fused ranking only) | 754 hit@1 | 754 hit@5 | 754 paraphrase hit@1 | hit@5 "
          "| PDF hit@1 | PDF hit@5 |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for depth in (0, 5, 10, 20):
        searcher.settings = settings.model_copy(update={"rerank_depth": depth})
        ranks = paracite_ranks(searcher, gold, scoped=True)
        s754, para, pdf = (summarise([ranks[r["id"]] for r in gold if keep(r)]) for keep in (
            lambda r: r["doc"] == "S/2020/754", lambda r: r["doc"] == "S/2020/754" and r["type"] == "paraphrase",
            lambda r: r["doc"] != "S/2020/754"))  # fmt: skip
        print(f"| {depth} | {s754['hit@1']:.2f} | {s754['hit@5']:.2f} | {para['hit@1']:.2f} | {para['hit@5']:.2f} "
              f"| {pdf['hit@1']:.2f} | {pdf['hit@5']:.2f} |")  # fmt: skip
    searcher.settings = settings


if __name__ == "__main__":
    raise SystemExit(main())
