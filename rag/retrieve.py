"""Hybrid retrieval: dense (FAISS over paragraphs and their sentences) and lexical (BM25) rankings,
fused by weighted reciprocal rank, the lexical weight scaled by how much of the question's
distinctive vocabulary its best match shares (so paraphrased questions lean on the dense ranking)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from rag.embed import Embedder
from rag.errors import BadInput
from rag.lexical import Lexical
from rag.sentences import split_sentences
from rag.settings import Settings
from rag.store import Snapshot, VectorIndex
from rag.types import Hit, Unit


def views(unit: Unit) -> list[str]:
    """The texts a unit is embedded as: the whole unit and, when it has several, each sentence
    (a question often matches one sentence better than a long paragraph's average)."""
    sentences = split_sentences(unit.text)
    return [unit.text, *sentences] if len(sentences) > 1 else [unit.text]


def lexical_text(unit: Unit) -> str:
    """The words BM25 matches a unit by: its text and the words of its section heading."""
    return f"{unit.section} {unit.text}"


def doc_key(doc: str) -> str:
    """A document id compared without case or spaces ("s/res/2768(2025)" finds "S/RES/2768 (2025)")."""
    return doc.replace(" ", "").upper()


class Searcher:
    """Searches one loaded index with the models loaded once."""

    def __init__(self, snapshot: Snapshot, index: VectorIndex, embedder: Embedder, settings: Settings) -> None:
        self.units, self.documents = snapshot.units, snapshot.documents
        self.owners, self.vectors = snapshot.owners, snapshot.vectors
        order = np.argsort(self.owners, kind="stable")  # view rows grouped by unit, whole unit first
        bounds = np.searchsorted(self.owners[order], np.arange(len(self.units) + 1))
        self.unit_views = [order[bounds[u] : bounds[u + 1]] for u in range(len(self.units))]
        self.row_of = {(u.doc, u.para): i for i, u in enumerate(self.units)}
        self._queries: dict[str, np.ndarray] = {}
        self.index, self.embedder, self.settings = index, embedder, settings
        unit_rows: dict[str, list[int]] = defaultdict(list)
        for i, unit in enumerate(self.units):
            unit_rows[doc_key(unit.doc)].append(i)
        self.unit_rows = {doc: np.array(r, dtype=np.int64) for doc, r in unit_rows.items()}
        # BM25 statistics of the whole library, and of each document for searches within one document
        self.lexical = Lexical([lexical_text(u) for u in self.units])
        self.doc_lexical = {doc: Lexical([lexical_text(self.units[i]) for i in rows])
                            for doc, rows in self.unit_rows.items()}  # fmt: skip
        view_rows: dict[str, list[int]] = defaultdict(list)
        for row, owner in enumerate(self.owners):
            view_rows[doc_key(self.units[owner].doc)].append(row)
        self.view_rows = {doc: np.array(view_rows[doc], dtype=np.int64) for doc in self.unit_rows}

    def search(self, question: str, *, k: int = 5, doc: str | None = None) -> list[Hit]:
        """The `k` best units for `question`, optionally within one document."""
        question = " ".join(question.split())
        if not question:
            raise BadInput("the question is empty")
        if k < 1:
            raise BadInput(f"-k must be at least 1, not {k!r}")
        units_allowed = views_allowed = None
        if doc is not None:
            units_allowed = self.unit_rows.get(doc_key(doc))
            if units_allowed is None:
                raise BadInput(f"no document {doc!r} in the index; `rag docs` lists them")
            views_allowed = self.view_rows[doc_key(doc)]
        s = self.settings
        depth = max(s.candidates, k)
        dense = self._dense(question, depth, views_allowed)
        bm25 = self.lexical if doc is None else self.doc_lexical[doc_key(doc)]
        lexical, _ = bm25.search(question, depth)
        confidence = bm25.coverage(question, int(lexical[0])) if len(lexical) else 0.0
        if doc is not None:
            lexical = units_allowed[lexical]
        lexical_weight = s.lexical_weight * confidence**s.lexical_confidence_power
        fused: dict[int, float] = defaultdict(float)
        for rank, row in enumerate(dense):
            fused[row] += s.dense_weight / (s.rrf_k + rank + 1)
        for rank, row in enumerate(lexical):
            fused[int(row)] += lexical_weight / (s.rrf_k + rank + 1)
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [Hit(self.units[row], score, rank) for rank, (row, score) in enumerate(best, start=1)]

    def query_vector(self, question: str) -> np.ndarray:
        """The embedding of `question` (the last few are kept: answering reuses the search's)."""
        if question not in self._queries:
            if len(self._queries) > 32:
                self._queries.clear()
            self._queries[question] = self.embedder.embed_query(question)
        return self._queries[question]

    def coverage(self, question: str, unit: Unit) -> float:
        """The idf-weighted share of the question's terms found in `unit` (with its section)."""
        return self.lexical.coverage(question, self.row_of[(unit.doc, unit.para)])

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
        candidates = list(dict.fromkeys(int(self.owners[r]) for r in rows))[:depth]
        scores = [float((self.vectors[self.unit_views[u]] @ query).max() + self.vectors[self.unit_views[u][0]] @ query)
                  for u in candidates]  # fmt: skip
        return [u for _, u in sorted(zip(scores, candidates, strict=True), key=lambda p: (-p[0], p[1]))]
