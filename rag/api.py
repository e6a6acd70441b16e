"""The Python API: search the index with models loaded once per process."""

from __future__ import annotations

from functools import lru_cache

from rag.embed import embedder_for
from rag.library import open_searcher
from rag.retrieve import Searcher
from rag.settings import Settings
from rag.types import Answer, Hit


@lru_cache(maxsize=4)
def searcher(settings: Settings | None = None) -> Searcher:
    """A Searcher over the configured index (built from the default corpus on first use), cached."""
    settings = settings or Settings()
    embedder = embedder_for(settings)
    return open_searcher(settings=settings, embedder=embedder, progress=False)  # quiet: a library logs


def search(question: str, *, k: int = 5, doc: str | None = None, settings: Settings | None = None) -> list[Hit]:
    """The `k` numbered paragraphs that best answer `question`, as typed hits."""
    return searcher(settings).search(question, k=k, doc=doc)


def retriever(*, k: int = 5, doc: str | None = None, settings: Settings | None = None):
    """A LangChain `BaseRetriever` over the same search."""
    from rag.langchain_retriever import ParaciteRetriever

    return ParaciteRetriever(searcher=searcher(settings), k=k, doc=doc)


@lru_cache(maxsize=4)
def _generator(spec: str, settings: Settings):
    from rag.llm import make_generator

    return make_generator(spec, settings)


def answer(
    question: str, *, llm: str | None = None, k: int = 5, doc: str | None = None, settings: Settings | None = None
) -> Answer:
    """A verified answer citing numbered paragraphs, or a refusal; models load once per process."""
    from rag.pipeline import answer as run

    settings = settings or Settings()
    return run(
        question,
        searcher=searcher(settings),
        generator=_generator(llm or settings.llm, settings),
        k=k,
        doc=doc,
        rules=settings.answering,
    )
