"""End to end with the real embedding model and the shipped corpus, through the real CLI (slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    """The default corpus indexed once, by `rag search` on first use."""
    folder = tmp_path_factory.mktemp("real") / "index"
    env = {**os.environ, "RAG_INDEX": str(folder)}
    run = subprocess.run([sys.executable, "-m", "rag", "search", "warm up", "-k", "1", "--jsonl"],
                         capture_output=True, text=True, env=env, timeout=900)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "first use: indexing the default corpus" in run.stderr
    return folder


def _rag(index: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_INDEX": str(index)}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=300)  # fmt: skip


def test_docs_lists_the_default_corpus(index):
    run = _rag(index, "docs")
    assert run.returncode == 0, run.stderr
    ids = [line.split("\t")[0] for line in run.stdout.splitlines()]
    assert sorted(ids) == sorted(["A/80/1", "S/2020/754", "S/2025/194", "S/2025/389", "S/2025/72", "S/RES/2768 (2025)"])


def test_search_jsonl_contract_and_quality(index):
    run = _rag(index, "search", "Which resolution did the Security Council adopt on 19 July 2019?", "-k", "3",
               "--jsonl", "--doc", "S/2020/754")  # fmt: skip
    assert run.returncode == 0, run.stderr
    (record,) = [json.loads(line) for line in run.stdout.splitlines()]
    assert set(record) == {"question", "hits"} and len(record["hits"]) == 3
    first = record["hits"][0]
    assert set(first) == {"doc", "para", "kind", "page", "section", "text", "score", "rank"}
    assert (first["doc"], first["para"], first["page"], first["rank"]) == ("S/2020/754", "1", 1, 1)
    assert first["text"].startswith("On 19 July 2019, the Security Council adopted resolution 2482 (2019)")


def test_stdin_batch_answers_each_question(index):
    questions = ["Do eavesdropping operations need a judge's sign-off beforehand?",
                 "", "What does resolution 2768 demand of the Houthis?"]  # fmt: skip
    run = _rag(index, "search", "-", "-k", "5", "--jsonl", stdin="\n".join(questions))
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["question"] for r in records] == [questions[0], questions[2]]
    assert any(h["para"] == "45" for h in records[0]["hits"])  # a paraphrase: "wiretapping … judicial authorization"
    assert records[1]["hits"][0]["doc"] == "S/RES/2768 (2025)"


def test_bad_search_input_is_one_line(index):
    run = _rag(index, "search", "anything", "--doc", "S/1999/1")
    assert run.returncode == 2 and run.stderr.startswith("rag: error: no document 'S/1999/1'")
    assert len(run.stderr.strip().splitlines()) == 1


def test_fast_query_encoder_equals_sentence_transformers():
    from rag.embed import ModelEmbedder

    embedder = ModelEmbedder()
    assert embedder.fast_queries
    long = "On 19 July 2019, the Security Council adopted resolution 2482 (2019). " * 30  # past the 256-token cut
    texts = ["spy services and the police", long]
    slow = embedder.embed_documents(texts)
    fast = np.stack([embedder.embed_query(t) for t in texts])
    assert np.abs(slow - fast).max() < 1e-5


def test_kill_9_during_ingest_keeps_the_previous_index(tmp_path):
    folder = tmp_path / "index"
    env = {**os.environ, "RAG_INDEX": str(folder)}
    first = subprocess.run([sys.executable, "-m", "rag", "ingest", str(CORPUS / "S_2020_754.txt")],
                           capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert first.returncode == 0, first.stderr
    proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", str(CORPUS)], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, env=env)  # fmt: skip
    seen = b""
    deadline = time.monotonic() + 120
    while b"embed" not in seen and time.monotonic() < deadline:  # kill it while it embeds
        seen += proc.stderr.read1(4096)  # type: ignore[union-attr]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert b"embed" in seen
    docs = subprocess.run([sys.executable, "-m", "rag", "docs"], capture_output=True, text=True, env=env, timeout=300)
    assert docs.returncode == 0, docs.stderr
    assert [line.split("\t")[0] for line in docs.stdout.splitlines()] == ["S/2020/754"]
    search = subprocess.run([sys.executable, "-m", "rag", "search", "money-laundering", "--jsonl"],
                            capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert search.returncode == 0 and json.loads(search.stdout)["hits"]
    assert ROOT.exists()


def test_cli_ingest_docs_remove_and_damage(tmp_path):
    folder, docs = tmp_path / "index", tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text((CORPUS / "S_2020_754.txt").read_text())
    (docs / "empty.txt").write_bytes(b"")
    (docs / "garbage.txt").write_bytes(bytes(range(256)) * 8)
    env = {**os.environ, "RAG_INDEX": str(folder)}

    def rag(*args):
        command = [sys.executable, "-m", "rag", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    run = rag("ingest", str(docs), str(tmp_path / "missing.pdf"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "added: S/2020/754"
    failed = [line for line in run.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 3 and any("empty.txt" in f and "is empty" in f for f in failed)
    assert "ingest" in run.stderr  # the progress bar
    assert "3 of 4 files could not be ingested" in run.stderr
    assert rag("ingest", str(docs / "good.txt")).stdout.strip() == "unchanged: S/2020/754"
    assert rag("remove", "s/2020/754").stdout.strip() == "removed: S/2020/754"
    assert rag("docs").stdout == ""
    rag("ingest", str(docs / "good.txt"))
    gen = folder / (folder / "CURRENT").read_text()
    (gen / "units.jsonl").write_text("damaged")
    broken = rag("search", "money-laundering")
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert broken.stderr.strip().startswith("rag: error: the index in") and "is damaged" in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1


def test_ask_extractive_cli(index):
    questions = "How many Member States contributed to the report?\nWhat is the budget of the prisons project?\n"
    run = _rag(index, "ask", "-", "--jsonl", "--doc", "S/2020/754", stdin=questions)
    assert run.returncode == 0, run.stderr
    good, unknown = [json.loads(line) for line in run.stdout.splitlines()]
    assert not good["refused"] and "50 Member States" in good["answer"] and "[S/2020/754 ¶3]" in good["answer"]
    assert good["citations"][0]["para"] == "3" and good["citations"][0]["text"].startswith("The present report")
    assert unknown["refused"] and unknown["citations"] == [] and unknown["see_also"]
    assert unknown["answer"].startswith("The documents do not say.")
    streamed = _rag(index, "ask", "How many Member States contributed to the report?")
    assert streamed.returncode == 0 and "[S/2020/754 ¶3]" in streamed.stdout
