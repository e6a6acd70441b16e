"""A LangChain chat model around llama-cpp-python (langchain-community's is being sunset): a local
GGUF reached through the same chat-model interface as hosted models."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LlamaCppChat(BaseChatModel):
    """Chat completions from a llama.cpp model, greedy by default."""

    llama: Any
    max_tokens: int = 256
    temperature: float = 0.0

    @classmethod
    def load(cls, path: Path, *, n_ctx: int, max_tokens: int) -> LlamaCppChat:
        """Load a GGUF file (llama.cpp's own logging silenced)."""
        from llama_cpp import Llama

        llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=os.cpu_count() or 2, verbose=False, seed=0)
        architecture = llama.metadata.get("general.architecture", "")
        if "tokenizer.chat_template" not in llama.metadata and architecture.startswith("gemma"):
            llama.chat_format = "gemma"  # the shipped GGUF carries no template; llama.cpp would guess llama-2
        return cls(llama=llama, max_tokens=max_tokens)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        return {
            "messages": [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": stop or [],
        }

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager=None, **kwargs: Any
    ) -> ChatResult:
        reply = self.llama.create_chat_completion(**self._request(messages, stop))
        text = reply["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager=None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in self.llama.create_chat_completion(**self._request(messages, stop), stream=True):
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                if run_manager:
                    run_manager.on_llm_new_token(piece)
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
