"""Scale-out proven on a local cluster: a Ray head and a second Ray node started here (`ray start`, one
CPU each, on loopback), a text and a PDF of the default corpus and the awkward PDFs ingested through Ray
into Milvus Lite with the real model, then compared with the FAISS path: a plain `rag ingest` of the same
files into the session's index of the default corpus with its other four documents removed (so the two
documents are not embedded a second time). The large awkward PDF (a 984-paragraph book, more text than the
whole corpus) is left to the tests that parse it: embedding it twice took most of this test's 25 minutes
on a slow CPU."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, MODELS, ROBUSTNESS, copy_index, free_port

pytestmark = pytest.mark.slow

RAY = Path(sys.executable).with_name("ray")
GOLD = [CORPUS.parent / "evals" / name for name in ("gold.jsonl", "heldout.jsonl")]
DOCUMENTS = {"S/2020/754": CORPUS / "S_2020_754.txt", "S/RES/2768 (2025)": CORPUS / "S_RES_2768 (2025).en.pdf"}
AWKWARD = [folder for folder in sorted(ROBUSTNESS.glob("*")) if folder.is_dir() and folder.name != "large"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The address of a two-node Ray cluster on this machine, and the environment that reaches it."""
    home = tmp_path_factory.mktemp("ray-home")
    env = {
        **os.environ,
        "HOME": str(home),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "token",  # Ray 2.60's default for `ray start`: every process shows the same token
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        **MODELS,
    }
    address = f"127.0.0.1:{free_port()}"
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    head = [str(RAY), "start", "--head", f"--port={address.split(':')[1]}", "--include-dashboard=false", *common]
    try:
        subprocess.run(head, env=env, check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(RAY), "start", f"--address={address}", *common], env=env, check=True, capture_output=True, timeout=120
        )
        yield address, env
    finally:
        subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120)


def _ingest(env: dict[str, str], index: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", "ingest", *map(str, [*DOCUMENTS.values(), *AWKWARD]), *args],
        env={**env, "RAG_INDEX": str(index)},
        capture_output=True,
        text=True,
        timeout=1200,
    )


def _outcome(run: subprocess.CompletedProcess) -> tuple[set[str], set[str]]:
    """The documents in the index after the run (added now or before, unchanged) and the files refused."""
    held = {
        d
        for line in run.stdout.splitlines()
        for outcome in ("added: ", "unchanged: ")
        if line.startswith(outcome)
        for d in line[len(outcome) :].split(", ")
    }
    failed = {Path(m.group(1)).name for m in re.finditer(r"^failed: (.+?\.pdf): ", run.stderr, re.M)}
    return held, failed


def _just_the_two(corpus_index: Path, to: Path) -> Path:
    """A copy of the default corpus's index holding only DOCUMENTS."""
    from rag.embed import embedder_for
    from rag.library import remove
    from rag.settings import Settings

    settings = Settings(index=copy_index(corpus_index, to))
    embedder = embedder_for(settings)
    for doc in ("A/80/1", "S/2025/72", "S/2025/194", "S/2025/389"):
        remove(doc, settings=settings, embedder=embedder)
    return to


@pytest.mark.timeout(2400)  # a hang guard: 10 minutes on a 2-core machine whose hypervisor took half its CPU
def test_ray_cluster_into_milvus_gives_what_the_faiss_path_gives(cluster, corpus_index, tmp_path):
    address, env = cluster
    plain = _ingest(env, _just_the_two(corpus_index, tmp_path / "faiss"))
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "unchanged: " in plain.stdout  # the two documents were already in the copy
    milvus_env = {**env, "RAG_STORE": "milvus"}
    ray = _ingest(milvus_env, tmp_path / "milvus", "--ray", address)
    assert ray.returncode == 0, ray.stderr[-2000:]
    assert re.search(r"^ray: \d+ files read by 2 workers on 2 nodes: \d+ units", ray.stderr, re.M), ray.stderr[-2000:]
    assert "Traceback" not in ray.stderr
    assert _outcome(ray) == _outcome(plain)  # the same documents added, the same bad files refused
    assert set(DOCUMENTS) <= _outcome(ray)[0]
    if AWKWARD:
        assert {"aes-256.pdf", "Pages-tree-refs.pdf", "empty.pdf"} <= _outcome(ray)[1]
    assert (tmp_path / "milvus" / "milvus.db").exists() and not list((tmp_path / "milvus").glob("gen-*"))

    # re-ingest: the documents unchanged (skipped by checksum), only the bad files read again
    again = _ingest(milvus_env, tmp_path / "milvus", "--ray", address)
    assert again.returncode == 0 and "added" not in again.stdout and "unchanged: " in again.stdout
    bad = len(_outcome(ray)[1])
    assert (f"ray: {bad} files read" in again.stderr) if bad else ("ray: " not in again.stderr)
    assert _outcome(again) == _outcome(ray)

    # the same top units for the gold questions, searched across the library
    from rag.embed import embedder_for
    from rag.evaluate import load_gold
    from rag.library import open_searcher
    from rag.settings import Settings

    searchers = []
    for index, kind in ((tmp_path / "faiss", "faiss"), (tmp_path / "milvus", "milvus")):
        settings = Settings(index=index, store=kind)
        searchers.append(open_searcher(settings=settings, embedder=embedder_for(settings), progress=False))
    questions = [q for path in GOLD for q in load_gold(path) if q.doc in DOCUMENTS]
    assert len(questions) >= 150
    same = [
        searchers[0].search(q.question, k=1)[0].unit == searchers[1].search(q.question, k=1)[0].unit for q in questions
    ]
    # every answerable question; an unanswerable one has no right unit, and its first may be a near tie
    # that the two BM25s (rarity over the collection or the document) break apart (1 of the 42 did)
    assert all(s for q, s in zip(questions, same, strict=True) if q.answerable), [
        q.question for q, s in zip(questions, same, strict=True) if not s
    ]
    unanswerable = [s for q, s in zip(questions, same, strict=True) if not q.answerable]
    assert sum(unanswerable) >= 0.95 * len(unanswerable)
    # within one document Milvus's BM25 counts terms over the library, not the document: near the same
    within = [
        searchers[0].search(q.question, k=1, doc=q.doc)[0].unit
        == searchers[1].search(q.question, k=1, doc=q.doc)[0].unit
        for q in questions
    ]
    assert sum(within) >= 0.98 * len(within)
