"""`rag eval` end to end with the real embedding model and the shipped gold files (slow): it builds an
index from the documents the questions need when there is none, passes the committed baseline, gives
the same figures on every run, writes its report, and its gate bites when retrieval is degraded (-k 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MODELS, ROOT, copy_index

pytestmark = pytest.mark.slow

EVALS = ROOT / "evals"
BASELINE = EVALS / "baseline.json"
BASELINE_BYTES = BASELINE.read_bytes()


def _rag(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(home), "HF_HUB_OFFLINE": "1", **MODELS}
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def first(tmp_path_factory, corpus_index):
    """The held-out questions evaluated over a copy of the default corpus's index, with a report."""
    root = tmp_path_factory.mktemp("eval")
    copy_index(corpus_index, root / "index")
    run = _rag(
        "eval",
        "--gold",
        str(EVALS / "heldout.jsonl"),
        "--index",
        str(root / "index"),
        "--report",
        str(root / "report"),
        home=root,
    )
    return root, run


def test_first_run_reports_and_passes_the_baseline(first):
    root, run = first
    assert run.returncode == 0, run.stderr[-3000:]
    assert "no index yet" not in run.stderr  # the index had every document
    assert "## heldout.jsonl / extractive · k=10 · 87 questions (59 answerable, 28 unanswerable)" in run.stdout
    headline = [line for line in run.stdout.splitlines() if line.startswith("| hit@1 (a gold paragraph")]
    assert len(headline) == 1 and headline[0].endswith("| ok (± 0.02) |"), headline
    assert "### Per question type" in run.stdout and "| paraphrase | 34 |" in run.stdout
    assert "### Per document" in run.stdout and "| A/80/1 | 18 |" in run.stdout
    assert "rag: regression" not in run.stderr
    report = (root / "report" / "report.md").read_text()
    assert "Gate: the gate passed." in report and "### Failed questions" in report
    pngs = sorted((root / "report").glob("*.png"))
    assert len(pngs) == 4 and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert BASELINE.read_bytes() == BASELINE_BYTES  # the gate reads the baseline, never writes it


def test_the_gate_fails_when_retrieval_is_degraded(first):
    root, _ = first
    run = _rag("eval", "--gold", str(EVALS / "gold.jsonl"), "-k", "1", "--index", str(root / "index"), home=root)
    assert run.returncode == 1, run.stderr[-3000:]
    regressions = [line for line in run.stderr.splitlines() if line.startswith("rag: regression: ")]
    named = {line.split(": ")[3].split()[0] for line in regressions}
    assert {"hit@5", "hit@10"} <= named, regressions  # k=1: nothing below rank 1 is retrieved
    assert all("gold.jsonl / extractive:" in line and "(by " in line and "tolerance" in line for line in regressions)
    assert run.stderr.strip().splitlines()[-1].startswith(f"rag: error: {len(regressions)} metrics fell past")
    assert "Traceback" not in run.stderr
    assert "| **FELL** (tolerance 0.02) |" in run.stdout  # the headline table marks it too
    assert BASELINE.read_bytes() == BASELINE_BYTES


def test_same_figures_every_run(first):
    root, _ = first

    def figures() -> list[dict]:
        run = _rag("eval", "--gold", str(EVALS / "heldout.jsonl"), "--jsonl", "--index", str(root / "index"), home=root)
        assert run.returncode == 0, run.stderr[-3000:]
        lines = [json.loads(line) for line in run.stdout.splitlines()]
        for line in lines:  # latency is the one measure that may differ
            line.pop("latency_ms", None)
            for group in [line.get("overall", {}), *line.get("by_type", {}).values(), *line.get("by_doc", {}).values()]:
                group.pop("latency_p50_ms", None)
                group.pop("latency_p95_ms", None)
        return lines

    once, again = figures(), figures()
    assert len(once) == 88 and once[-1]["overall"]["questions"] == 87
    assert once == again


def test_update_baseline_is_deliberate_and_keeps_other_entries(first, tmp_path):
    root, _ = first
    baseline = tmp_path / "baseline.json"
    shutil.copy(BASELINE, baseline)
    before = json.loads(baseline.read_text())["entries"]
    args = [
        "eval",
        "--gold",
        str(EVALS / "heldout.jsonl"),
        "-k",
        "1",
        "--index",
        str(root / "index"),
        "--baseline",
        str(baseline),
    ]
    assert _rag(*args, home=root).returncode == 1
    updated = _rag(*args, "--update-baseline", home=root)
    assert updated.returncode == 0 and "baseline updated" in updated.stderr
    after = json.loads(baseline.read_text())["entries"]
    assert set(after) == set(before)
    key = "heldout.jsonl / extractive"
    assert after[key]["k"] == 1 and after[key]["metrics"]["hit@10"] < before[key]["metrics"]["hit@10"]
    assert after[key]["tolerance"] == before[key]["tolerance"]
    assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in before.items() if k != key}
    assert _rag(*args, home=root).returncode == 0


def test_only_the_documents_the_questions_need_are_indexed(tmp_path):
    lines = [line for line in (EVALS / "heldout.jsonl").read_text().splitlines() if '"S/RES/2768 (2025)"' in line]
    gold = tmp_path / "mine.jsonl"
    gold.write_text("\n".join(lines) + "\n")
    index = tmp_path / "index"
    run = _rag(
        "eval", "--gold", str(gold), "--index", str(index), "--baseline", str(tmp_path / "b.json"), home=tmp_path
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "no index yet: indexing the 1 document the questions need" in run.stderr  # S/RES/2768
    assert "ingest" in run.stderr and "embed" in run.stderr  # the progress bars
    assert f"## mine.jsonl / extractive · k=10 · {len(lines)} questions" in run.stdout
    assert "no baseline entry for this run" in run.stdout and not (tmp_path / "b.json").exists()
    docs = _rag("docs", "--index", str(index), home=tmp_path)
    assert [line.split("\t")[0] for line in docs.stdout.splitlines()] == ["S/RES/2768 (2025)"]
    lacking = _rag("eval", "--gold", str(EVALS / "llm_subset.jsonl"), "--index", str(index), home=tmp_path)
    assert lacking.returncode == 2 and "Traceback" not in lacking.stderr
    assert lacking.stderr.strip() == (
        f"rag: error: the index {str(index)!r} lacks A/80/1, S/2020/754, S/2025/194, "
        "which the questions need: ingest them (rag ingest FILE… --index DIR) or give "
        "an empty --index folder"
    )
