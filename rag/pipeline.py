"""Question → retrieval → draft (extractive or LLM) → verified, cited answer or honest refusal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from enum import Enum
from typing import Protocol

from rag.answer_type import Expectation, answers, expected, names
from rag.cite import render, verify, widen
from rag.extractive import extract, select
from rag.prompts import messages, resolve_keys
from rag.retrieve import Searcher
from rag.sentences import split_sentences
from rag.settings import Answering
from rag.types import Answer, Citation, Hit, Sentence, Unit

REFUSAL = "The documents do not say."
UNCLEAR = "The documents do not clearly say: no paragraph stands out."
MAX_REPLY_CHARS = 4000


class Generator(Protocol):
    """A chat model that streams its reply as text pieces."""

    name: str

    def stream(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        """The reply, piece by piece."""
        ...


class Refusal(Enum):
    """Why an answer is refused: the answer policy's reasons (`decide`)."""

    NOT_MENTIONED = "not_mentioned"  # the question names something no searched paragraph holds
    UNCLEAR = "unclear"  # extractive: no paragraph stands out (weak, near-tied evidence)
    UNMATCHED = "unmatched"  # the best paragraph has no counterpart for much of an open question
    NOT_SAID = "not_said"  # nothing supported remains, or not the kind of answer asked for


def stands_out(hits: Sequence[Hit], *, min_evidence: float, min_margin: float) -> bool:
    """Whether the first of `hits` (a reranked search's) is evidently the unit that answers: strong
    evidence, or clearly ahead of the second. Weak, near-tied candidates are where wrong citations came
    from (thresholds fitted by evals/gate.py)."""
    if len(hits) < 2:
        return True
    return hits[0].score >= min_evidence or hits[0].score - hits[1].score >= min_margin


def decide(
    *,
    unknown: Sequence[str],
    clear: bool,
    matched: bool = True,
    sentences: Sequence[Sentence] | None,
    expectation: Expectation | None,
    titles: Mapping[str, str] | None = None,
) -> Refusal | None:
    """The answer policy, in one place: None to answer, else why not. Called first with `sentences`
    None (refusals that need no draft: nothing is drafted or streamed then), then with the verified
    sentences of the draft (`titles`: the documents' titles, by id, for `answers`)."""
    if unknown:
        return Refusal.NOT_MENTIONED
    if not clear:
        return Refusal.UNCLEAR
    if not matched:
        return Refusal.UNMATCHED
    if sentences is None:
        return None
    if not sentences or (expectation is not None and not any(answers(expectation, s, titles) for s in sentences)):
        return Refusal.NOT_SAID
    return None


def answer(
    question: str,
    *,
    searcher: Searcher,
    generator: Generator | None = None,
    k: int = 5,
    doc: str | Sequence[str] | None = None,
    on_sentence: Callable[[Sentence], None] | None = None,
    rules: Answering | None = None,
) -> Answer:
    """Answer `question` from the index. `generator` None means the extractive backend. Verified
    sentences are passed to `on_sentence` as soon as each is complete (streaming); an answer that is
    then refused has streamed nothing. `rules`: the answering parameters (default: as shipped)."""
    rules = rules or Answering()
    start = time.perf_counter()
    asked = question
    question, doc = searcher.focus(question, doc)  # "What does S/2025/194 say…": within it
    hits = searcher.search(question, k=max(k, 2), doc=doc)
    unknown = searcher.data.unmentioned(names(question), doc)
    # The extractive backend answers only when a paragraph stands out (an LLM reads all of them, and
    # its sentences are verified). With reranking off there are no evidence scores to compare.
    evident = not searcher.params.rerank_depth or stands_out(
        hits, min_evidence=rules.min_evidence, min_margin=rules.min_margin
    )
    clear = generator is not None or evident
    expectation = expected(question)
    # An open question is answered only when the best paragraph speaks of most of it: a question asking for
    # a figure, a date… has its answer's kind checked instead (gold and dev, README: Cited answers).
    anchoring = searcher.anchoring(question, hits[:1], rules.anchor_cosine) if expectation is None else None
    matched = anchoring is None or anchoring.share >= rules.min_anchored_first
    titles = searcher.data.titles
    hits = hits[:k]
    searched = time.perf_counter()
    dropped: list[str] = []
    sentences: list[Sentence] = []
    quoted = False
    refusal = decide(unknown=unknown, clear=clear, matched=matched, sentences=None, expectation=expectation)
    if refusal is None:
        if generator is None:
            sentences = extract(question, hits, searcher, expectation, rules)
        else:
            texts = [excerpt(question, h.unit, searcher, rules.llm_excerpt_chars) for h in hits]

            def gives(drafted: Sequence[Sentence]) -> bool:
                """Whether `drafted` answers the question: with the kind of answer asked for, or, for an open
                question, citing paragraphs that speak of it (a small model asked what a report never says
                restates a paragraph on a neighbouring subject, which verifies but has no counterpart for
                much of the question)."""
                if expectation is not None:
                    return any(answers(expectation, s, titles) for s in drafted)
                cited = {(c.doc, c.para) for s in drafted for c in s.citations}
                on = [h for h in hits if (h.unit.doc, h.unit.para) in cited]
                return (
                    bool(on) and searcher.anchoring(question, on, rules.anchor_cosine).share >= rules.min_anchored_cited
                )

            shown: set[tuple[str, str]] = set()

            def quoted_answer(sentence: Sentence) -> Sentence:
                """`sentence` with what the extractive backend quotes of each paragraph it is the first to cite:
                the model's words say what a paragraph answers, the paragraph's own sentences that answer the
                question are what a researcher cites (its exact figures, names and phrases)."""
                cites = {(c.doc, c.para) for c in sentence.citations}
                fresh = [h for h in hits if (key := (h.unit.doc, h.unit.para)) in cites and key not in shown]
                shown.update((h.unit.doc, h.unit.para) for h in fresh)
                answering = [
                    text
                    for h in fresh
                    if (picked := select(question, [h], searcher, None, rules))
                    for text in picked[1]
                ]
                return widen(sentence, answering)

            sentences, dropped, declined = _generate(
                asked, hits, texts, generator, on_sentence, gives, rules, quoted_answer
            )
            answered = bool(sentences) and gives(sentences)
            # When nothing the model wrote verifies (or none of it gives the answer asked for), the
            # paragraph that answers is quoted, as the extractive backend would (its gate, its kind check):
            # - for a question asking for a figure, a date…, even when the model said the documents are
            #   silent: a small model misses a figure put in other words, and kind-checked quotes were
            #   right for 45 of 46 such gold and dev questions and refused all 22 unanswerable ones;
            # - for an open question, only when the model did not answer from paragraphs on another subject,
            #   and the question's words have counterparts in the paragraphs: its failure and unmatched words
            #   ("piracy") say they do not. A model's "the documents do not say" is overruled only when the
            #   best paragraph alone has counterparts for that much of the question (dev, dev2 and fresh: of
            #   20 open questions the model declined, the 3 answerable ones had the most).
            quoted = (
                not answered
                and evident
                and (
                    expectation is not None
                    or (
                        not sentences
                        and (not declined or (anchoring is not None and anchoring.share >= rules.min_anchored))
                        and searcher.anchoring(question, hits, rules.anchor_cosine).share >= rules.min_anchored
                    )
                )
            )
            if quoted:
                sentences = extract(question, hits, searcher, expectation, rules)
            elif not answered:
                sentences = []
        refusal = decide(unknown=unknown, clear=clear, sentences=sentences, expectation=expectation, titles=titles)
        if refusal is None and on_sentence and (generator is None or quoted):
            for sentence in sentences:
                on_sentence(sentence)
    done = time.perf_counter()
    timings = (
        ("retrieve", (searched - start) * 1000),
        ("generate", (done - searched) * 1000),
        ("total", (done - start) * 1000),
    )
    backend = generator.name if generator else "extractive"
    retrieved = tuple(Citation.of(h.unit) for h in hits)
    if refusal is not None:
        see_also = tuple(Citation.of(h.unit) for h in hits[:3])
        closest = ", ".join(f"{c.doc} ¶{c.para}" for c in see_also)
        said = {
            Refusal.NOT_MENTIONED: f"The documents do not mention {' or '.join(unknown)}.",
            Refusal.UNCLEAR: UNCLEAR,
            Refusal.UNMATCHED: _unmatched(anchoring.missing if anchoring else ()),
            Refusal.NOT_SAID: REFUSAL,
        }[refusal]
        text = f"{said} Closest paragraphs: {closest}." if see_also else said
        return Answer(
            asked,
            text,
            (),
            True,
            backend,
            see_also=see_also,
            dropped=tuple(dropped),
            timings=timings,
            retrieved=retrieved,
            refusal=refusal.value,
        )
    citations = tuple(dict.fromkeys(c for s in sentences for c in s.citations))
    return Answer(
        asked, render(sentences), citations, False, backend, tuple(sentences), (), tuple(dropped), timings, retrieved
    )


def _unmatched(words: Sequence[str]) -> str:
    """The refusal of a question the best paragraph does not speak of, naming the words it has nothing for."""
    named = ", ".join(f"“{w}”" for w in [w for w in words if len(w) > 1][:3])
    return (
        f"The documents do not seem to speak of this: the closest paragraph has nothing for {named}."
        if named
        else REFUSAL
    )


def excerpt(question: str, unit: Unit, searcher: Searcher, budget: int) -> str:
    """What an LLM is shown of `unit`: its whole text when short, else its sentences that best answer
    `question`, in reading order, within `budget` characters ("…" where text is left out). Prompt
    reading is most of a small local model's time; the verifier still checks against the whole unit."""
    if len(unit.text) <= budget:
        return unit.text
    scored = searcher.sentence_scores(question, unit)
    keep: set[int] = set()
    used = 0
    for i in sorted(range(len(scored)), key=lambda i: -scored[i][2]):
        if keep and used + len(scored[i][0]) > budget:
            continue
        keep.add(i)
        used += len(scored[i][0]) + 1
    parts, last = [], -1
    for i in sorted(keep):
        parts.append(("… " if i != last + 1 else "") + scored[i][0])
        last = i
    return " ".join(parts) + (" …" if last != len(scored) - 1 else "")


def _generate(
    question,
    hits,
    texts,
    generator: Generator,
    on_sentence,
    gives: Callable[[Sequence[Sentence]], bool],
    rules: Answering,
    quoted: Callable[[Sentence], Sentence],
) -> tuple[list[Sentence], list[str], bool]:
    """Stream the model's reply, verifying each sentence as soon as it is complete: the verified
    sentences, the dropped ones, and whether the model said the documents do not answer. Sentences are
    held back until those so far give the answer asked for (`gives`: a number for "how many", cited
    paragraphs that speak of an open question): an answer refused for lacking it has streamed nothing.
    (A model's own "the documents do not say" is never kept: with nothing else supported, the answer is
    refused.)"""
    kept: list[Sentence] = []
    dropped: list[str] = []
    streamed = 0
    buffer = ""
    declined = False

    def check(text: str) -> None:
        nonlocal streamed, declined
        sentences, lost, said_no = verify(resolve_keys(text, hits), hits, rules)
        declined = declined or said_no
        dropped.extend(lost)
        for sentence in sentences:
            kept.append(quoted(sentence))
            if on_sentence and (streamed or gives(kept)):
                for held in kept[streamed:]:
                    on_sentence(held)
                streamed = len(kept)

    received = 0
    for piece in generator.stream(messages(question, hits, texts)):
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
    return kept, dropped, declined
