"""Paracite: answers about UN documents that cite the documents' own numbered paragraphs."""

from rag.errors import RagError
from rag.parse import parse_file
from rag.settings import Settings
from rag.types import Answer, Citation, Document, Hit, Parsed, Unit

__all__ = [
    "Answer",
    "Citation",
    "Document",
    "Hit",
    "Parsed",
    "RagError",
    "Settings",
    "Unit",
    "answer",
    "parse_file",
    "retriever",
    "search",
]


def answer(
    question: str, *, llm: str | None = None, k: int = 5, doc: str | None = None, settings: Settings | None = None
) -> Answer:
    """A verified answer citing numbered paragraphs, or an honest refusal (models load on first call)."""
    from rag.api import answer as _answer

    return _answer(question, llm=llm, k=k, doc=doc, settings=settings)


def search(question: str, *, k: int = 5, doc: str | None = None, settings: Settings | None = None) -> list[Hit]:
    """The `k` numbered paragraphs that best answer `question` (models load on first call)."""
    from rag.api import search as _search

    return _search(question, k=k, doc=doc, settings=settings)


def retriever(*, k: int = 5, doc: str | None = None, settings: Settings | None = None):
    """A LangChain retriever over Paracite's search."""
    from rag.api import retriever as _retriever

    return _retriever(k=k, doc=doc, settings=settings)
