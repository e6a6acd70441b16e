"""Question → retrieval → draft (extractive or LLM) → verified, cited answer or honest refusal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from rag.answer_type import expected, holds, names
from rag.cite import render, verify
from rag.extractive import extract
from rag.prompts import messages
from rag.retrieve import Searcher
from rag.sentences import split_sentences
from rag.types import Answer, Citation, Sentence

REFUSAL = "The documents do not say."
UNCLEAR = "The documents do not clearly say: no paragraph stands out."
MAX_REPLY_CHARS = 4000


class Generator(Protocol):
    """A chat model that streams its reply as text pieces."""

    name: str

    def stream(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        """The reply, piece by piece."""
        ...


def answer(
    question: str, *, searcher: Searcher, generator: Generator | None = None, k: int = 5,
    doc: str | Sequence[str] | None = None,
    on_sentence: Callable[[Sentence], None] | None = None,
) -> Answer:  # fmt: skip
    """Answer `question` from the index. `generator` None means the extractive backend. Verified
    sentences are passed to `on_sentence` as soon as each is complete (streaming)."""
    start = time.perf_counter()
    hits = searcher.search(question, k=max(k, 2), doc=doc)
    unknown = searcher.unmentioned(names(question), doc)
    # The extractive backend answers only when a paragraph stands out (an LLM reads all of them, and
    # its sentences are verified).
    unclear = generator is None and not searcher.stands_out(hits)
    hits = hits[:k]
    searched = time.perf_counter()
    dropped: list[str] = []
    sentences: list[Sentence] = []
    if unknown or unclear:
        refused = True  # the question names what the documents never mention, or no paragraph stands out
    elif generator is None:
        sentences, refused = extract(question, hits, searcher)
        for sentence in sentences:
            if on_sentence:
                on_sentence(sentence)
    else:
        expectation = expected(question)
        sentences, dropped, refused = _generate(question, hits, generator, on_sentence, expectation)
        if expectation is not None and not any(holds(expectation, s.text) for s in sentences):
            refused = True  # the supported text lacks the kind of answer asked for (nothing was streamed)
        refused = refused or not sentences
    done = time.perf_counter()
    timings = (("retrieve", (searched - start) * 1000), ("generate", (done - searched) * 1000),
               ("total", (done - start) * 1000))  # fmt: skip
    backend = generator.name if generator else "extractive"
    retrieved = tuple(Citation.of(h.unit) for h in hits)
    if refused:
        see_also = tuple(Citation.of(h.unit) for h in hits[:3])
        closest = ", ".join(f"{c.doc} ¶{c.para}" for c in see_also)
        said = f"The documents do not mention {' or '.join(unknown)}." if unknown else UNCLEAR if unclear else REFUSAL
        text = f"{said} Closest paragraphs: {closest}." if see_also else said
        return Answer(question, text, (), True, backend, see_also=see_also, dropped=tuple(dropped), timings=timings,
                      retrieved=retrieved)  # fmt: skip
    citations = tuple(dict.fromkeys(c for s in sentences for c in s.citations))
    return Answer(question, render(sentences), citations, False, backend, tuple(sentences), (), tuple(dropped), timings,
                  retrieved)  # fmt: skip


def _generate(
    question, hits, generator: Generator, on_sentence, expectation
) -> tuple[list[Sentence], list[str], bool]:
    """Stream the model's reply, verifying each sentence as soon as it is complete. When the question asks
    for a kind of answer (a number, a date…), sentences are held back until one gives it: an answer
    refused for lacking it has streamed nothing."""
    kept: list[Sentence] = []
    dropped: list[str] = []
    refused = False
    streamed = 0
    buffer = ""

    def check(text: str) -> None:
        nonlocal refused, streamed
        sentences, lost, said_no = verify(text, hits)
        refused = refused or said_no
        dropped.extend(lost)
        for sentence in sentences:
            kept.append(sentence)
            if on_sentence and (streamed or expectation is None or holds(expectation, sentence.text)):
                for held in kept[streamed:]:
                    on_sentence(held)
                streamed = len(kept)

    received = 0
    for piece in generator.stream(messages(question, hits)):
        received += len(piece)
        if received > MAX_REPLY_CHARS:  # a backend that ignores its token limit must not run on forever
            break
        buffer += piece
        parts = split_sentences(buffer, min_chars=12)
        if len(parts) > 1:  # all but the last are complete
            check(" ".join(parts[:-1]))
            buffer = parts[-1] + buffer[len(buffer.rstrip()) :]  # keep the space before the next piece
    if buffer.strip():
        check(buffer)
    return kept, dropped, refused and not kept
