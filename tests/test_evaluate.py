"""The evaluation module without models: gold-file loading and its errors, the pure metric functions
(edge cases: no citations, empty answer, refusal, footnote and preambular ids, several gold paragraphs,
a gold paragraph in another document), summaries, the gate against a baseline, the report, and the
`rag eval` command's bad-input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.cli import main
from rag.errors import BadInput
from rag.evaluate import (
    Evaluation,
    QuestionResult,
    citation_precision,
    citation_recall,
    cited_gold,
    compare,
    corpus_files,
    default_tolerance,
    entry_of,
    first_rank,
    hit_at,
    key_facts_found,
    load_baseline,
    load_gold,
    percentile,
    questions_digest,
    reciprocal_rank,
    summarise,
    unretrieved,
    update_baseline,
    word_count,
)
from tests.conftest import CORPUS, ROOT

DOC = "S/2020/754"
LINE = {
    "id": "q1",
    "doc": DOC,
    "question": "Which resolution?",
    "answer": "2482",
    "paragraphs": [1, "fn2"],
    "key_facts": ["resolution 2482"],
    "type": "factual",
}


def write_gold(path: Path, *rows: dict | str) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


# ---- gold files --------------------------------------------------------------------------------------


def test_load_gold_reads_numbers_and_ids(tmp_path):
    path = write_gold(
        tmp_path / "g.jsonl",
        LINE,
        "",
        {**LINE, "id": "q2", "doc": "S/RES/2768 (2025)", "paragraphs": ["pp2", 3]},
        {**LINE, "id": "q3", "paragraphs": [], "key_facts": [], "type": "unanswerable"},
    )
    q1, q2, q3 = load_gold(path)
    assert q1.paragraphs == ("1", "fn2") and q1.key_facts == ("resolution 2482",) and q1.line == 1
    assert q2.paragraphs == ("pp2", "3") and q2.line == 3
    assert q2.gold_units == {("S/RES/2768(2025)", "pp2"), ("S/RES/2768(2025)", "3")}
    assert q1.answerable and not q3.answerable and q3.gold_units == frozenset()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([LINE, "{not json"], "g.jsonl:2: not valid JSON"),
        ([LINE, "[1, 2]"], "g.jsonl:2: not a JSON object"),
        (
            [{k: v for k, v in LINE.items() if k not in ("doc", "key_facts")}],
            "g.jsonl:1: missing fields doc, key_facts",
        ),
        ([{k: v for k, v in LINE.items() if k != "question"}], "g.jsonl:1: missing field question"),
        ([{**LINE, "question": "  "}], "g.jsonl:1: question must be a non-empty string"),
        ([{**LINE, "paragraphs": [1.5]}], "g.jsonl:1: paragraphs must be a list"),
        ([{**LINE, "paragraphs": "7"}], "g.jsonl:1: paragraphs must be a list"),
        ([{**LINE, "key_facts": "resolution"}], "g.jsonl:1: key_facts must be a list of strings"),
        ([{**LINE, "type": "unanswerable"}], "g.jsonl:1: a question has no paragraphs exactly when"),
        ([{**LINE, "paragraphs": []}], "g.jsonl:1: a question has no paragraphs exactly when"),
        ([LINE, "", LINE], "g.jsonl:3: id 'q1' occurs twice"),
        (["", "  "], "holds no questions"),
    ],
)
def test_load_gold_names_the_file_and_line_of_a_bad_line(tmp_path, lines, message):
    path = write_gold(tmp_path / "g.jsonl", *lines)
    with pytest.raises(BadInput, match=None) as caught:
        load_gold(path)
    assert message in str(caught.value)


def test_load_gold_missing_and_unreadable_files(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        load_gold(tmp_path / "missing.jsonl")
    (tmp_path / "latin.jsonl").write_bytes(b'{"id": "\xe9"}\n')
    with pytest.raises(BadInput, match="cannot be read"):
        load_gold(tmp_path / "latin.jsonl")


def test_the_shipped_gold_files_load():
    gold, heldout, subset = (load_gold(ROOT / "evals" / n) for n in ("gold.jsonl", "heldout.jsonl", "llm_subset.jsonl"))
    assert len(gold) == 152 and len(heldout) == 87
    assert any(p.startswith("fn") for q in gold for p in q.paragraphs)
    assert any(p.startswith("pp") for q in heldout for p in q.paragraphs)
    assert 8 <= len(subset) <= 12


def test_the_llm_subset_is_every_fifteenth_gold_question_unchanged():
    gold = [json.loads(line) for line in (ROOT / "evals" / "gold.jsonl").read_text().splitlines() if line.strip()]
    subset = [json.loads(line) for line in (ROOT / "evals" / "llm_subset.jsonl").read_text().splitlines()]
    assert subset == gold[::15]


def test_corpus_files_map_the_default_corpus_by_symbol():
    files = corpus_files(CORPUS)
    for symbol, name in [
        ("S/2020/754", "S_2020_754.txt"),
        ("S/RES/2768(2025)", "S_RES_2768 (2025).en.pdf"),
        ("A/80/1", "A_80_1.en.pdf"),
        ("S/2025/72", "S_2025_72.en.pdf"),
    ]:
        assert files[symbol].name == name
    assert corpus_files(CORPUS / "missing") == {}


# ---- metric functions --------------------------------------------------------------------------------


def test_first_rank_hit_and_reciprocal_rank():
    retrieved = [(DOC, "7"), (DOC, "fn2"), ("S/RES/2768 (2025)", "pp2"), (DOC, "1")]
    assert first_rank(retrieved, {(DOC, "1"), (DOC, "fn2")}) == 2  # several gold: the first found counts
    assert first_rank(retrieved, {("s/res/2768(2025)", "pp2")}) == 3  # document ids compared without case/spaces
    assert first_rank(retrieved, {("S/2025/72", "7")}) is None  # ¶7 of another document is not gold
    assert first_rank([], {(DOC, "1")}) is None
    assert hit_at(2, 1) is False and hit_at(2, 3) is True and hit_at(None, 10) is False
    assert reciprocal_rank(4) == 0.25 and reciprocal_rank(None) == 0.0


def test_key_facts_found():
    facts = ["resolution 2482", "19 July 2019"]
    assert key_facts_found("It answers Resolution 2482 of 19 July 2019. [S/2020/754 ¶1]", facts, refused=False)
    assert not key_facts_found("It answers resolution 2482. [S/2020/754 ¶1]", facts, refused=False)
    assert not key_facts_found("", [], refused=False)  # an empty answer says nothing
    assert not key_facts_found("The documents do not say. resolution 2482, 19 July 2019", facts, refused=True)
    # the same fact, typed otherwise: apostrophes, quotes, dashes, spacing, a percentage
    shares = ["approximately 30 per cent", "Côte d’Ivoire", "“offices”", "2019–2020"]
    assert key_facts_found('Approximately 30% in Côte d\'Ivoire: "offices",  2019-2020.', shares, refused=False)
    assert key_facts_found("approximately 30 percent, Côte d’Ivoire “offices” 2019 – 2020", shares[:3], refused=False)
    assert not key_facts_found("approximately 3% in Côte d’Ivoire “offices” 2019–2020", shares, refused=False)


def test_citation_precision_and_recall():
    gold = {(DOC, "9"), (DOC, "fn1")}
    assert citation_precision([], gold) is None  # nothing cited: no precision to count
    assert citation_recall([], gold) == 0.0
    assert citation_precision([(DOC, "9"), (DOC, "12")], gold) == 0.5
    assert citation_recall([(DOC, "9"), (DOC, "9")], gold) == 0.5  # a unit cited twice is one unit
    assert citation_precision([(DOC, "fn1"), (DOC, "9")], gold) == 1.0
    assert citation_precision([("S/2025/72", "9")], gold) == 0.0  # same number, another document
    assert citation_recall([(DOC, "9")], set()) is None  # unanswerable: no gold units
    assert cited_gold([("s/2020/754", "fn1"), (DOC, "3")], gold) == 1


def test_unretrieved_word_count_and_percentile():
    read = [(DOC, "1"), (DOC, "2")]
    assert unretrieved([], read) == 0
    assert unretrieved([(DOC, "2"), (DOC, "3"), ("S/2025/72", "1")], read) == 2
    assert word_count("") == 0 and word_count("Two words [S/2020/754 ¶1]") == 4
    assert percentile([], 50) is None
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([1.0] * 19 + [100.0], 95) == pytest.approx(5.95)


def result(
    qid: str,
    qtype: str = "factual",
    *,
    gold=("1",),
    rank=1,
    refused=False,
    facts=True,
    citations=((DOC, "1"),),
    answer="Some answer here.",
    latency=10.0,
    out=0,
    doc=DOC,
) -> QuestionResult:
    return QuestionResult(
        qid,
        doc,
        qtype,
        f"question {qid}?",
        tuple(gold),
        ("fact",),
        ((doc, "1"), (doc, "2")),
        5,
        answer,
        refused,
        tuple(citations),
        latency,
        rank,
        facts,
        out,
    )


ROWS = (
    result("a", rank=1, citations=[(DOC, "1"), (DOC, "5")], answer="one two three four"),
    result("b", "paraphrase", gold=("2", "fn1"), rank=3, facts=False, citations=[(DOC, "fn1")], answer="one two"),
    result("c", "paraphrase", rank=None, refused=True, facts=False, citations=(), answer="The documents do not say."),
    result("d", "unanswerable", gold=(), rank=None, refused=True, facts=False, citations=()),
    result("e", "unanswerable", gold=(), rank=None, refused=False, facts=False, citations=[(DOC, "4")], out=1),
)


def test_summarise_by_hand():
    s = summarise(ROWS)
    assert (s["questions"], s["answerable"], s["unanswerable"]) == (5, 3, 2)
    assert s["hit@1"] == pytest.approx(1 / 3) and s["hit@3"] == pytest.approx(2 / 3)
    assert s["hit@5"] == s["hit@10"] == pytest.approx(2 / 3)
    assert s["mrr"] == pytest.approx((1 + 1 / 3) / 3)
    assert s["key_facts"] == pytest.approx(1 / 3)
    assert s["citation_precision"] == pytest.approx(2 / 3)  # answerable questions' citations: ¶1 ✓, ¶5 ✗, fn1 ✓
    assert s["citation_recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert s["cites_gold"] == pytest.approx(2 / 3)
    assert s["unanswerable_refused"] == 0.5 and s["false_refusals"] == pytest.approx(1 / 3)
    assert s["unretrieved_citations"] == 1
    assert s["answer_words"] == 3.0  # median of 4 and 2 words (answered answerable questions)
    assert s["latency_p50_ms"] == 10.0
    only_answerable = summarise(ROWS[:2])
    assert only_answerable["unanswerable_refused"] is None and only_answerable["false_refusals"] == 0.0
    assert [r.failed for r in ROWS] == [False, True, True, False, True]


def evaluation(rows=ROWS, depth=10) -> Evaluation:
    return Evaluation(Path("evals/mine.jsonl"), "extractive", depth, None, "abc", tuple(rows))


def test_the_gate_names_each_metric_that_fell_past_its_tolerance():
    run = evaluation()
    entry = entry_of(run)
    assert entry["metrics"]["hit@1"] == 0.3333 and entry["tolerance"] == default_tolerance("extractive")
    assert compare(run, entry) == []  # against its own figures
    better = {
        **entry,
        "metrics": {
            **entry["metrics"],
            "hit@1": 0.35,
            "false_refusals": 0.32,
            "hit@5": 0.9,
            "unretrieved_citations": 0,
            "latency_p50_ms": 1.0,
        },
    }
    fell = {r.metric: r for r in compare(run, better)}
    assert set(fell) == {"hit@5", "unretrieved_citations"}  # hit@1 and false refusals within 0.02; latency not gated
    assert fell["hit@5"].message() == (
        "mine.jsonl / extractive: hit@5 fell from 0.900 to 0.667 (by 0.233; tolerance 0.020)"
    )
    assert fell["unretrieved_citations"].message() == (
        "mine.jsonl / extractive: unretrieved_citations rose from 0 to 1 (by 1; tolerance 0)"
    )
    worse_refusals = {**entry, "metrics": {**entry["metrics"], "false_refusals": 0.1}}
    assert [r.metric for r in compare(run, worse_refusals)] == ["false_refusals"]  # lower is better
    loose = {**better, "tolerance": {**better["tolerance"], "hit@5": 0.3}}
    assert {r.metric for r in compare(run, loose)} == {"unretrieved_citations"}


def test_the_gate_refuses_figures_of_other_questions():
    run = evaluation()
    changed = Evaluation(run.gold, run.backend, run.depth, None, "other", run.rows)
    fell = compare(changed, entry_of(run))
    assert [r.metric for r in fell] == ["questions"] and "--update-baseline" in fell[0].message()


def test_questions_digest_follows_the_questions(tmp_path):
    path = write_gold(tmp_path / "g.jsonl", LINE, {**LINE, "id": "q2"})
    again = write_gold(tmp_path / "h.jsonl", LINE, {**LINE, "id": "q2"})
    edited = write_gold(tmp_path / "i.jsonl", LINE, {**LINE, "id": "q2", "key_facts": ["2482"]})
    assert questions_digest(load_gold(path)) == questions_digest(load_gold(again))
    assert questions_digest(load_gold(path)) != questions_digest(load_gold(edited))


def test_update_baseline_keeps_hand_set_tolerances(tmp_path):
    path = tmp_path / "baseline.json"
    assert load_baseline(path) == {}
    update_baseline(path, [evaluation()])
    entries = load_baseline(path)
    assert list(entries) == ["mine.jsonl / extractive"]
    data = json.loads(path.read_text())
    data["entries"]["mine.jsonl / extractive"]["tolerance"]["hit@1"] = 0.05
    path.write_text(json.dumps(data))
    update_baseline(path, [evaluation(ROWS[:3])])
    entry = load_baseline(path)["mine.jsonl / extractive"]
    assert entry["tolerance"]["hit@1"] == 0.05 and entry["questions"] == 3
    assert default_tolerance("local:gemma.gguf")["key_facts"] == 0.1
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(BadInput, match="not a baseline file"):
        load_baseline(tmp_path / "bad.json")


def test_report_has_tables_failed_questions_and_charts(tmp_path):
    from rag.report import write_report

    run = evaluation()
    entry = {**entry_of(run), "metrics": {**entry_of(run)["metrics"], "hit@5": 0.9}}
    fell = compare(run, entry)
    report = write_report(tmp_path / "out", [run], {run.key: entry}, fell)
    text = report.read_text()
    assert "| hit@5 | 0.667 | 0.900 | -0.233 | **FELL** (tolerance 0.02) |" in text
    assert "| paraphrase | 2 |" in text and f"| {DOC} | 5 |" in text  # per type, per document
    assert "**b** (paraphrase" in text and "**a** (factual" not in text  # failed questions only
    assert "the gate failed" in text
    pngs = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert pngs == [
        "mine-extractive-baseline.png",
        "mine-extractive-hit-at-k.png",
        "mine-extractive-latency.png",
        "mine-extractive-types.png",
    ]
    for name in pngs:
        assert (tmp_path / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in text
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c", "d", "e"] and rows[1]["retrieved"][0] == [DOC, "1"]


# ---- the command's bad input (before any model loads) ------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (None, "gold file"),
        (["{broken"], "g.jsonl:1: not valid JSON"),
        ([{k: v for k, v in LINE.items() if k != "type"}], "g.jsonl:1: missing field type"),
    ],
)
def test_rag_eval_bad_gold_file_is_one_line_exit_2(tmp_path, capsys, lines, message):
    path = tmp_path / "g.jsonl"
    if lines is not None:
        write_gold(path, *lines)
    code = main(["eval", "--gold", str(path), "--index", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("rag: error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "index").exists()


def test_rag_eval_other_bad_input(tmp_path, capsys):
    gold = write_gold(tmp_path / "g.jsonl", LINE)
    assert main(["eval", "--gold", str(gold), "--doc", "A/80/1", "--index", str(tmp_path / "i")]) == 2
    assert "has no questions about 'A/80/1'" in capsys.readouterr().err
    assert main(["eval", "--gold", str(gold), "-k", "0", "--index", str(tmp_path / "i")]) == 2
    assert "-k must be at least 1" in capsys.readouterr().err
    (tmp_path / "b.json").write_text("{}")
    assert main(["eval", "--gold", str(gold), "--baseline", str(tmp_path / "b.json")]) == 2
    assert "not a baseline file" in capsys.readouterr().err
