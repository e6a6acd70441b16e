"""One Settings object, read from the environment (prefix RAG_) and passed down explicitly."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a user can configure; built once in the CLI or app."""

    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True)

    index: Path = Path("index")
    # Bounds on reading one PDF (awkward files must never hang or exhaust memory).
    pdf_timeout_s: float = 60.0
    pdf_memory_mb: int = 2048
    max_file_mb: int = 200
