"""The chat app's parts without a browser (fast): citation labels, Markdown export with footnotes,
history that keeps its evidence, HTML that treats document text as data, highlighting, the LLM queue,
upload names, library outcomes, and searching a chosen set of documents."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest

from rag.export import answer_markdown, conversation_markdown
from rag.history import History, gold_candidate
from rag.labels import label
from rag.library import ingest, open_searcher
from rag.live import LiveIndex, Summary, TurnQueue, safe_name
from rag.pipeline import answer
from rag.render import answer_html, evidence, highlights, others_html, panel_html, quote, text
from rag.settings import Settings
from rag.types import Answer, Citation, Document, Sentence, Unit
from tests.conftest import FakeEmbedder, un_text


@pytest.mark.parametrize(
    ("para", "expected"),
    [
        ("23", "S/2020/754, para. 23"),
        ("fn2", "S/2020/754, note 2"),
        ("pp3", "S/2020/754, preambular para. 3"),
        ("p9.1", "S/2020/754, p. 9 (unnumbered text 1)"),
        ("A.4", "S/2020/754, para. A.4"),
    ],
)
def test_labels_are_written_as_researchers_cite(para, expected):
    assert label("S/2020/754", para) == expected


C1 = Citation(
    "S/2020/754", "3", 2, "I. Introduction", "The report draws on 50 Member States. It also draws on 15 entities."
)
C2 = Citation("S/2020/754", "fn1", 2, "I. Introduction", "See resolution 2482 (2019).")
C3 = Citation("A/80/1", "12", 5, "II. Peace", "Peacekeeping operations were reviewed.")
DOCS = {"S/2020/754": Document("S/2020/754", "Report of the Secretary-General", "3 August 2020", "x", "h", 18)}


def _answer(question: str = "How many States contributed?") -> Answer:
    sentences = (
        Sentence("“The report draws on 50 Member States.”", (C1,), True),
        Sentence("“See resolution 2482 (2019).”", (C2, C1), True),
        Sentence("It drew on fifteen entities.", (C1,), True, "It also draws on 15 entities."),
    )
    return Answer(question, "…", (C1, C2), False, "extractive", sentences, retrieved=(C1, C2, C3))


def test_markdown_export_has_footnotes_and_references():
    md = answer_markdown(_answer(), DOCS)
    assert "“The report draws on 50 Member States.”[^1]" in md
    assert "“See resolution 2482 (2019).”[^2][^1]" in md
    assert "It drew on fifteen entities.[^1] — “It also draws on 15 entities.”" in md  # the paragraph's own words
    assert "[^1]: S/2020/754, para. 3." in md and "[^2]: S/2020/754, note 1." in md
    assert "- S/2020/754, Report of the Secretary-General, 3 August 2020." in md
    assert "A/80/1" not in md  # retrieved but not cited: not a reference


def test_conversation_export_numbers_footnotes_once():
    refusal = Answer(
        "Lebanon?",
        "The documents do not mention Lebanon. Closest paragraphs: A/80/1 ¶12.",
        (),
        True,
        "extractive",
        see_also=(C3,),
    )
    md = conversation_markdown([_answer("first?"), refusal, _answer("again?")], DOCS)
    assert md.count("[^1]:") == 1 and md.count("[^2]:") == 1 and "[^3]" not in md
    assert md.index("**Q:** first?") < md.index("**Q:** Lebanon?") < md.index("**Q:** again?")
    assert "The documents do not mention Lebanon." in md


def test_answer_json_round_trip_keeps_sentence_citations():
    original = _answer()
    again = Answer.from_json(original.to_json())
    assert again.sentences == original.sentences and again.retrieved == original.retrieved
    assert again.citations == original.citations


def test_history_keeps_answers_per_owner_and_exports_flags(tmp_path):
    history = History(tmp_path / "h.sqlite")
    conv = history.start("ana", "How many States contributed?")
    turn = history.add(conv, _answer())
    assert [c.id for c in history.conversations("ana")] == [conv] and history.conversations("bob") == []
    assert history.turns(conv, "bob") == [] and history.turn(turn, "bob") is None
    (stored,) = History(tmp_path / "h.sqlite").turns(conv, "ana")  # a new process reads what was written
    assert stored.answer.sentences == _answer().sentences
    history.flag(turn, "wrong citation")
    ((flagged, reason),) = history.flagged()
    candidate = gold_candidate(flagged, reason)
    assert candidate["question"] == "How many States contributed?" and candidate["doc"] == "S/2020/754"
    assert candidate["flagged"]["citations"] == ["3", "fn1"] and candidate["paragraphs"] == []


def test_history_takes_concurrent_writers(tmp_path):
    history = History(tmp_path / "h.sqlite")
    conv = history.start("local", "q")

    def write():
        for _ in range(20):
            history.add(conv, _answer())

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(history.turns(conv, "local")) == 80


HOSTILE = (
    'Ignore this <script>alert(1)</script> and <img src="http://example.com/x.png"> '
    "![pixel](http://example.com/p.png) [click](http://example.com) **bold** `code`"
)


def test_document_text_is_shown_as_text():
    shown = text(HOSTILE)
    assert "<script" not in shown and "<img" not in shown and "](http" not in shown and "**" not in shown
    citation = Citation("X/1", "1", 1, "<b>section</b>", HOSTILE)
    hostile = Answer("q", "…", (citation,), False, "extractive", (Sentence(HOSTILE, (citation,), True, HOSTILE),))
    for html in (answer_html(1, hostile), panel_html(citation, None, [HOSTILE], cited=True), others_html(1, hostile)):
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert "http://" not in html  # no address a browser could load (the colon is an entity)


def test_chips_name_each_unit_once_and_refusals_list_the_closest():
    html = answer_html(7, _answer())
    assert re.findall(r'href="#cite-(\d+-\d+)"', html) == ["7-0", "7-1", "7-0", "7-0"]
    assert '<q class="quote">It also draws on 15 entities.</q>' in html  # the paragraph's words after the chip
    assert evidence(_answer()) == [C1, C2, C3]
    assert "A/80/1, para. 12" in others_html(7, _answer()) and "para. 3" not in others_html(7, _answer())
    refusal = Answer(
        "q",
        "The documents do not say. Closest paragraphs: A/80/1 ¶12.",
        (),
        True,
        "extractive",
        see_also=(C3,),
        retrieved=(C3,),
    )
    html = answer_html(8, refusal)
    assert "The documents do not say." in html and 'href="#cite-8-0"' in html and "A/80/1, para. 12" in html


def test_highlights_quotes_and_paraphrases():
    unit = "The report draws on 50 Member States. It also draws on 15 entities. Prisons were discussed."
    assert highlights(unit, ["“It also draws on 15 entities.”"]) == [(38, 67)]
    (span,) = highlights(unit, ["The prisons came up in the discussion."])  # an LLM's paraphrase
    assert unit[span[0] : span[1]] == "Prisons were discussed."
    assert highlights(unit, ["Nothing in common whatsoever."]) == []
    assert quote(C1, ["“It also draws on 15 entities.”"]) == "“It also draws on 15 entities.” (S/2020/754, para. 3)."


def test_turn_queue_is_first_come_first_served():
    turns = TurnQueue()
    first, second, third = turns.join(), turns.join(), turns.join()
    assert (turns.ahead(first), turns.ahead(second), turns.ahead(third)) == (0, 1, 2)
    assert turns.wait(first, 0.01) and not turns.wait(second, 0.01)
    turns.leave(second)  # stopped waiting: the one behind moves up
    assert turns.ahead(third) == 1
    served = []

    def waiter():
        assert turns.wait(third, 5)
        served.append(time.monotonic())

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.05)
    assert not served
    turns.leave(first)
    thread.join(5)
    assert served and len(turns) == 1


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("S_2025_72.en.pdf", "S_2025_72.en.pdf"),
        ("..", "upload"),
        ("a<b>|c.pdf", "a_b_c.pdf"),
        ("C:\\Users\\x\\doc.pdf", "doc.pdf"),
    ],
)
def test_upload_names_are_sanitised(name, safe):
    assert safe_name(name) == safe


def test_summary_outcome_line():
    units = [Unit("S/2025/154", str(i), "paragraph", 1, "", "t") for i in range(1, 47)]
    units += [Unit("S/2025/154", f"fn{i}", "footnote", 2, "", "t") for i in range(1, 4)]
    document = Document("S/2025/154", "", "", "", "", 3)
    assert Summary.of(document, units).outcome() == "S/2025/154: 46 numbered paragraphs (1–46), 3 footnotes"


def _library(tmp_path: Path) -> Settings:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(
        un_text(
            "S/2099/1",
            [
                "Smuggling of migrants across porous borders was described.",
                "Fifty Member States contributed to the report.",
            ],
        )
    )
    (folder / "b.txt").write_text(
        un_text(
            "S/2099/2",
            ["Smuggling of firearms across porous borders grew.", "The budget was reviewed by the committee."],
        )
    )
    (folder / "c.txt").write_text(un_text("S/2099/3", ["Smuggling of cultural property across borders rose."]))
    settings = Settings(index=tmp_path / "index")
    ingest([folder], settings=settings, embedder=FakeEmbedder(), progress=False)
    return settings


def test_search_within_a_chosen_set_of_documents(tmp_path):
    settings = _library(tmp_path)
    searcher = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    hits = searcher.search("smuggling across porous borders", k=5, doc=["S/2099/1", "S/2099/3"])
    assert {h.unit.doc for h in hits} == {"S/2099/1", "S/2099/3"}
    result = answer("What was smuggled across porous borders?", searcher=searcher, doc=["S/2099/2", "S/2099/3"])
    assert result.retrieved and {c.doc for c in result.retrieved} <= {"S/2099/2", "S/2099/3"}
    assert searcher.data.unmentioned(["Fifty"], ["S/2099/2"]) == ["Fifty"]
    assert not searcher.data.unmentioned(["Fifty"], None)


def test_live_index_adds_reports_and_removes(tmp_path):
    settings = _library(tmp_path)
    live = LiveIndex(settings, FakeEmbedder())
    live.open()
    assert live.status.ready and [s.id for s in live.summaries()] == ["S/2099/1", "S/2099/2", "S/2099/3"]
    new = tmp_path / "upload.txt"
    new.write_text(
        un_text(
            "S/2099/4",
            [
                "The committee met in New York to review the sanctions regime.",
                "Member States reported on the implementation of the measures.",
                "The panel of experts presented its final report to the committee.",
            ],
        )
    )
    stages = []
    outcomes = live.add([("../new report.txt", new), ("empty.txt", b"")], on_progress=lambda s, f: stages.append(f))
    assert [o.ok for o in outcomes] == [True, False]
    assert outcomes[0].message == "S/2099/4: 3 numbered paragraphs (1–3)"
    assert outcomes[1].message.startswith("empty.txt: ") and "empty" in outcomes[1].message
    assert str(settings.index) not in outcomes[1].message  # no server path in what the reader sees
    assert (settings.index / "uploads" / "new report.txt").is_file() and stages and max(stages) <= 1
    assert "S/2099/4" in [d.id for d in live.searcher.documents]
    other = tmp_path / "other.txt"
    other.write_text(un_text("S/2099/5", ["The committee reviewed the work of its monitoring team at length."]))
    (same_name,) = live.add([("new report.txt", other)])  # another file under a name already stored
    assert same_name.ok and (settings.index / "uploads" / "new report-2.txt").read_bytes() == other.read_bytes()
    assert (settings.index / "uploads" / "new report.txt").read_bytes() == new.read_bytes()  # kept
    (again,) = live.add([("new report.txt", b"")])  # a failed upload under that name deletes nothing stored
    assert not again.ok and (settings.index / "uploads" / "new report.txt").read_bytes() == new.read_bytes()
    live.remove("S/2099/4")
    assert "S/2099/4" not in [d.id for d in live.searcher.documents]


class _SlowModel:
    """A scripted LLM that writes one supported sentence, then waits for `gate` before ending a second."""

    name = "slow"

    def __init__(self) -> None:
        self.started, self.gate, self.calls = threading.Event(), threading.Event(), 0

    def stream(self, messages):
        self.calls += 1
        self.started.set()
        yield "Fifty Member States contributed to the report [S/2099/1 ¶2]. "
        yield "The report had contributions from fifty Member States "  # completes the first sentence
        self.gate.wait(10)
        yield "[S/2099/1 ¶2]."


def _service(tmp_path, model):
    from rag.chat import ChatService

    service = ChatService(
        _library(tmp_path), FakeEmbedder(), generators=lambda spec, s: None if spec == "extractive" else model
    )
    service.live.open()
    return service


def test_llm_questions_are_taken_in_turn_and_extractive_ones_never_wait(tmp_path):
    model = _SlowModel()
    service = _service(tmp_path, model)
    question = "How many Member States contributed to the report?"
    first: list = []
    runner = threading.Thread(target=lambda: first.extend(service.ask(question, docs=None, backend="slow", k=3)))
    runner.start()
    assert model.started.wait(10)
    second = service.ask(question, docs=None, backend="slow", k=3)
    assert next(second) == "Waiting for the slow model: 1 question ahead of yours…"
    quick = list(service.ask(question, docs=None, backend="extractive", k=3))  # not behind the LLM
    assert isinstance(quick[-1], Answer) and quick[-1].backend == "extractive" and runner.is_alive()
    model.gate.set()
    rest = list(second)
    runner.join(10)
    for items in (first, rest):
        final = items[-1]
        assert isinstance(final, Answer) and not final.refused and final.backend == "slow"
        assert [c.para for c in final.citations] == ["2"]
    assert any(isinstance(i, str) and i.startswith("Fifty Member States contributed") for i in first)  # streamed
    assert model.calls == 2 and len(service.llm_queue) == 0


def test_stopping_an_llm_answer_frees_the_queue(tmp_path):
    model = _SlowModel()
    service = _service(tmp_path, model)
    asked = service.ask("How many Member States contributed to the report?", docs=None, backend="slow", k=3)
    assert next(asked) == "The slow model is writing…"
    assert next(asked).startswith("Fifty Member States contributed")  # the first verified sentence
    asked.close()  # the stop button
    model.gate.set()
    deadline = time.monotonic() + 10
    while len(service.llm_queue) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(service.llm_queue) == 0
    again = list(service.ask("How many Member States contributed to the report?", docs=None, backend="slow", k=3))
    assert isinstance(again[-1], Answer)


def test_rag_flagged_prints_gold_candidates(tmp_path, capsys):
    from rag.cli import main

    history = History(tmp_path / "index" / "app" / "history.sqlite")
    turn = history.add(history.start("local", "q"), _answer("Which States contributed?"))
    assert main(["flagged", "--index", str(tmp_path / "index")]) == 0 and capsys.readouterr().out == ""
    history.flag(turn, "wrong citation")
    assert main(["flagged", "--index", str(tmp_path / "index")]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    candidate = json.loads(line)
    assert candidate["question"] == "Which States contributed?" and candidate["flagged"]["reason"] == "wrong citation"
    assert set(candidate) >= {"id", "doc", "question", "paragraphs", "key_facts", "type"}
