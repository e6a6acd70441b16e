"""The gold, held-out, development (two sets) and fresh questions agree with the parsed documents: every
cited paragraph exists and every key fact is found in the text of the paragraphs it cites."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import CORPUS, ROOT, parse_once

FILES = {
    "S/2020/754": "S_2020_754.txt",
    "S/2025/72": "S_2025_72.en.pdf",
    "S/2025/194": "S_2025_194.en.pdf",
    "S/2025/389": "S_2025_389.en.pdf",
    "S/RES/2768 (2025)": "S_RES_2768 (2025).en.pdf",
    "A/80/1": "A_80_1.en.pdf",
}
GOLD, HELD_OUT, DEV, FRESH, DEV2 = (
    [json.loads(line) for line in (ROOT / "evals" / name).read_text().splitlines() if line.strip()]
    for name in ("gold.jsonl", "heldout.jsonl", "dev.jsonl", "fresh.jsonl", "dev2.jsonl")
)


@pytest.fixture(scope="module")
def units():
    return {doc: {u.para: u.text for u in parse_once(CORPUS / name).units} for doc, name in FILES.items()}


def test_shape_and_counts():
    assert len({g["id"] for g in GOLD}) == len(GOLD)
    kinds = Counter(g["type"] for g in GOLD if g["doc"] == "S/2020/754")
    assert sum(kinds.values()) >= 60 and kinds["paraphrase"] >= 15
    assert kinds["multi_paragraph"] >= 8 and kinds["unanswerable"] >= 8
    assert sum(1 for g in GOLD if g["doc"] != "S/2020/754") >= 15
    assert any(str(p).startswith("fn") for g in GOLD if g["doc"] == "S/2020/754" for p in g["paragraphs"])
    for g in GOLD:
        assert set(g) >= {"id", "doc", "question", "answer", "paragraphs", "key_facts", "type"}
        assert (g["type"] == "unanswerable") == (not g["paragraphs"])


def test_held_out_and_development_questions_are_separate_and_of_the_same_shape():
    ids = [{g["id"] for g in questions} for questions in (GOLD, HELD_OUT, DEV, FRESH, DEV2)]
    assert sum(map(len, ids)) == len(set().union(*ids))
    assert len(ids[1]) == len(HELD_OUT) >= 40 and len(ids[2]) == len(DEV) >= 60 and len(ids[3]) == len(FRESH) >= 30
    assert sum(g["type"] == "paraphrase" for g in DEV) >= 30 and sum(g["doc"] != "S/2020/754" for g in DEV) >= 50
    assert len(ids[4]) == len(DEV2) >= 50 and sum(g["type"] == "unanswerable" for g in DEV2) >= 25
    for g in HELD_OUT + DEV + FRESH + DEV2:
        assert set(g) >= {"id", "doc", "question", "answer", "paragraphs", "key_facts", "type"}
        assert (g["type"] == "unanswerable") == (not g["paragraphs"])


ALL = GOLD + HELD_OUT + DEV + FRESH + DEV2


@pytest.mark.parametrize("gold", ALL, ids=[g["id"] for g in ALL])
def test_paragraphs_and_key_facts_are_in_the_text(units, gold):
    texts = [units[gold["doc"]][str(p)] for p in gold["paragraphs"]]
    for fact in gold["key_facts"]:
        assert any(fact.lower() in t.lower() for t in texts), fact
