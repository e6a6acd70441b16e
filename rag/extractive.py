"""The extractive answerer (no LLM): the sentences of the retrieved units that best answer the
question, quoted and cited. Deterministic; the baseline every LLM backend must beat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer_type import Expectation, answers
from rag.retrieve import Searcher
from rag.settings import Answering
from rag.types import Citation, Hit, Sentence, Unit


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    cosine: float
    rank: int
    text: str
    hit: Hit


def extract(
    question: str, hits: Sequence[Hit], searcher: Searcher, expectation: Expectation | None, rules: Answering
) -> list[Sentence]:
    """Pick answer sentences from `hits` (of the kind of answer expected, from a unit about the countries
    asked about, when one is); none: nothing answers."""
    picked = select(question, hits, searcher, expectation, rules)
    if picked is None:
        return []
    unit, texts = picked
    return [Sentence(f"“{text}”", (Citation.of(unit),), True) for text in texts]


def select(
    question: str, hits: Sequence[Hit], searcher: Searcher, expectation: Expectation | None, rules: Answering
) -> tuple[Unit, list[str]] | None:
    """The unit that answers `question` and its sentences that do, in reading order (None: nothing does)."""
    if not hits:
        return None
    candidates = [
        _Candidate(score + prior, cosine, hit.rank, text, hit)
        for hit, prior in zip(hits, searcher.unit_priors(question, hits), strict=True)
        for text, cosine, score in searcher.sentence_scores(question, hit.unit)
    ]
    candidates.sort(key=lambda c: (-c.score, c.rank))
    best = candidates[0]
    if best.cosine < rules.min_relevance:
        return None
    pool = [c for c in candidates if c.score >= best.score - rules.sentence_margin]
    if expectation is not None:
        titles = searcher.data.titles
        pool = [c for c in pool if answers(expectation, Sentence(c.text, (Citation.of(c.hit.unit),), True), titles)]
        if not pool:
            return None
    # One unit is cited (a second unit's sentence was wrong more often than right on the gold questions):
    # its best sentence; the sentence after it (a paragraph's opening statement is usually made specific
    # by the next one: "… specific agencies." → "… financial intelligence units …"); then its other
    # sentences nearly as good as the best (lists, details); in reading order.
    # The unit is the best-ranked hit with such a sentence (the reranker weighed each unit's evidence).
    unit = min(pool, key=lambda c: c.rank).hit.unit
    best = next(c for c in pool if c.hit.unit == unit)
    texts = [text for text, _ in searcher.data.sentences(unit)]
    after = texts.index(best.text) + 1
    others = [c.text for c in pool[1:] if c.hit.unit == unit]
    picked = list(dict.fromkeys([best.text, *texts[after : after + 1], *others]))[: rules.max_sentences]
    picked.sort(key=texts.index)
    return unit, picked
