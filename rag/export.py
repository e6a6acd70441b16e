"""Answers and conversations as Markdown a researcher pastes into a draft: each claim followed by a
footnote ("[^1]: S/2020/754, para. 3."), then a reference list of the documents cited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rag.labels import label
from rag.types import Answer, Citation, Document


def answer_markdown(answer: Answer, documents: Mapping[str, Document]) -> str:
    """One answer with its footnotes and references."""
    return conversation_markdown([answer], documents)


def conversation_markdown(answers: Sequence[Answer], documents: Mapping[str, Document]) -> str:
    """Questions and answers in order; footnotes numbered once across the whole conversation."""
    notes: dict[Citation, int] = {}
    blocks = []
    for answer in answers:
        if answer.refused:
            body = answer.text
        else:
            body = " ".join(
                s.text + "".join(f"[^{notes.setdefault(c, len(notes) + 1)}]" for c in s.citations) + s.evidence
                for s in answer.sentences
            )
        blocks.append(f"**Q:** {answer.question}\n\n{body}")
    lines = ["\n\n".join(blocks)]
    if notes:
        lines.append("\n".join(f"[^{n}]: {label(c.doc, c.para)}." for c, n in notes.items()))
        cited = dict.fromkeys(c.doc for c in notes)
        lines.append("**References**\n\n" + "\n".join(f"- {reference(doc, documents.get(doc))}" for doc in cited))
    return "\n\n".join(lines) + "\n"


def reference(doc: str, document: Document | None) -> str:
    """A reference-list entry: symbol, title and date when known."""
    parts = [doc] + [p for p in ((document.title, document.date) if document else ()) if p]
    return ", ".join(parts) + "."
