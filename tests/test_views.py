"""What a unit is embedded as (`rag.indexed.views`): the whole unit, its sentences, and the items of a
sentence that lists several with semicolons; sentences and items kept apart once indexed (fast, fake
embedder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.indexed import views
from rag.library import ingest, open_searcher
from rag.sentences import list_items
from rag.settings import Settings
from rag.types import Unit
from tests.conftest import FakeEmbedder, un_text

LISTING = (
    "Other Member States utilize different approaches to promoting cooperation: one tasks senior prosecution "
    "officials with monitoring ongoing cases; another tasks its counter-terrorism investigative unit with "
    "ensuring cooperation; and a third expanded the mandate of its organized crime unit to incorporate terrorism."
)


@pytest.mark.parametrize(
    ("sentence", "items"),
    [
        (
            LISTING,
            [
                "one tasks senior prosecution officials with monitoring ongoing cases",
                "another tasks its counter-terrorism investigative unit with ensuring cooperation",
                "a third expanded the mandate of its organized crime unit to incorporate terrorism",
            ],
        ),
        # no lead-in: the sentence's own parts; an item under four words is not one
        (
            "Borders were closed in May; ports stayed open for aid; fine.",
            ["Borders were closed in May", "ports stayed open for aid"],
        ),
        ("A single statement without any list at all.", []),
        ("Only one item follows the colon: customs officers seized weapons; ok.", []),
        ("Prisons: a lead-in only; then nothing else of use here.", []),
    ],
)
def test_list_items_are_the_items_of_a_semicolon_list(sentence, items):
    assert list_items(sentence) == items


def _unit(text: str) -> Unit:
    return Unit(doc="S/2099/9", para="4", kind="paragraph", text=text, page=1, section="")


def test_views_are_whole_then_sentences_then_items():
    first = "In some jurisdictions, task forces coordinate operations."
    unit = _unit(f"{first} {LISTING}")
    assert views(unit) == (unit.text, first, LISTING, *list_items(LISTING))
    one = _unit(LISTING)  # one sentence: the whole unit, then its items
    assert views(one) == (LISTING, *list_items(LISTING))
    plain = _unit("Customs authorities strengthened controls at ports.")
    assert views(plain) == (plain.text,)


def test_items_are_indexed_with_their_unit_and_never_quoted_as_sentences(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    paragraphs = [
        f"In some jurisdictions, task forces coordinate operations and exchange information on cases. {LISTING}",
        "Prosecutors shared case files with investigators in regional offices every month.",
    ]
    (docs / "coop.txt").write_text(un_text("S/2099/9", paragraphs))
    settings = Settings(index=tmp_path / "index", corpus=docs)
    embedder = FakeEmbedder()
    ingest([docs], settings=settings, embedder=embedder, progress=False)
    searcher = open_searcher(settings=settings, embedder=embedder, progress=False)
    unit = next(u for u in searcher.units if u.para == "1")
    assert [text for text, _ in searcher.data.sentences(unit)] == list(views(unit)[1:3])
    assert [text for text, _ in searcher.data.items(unit)] == list_items(LISTING)
    question = "a third expanded the mandate of its organized crime unit to incorporate terrorism"
    assert [text for text, _, _ in searcher.sentence_scores(question, unit)] == list(views(unit)[1:3])
