"""LLM backends behind one factory, chosen by a "provider:name" string. The only module that imports
langchain chat models or llama_cpp. Every backend streams text pieces; the pipeline verifies them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr

from rag import models
from rag.errors import BadInput, RagError
from rag.settings import Settings


class ChatGenerator:
    """Streams a LangChain chat model's reply."""

    def __init__(self, name: str, model) -> None:
        self.name, self.model = name, model

    def stream(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        """The reply, piece by piece."""
        try:
            for chunk in self.model.stream(messages):
                if chunk.content:
                    yield str(chunk.content)
        except Exception as exc:  # noqa: BLE001 - network, server and model errors all end the answer
            raise RagError(f"the {self.name} backend failed: {type(exc).__name__}: {str(exc)[:200]}") from None


def make_generator(spec: str, settings: Settings) -> ChatGenerator | None:
    """The backend for `spec`: "extractive" (None: no LLM), "local[:NAME or :/path/model.gguf]", "openai:MODEL"."""
    provider, _, name = spec.partition(":")
    if provider == "extractive":
        return None
    if provider == "local":
        try:
            import llama_cpp  # noqa: F401 - the library itself, loaded here to fail with a clear message

            from rag.llama import LlamaCppChat
        except ImportError:
            raise BadInput("the local backend needs llama-cpp-python; run `make setup` (it builds it)") from None

        label, path = local_gguf(name, settings.model_cache)
        return ChatGenerator(
            f"local:{label}",
            LlamaCppChat.load(path, n_ctx=settings.llm_context, max_tokens=settings.llm_max_tokens),
        )
    if provider == "openai":
        from langchain_openai import ChatOpenAI

        secret = settings.openai_api_key
        key = secret.get_secret_value() if secret else os.environ.get("OPENAI_API_KEY")
        if not name:
            raise BadInput("give the model name: --llm openai:MODEL (for example openai:gpt-4o-mini)")
        if not key and not settings.openai_base_url:
            raise BadInput("the openai backend needs RAG_OPENAI_API_KEY (or OPENAI_API_KEY), or RAG_OPENAI_BASE_URL")
        # max_tokens goes in the body under its classic name: ChatOpenAI sends max_completion_tokens, which
        # OpenAI-compatible servers such as llama.cpp's ignore (they then generate to the context's end).
        model = ChatOpenAI(
            model=name,
            base_url=settings.openai_base_url,
            api_key=SecretStr(key or "not-needed"),
            temperature=0,
            max_retries=1,
            timeout=120,
            extra_body={"max_tokens": settings.llm_max_tokens},
        )
        return ChatGenerator(f"openai:{name}", model)
    raise BadInput(f"unknown LLM backend {spec!r}; use extractive, local[:NAME or :path.gguf] or openai:MODEL")


def local_gguf(name: str, cache: Path) -> tuple[str, Path]:
    """The label and GGUF file of `local:NAME`: a shipped model by name (the default one when `name` is
    empty), assembled once into `cache`, or a .gguf path."""
    if not name or name in models.MODELS:
        model = models.get(name or models.DEFAULT_MODEL)
        return model.name, models.gguf(model, cache)
    path = Path(name)
    if path.suffix.lower() != ".gguf" and len(path.parts) == 1:
        models.get(name)  # neither a shipped model nor a path: the error lists the names
    if not path.is_file():
        raise BadInput(f"GGUF model {str(path)!r} not found; give a .gguf path as local:/path/model.gguf")
    return path.name, path
