"""The README's figures stay true: each is printed by a command, and this test catches the ones that
drift from what the code holds. Tuned parameters: rag.settings. Answer quality: evals/baseline.json,
which the CI gate (`make eval`) holds to fresh measurements. Units per document: the parser."""

from __future__ import annotations

import json
import re

from rag.settings import tuned_table
from tests.conftest import CORPUS, ROOT, parse_once

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _table_after(heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after `heading` (a line of the README)."""
    lines = README[README.index(heading) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[2:]  # without the header and its rule


def test_the_tuned_parameters_table_is_the_settings():
    assert "\n".join(tuned_table()) in README


def test_answer_quality_figures_are_the_accepted_baseline():
    entries = json.loads((ROOT / "evals" / "baseline.json").read_text())["entries"]
    sets = [entries[f"{name}.jsonl / extractive"]["metrics"] for name in ("gold", "heldout", "dev")]
    rows = {row[0]: row[1:4] for row in _table_after("| metric (extractive, the default) |")}
    shown = {
        "key facts (every key fact in the answer)": "key_facts",
        "citation precision (cited units that are gold)": "citation_precision",
        "citation recall (gold units cited)": "citation_recall",
        "answers citing a gold paragraph": "cites_gold",
        "unanswerable refused": "unanswerable_refused",
        "false refusals (answerable questions refused)": "false_refusals",
    }
    for label, metric in shown.items():
        assert rows[label] == [f"{metrics[metric]:.2f}" for metrics in sets], label
    hits = rows["hit@1 / hit@3 / hit@5 (a gold paragraph retrieved)"]
    for cell, metrics in zip(hits, sets, strict=True):
        assert cell == " / ".join(f"{metrics[f'hit@{n}']:.2f}" for n in (1, 3, 5))


def test_units_per_document_are_what_the_parser_gives():
    files = {
        path.stem.split(".")[0].replace("_", "/"): path for path in CORPUS.iterdir() if path.suffix in {".pdf", ".txt"}
    }
    rows = _table_after("| document | pages | units | median s |")
    assert len(rows) == len(files)
    for document, pages, units, *_ in rows:
        symbol = re.sub(r" \(OCR text\)$", "", document)
        parsed = parse_once(files[symbol])
        assert (parsed.document.pages, len(parsed.units)) == (int(pages), int(units)), document
