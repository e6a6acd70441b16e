"""The index's data as search reads it: units, their vectors (whole and per sentence), token vectors
and BM25 statistics of the library and of each document. Built once per loaded index; read-only."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.errors import BadInput
from rag.lexical import Lexical, tokenise
from rag.sentences import list_items, split_sentences
from rag.store import Snapshot
from rag.types import Unit


@lru_cache(maxsize=100_000)
def sentences_of(unit: Unit) -> tuple[str, ...]:
    """A unit's sentences when it has several; none when it is one sentence."""
    sentences = split_sentences(unit.text)
    return tuple(sentences) if len(sentences) > 1 else ()


@lru_cache(maxsize=100_000)
def views(unit: Unit) -> tuple[str, ...]:
    """The texts a unit is embedded as, in this order: the whole unit; each sentence, when it has several
    (a question often matches one sentence better than a long paragraph's average); and each item of a
    sentence that lists several with semicolons (a question about "a third" State's measure matches
    that item better than the whole list)."""
    sentences = sentences_of(unit)
    items = (item for sentence in sentences or (unit.text,) for item in list_items(sentence))
    return (unit.text, *sentences, *items)


def lexical_text(unit: Unit) -> str:
    """The words BM25 matches a unit by: its text and the words of its section heading."""
    return f"{unit.section} {unit.text}"


def doc_key(doc: str) -> str:
    """A document id compared without case or spaces ("s/res/2768(2025)" finds "S/RES/2768 (2025)")."""
    return doc.replace(" ", "").upper()


def _naming(doc: str) -> re.Pattern[str]:
    """How a question names document `doc`: its symbol, the year of a resolution optional, or, a Security
    Council resolution, "(Security Council) resolution 2768"."""
    symbol = re.sub(r"\s*\(\d{4}\)$", "", doc)
    forms = [re.escape(symbol)]
    if number := re.fullmatch(r"S/RES/(\d+)", symbol, re.I):
        forms.append(rf"(?:(?:the\s+)?Security\s+Council\s+)?resolution\s+{number.group(1)}")
    return re.compile(rf"(?<![\w/])(?:{'|'.join(forms)})(?:\s*\(\d{{4}}\))?(?![\w/])", re.I)


@dataclass(frozen=True, slots=True)
class Scope:
    """What one search may return: all units, or those of a few documents (rows of the index)."""

    units: np.ndarray | None  # unit rows allowed; None: all
    views: np.ndarray | None  # vector rows allowed; None: all
    docs: tuple[str, ...] | None  # the documents' keys (`doc_key`); None: all
    lexical: Lexical  # the BM25 statistics to rank with (one document's own when one is searched)


class Indexed:
    """A loaded index's units, vectors and statistics, and the lookups search needs."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.units, self.documents = snapshot.units, snapshot.documents
        self.owners, self.vectors = snapshot.owners, snapshot.vectors
        order = np.argsort(self.owners, kind="stable")  # view rows grouped by unit, whole unit first
        bounds = np.searchsorted(self.owners[order], np.arange(len(self.units) + 1))
        self.unit_views = [order[bounds[u] : bounds[u + 1]] for u in range(len(self.units))]
        self.row_of = {(u.doc, u.para): i for i, u in enumerate(self.units)}
        self.titles = {d.id: d.title for d in self.documents}  # document id → title
        self._names = {d.id: _naming(d.id) for d in self.documents}
        # token document frequencies, for weighting a question's words by rarity in the library
        df = np.bincount(
            np.concatenate(
                [np.unique(snapshot.unit_tokens(u)[0]) for u in range(len(self.units))] or [np.zeros(0, np.int32)]
            ).astype(np.int64)
        )
        self.token_idf = np.log(1 + (len(self.units) - df + 0.5) / (df + 0.5))
        self.unseen_idf = float(np.log(1 + (len(self.units) + 0.5) / 0.5))
        unit_rows: dict[str, list[int]] = defaultdict(list)
        for i, unit in enumerate(self.units):
            unit_rows[doc_key(unit.doc)].append(i)
        self.unit_rows = {doc: np.array(r, dtype=np.int64) for doc, r in unit_rows.items()}
        # BM25 statistics of the whole library; a document's own are built at its first search (`doc_lexical`)
        self.lexical = Lexical(tokenise([lexical_text(u) for u in self.units]))
        self._doc_lexical: dict[str, Lexical] = {}
        unit_doc = np.empty(len(self.units), dtype=np.int64)  # each unit's document, numbered
        for number, rows in enumerate(self.unit_rows.values()):
            unit_doc[rows] = number
        view_doc = unit_doc[self.owners]
        order = np.argsort(view_doc, kind="stable")  # vector rows grouped by document, ascending within it
        bounds = np.searchsorted(view_doc[order], np.arange(len(self.unit_rows) + 1))
        self.view_rows = {doc: order[bounds[j] : bounds[j + 1]] for j, doc in enumerate(self.unit_rows)}

    def scope(self, doc: str | Sequence[str] | None) -> Scope:
        """The rows a search within `doc` (one document id, a few, or None: all) may return."""
        if doc is None:
            return Scope(None, None, None, self.lexical)
        docs = [doc] if isinstance(doc, str) else list(doc)
        if not docs:
            raise BadInput("no documents chosen to search")
        keys = [doc_key(d) for d in docs]
        if unknown := [d for d, key in zip(docs, keys, strict=True) if key not in self.unit_rows]:
            raise BadInput(f"no document {unknown[0]!r} in the index; `rag docs` lists them")
        return Scope(
            np.concatenate([self.unit_rows[key] for key in keys]),
            np.concatenate([self.view_rows[key] for key in keys]),
            tuple(keys),
            self.doc_lexical(keys[0]) if len(keys) == 1 else self.lexical,
        )

    def doc_lexical(self, key: str) -> Lexical:
        """The BM25 statistics of one document's units (`doc_key`), for searches within it; built at its
        first search rather than at open, which would wait for every document of a large library."""
        if (lexical := self._doc_lexical.get(key)) is None:
            texts = [lexical_text(self.units[i]) for i in self.unit_rows[key]]
            lexical = self._doc_lexical[key] = Lexical(tokenise(texts))
        return lexical

    def named(self, question: str) -> tuple[str, ...]:
        """The documents of the library that `question` names: by symbol ("S/2025/194", "S/RES/2768 (2025)")
        or, a resolution, as "resolution 2768"."""
        return tuple(doc for doc, pattern in self._names.items() if pattern.search(question))

    def unnamed(self, question: str, docs: Sequence[str]) -> str:
        """`question` with its names of `docs` replaced by "it"."""
        for doc in docs:
            if (pattern := self._names.get(doc)) is not None:
                question = pattern.sub("it", question)
        return question

    def unmentioned(self, words: Sequence[str], doc: str | Sequence[str] | None = None) -> list[str]:
        """Those of `words` that no unit (of `doc`, when given: one document or a few) holds."""
        docs = [] if doc is None else [doc] if isinstance(doc, str) else list(doc)
        keys = [doc_key(d) for d in docs]
        lexicals = [self.doc_lexical(k) if k in self.unit_rows else self.lexical for k in keys] or [self.lexical]
        return [w for w in words if not any(lexical.mentions(w) for lexical in lexicals)]

    def sentences(self, unit: Unit) -> list[tuple[str, np.ndarray]]:
        """The sentences of an indexed unit with their stored vectors."""
        rows = self.unit_views[self.row_of[(unit.doc, unit.para)]]
        if sentences := sentences_of(unit):
            return list(zip(sentences, self.vectors[rows[1 : 1 + len(sentences)]], strict=True))
        return [(unit.text, self.vectors[rows[0]])]

    def items(self, unit: Unit) -> list[tuple[str, np.ndarray]]:
        """The listed items of an indexed unit's sentences (`views`) with their stored vectors; none in an
        index embedded before items were."""
        rows, texts = self.unit_views[self.row_of[(unit.doc, unit.para)]], views(unit)
        start = 1 + len(sentences_of(unit))
        if len(rows) != len(texts):
            return []
        return list(zip(texts[start:], self.vectors[rows[start:]], strict=True))
