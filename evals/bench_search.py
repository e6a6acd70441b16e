"""Speed of Paracite's index and search, side by side with the LangChain tutorial pipeline in one
process tree (so ratios hold on a noisy machine):

- warm search latency p50/p95 over the gold questions, the two systems interleaved;
- cold `rag search` wall time from the shell vs. a cold tutorial query (persisted FAISS index);
- ingest throughput for the whole default corpus, index size on disk, peak memory.

    python evals/bench_search.py [--rounds 3] [--cold 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TUTORIAL_COLD = """
import sys, time, json
start = time.perf_counter()
import faiss, numpy as np
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(sys.argv[4], device="cpu")
index = faiss.read_index(sys.argv[1])
chunks = json.load(open(sys.argv[2]))
query = np.asarray(model.encode([sys.argv[3]], normalize_embeddings=True), np.float32)
_, ids = index.search(query, 4)
print(json.dumps([chunks[i][:60] for i in ids[0]]))
"""


def _child(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one child process. GNU time reports the peak of the command
    itself (the rusage of a child forked from this large process would count the fork's pages)."""
    start = time.perf_counter()
    run = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if run.returncode:
        raise SystemExit(f"{command[:4]} failed: {run.stderr[-500:]}")
    return wall, int(run.stderr.strip().splitlines()[-1]) // 1024


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", type=int, default=5)
    args = parser.parse_args()
    from rag.evaluate import DEFAULT_GOLD, load_gold

    gold = [q.question for q in load_gold(DEFAULT_GOLD[0])]
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        env = {**os.environ, "RAG_INDEX": str(index), "HF_HUB_OFFLINE": "1"}

        ingest_s, ingest_mb = _child([sys.executable, "-m", "rag", "ingest", str(ROOT / "corpus")], env)
        from rag.embed import embedder_for
        from rag.library import open_searcher
        from rag.settings import Settings

        settings = Settings(index=index)
        embedder = embedder_for(settings)
        searcher = open_searcher(settings=settings, embedder=embedder, progress=False)
        units, views = len(searcher.units), len(searcher.data.owners)
        size_mb = sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) / 2**20

        from evals.tutorial_baseline import TutorialPipeline
        from rag.evaluate import corpus_files
        from rag.retrieve import doc_key

        tutorial = TutorialPipeline(corpus_files(settings.corpus)[doc_key("S/2020/754")], embedder.sentence_transformer)
        searcher.search("warm up")
        tutorial.search("warm up", 4)
        ours, theirs = [], []
        for _ in range(args.rounds):
            for question in gold:
                start = time.perf_counter()
                searcher.search(question, k=5)
                ours.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                tutorial.search(question, 4)
                theirs.append((time.perf_counter() - start) * 1000)

        import faiss

        faiss.write_index(tutorial.index, str(Path(tmp) / "tutorial.faiss"))
        (Path(tmp) / "chunks.json").write_text(json.dumps([c.text for c in tutorial.chunks]))
        question = "Do eavesdropping operations need a judge's sign-off beforehand?"
        cold_ours, cold_theirs, mem_ours, mem_theirs = [], [], 0, 0
        for _ in range(args.cold):
            wall, mb = _child([sys.executable, "-m", "rag", "search", question, "--jsonl"], env)
            cold_ours.append(wall)
            mem_ours = max(mem_ours, mb)
            wall, mb = _child(
                [
                    sys.executable,
                    "-c",
                    TUTORIAL_COLD,
                    str(Path(tmp) / "tutorial.faiss"),
                    str(Path(tmp) / "chunks.json"),
                    question,
                    str(embedder.path),  # the same model folder
                ],
                env,
            )
            cold_theirs.append(wall)
            mem_theirs = max(mem_theirs, mb)

    p50, p95 = statistics.median(ours), _pct(ours, 95)
    t50, t95 = statistics.median(theirs), _pct(theirs, 95)
    print(
        f"model: {settings.embed_model}; queries: {len(gold)} gold questions x {args.rounds} rounds, interleaved; "
        f"cold runs: {args.cold}\n"
    )
    print("| measure | Paracite | tutorial pipeline | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| warm search p50 (ms) | {p50:.1f} | {t50:.1f} | {p50 / t50:.2f} |")
    print(f"| warm search p95 (ms) | {p95:.1f} | {t95:.1f} | {p95 / t95:.2f} |")
    c50, ct50 = statistics.median(cold_ours), statistics.median(cold_theirs)
    print(f"| cold search from the shell, median (s) | {c50:.2f} | {ct50:.2f} | {c50 / ct50:.2f} |")
    print(f"| peak memory of a cold search (MB) | {mem_ours} | {mem_theirs} | {mem_ours / mem_theirs:.2f} |")
    print(
        f"\ningest of the default corpus: {units} units ({views} vectors) in {ingest_s:.1f} s = "
        f"{units / ingest_s:.1f} units/s, peak memory {ingest_mb} MB; index on disk {size_mb:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
