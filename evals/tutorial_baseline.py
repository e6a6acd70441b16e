"""The standard LangChain tutorial pipeline, for side-by-side comparison: the raw file (a text file
as it is, a PDF as pypdf's per-page text like PyPDFLoader), RecursiveCharacterTextSplitter(1000, 200),
the same embedding model, an exact FAISS index. (The tutorial's FAISS vector store ranks by L2
distance; on these normalised embeddings that is the same order as the inner product used here.)"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pypdf
from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter


@dataclass(frozen=True)
class Chunk:
    """One tutorial chunk: its text and the page it came from (PDFs)."""

    text: str
    page: int


def load_raw(path: Path) -> list[Document]:
    """What TextLoader / PyPDFLoader give: one document, or one per PDF page."""
    if path.suffix.lower() == ".pdf":
        reader = pypdf.PdfReader(path)
        return [Document(page_content=p.extract_text() or "", metadata={"page": i}) for i, p in enumerate(reader.pages)]
    return [Document(page_content=path.read_text(encoding="utf-8"), metadata={"page": 0})]


class TutorialPipeline:
    """Chunks of one raw file, embedded with sentence-transformers, searched with FAISS."""

    def __init__(self, path: Path, model) -> None:
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        docs = splitter.split_documents(load_raw(path))
        self.chunks = [Chunk(d.page_content, d.metadata["page"] + 1) for d in docs]
        self.model = model  # a SentenceTransformer, as HuggingFaceEmbeddings wraps
        vectors = self._encode([c.text for c in self.chunks])
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.encode(texts, normalize_embeddings=True, show_progress_bar=False), np.float32)

    def search(self, question: str, k: int) -> list[Chunk]:
        """The `k` nearest chunks."""
        _, ids = self.index.search(self._encode([question]), k)
        return [self.chunks[i] for i in ids[0] if i >= 0]


def _shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z]+", text.lower())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def covers(chunk: str, paragraph: str) -> bool:
    """A chunk counts as a hit when it holds at least half of a gold paragraph (by word 4-grams)."""
    want = _shingles(paragraph)
    return len(want & _shingles(chunk)) >= 0.5 * len(want)
