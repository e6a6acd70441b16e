"""Hybrid retrieval: dense (FAISS over paragraphs and their sentences) and lexical (BM25) rankings,
fused by weighted reciprocal rank, the lexical weight scaled by how much of the question's
distinctive vocabulary its best match shares (so paraphrased questions lean on the dense ranking).
The best fused units are then reranked by their evidence: their best sentence, the share of the
question's terms they hold, and a late-interaction match of the question's words with theirs (each
question word's best cosine with a word of the unit, in context: "jail" finds "prison")."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from rag.embed import Embedder, Query
from rag.errors import BadInput
from rag.lexical import Lexical, terms, terms_of
from rag.sentences import split_sentences
from rag.settings import Settings
from rag.store import Snapshot, VectorIndex
from rag.types import Hit, Unit

# Reranking weights (chosen with evals/retrieval.py and rag eval on the gold questions)
COVERAGE_WEIGHT = 0.3  # share of the question's content words found in a sentence
UNIT_COVERAGE_WEIGHT = 0.4  # idf-weighted share of the question's terms found in the whole unit
RANK_WEIGHT = 0.15  # prior for units the fused ranking put first (divided by the fused rank)
MAXSIM_WEIGHT = 2.0  # question words matched, in context, by words of the unit (idf-weighted mean cosine)
SECTION_WEIGHT = 0.3  # for a question naming a section ("the section on …"): share of the heading's words it names
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


@lru_cache(maxsize=100_000)
def views(unit: Unit) -> tuple[str, ...]:
    """The texts a unit is embedded as: the whole unit and, when it has several, each sentence
    (a question often matches one sentence better than a long paragraph's average)."""
    sentences = split_sentences(unit.text)
    return (unit.text, *sentences) if len(sentences) > 1 else (unit.text,)


def lexical_text(unit: Unit) -> str:
    """The words BM25 matches a unit by: its text and the words of its section heading."""
    return f"{unit.section} {unit.text}"


def doc_key(doc: str) -> str:
    """A document id compared without case or spaces ("s/res/2768(2025)" finds "S/RES/2768 (2025)")."""
    return doc.replace(" ", "").upper()


class Searcher:
    """Searches one loaded index with the models loaded once."""

    def __init__(self, snapshot: Snapshot, index: VectorIndex, embedder: Embedder, settings: Settings) -> None:
        # Searching multiplies small matrices: numpy's (and faiss's) OpenBLAS threads would only spin, and
        # their busy-waiting after each product slowed torch's query encoder on two cores fivefold. So each
        # search runs with BLAS on one thread, and the process's own setting is restored after it.
        self._blas = ThreadpoolController()
        self.units, self.documents = snapshot.units, snapshot.documents
        self.owners, self.vectors = snapshot.owners, snapshot.vectors
        order = np.argsort(self.owners, kind="stable")  # view rows grouped by unit, whole unit first
        bounds = np.searchsorted(self.owners[order], np.arange(len(self.units) + 1))
        self.unit_views = [order[bounds[u] : bounds[u + 1]] for u in range(len(self.units))]
        self.row_of = {(u.doc, u.para): i for i, u in enumerate(self.units)}
        self.snapshot = snapshot
        self._queries: dict[str, Query] = {}
        self._words: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # token document frequencies, for weighting a question's words by rarity in the library
        df = np.bincount(
            np.concatenate(
                [np.unique(snapshot.unit_tokens(u)[0]) for u in range(len(self.units))] or [np.zeros(0, np.int32)]
            ).astype(np.int64)
        )
        self.token_idf = np.log(1 + (len(self.units) - df + 0.5) / (df + 0.5))
        self.unseen_idf = float(np.log(1 + (len(self.units) + 0.5) / 0.5))
        self.index, self.embedder, self.settings = index, embedder, settings
        unit_rows: dict[str, list[int]] = defaultdict(list)
        for i, unit in enumerate(self.units):
            unit_rows[doc_key(unit.doc)].append(i)
        self.unit_rows = {doc: np.array(r, dtype=np.int64) for doc, r in unit_rows.items()}
        # BM25 statistics of the whole library, and of each document for searches within one document
        self.lexical = Lexical([lexical_text(u) for u in self.units])
        self.doc_lexical = {
            doc: Lexical([lexical_text(self.units[i]) for i in rows]) for doc, rows in self.unit_rows.items()
        }
        view_rows: dict[str, list[int]] = defaultdict(list)
        for row, owner in enumerate(self.owners):
            view_rows[doc_key(self.units[owner].doc)].append(row)
        self.view_rows = {doc: np.array(view_rows[doc], dtype=np.int64) for doc in self.unit_rows}

    def search(self, question: str, *, k: int = 5, doc: str | Sequence[str] | None = None) -> list[Hit]:
        """The `k` best units for `question`, optionally within one document or a few."""
        with self._blas.limit(limits=1, user_api="blas"):
            return self._search(question, k, doc)

    def _search(self, question: str, k: int, doc: str | Sequence[str] | None) -> list[Hit]:
        question = " ".join(question.split())
        if not question:
            raise BadInput("the question is empty")
        if k < 1:
            raise BadInput(f"-k must be at least 1, not {k!r}")
        units_allowed = views_allowed = None
        bm25 = self.lexical
        if doc is not None:
            keys = [doc_key(d) for d in ([doc] if isinstance(doc, str) else doc)]
            if unknown := [
                d
                for d, key in zip([doc] if isinstance(doc, str) else doc, keys, strict=True)
                if key not in self.unit_rows
            ]:
                raise BadInput(f"no document {unknown[0]!r} in the index; `rag docs` lists them")
            if not keys:
                raise BadInput("no documents chosen to search")
            units_allowed = np.concatenate([self.unit_rows[key] for key in keys])
            views_allowed = np.concatenate([self.view_rows[key] for key in keys])
            if len(keys) == 1:  # one document's own BM25 statistics
                bm25 = self.doc_lexical[keys[0]]
        s = self.settings
        depth = max(s.candidates, k)
        dense = self._dense(question, depth, views_allowed)
        if bm25 is self.lexical:
            lexical, _ = bm25.search(question, depth, units_allowed)
            confidence = bm25.coverage(question, int(lexical[0])) if len(lexical) else 0.0
        else:  # one document's BM25: its rows are numbered within the document
            assert units_allowed is not None
            lexical, _ = bm25.search(question, depth)
            confidence = bm25.coverage(question, int(lexical[0])) if len(lexical) else 0.0
            lexical = units_allowed[lexical]
        lexical_weight = s.lexical_weight * confidence**s.lexical_confidence_power
        fused: dict[int, float] = defaultdict(float)
        for rank, row in enumerate(dense):
            fused[row] += s.dense_weight / (s.rrf_k + rank + 1)
        for rank, row in enumerate(lexical):
            fused[int(row)] += lexical_weight / (s.rrf_k + rank + 1)
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: max(k, s.rerank_depth)]
        if s.rerank_depth:
            best = self._rerank(question, [row for row, _ in best])
        return [Hit(self.units[row], score, rank) for rank, (row, score) in enumerate(best[:k], start=1)]

    def unmentioned(self, words: Sequence[str], doc: str | Sequence[str] | None = None) -> list[str]:
        """Those of `words` that no unit (of `doc`, when given: one document or a few) holds."""
        docs = [] if doc is None else [doc] if isinstance(doc, str) else list(doc)
        lexicals = [self.doc_lexical.get(doc_key(d), self.lexical) for d in docs] or [self.lexical]
        return [w for w in words if not any(lexical.mentions(w) for lexical in lexicals)]

    def query(self, question: str) -> Query:
        """The embedded `question` (the last few are kept: answering reuses the search's)."""
        query = self._queries.get(question)  # read once: another thread may clear the cache meanwhile
        if query is None:
            if len(self._queries) > 32:
                self._queries.clear()
                self._words.clear()
            query = self._queries[question] = self.embedder.embed_query_tokens(question)
        return query

    def query_vector(self, question: str) -> np.ndarray:
        """The embedding of `question`."""
        return self.query(question).vector

    def sentence_scores(self, question: str, unit: Unit) -> list[tuple[str, float, float]]:
        """(sentence, cosine, score) for each sentence of `unit`: the score adds the share of the
        question's content words that the sentence holds."""
        vector, words = self.query_vector(question), terms(question)
        sentences = self.sentences(unit)
        out = []
        for (text, sentence_vector), sentence_words in zip(sentences, terms_of([t for t, _ in sentences]), strict=True):
            cosine = float(sentence_vector @ vector)
            covered = len(words & sentence_words) / len(words) if words else 0.0
            out.append((text, cosine, cosine + COVERAGE_WEIGHT * covered))
        return out

    def unit_priors(self, question: str, hits: Sequence[Hit]) -> list[float]:
        """The evidence of each hit's unit as a whole: its share of the question's terms, a prior for its
        rank and the in-context word match."""
        rows = [self.row_of[(h.unit.doc, h.unit.para)] for h in hits]
        return self._priors(question, rows, [h.rank for h in hits]).tolist()

    def _rerank(self, question: str, rows: list[int]) -> list[tuple[int, float]]:
        """`rows` (in fused order) by their evidence: best sentence plus evidence as a whole."""
        terms_of([text for row in rows for text, _ in self.sentences(self.units[row])])  # one batch for all
        priors = self._priors(question, rows, range(1, len(rows) + 1))
        best = [max(score for _, _, score in self.sentence_scores(question, self.units[row])) for row in rows]
        return sorted(zip(rows, np.add(best, priors).tolist(), strict=True), key=lambda p: -p[1])

    def _priors(self, question: str, rows: Sequence[int], ranks: Iterable[int]) -> np.ndarray:
        coverage = [self.lexical.coverage(question, row) for row in rows]
        return (
            UNIT_COVERAGE_WEIGHT * np.array(coverage)
            + RANK_WEIGHT / np.fromiter(ranks, float, len(rows))
            + MAXSIM_WEIGHT * self._word_match(question, rows)
            + SECTION_WEIGHT * self._section_match(question, rows)
        )

    def _section_match(self, question: str, rows: Sequence[int]) -> np.ndarray:
        """For a question that names a section: the share of each unit's heading words the question holds."""
        if not _NAMES_SECTION.search(question):
            return np.zeros(len(rows))
        asked = terms(question)
        headings = terms_of([_NUMBERING.sub(" ", self.units[row].section) for row in rows])
        return np.array([len(h & asked) / len(h) if h else 0.0 for h in headings])

    def _word_match(self, question: str, rows: Sequence[int]) -> np.ndarray:
        """For each unit in `rows`: each content word piece of the question takes its best cosine with a
        token of the unit (as the model read them in context); the mean, weighted by rarity (idf)."""
        words, weights = self._question_words(question)
        offsets = self.snapshot.token_offsets
        sizes = np.array([offsets[r + 1] - offsets[r] for r in rows], dtype=np.int64)
        match = np.zeros(len(rows))
        filled = sizes > 0
        if not len(words) or not filled.any():
            return match
        tokens = self.snapshot.tokens[np.concatenate([np.arange(offsets[r], offsets[r + 1]) for r in rows])]
        similarity = words @ tokens.T.astype(np.float32) / 127  # tokens are stored as int8 (x127)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[filled]
        best = np.maximum.reduceat(similarity, starts, axis=1)
        match[filled] = (weights @ best) / weights.sum()
        return match

    def _question_words(self, question: str) -> tuple[np.ndarray, np.ndarray]:
        """The question's content word pieces (token vectors) and their weights (idf in the library)."""
        query = self.query(question)
        if (known_words := self._words.get(question)) is not None:
            return known_words
        keep = [
            i
            for i, piece in enumerate(query.pieces)
            if piece.lstrip("#").isalpha() and piece.lower() not in QUESTION_WORDS
        ]
        ids = query.token_ids[keep]
        known = ids < len(self.token_idf)
        weights = np.where(known, self.token_idf[np.where(known, ids, 0)], self.unseen_idf)
        self._words[question] = words = (query.tokens[keep], weights)
        return words

    def sentences(self, unit: Unit) -> list[tuple[str, np.ndarray]]:
        """The sentences of an indexed unit with their stored vectors."""
        rows = self.unit_views[self.row_of[(unit.doc, unit.para)]]
        texts = views(unit)
        if len(texts) > 1:
            return list(zip(texts[1:], self.vectors[rows[1:]], strict=True))
        return [(unit.text, self.vectors[rows[0]])]

    def _dense(self, question: str, depth: int, allowed: np.ndarray | None) -> list[int]:
        """Units ranked by the cosine of their best sentence plus that of the whole unit (a question
        usually matches one sentence; the whole unit breaks ties towards the paragraph about it)."""
        query = self.query_vector(question)
        rows, _ = self.index.search(query, depth * 6, allowed)
        candidates = np.array(list(dict.fromkeys(self.owners[rows].tolist()))[:depth], dtype=np.int64)
        if not len(candidates):
            return []
        views_of = [self.unit_views[u] for u in candidates]
        similarity = self.vectors[np.concatenate(views_of)] @ query
        starts = np.concatenate([[0], np.cumsum([len(v) for v in views_of])[:-1]])  # each unit's whole view
        scores = np.maximum.reduceat(similarity, starts) + similarity[starts]
        return candidates[np.lexsort((candidates, -scores))].tolist()
