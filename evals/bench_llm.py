"""Speed of an LLM backend on two CPU cores: the model loaded once, then gold questions answered one
after another, each within its document. Prints the load time and, over the questions, p50/p95 of the
time to the first verified sentence (what a user waits for before text appears) and to the whole
answer, with the threads llama.cpp used. A benchmark, not a test: it prints what it measured.

    python evals/bench_llm.py [--llm local[:NAME]] [--gold FILE] [--limit 20] [--index DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed import embedder_for  # noqa: E402
from rag.evaluate import ANSWER_K, DEFAULT_GOLD, load_gold, open_for  # noqa: E402
from rag.llm import make_generator  # noqa: E402
from rag.pipeline import answer  # noqa: E402
from rag.settings import Settings  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of `values`, by linear interpolation."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100
    low = int(at)
    return ordered[low] + (ordered[min(low + 1, len(ordered) - 1)] - ordered[low]) * (at - low)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", default="local", help="the backend (default: the default local model)")
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD[0])
    parser.add_argument("--limit", type=int, default=20, help="the first N answerable questions")
    parser.add_argument("--index", type=Path, help="an index of the default corpus (default: build a fresh one)")
    args = parser.parse_args()
    questions = [q for q in load_gold(args.gold) if q.answerable][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index=args.index or Path(tmp) / "index")
        searcher = open_for(questions, settings=settings, embedder=embedder_for(settings), progress=False)
        start = time.perf_counter()
        generator = make_generator(args.llm, settings)
        load_s = time.perf_counter() - start
        if generator is None:
            raise SystemExit("give an LLM backend: --llm local[:NAME] or openai:MODEL")
        first, whole, refused = [], [], 0
        for q in questions:
            began = time.perf_counter()
            seen: list[float] = []
            result = answer(
                q.question,
                searcher=searcher,
                generator=generator,
                k=ANSWER_K,
                doc=q.doc,
                on_sentence=lambda _, seen=seen: seen.append(time.perf_counter()),
                rules=settings.answering,
            )
            whole.append(time.perf_counter() - began)
            if seen:
                first.append(seen[0] - began)
            refused += result.refused
    model = getattr(generator, "model", None)
    threads = getattr(getattr(model, "llama", None), "n_threads", None) if model is not None else None
    print(f"backend {generator.name}, {len(questions)} answerable questions of {args.gold.name}, threads {threads}")
    print(f"model load: {load_s:.1f} s; refused {refused}")
    print("| measure | p50 (s) | p95 (s) | mean (s) |\n|---|---:|---:|---:|")
    for name, values in (("first verified sentence", first), ("whole answer", whole)):
        if values:
            print(
                f"| {name} (n={len(values)}) | {statistics.median(values):.1f} | {percentile(values, 95):.1f} | "
                f"{statistics.fmean(values):.1f} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
