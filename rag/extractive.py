"""The extractive answerer (no LLM): the sentences of the retrieved units that best answer the
question, quoted and cited. Deterministic; the baseline every LLM backend must beat."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer_type import expected, holds
from rag.lexical import terms
from rag.retrieve import Searcher
from rag.types import Citation, Hit, Sentence

MIN_RELEVANCE = 0.25  # below this cosine even the best sentence is not about the question
MARGIN = 0.3  # sentences this close to the best one are candidates
OTHER_UNIT_MARGIN = 0.03
COVERAGE_WEIGHT = 0.3  # weight of the share of the question's content words found in the sentence
UNIT_COVERAGE_WEIGHT = 0.4  # weight of the idf-weighted share of the question's terms in the whole unit
RANK_WEIGHT = 0.15  # prior for sentences of better-ranked paragraphs (chosen with evals/answers.py)
MAX_SENTENCES = 3


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    cosine: float
    rank: int
    text: str
    hit: Hit


def _coverage(question: frozenset[str], sentence: str) -> float:
    return len(question & terms(sentence)) / len(question) if question else 0.0


def extract(question: str, hits: Sequence[Hit], searcher: Searcher) -> tuple[list[Sentence], bool]:
    """Pick answer sentences from `hits`; returns (sentences, refused)."""
    if not hits:
        return [], True
    query = searcher.query_vector(question)
    words = terms(question)
    unit_coverage = {hit.rank: searcher.coverage(question, hit.unit) for hit in hits}
    candidates = [
        _Candidate(float(vector @ query) + COVERAGE_WEIGHT * _coverage(words, text) + RANK_WEIGHT / hit.rank
                   + UNIT_COVERAGE_WEIGHT * unit_coverage[hit.rank], float(vector @ query), hit.rank, text, hit)
        for hit in hits
        for text, vector in searcher.sentences(hit.unit)
    ]  # fmt: skip
    candidates.sort(key=lambda c: (-c.score, c.rank))
    best = candidates[0]
    if best.cosine < MIN_RELEVANCE:
        return [], True
    pool = [c for c in candidates if c.score >= best.score - MARGIN]
    expectation = expected(question)
    if expectation is not None:
        pool = [c for c in pool if holds(expectation, c.text)]
        if not pool:
            return [], True
    # The best sentence; more sentences of the same unit when nearly as good (lists, details); another
    # unit's sentence only when it is as good (questions spanning paragraphs).
    chosen: list[_Candidate] = [pool[0]]
    for c in pool[1:]:
        if len(chosen) == MAX_SENTENCES:
            break
        same_unit = c.hit.unit == chosen[0].hit.unit
        if c.score >= pool[0].score - (MARGIN if same_unit else OTHER_UNIT_MARGIN):
            chosen.append(c)
    chosen.sort(key=lambda c: (c.rank, c.hit.unit.text.find(c.text)))  # reading order within a unit
    return [Sentence(f"“{c.text}”", (Citation.of(c.hit.unit),), True) for c in chosen], False
