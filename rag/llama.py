"""A LangChain chat model around llama-cpp-python (langchain-community's is being sunset): a local
GGUF reached through the same chat-model interface as hosted models. A model file is loaded once per
process and kept; every chat model over it shares it, taking turns."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
# Tokens evaluated per llama.cpp call while reading the prompt (llama-cpp-python's default).
N_BATCH = 512


@dataclass(frozen=True)
class _Loaded:
    llama: Any
    turn: threading.Lock  # a llama.cpp context serves one request at a time


_loaded: dict[tuple[str, int], _Loaded] = {}
_loading = threading.Lock()


class LlamaCppChat(BaseChatModel):
    """Chat completions from a llama.cpp model, greedy by default."""

    llama: Any
    turn: Any = Field(default_factory=threading.Lock)  # shared by every chat model over the same loaded model
    max_tokens: int = 256
    temperature: float = 0.0

    @classmethod
    def load(cls, path: Path, *, n_ctx: int, max_tokens: int) -> LlamaCppChat:
        """A chat model over the GGUF file at `path`, loaded on first use in this process and then kept
        (llama.cpp's own logging silenced). The chat template is the one in the GGUF's header."""
        key = (str(path.resolve()), n_ctx)
        with _loading:
            if key not in _loaded:
                _loaded[key] = _Loaded(_open(path, n_ctx), threading.Lock())
            loaded = _loaded[key]
        return cls(llama=loaded.llama, turn=loaded.turn, max_tokens=max_tokens)

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
        with self.turn:
            reply = self.llama.create_chat_completion(**self._request(messages, stop))
        text = reply["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager=None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        with self.turn:
            for chunk in self.llama.create_chat_completion(**self._request(messages, stop), stream=True):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    if run_manager:
                        run_manager.on_llm_new_token(piece)
                    yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


def _open(path: Path, n_ctx: int) -> Any:
    """Load a GGUF file with llama.cpp, one thread per physical core."""
    from llama_cpp import Llama

    threads = physical_cores()
    llama = Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_batch=N_BATCH,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
        seed=0,
    )
    architecture = llama.metadata.get("general.architecture", "")
    if "tokenizer.chat_template" not in llama.metadata and architecture.startswith("gemma"):
        llama.chat_format = "gemma"  # a Gemma GGUF without a template: llama.cpp would guess llama-2
    return llama


def physical_cores() -> int:
    """The physical cores this process may run on (hyperthreads share a core's arithmetic units, so
    llama.cpp gains nothing from them); the logical count where the topology is not readable."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cores = set()
    for cpu in cpus:
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add(
                ((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip())
            )
        except OSError:
            return max(1, len(cpus))
    return max(1, len(cores))
