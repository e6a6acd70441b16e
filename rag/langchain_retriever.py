"""A LangChain retriever over Paracite's hybrid search, so Paracite fits into users' own chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever


class ParaciteRetriever(BaseRetriever):
    """Returns the best numbered paragraphs as LangChain documents; metadata carries the citation
    (`doc`, `para`, `page`, `section`, `kind`), the fused `score` and `rank`."""

    searcher: Any  # rag.retrieve.Searcher (kept untyped so pydantic does not validate it)
    k: int = 5
    doc: str | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.searcher.search(query, k=self.k, doc=self.doc)
        return [
            Document(
                page_content=h.unit.text,
                metadata={
                    **{k: v for k, v in h.to_json().items() if k != "text"},
                    "citation": f"{h.unit.doc} ¶{h.unit.para}",
                },
            )
            for h in hits
        ]
