"""HTML for the chat app, built from typed answers (no Gradio here): answers with a citation chip
after every claim, the evidence panel with the supporting sentence highlighted. Document text is data:
every piece of it is escaped for HTML and for Markdown, so a paragraph holding `<script>`, an image tag
or a link is shown as text and loads nothing."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.labels import label
from rag.lexical import terms
from rag.sentences import split_sentences
from rag.types import Answer, Citation, Document, Unit

# Characters HTML or Markdown would act on, written as HTML entities (shown as themselves, never parsed).
_INERT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_{}[]()#+-!|~:"})


def text(value: str) -> str:
    """`value` as inert HTML text, safe inside Markdown too."""
    return value.translate(_INERT)


def evidence(answer: Answer) -> list[Citation]:
    """The units an answer can show, each once: cited ones first, then the closest (for a refusal),
    then the rest retrieved. A chip names a unit by its position here."""
    return list(dict.fromkeys((*answer.citations, *answer.see_also, *answer.retrieved)))


def chip(turn: int, index: int, citation: Citation) -> str:
    """A clickable citation label; the app opens the evidence panel on it."""
    return (
        f'<a class="cite" href="#cite-{turn}-{index}" title="{text(citation.section or citation.doc)}">'
        f"{text(label(citation.doc, citation.para))}</a>"
    )


def answer_html(turn: int, answer: Answer) -> str:
    """An answer for the chat: each sentence followed by its chips; a refusal with the closest paragraphs."""
    index = {c: i for i, c in enumerate(evidence(answer))}
    if answer.refused:
        said = answer.text.split(" Closest paragraphs:")[0]
        closest = " ".join(chip(turn, index[c], c) for c in answer.see_also)
        return f"<p>{text(said)}</p>" + (f"<p>Closest paragraphs: {closest}</p>" if closest else "")
    body = " ".join(
        f"{text(s.text)} "
        + " ".join(chip(turn, index[c], c) for c in s.citations)
        + (f' <q class="quote">{text(s.quote)}</q>' if s.quote else "")
        for s in answer.sentences
    )
    return f"<p>{body}</p>"


def waiting_html(message: str) -> str:
    """A status line in place of an answer still to come."""
    return f'<p class="waiting">{text(message)}</p>'


def highlights(unit_text: str, claims: Sequence[str]) -> list[tuple[int, int]]:
    """Character spans of `unit_text` that support `claims`: a quoted sentence where it stands, else
    the unit's sentence sharing most words with the claim. Sorted, not overlapping."""
    spans = set()
    for claim in claims:
        quote = claim.strip().strip('“”"').strip()
        start = unit_text.find(quote) if quote else -1
        if start >= 0:
            spans.add((start, start + len(quote)))
            continue
        wanted = terms(claim)
        scored = [(len(wanted & terms(s)), s) for s in split_sentences(unit_text)]
        best = max(scored, default=(0, ""), key=lambda p: p[0])
        if best[0] and (start := unit_text.find(best[1])) >= 0:
            spans.add((start, start + len(best[1])))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def marked(unit_text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`unit_text` as HTML with `spans` in <mark>."""
    out, at = [], 0
    for start, end in spans:
        out += [text(unit_text[at:start]), f"<mark>{text(unit_text[start:end])}</mark>"]
        at = end
    return "".join(out) + text(unit_text[at:])


def panel_html(citation: Citation, document: Document | None, claims: Sequence[str], *, cited: bool) -> str:
    """The evidence panel: the unit's whole exact text with its supporting sentences highlighted, the
    document's symbol and title, page and section."""
    title = f"<div class='doc-title'>{text(document.title)}</div>" if document and document.title else ""
    date = f" · {text(document.date)}" if document and document.date else ""
    status = "cited in the answer" if cited else "retrieved, not cited"
    return (
        f"<div class='evidence'><h3>{text(label(citation.doc, citation.para))}</h3>{title}"
        f"<div class='meta'>Page {citation.page} · {text(citation.section or 'no section heading')}{date}"
        f" · {status}</div>"
        f"<blockquote class='unit'>{marked(citation.text, highlights(citation.text, claims))}</blockquote>"
        "</div>"
    )


def neighbours_html(before: Unit | None, after: Unit | None) -> str:
    """The paragraphs around the one shown."""
    parts = []
    for name, unit in (("Before", before), ("After", after)):
        if unit is not None:
            parts.append(
                f"<div class='neighbour'><b>{name}: {text(label(unit.doc, unit.para))}</b> "
                f"(p. {unit.page})<blockquote>{text(unit.text)}</blockquote></div>"
            )
    return "".join(parts) or "<p>No neighbouring paragraphs in this document.</p>"


def others_html(turn: int, answer: Answer) -> str:
    """The units retrieved for an answer but not cited by it, as chips with their opening words."""
    cited = set(answer.citations)
    rows = [
        f"<li>{chip(turn, i, c)} {text(_opening(c.text))}</li>"
        for i, c in enumerate(evidence(answer))
        if c not in cited
    ]
    return f"<ul class='others'>{''.join(rows)}</ul>" if rows else "<p>None: every retrieved paragraph is cited.</p>"


def _opening(value: str, words: int = 18) -> str:
    parts = value.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


def quote(citation: Citation, claims: Sequence[str]) -> str:
    """A quotation with its citation, as pasted into a draft: the highlighted sentences (else the
    whole unit) in quotation marks, then the label."""
    spans = highlights(citation.text, claims)
    body = " … ".join(citation.text[s:e] for s, e in spans) if spans else citation.text
    body = re.sub(r"\s+", " ", body).strip()
    return f"“{body}” ({label(citation.doc, citation.para)})."
