"""Benchmark: search engines at library scale, and ingestion on Ray by number of workers.

    python evals/bench_scale.py [--units 1000000] [--engines faiss-flat,faiss-ivf-sq8,paracite-ivf-sq4,…]
                                [--no-bm25] [--searcher UNITS] [--workers 1,2,4] [--files DIR…]

Units, not vectors: Paracite embeds each unit whole and each of its sentences, so a library of N units
holds N times the default corpus' vectors per unit (2,285 / 559, about 4.1) vectors; `--units` counts
units. Vectors: embedding a million units does not fit this machine (all-MiniLM-L6-v2 embeds about
100 texts/s on 2 cores), so the library's vectors are made from the real model's: every vector of the
default corpus mixed with a second one and noise, then normalised. Queries are the real model's
vectors of the gold and held-out questions. Recall@10 is against exact search over the same vectors.
Texts (for the BM25 figures) are three random sentences of the corpus each, so their word statistics
are real.

Engines: `faiss-flat` (exact), `faiss-hnsw-sq8`, `faiss-ivf-sq8` and `faiss-ivf-sq4` (their codes' own
top 10), and `paracite-ivf-sq4`: the index Paracite's store builds past its threshold
(`rag.store.VectorIndex`), searched as Paracite searches it: the top candidates × overfetch rows (300
by default) scored again exactly from the float32 vectors, mapped from a file as the store maps them,
then the top 10. `milvus-ivf-sq8` and `milvus-hnsw` run Milvus Lite.

Prints what it measured: build time, index memory, search p50/p95 (one query at a time, one thread for
FAISS as each Paracite search runs) and recall@10 per engine; BM25 build and search over the texts;
with `--searcher`, Paracite end to end over that many units (`searcher_figures`); then units/s of
`rag ingest --ray` over the given files (default: the corpus) with 1, 2 and 4 workers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.embed import embedder_for  # noqa: E402
from rag.evaluate import load_gold  # noqa: E402
from rag.indexed import views  # noqa: E402
from rag.library import open_searcher  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.store import VectorIndex  # noqa: E402

K = 10


def rss_mb() -> float:
    """This process's resident memory, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def library(units: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The vectors of `units` units made from the corpus' real ones, the real questions' vectors, and
    the corpus' sentences."""
    settings = Settings(index=Path(tempfile.mkdtemp()) / "index")
    embedder = embedder_for(settings)
    searcher = open_searcher(settings=settings, embedder=embedder, progress=False)
    base = np.asarray(searcher.data.vectors)
    total = round(units * len(base) / len(searcher.units))
    questions = [q.question for name in ("gold.jsonl", "heldout.jsonl") for q in load_gold(ROOT / "evals" / name)]
    queries = np.stack([embedder.embed_query(q) for q in questions]).astype(np.float32)
    sentences = [s for u in searcher.units for s in views(u)[1:] or [u.text]]
    rng = np.random.default_rng(seed)
    out = np.empty((total, base.shape[1]), dtype=np.float32)
    for start in range(0, total, 100_000):
        n = min(100_000, total - start)
        a, b = rng.integers(0, len(base), n), rng.integers(0, len(base), n)
        w = rng.uniform(0, 0.5, (n, 1)).astype(np.float32)
        noise = rng.normal(0, 0.02, (n, base.shape[1])).astype(np.float32)  # about 0.4 of a unit vector's norm
        v = (1 - w) * base[a] + w * base[b] + noise
        out[start : start + n] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out, queries, sentences


def timed_searches(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    search(queries[0])  # warm
    times, found = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(search(q))
        times.append((time.perf_counter() - start) * 1000)
    return times, np.stack([np.pad(f[:K], (0, K - len(f[:K])), constant_values=-1) for f in found])


def faiss_engine(kind: str, vectors: np.ndarray, folder: Path):
    """The engine's search (row ids, best first), its index's memory in MB, and how to tune its effort."""
    dim = vectors.shape[1]
    if kind == "faiss-flat":  # exact: brute force over the vectors themselves (an index would copy them)

        def exact(q: np.ndarray) -> np.ndarray:
            return faiss.knn(q.reshape(1, -1), vectors, K, metric=faiss.METRIC_INNER_PRODUCT)[1][0]

        return exact, vectors.nbytes / 2**20, None
    if kind == "paracite-ivf-sq4":  # the store's index, its float32 vectors mapped from a file as the store maps them
        np.save(folder / "vectors.npy", vectors)
        os.sync()  # on disk, as the store leaves them (it syncs its files before switching to them)
        mapped = np.load(folder / "vectors.npy", mmap_mode="r")
        paracite = VectorIndex(VectorIndex.build(vectors, ann_threshold=0).index, mapped)
        index = paracite.index
        retrieval = Settings().retrieval
        fetch = retrieval.candidates * retrieval.dense_overfetch  # the rows Paracite's dense search asks for

        def search(q: np.ndarray) -> np.ndarray:
            return paracite.search(q, fetch)[0][:K]

    else:
        if kind == "faiss-hnsw-sq8":
            index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 40
        elif kind in ("faiss-ivf-sq8", "faiss-ivf-sq4"):  # codes alone, not scored again
            nlist = max(64, int(4 * np.sqrt(len(vectors))))
            bits = faiss.ScalarQuantizer.QT_8bit if kind.endswith("8") else faiss.ScalarQuantizer.QT_4bit
            index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, bits, faiss.METRIC_INNER_PRODUCT)
        else:
            raise SystemExit(f"unknown engine {kind}")
        rng = np.random.default_rng(0)  # the quantiser's ranges (and IVF's centroids) from a sample
        index.train(vectors[np.sort(rng.choice(len(vectors), min(len(vectors), 100_000), replace=False))])
        for start in range(0, len(vectors), 100_000):
            index.add(vectors[start : start + 100_000])

        def search(q: np.ndarray) -> np.ndarray:
            return index.search(q.reshape(1, -1), K)[1][0]

    memory = len(faiss.serialize_index(index)) / 2**20

    def tune(value: int) -> None:  # how hard a search looks: HNSW's efSearch, IVF's nprobe
        if kind == "faiss-hnsw-sq8":
            index.hnsw.efSearch = value
        else:
            index.nprobe = value

    return search, memory, tune


def milvus_engine(kind: str, vectors: np.ndarray, folder: Path):
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(str(folder / "bench.db"), timeout=600)
    schema = client.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
    params = client.prepare_index_params()
    index_type, search_params = {
        "milvus-flat": ("FLAT", {}),
        "milvus-ivf-sq8": ("IVF_SQ8", {"nprobe": 32}),
        "milvus-hnsw": ("HNSW", {"ef": 64}),
    }[kind]
    build = {"nlist": max(64, int(4 * np.sqrt(len(vectors))))} if index_type.startswith("IVF") else {}
    if index_type == "HNSW":
        build = {"M": 32, "efConstruction": 40}
    params.add_index("vector", index_type=index_type, metric_type="IP", params=build)
    client.create_collection("bench", schema=schema, index_params=params)
    for start in range(0, len(vectors), 5_000):
        chunk = vectors[start : start + 5_000]
        client.insert("bench", [{"row": start + i, "vector": v} for i, v in enumerate(chunk.tolist())])
    client.flush("bench")
    client.release_collection("bench")
    client.load_collection("bench")  # builds the index over the flushed segments

    def search(q: np.ndarray) -> np.ndarray:
        hits = client.search("bench", data=[q.tolist()], limit=K, search_params={"params": search_params})[0]
        return np.array([h["row"] for h in hits], dtype=np.int64)

    return search, client


def bm25_figures(texts: list[str], queries: list[str]) -> dict:
    from rag.lexical import Lexical, tokenise

    before, start = rss_mb(), time.perf_counter()
    lexical = Lexical(tokenise(texts))
    built = time.perf_counter() - start
    times = []
    for q in queries:
        t = time.perf_counter()
        lexical.search(q, 50)
        times.append((time.perf_counter() - t) * 1000)
    return {
        "build_s": built,
        "rss_mb": rss_mb() - before,
        "p50_ms": statistics.median(times),
        "p95_ms": float(np.percentile(times, 95)),
    }


OPEN_AND_SEARCH = """
import json, statistics, sys, time
from pathlib import Path
from rag.embed import embedder_for
from rag.evaluate import load_gold
from rag.library import open_searcher
from rag.settings import Settings
settings = Settings(index=sys.argv[1])
embedder = embedder_for(settings)
embedder.embed_query("warm")  # the model's own start is not the index's
t0 = time.perf_counter()
searcher = open_searcher(settings=settings, embedder=embedder, progress=False)
opened = time.perf_counter() - t0
questions = [q.question for q in load_gold(Path("evals/gold.jsonl"))]
searcher.search(questions[0], k=5)
times = []
for q in questions:
    t = time.perf_counter()
    searcher.search(q, k=5)
    times.append((time.perf_counter() - t) * 1000)
status = {l.split(":")[0]: int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.rstrip().endswith(" kB")}
times.sort()
print(json.dumps({"open_s": opened, "p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))],
                  "anon_mb": status["RssAnon"], "mapped_mb": status["RssFile"], "peak_mb": status["VmHWM"]}))
"""


def searcher_figures(units: int, seed: int = 11) -> dict:
    """Paracite's own store and searcher over `units` units, end to end: each a copy of a random
    corpus unit (its text, token ids and token vectors; its vectors moved by noise) under a new
    document id (a hundred units a document), saved as `rag ingest` saves, then opened and searched
    in a fresh process with the real model: hybrid search, BM25 and reranking included. Memory after
    the searches: `anon_mb` the process's own, `mapped_mb` pages of mapped files it has touched (page
    cache the system reclaims under pressure), `peak_mb` the most of both together."""
    from dataclasses import replace

    from rag import store
    from rag.types import Document

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(index=Path(folder) / "corpus")
        embedder = embedder_for(settings)
        corpus = open_searcher(settings=settings, embedder=embedder, progress=False)
        base = corpus.data.snapshot
        rng = np.random.default_rng(seed)
        source = rng.integers(0, len(base.units), units)
        docs = [f"S/SYN/{i}" for i in range((units + 99) // 100)]
        made = [
            replace(base.units[s], doc=docs[i // 100], para=str(i % 100 + 1)) for i, s in enumerate(source.tolist())
        ]
        views = [corpus.data.unit_views[s] for s in source.tolist()]
        rows = np.concatenate(views)
        vectors = base.vectors[rows] + rng.normal(0, 0.02, (len(rows), base.vectors.shape[1])).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        owners = np.repeat(np.arange(units), [len(v) for v in views])
        offsets = np.asarray(base.token_offsets)
        lengths = offsets[source + 1] - offsets[source]
        token_rows = np.concatenate([np.arange(offsets[s], offsets[s + 1]) for s in source.tolist()])
        snapshot = store.Snapshot(
            base.fingerprint,
            base.parser,
            tuple(Document(d, d, "", "synthetic", d, 1) for d in docs),
            tuple(made),
            vectors,
            owners,
            np.asarray(base.token_ids)[token_rows],
            np.asarray(base.tokens)[token_rows],
            np.concatenate([[0], np.cumsum(lengths)]),
        )
        t0 = time.perf_counter()
        store.save(Path(folder) / "big", snapshot, model=embedder.name, ann_threshold=settings.ann_threshold)
        saved = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in (Path(folder) / "big").rglob("*") if f.is_file()) / 2**20
        del snapshot, vectors, made
        gc.collect()
        child = subprocess.run(
            [sys.executable, "-c", OPEN_AND_SEARCH, str(Path(folder) / "big")], capture_output=True, text=True, cwd=ROOT
        )
        if child.returncode:
            raise SystemExit(f"the search process failed:\n{child.stderr[-2000:]}")
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        return {"units": units, "vectors": len(rows), "save_s": saved, "disk_mb": size, **figures}


def ray_figures(files: list[Path], workers: list[int]) -> list[tuple[int, int, float]]:
    import ray

    from rag.distributed import RayReader
    from rag.library import expand

    paths = expand(files)
    settings = Settings()
    out = []
    for n in workers:
        start = time.perf_counter()
        entries, failed = RayReader(workers=n)(
            paths, settings=settings, password=None, progress=False, tell=lambda *_: None
        )
        seconds = time.perf_counter() - start
        out.append((n, sum(len(e.units) for e in entries), seconds))
        ray.shutdown()
    return out


def engine_figures(units: int, engines: str, bm25: bool) -> None:
    """Print each engine's figures over a library of `units` units, then BM25's (when `bm25`)."""
    start = time.perf_counter()
    vectors, queries, sentences = library(units)
    print(
        f"library: {units:,} units, {len(vectors):,} vectors of {vectors.shape[1]} dimensions made in "
        f"{time.perf_counter() - start:.0f} s; {len(queries)} real questions"
    )
    exact = faiss.knn(queries, vectors, K, metric=faiss.METRIC_INNER_PRODUCT)[1]  # the reference top 10
    rows = []
    efforts = {"faiss-hnsw-sq8": (64, 128, 256), "faiss-ivf-sq8": (16, 32, 64), "faiss-ivf-sq4": (32,)}
    for kind in [e for e in engines.split(",") if e]:
        gc.collect()
        before, t0 = rss_mb(), time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            client = tune = None
            if not kind.startswith("milvus"):
                search, memory, tune = faiss_engine(kind, vectors, Path(folder))
                build = time.perf_counter() - t0
            else:
                search, client = milvus_engine(kind, vectors, Path(folder))
                build = time.perf_counter() - t0
                memory = rss_mb() - before
            for effort in efforts.get(kind, (None,)):
                if tune is not None and effort is not None:
                    tune(effort)
                faiss.omp_set_num_threads(1)  # one query at a time on one thread, as each Paracite search runs
                times, found = timed_searches(search, queries)
                faiss.omp_set_num_threads(2)  # building uses both cores
                recall = float(np.mean([len(set(f[f >= 0]) & set(e)) / K for f, e in zip(found, exact, strict=True)]))
                name = kind if effort is None else f"{kind} ({'efSearch' if 'hnsw' in kind else 'nprobe'} {effort})"
                rows.append((name, build, memory, statistics.median(times), float(np.percentile(times, 95)), recall))
                print(
                    f"{name}: built in {build:.0f} s, {memory:,.0f} MB, p50 {rows[-1][3]:.2f} ms, "
                    f"p95 {rows[-1][4]:.2f} ms, recall@10 {recall:.3f}",
                    flush=True,
                )
            del search
            if client is not None:
                client.close()
    head = f"engine ({units:,} units, {len(vectors):,} vectors)"
    print(f"\n| {head} | build s | memory MB | p50 ms | p95 ms | recall@10 |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, build, memory, p50, p95, recall in rows:
        print(f"| {kind} | {build:.0f} | {memory:,.0f} | {p50:.2f} | {p95:.2f} | {recall:.3f} |")

    if bm25:
        rng = np.random.default_rng(3)
        n = min(units, 1_000_000)
        texts = [" ".join(sentences[i] for i in rng.integers(0, len(sentences), 3)) for i in range(n)]
        questions = [q.question for q in load_gold(ROOT / "evals" / "gold.jsonl")]
        print(f"\nBM25 (Paracite's, in memory) over {n:,} texts: {json.dumps(bm25_figures(texts, questions))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--engines", default="faiss-flat,faiss-ivf-sq8,paracite-ivf-sq4,milvus-ivf-sq8")
    parser.add_argument("--bm25", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--workers", default="1,2,4", help="Ray workers to try ('' to skip)")
    parser.add_argument("--searcher", type=int, default=0, help="units for the end-to-end searcher run (0: skip)")
    parser.add_argument("--files", type=Path, nargs="*", default=[ROOT / "corpus"])
    args = parser.parse_args()

    if args.engines or args.bm25:
        engine_figures(args.units, args.engines, args.bm25)

    if args.searcher:
        print(f"\nParacite end to end (store, open, hybrid search): {json.dumps(searcher_figures(args.searcher))}")

    if args.workers:
        print("\n| Ray workers (2 cores) | units | seconds | units/s | units/s per worker |")
        print("|---:|---:|---:|---:|---:|")
        for n, units, seconds in ray_figures(args.files, [int(w) for w in args.workers.split(",")]):
            print(f"| {n} | {units} | {seconds:.1f} | {units / seconds:.1f} | {units / seconds / n:.1f} |", flush=True)


if __name__ == "__main__":
    main()
