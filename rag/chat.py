"""The chat app's service, without any UI: one shared library, the conversation history, and answers
whose LLM backend is taken in turn — first come, first served, with the queue position reported —
while extractive answers never wait behind it."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from rag.embed import Embedder
from rag.history import History
from rag.labels import label
from rag.live import LiveIndex, TurnQueue
from rag.llm import make_generator
from rag.pipeline import Generator, answer
from rag.settings import Settings
from rag.types import Answer, Sentence


class _Stopped(Exception):
    """The reader stopped the answer."""


class ChatService:
    """What one server shares: the library, the history and the LLM queue."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        generators: Callable[[str, Settings], Generator | None] = make_generator,
    ) -> None:
        self.settings = settings
        self.live = LiveIndex(settings, embedder)
        self.history = History(settings.index / "app" / "history.sqlite")
        self.llm_queue = TurnQueue()
        self._make, self._loading = generators, threading.Lock()
        self._generators: dict[str, Generator | None] = {}

    def backends(self) -> list[str]:
        """The answer backends offered: extractive, the local model, and the configured one."""
        return list(dict.fromkeys(["extractive", "local", self.settings.llm]))

    def generator(self, spec: str) -> Generator | None:
        """The backend for `spec` (None: extractive), loaded once."""
        with self._loading:
            if spec not in self._generators:
                self._generators[spec] = self._make(spec, self.settings)
            return self._generators[spec]

    def scope(self, docs: list[str] | None) -> list[str] | None:
        """The documents to search: those ticked, or None (the whole library) when none or all are."""
        every = {d.id for d in self.live.searcher.documents}
        return None if not docs or set(docs) >= every else docs

    def ask(self, question: str, *, docs: list[str] | None, backend: str, k: int) -> Iterator[Answer | str]:
        """Status lines while waiting and the verified sentences so far, then the answer. Closing the
        iterator stops an LLM's answer at its next sentence."""
        searcher, scope = self.live.searcher, self.scope(docs)
        generator = self.generator(backend)
        if generator is None:
            yield answer(question, searcher=searcher, generator=None, k=k, doc=scope, rules=self.settings.answering)
            return
        ticket = self.llm_queue.join()
        started = False
        try:
            while not self.llm_queue.wait(ticket, timeout=0.5):
                ahead = self.llm_queue.ahead(ticket)
                yield f"Waiting for the {backend} model: {ahead} question{'s' * (ahead != 1)} ahead of yours…"
            yield f"The {backend} model is writing…"
            results: queue.Queue = queue.Queue()
            stop = threading.Event()

            def on_sentence(sentence: Sentence) -> None:
                if stop.is_set():
                    raise _Stopped
                results.put(sentence)

            def work() -> None:
                try:
                    results.put(
                        answer(
                            question,
                            searcher=searcher,
                            generator=generator,
                            k=k,
                            doc=scope,
                            on_sentence=on_sentence,
                            rules=self.settings.answering,
                        )
                    )
                except _Stopped:
                    results.put(None)
                except Exception as exc:  # noqa: BLE001 - handed to the reader as one sentence
                    results.put(exc)
                finally:
                    self.llm_queue.leave(ticket)  # the next question starts once this one has really ended

            threading.Thread(target=work, daemon=True).start()
            started = True
            streamed: list[str] = []
            try:
                while (item := results.get()) is not None:
                    if isinstance(item, Exception):
                        raise item
                    if isinstance(item, Answer):
                        yield item
                        return
                    streamed.append(
                        f"{item.text} " + " ".join(f"[{label(c.doc, c.para)}]" for c in item.citations) + item.evidence
                    )
                    yield " ".join(streamed)
            finally:
                stop.set()  # the reader left (stop button, closed page): end the generation at its next sentence
        finally:
            if not started:
                self.llm_queue.leave(ticket)
