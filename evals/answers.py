"""Answer quality per backend on the gold questions: key-fact accuracy, citation precision, answers
citing a gold paragraph, unanswerable refused, false refusals, citations to units not retrieved, p50
latency.

    python evals/answers.py [--llm extractive --llm local ...] [--index DIR] [--library] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed import ModelEmbedder  # noqa: E402
from rag.library import open_searcher  # noqa: E402
from rag.llm import make_generator  # noqa: E402
from rag.pipeline import answer  # noqa: E402
from rag.retrieve import doc_key  # noqa: E402
from rag.settings import Settings  # noqa: E402

K = 5
GOLD = ROOT / "evals" / "gold.jsonl"


def load_gold(path: Path = GOLD) -> list[dict]:
    """The gold questions of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate(searcher, generator, gold: list[dict], *, scoped: bool) -> dict[str, float]:
    """Run every gold question through one backend and score the answers."""
    facts, precise, cited_gold, refused_ok, false_refusals, outside, latencies = [], [], [], [], [], 0, []
    lengths = []
    rows = []
    for g in gold:
        doc = g["doc"] if scoped else None
        result = answer(g["question"], searcher=searcher, generator=generator, k=K, doc=doc)
        hits = {(doc_key(h.unit.doc), h.unit.para) for h in searcher.search(g["question"], k=K, doc=doc)}
        outside += sum((doc_key(c.doc), c.para) not in hits for c in result.citations)
        latencies.append(dict(result.timings)["total"])
        gold_units = {(doc_key(g["doc"]), str(p)) for p in g["paragraphs"]}
        cites = [(doc_key(c.doc), c.para) for c in result.citations]
        if g["type"] == "unanswerable":
            refused_ok.append(result.refused)
        else:
            false_refusals.append(result.refused)
            text = result.text.lower()
            facts.append(not result.refused and all(f.lower() in text for f in g["key_facts"]))
            cited_gold.append(any(c in gold_units for c in cites))
            precise.extend(c in gold_units for c in cites)
            if not result.refused:
                lengths.append(len(result.text.split()))
        rows.append({"id": g["id"], "refused": result.refused, "answer": result.text, "citations": cites})
    return {
        "questions": len(gold),
        "key facts": statistics.fmean(facts),
        "citation precision": statistics.fmean(precise) if precise else 0.0,
        "answers citing a gold paragraph": statistics.fmean(cited_gold),
        "unanswerable refused": statistics.fmean(refused_ok),
        "false refusals": statistics.fmean(false_refusals),
        "citations to units not retrieved": outside,
        "median answer words": statistics.median(lengths) if lengths else 0.0,
        "p50 latency ms": statistics.median(latencies),
        "_rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llm", action="append", help="backend spec; repeat for several (default: extractive)")
    parser.add_argument("--index", type=Path, help="an index of the default corpus (default: build a fresh one)")
    parser.add_argument("--library", action="store_true", help="search the whole library, not the question's doc")
    parser.add_argument("--limit", type=int, help="only the first N questions (smoke runs)")
    parser.add_argument("--gold", type=Path, default=GOLD, help="the questions (default: evals/gold.jsonl)")
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "reports" / "answers.json")
    args = parser.parse_args()
    gold = load_gold(args.gold)
    gold = gold[: args.limit] if args.limit else gold
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index=args.index or Path(tmp) / "index")
        searcher = open_searcher(settings=settings, embedder=ModelEmbedder(settings.embed_model), progress=False)
        for spec in args.llm or ["extractive"]:
            report[spec] = evaluate(searcher, make_generator(spec, settings), gold, scoped=not args.library)
    metrics = [m for m in next(iter(report.values())) if not m.startswith("_")]
    print("| metric | " + " | ".join(report) + " |")
    print("|---|" + "---:|" * len(report))
    for m in metrics:
        cells = [f"{r[m]:.2f}" if isinstance(r[m], float) else str(r[m]) for r in report.values()]
        print(f"| {m} | " + " | ".join(cells) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(f"\nreport: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
