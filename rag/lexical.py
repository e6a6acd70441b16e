"""Lexical retrieval with BM25 (bm25s, Snowball-stemmed English). The only module importing bm25s."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("english")


def tokenise(texts: Sequence[str]) -> list[list[str]]:
    """Each text's words as BM25 ranks by them: stemmed, English stopwords dropped."""
    if not texts:
        return []
    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


def analysed(texts: Sequence[str]) -> list[str]:
    """Each text as the words BM25 ranks it by (stemmed, stopwords dropped), space-separated: what a search
    engine's own BM25 is given, so that it ranks by Paracite's analysis (Milvus Lite's tokenizer neither
    stems nor drops stopwords)."""
    return [" ".join(words) for words in tokenise(texts)]


@lru_cache(maxsize=8192)
def _query_tokens(text: str) -> tuple[str, ...]:
    return tuple(tokenise([text])[0])


_TERMS: dict[str, frozenset[str]] = {}


def terms_of(texts: Sequence[str]) -> list[frozenset[str]]:
    """The stemmed content words of each text (English stopwords removed); remembered, and the texts
    not seen before are tokenised in one batch."""
    known = {t: found for t in dict.fromkeys(texts) if (found := _TERMS.get(t)) is not None}
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        if len(_TERMS) > 50_000:
            _TERMS.clear()
        fresh = dict(zip(missing, map(frozenset, tokenise(missing)), strict=True))
        _TERMS.update(fresh)
        known.update(fresh)
    return [known[t] for t in texts]  # not read back from the cache: another thread may clear it


def terms(text: str) -> frozenset[str]:
    """The stemmed content words of `text` (English stopwords removed)."""
    return terms_of([text])[0]


class Lexical:
    """A BM25 index over unit texts, given as their words (`tokenise`), built in memory (thousands of
    units in milliseconds)."""

    def __init__(self, words: Sequence[list[str]]) -> None:
        self.size = len(words)
        self.terms = [frozenset(t) for t in words]
        df = Counter(term for terms in self.terms for term in terms)
        self.idf = {t: self._idf(n) for t, n in df.items()}
        self.bm25 = bm25s.BM25()
        if words:
            self.bm25.index(list(words), show_progress=False)

    def _idf(self, df: int) -> float:
        return math.log(1 + (self.size - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and BM25 scores of the best `k` rows (positive scores only)."""
        known = [t for t in _query_tokens(query) if t in self.idf]
        if not known:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        mask = None
        if allowed is not None:
            mask = np.zeros(self.size, dtype=np.float32)
            mask[allowed] = 1.0
        ids, scores = self.bm25.retrieve([known], k=min(k, self.size), show_progress=False, weight_mask=mask)
        keep = scores[0] > 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def mentions(self, word: str) -> bool:
        """Whether some unit holds `word` (or a longer form of it: "Syria" in "Syrian")."""
        stems = _query_tokens(word)
        return all(stem in self.idf or any(t.startswith(stem) for t in self.idf) for stem in stems)

    def coverage(self, query: str, row: int) -> float:
        """Share of the query's terms, weighted by rarity (idf), that occur in unit `row`: near 1 when a
        paragraph shares the question's distinctive words, near 0 for a paraphrase."""
        terms = set(_query_tokens(query))
        unseen = self._idf(0)  # a term no unit has counts fully against lexical evidence
        total = sum(self.idf.get(t, unseen) for t in terms)
        return sum(self.idf[t] for t in terms & self.terms[row]) / total if total else 0.0
