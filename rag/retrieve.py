"""Hybrid retrieval: dense (FAISS over paragraphs, their sentences and the items of their lists) and
lexical (BM25) rankings, fused by weighted reciprocal rank, the lexical weight scaled by how much of the
question's distinctive vocabulary its best match shares (so paraphrased questions lean on the dense
ranking). The best fused units are then reranked by their evidence: their best sentence or listed item,
the share of the question's terms they hold, and a late-interaction match of the question's words with
theirs (each question word's best cosine with a word of the unit, in context: "jail" finds "prison").

Ranking is a function of the question and the `Retrieval` parameters, given per call (the Searcher's
own are the default); the index's data is `rag.indexed.Indexed`."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from rag.embed import Embedder, Query
from rag.errors import BadInput
from rag.indexed import Indexed, Scope, doc_key, views
from rag.lexical import terms, terms_of
from rag.settings import Retrieval
from rag.store import LexicalSearch, Snapshot, Vectors, dequantise
from rag.types import Document, Hit, Unit

__all__ = ["QUESTION_WORDS", "Anchoring", "Searcher", "doc_key", "views"]

_ASKS_RECOMMENDATION = re.compile(r"\brecommend", re.I)
_NAMES_SECTION = re.compile(r"\b(?:section|chapter|heading)s?\b", re.I)
_NUMBERING = re.compile(r"\b[IVXLC]+\.(?:[A-Z]\b)?|\b[A-Z]\.(?=\s)")  # "II.B", "IV.", "A."
# Words of a question that say what kind of answer is wanted, not what it is about: left out of the word match.
QUESTION_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "say",
        "says",
        "said",
        "should",
        "such",
        "that",
        "the",
        "their",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "about",
        "any",
        "some",
        "according",
        "report",
        "document",
        "mention",
        "mentions",
        "describe",
    }
)


@dataclass(frozen=True)
class Anchoring:
    """How much of a question some paragraphs speak of (`Searcher.anchoring`)."""

    share: float  # idf-weighted share of the question's content word pieces with a counterpart in them
    missing: tuple[str, ...]  # the question's words, as written, with a piece that has none (rarest first)


@dataclass(frozen=True)
class _QuestionWords:
    vectors: np.ndarray  # the question's content word pieces, as the model read them in context
    weights: np.ndarray  # their rarity in the library (idf)
    words: tuple[str, ...]  # for each piece, the whole word it is part of (lower case, no accents)


@dataclass(frozen=True)
class _PieceBest:
    cosines: np.ndarray  # (question pieces, units with token vectors): a piece's best cosine in each unit
    filled: np.ndarray  # which of the units asked about have token vectors (bool)


def _whole_words(pieces: Sequence[str]) -> list[str]:
    """For each word piece of a tokenised text ("ea", "##ves", "##drop", "##ping"), the word it is part of
    ("eavesdropping")."""
    words: list[str] = []
    start = 0
    for i, piece in enumerate([*pieces, ""]):
        if not piece.startswith("##"):
            words.extend(["".join(p.removeprefix("##") for p in pieces[start:i])] * (i - start))
            start = i
    return words


def _plain(text: str) -> str:
    """`text` as a tokeniser writes it: lower case, no accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _written(question: str, words: dict[str, float]) -> tuple[str, ...]:
    """The words of `question` as written ("Da'esh") whose parts, as a tokeniser writes them (lower case,
    no accents: "da", "esh"), include one of `words`, the weightiest first (`words`: their weights)."""
    weight = {
        w: max((words.get(p, 0.0) for p in re.findall(r"\w+", _plain(w))), default=0.0)
        for w in re.findall(r"\w+(?:['’]\w+)*", question)
    }
    return tuple(sorted((w for w, x in weight.items() if x > 0), key=lambda w: -weight[w]))


class Searcher:
    """Searches one loaded index with the models loaded once: ranks units for a question."""

    def __init__(self, snapshot: Snapshot, index: Vectors, embedder: Embedder, params: Retrieval) -> None:
        # Searching multiplies small matrices: numpy's (and faiss's) OpenBLAS threads would only spin, and
        # their busy-waiting after each product slowed torch's query encoder on two cores fivefold. So each
        # search runs with BLAS on one thread, and the process's own setting is restored after it.
        self._blas = ThreadpoolController()
        self.data = Indexed(snapshot)
        self.index, self.embedder, self.params = index, embedder, params
        self._queries: dict[str, Query] = {}
        self._words: dict[str, _QuestionWords] = {}

    @property
    def units(self) -> tuple[Unit, ...]:
        """Every indexed unit, in index order."""
        return self.data.units

    @property
    def documents(self) -> tuple[Document, ...]:
        """Every indexed document."""
        return self.data.documents

    def search(
        self, question: str, *, k: int = 5, doc: str | Sequence[str] | None = None, params: Retrieval | None = None
    ) -> list[Hit]:
        """The `k` best units for `question`, optionally within one document or a few, ranked with
        `params` (default: the Searcher's)."""
        question, doc = self.focus(question, doc)
        with self._blas.limit(limits=1, user_api="blas"):
            return self._search(question, k, doc, params or self.params)

    def focus(self, question: str, doc: str | Sequence[str] | None) -> tuple[str, str | Sequence[str] | None]:
        """The question as searched, and where: a question that names documents of the library ("What does
        S/2025/194 say about elections?", "resolution 2768") is searched within them when no documents
        are chosen, and its names of the documents searched become "it" (their words would match the
        paragraphs that cite other documents: "Recalling its previous resolutions")."""
        named = self.data.named(question)
        if not named:
            return question, doc
        if doc is None:
            doc = named
        chosen = {doc_key(d) for d in ([doc] if isinstance(doc, str) else doc)}
        return self.data.unnamed(question, [d for d in named if doc_key(d) in chosen]), doc

    def _search(self, question: str, k: int, doc: str | Sequence[str] | None, p: Retrieval) -> list[Hit]:
        question = " ".join(question.split())
        if not question:
            raise BadInput("the question is empty")
        if k < 1:
            raise BadInput(f"-k must be at least 1, not {k!r}")
        scope = self.data.scope(doc)
        depth = max(p.candidates, k)
        dense = self._dense(question, depth, scope, p)
        own = scope.lexical is not self.data.lexical  # one document's BM25: rows numbered within it
        if isinstance(self.index, LexicalSearch):  # the store's own BM25 (Milvus), in library rows
            lexical = self.index.lexical(question, depth, scope.docs)
        else:
            lexical, _ = scope.lexical.search(question, depth, None if own else scope.units)
            if own and scope.units is not None:
                lexical = scope.units[lexical]
        # how much of the question the best match holds, in the statistics of the scope's own BM25
        confidence = 0.0
        if len(lexical):
            own_rows = scope.units if own else None
            first = int(lexical[0] if own_rows is None else np.searchsorted(own_rows, lexical[0]))
            confidence = scope.lexical.coverage(question, first)
        lexical_weight = p.lexical_weight * confidence**p.lexical_confidence_power
        fused: dict[int, float] = defaultdict(float)
        for rank, row in enumerate(dense):
            fused[row] += p.dense_weight / (p.rrf_k + rank + 1)
        for rank, row in enumerate(lexical):
            fused[int(row)] += lexical_weight / (p.rrf_k + rank + 1)
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: max(k, p.rerank_depth)]
        if p.rerank_depth:
            best = self._rerank(question, [row for row, _ in best], p)
        return [Hit(self.units[row], score, rank) for rank, (row, score) in enumerate(best[:k], start=1)]

    def query(self, question: str) -> Query:
        """The embedded `question` (the last few are kept: answering reuses the search's)."""
        query = self._queries.get(question)  # read once: another thread may clear the cache meanwhile
        if query is None:
            if len(self._queries) > 32:
                self._queries.clear()
                self._words.clear()
            query = self._queries[question] = self.embedder.embed_query_tokens(question)
        return query

    def sentence_scores(
        self, question: str, unit: Unit, params: Retrieval | None = None
    ) -> list[tuple[str, float, float]]:
        """(sentence, cosine, score) for each sentence of `unit`: the score adds the share of the
        question's content words that the sentence holds."""
        return self._scored(question, self.data.sentences(unit), params or self.params)

    def _scored(
        self, question: str, parts: Sequence[tuple[str, np.ndarray]], p: Retrieval
    ) -> list[tuple[str, float, float]]:
        """(text, cosine, score) for each of a unit's `parts` (text and stored vector)."""
        vector, words = self.query(question).vector, terms(question)
        out = []
        for (text, part_vector), part_words in zip(parts, terms_of([t for t, _ in parts]), strict=True):
            cosine = float(part_vector @ vector)
            covered = len(words & part_words) / len(words) if words else 0.0
            out.append((text, cosine, cosine + p.sentence_coverage * covered))
        return out

    def unit_priors(self, question: str, hits: Sequence[Hit], params: Retrieval | None = None) -> list[float]:
        """The evidence of each hit's unit as a whole: its share of the question's terms, a prior for its
        rank and the in-context word match."""
        rows = [self.data.row_of[(h.unit.doc, h.unit.para)] for h in hits]
        return self._priors(question, rows, [h.rank for h in hits], params or self.params).tolist()

    def _rerank(self, question: str, rows: list[int], p: Retrieval) -> list[tuple[int, float]]:
        """`rows` (in fused order) by their evidence: best sentence (or listed item) plus evidence as a whole."""
        parts = [self.data.sentences(self.units[row]) + self.data.items(self.units[row]) for row in rows]
        terms_of([text for unit_parts in parts for text, _ in unit_parts])  # one batch for all
        priors = self._priors(question, rows, range(1, len(rows) + 1), p)
        best = [max(score for _, _, score in self._scored(question, unit_parts, p)) for unit_parts in parts]
        return sorted(zip(rows, np.add(best, priors).tolist(), strict=True), key=lambda pair: -pair[1])

    def _priors(self, question: str, rows: Sequence[int], ranks: Iterable[int], p: Retrieval) -> np.ndarray:
        coverage = [self.data.lexical.coverage(question, row) for row in rows]
        return (
            p.unit_coverage * np.array(coverage)
            + p.rank_prior / np.fromiter(ranks, float, len(rows))
            + p.word_match * self._word_match(question, rows)
            + p.section_match * self._section_match(question, rows)
        )

    def _section_match(self, question: str, rows: Sequence[int]) -> np.ndarray:
        """For a question that names a section: the share of each unit's heading words the question holds.
        A question asking what is recommended names the recommendations: units under a heading that
        says so match in full ("What does the Secretary-General recommend about…")."""
        if _ASKS_RECOMMENDATION.search(question):
            return np.array([float(bool(_ASKS_RECOMMENDATION.search(self.units[row].section))) for row in rows])
        if not _NAMES_SECTION.search(question):
            return np.zeros(len(rows))
        asked = terms(question)
        headings = terms_of([_NUMBERING.sub(" ", self.units[row].section) for row in rows])
        return np.array([len(h & asked) / len(h) if h else 0.0 for h in headings])

    def _word_match(self, question: str, rows: Sequence[int]) -> np.ndarray:
        """For each unit in `rows`: each content word piece of the question takes its best cosine with a
        token of the unit (as the model read them in context); the mean, weighted by rarity (idf)."""
        question_words = self._question_words(question)
        best = self._pieces_best(question_words, rows)
        match = np.zeros(len(rows))
        if best is not None:
            weights = question_words.weights
            match[best.filled] = (weights @ best.cosines) / weights.sum()
        return match

    def anchoring(self, question: str, hits: Sequence[Hit], cosine: float) -> Anchoring:
        """How much of `question` the units of `hits` speak of: the share (idf-weighted) of its content word
        pieces that have a counterpart there (a token of theirs, as the model read it in context, at least
        `cosine` close, or its word in their section heading), and its words that have none. Low when the
        question is about something the paragraphs never speak of ("piracy", "charcoal"); 1 when the index
        holds no token vectors."""
        rows = [self.data.row_of[(h.unit.doc, h.unit.para)] for h in hits]
        question_words = self._question_words(question)
        best = self._pieces_best(question_words, rows)
        if best is None:
            return Anchoring(1.0, ())
        headings = {w for h in hits for w in re.findall(r"\w+", _plain(h.unit.section))}
        found = (best.cosines.max(axis=1) >= cosine) | np.array([w in headings for w in question_words.words])
        weights = question_words.weights
        unmatched: dict[str, float] = {}
        for word, weight, hit in zip(question_words.words, weights, found, strict=True):
            if not hit:
                unmatched[word] = max(unmatched.get(word, 0.0), float(weight))
        return Anchoring(float(weights @ found) / float(weights.sum()), _written(question, unmatched))

    def _pieces_best(self, question_words: _QuestionWords, rows: Sequence[int]) -> _PieceBest | None:
        """Each content word piece's best cosine with a token of each unit in `rows` that has token
        vectors (None: no piece, or no such unit)."""
        offsets = self.data.snapshot.token_offsets
        sizes = np.array([offsets[r + 1] - offsets[r] for r in rows], dtype=np.int64)
        filled = sizes > 0
        if not len(question_words.vectors) or not filled.any():
            return None
        tokens = self.data.snapshot.tokens[np.concatenate([np.arange(offsets[r], offsets[r + 1]) for r in rows])]
        similarity = question_words.vectors @ dequantise(tokens).T
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[filled]
        return _PieceBest(np.maximum.reduceat(similarity, starts, axis=1), filled)

    def _question_words(self, question: str) -> _QuestionWords:
        """The question's content word pieces (token vectors), their weights and the words they are of."""
        query = self.query(question)
        if (known := self._words.get(question)) is not None:
            return known
        whole = _whole_words(query.pieces)
        keep = [
            i
            for i, piece in enumerate(query.pieces)
            if piece.lstrip("#").isalpha() and piece.lower() not in QUESTION_WORDS
        ]
        ids = query.token_ids[keep]
        idf = self.data.token_idf
        known_ids = ids < len(idf)
        weights = np.where(known_ids, idf[np.where(known_ids, ids, 0)], self.data.unseen_idf)
        self._words[question] = words = _QuestionWords(query.tokens[keep], weights, tuple(whole[i] for i in keep))
        return words

    def _dense(self, question: str, depth: int, scope: Scope, p: Retrieval) -> list[int]:
        """Units ranked by the cosine of their best sentence plus that of the whole unit (a question
        usually matches one sentence; the whole unit breaks ties towards the paragraph about it)."""
        query = self.query(question).vector
        rows, _ = self.index.search(query, depth * p.dense_overfetch, scope.views, scope.docs)
        owners = self.data.owners
        candidates = np.array(list(dict.fromkeys(owners[rows].tolist()))[:depth], dtype=np.int64)
        if not len(candidates):
            return []
        views_of = [self.data.unit_views[u] for u in candidates]
        similarity = self.data.vectors[np.concatenate(views_of)] @ query
        starts = np.concatenate([[0], np.cumsum([len(v) for v in views_of])[:-1]])  # each unit's whole view
        scores = np.maximum.reduceat(similarity, starts) + similarity[starts]
        return candidates[np.lexsort((candidates, -scores))].tolist()
