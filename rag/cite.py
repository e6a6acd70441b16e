"""Citation checking, deterministic: markers must name retrieved units, and every answer sentence must
be supported by a unit it cites — else it is re-attributed to the retrieved unit that supports it,
or dropped. No LLM judges."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rag.answer_type import figures, names
from rag.indexed import doc_key
from rag.lexical import terms
from rag.sentences import split_sentences
from rag.settings import Answering
from rag.types import Citation, Hit, Sentence

# [S/2020/754 ¶23], also the forms small models write: [S/2020/754, para. 23], [S/2020/754 paragraph 23]
MARKER = re.compile(r"\[\s*([A-Z][^\[\]]*?)[\s,]*(?:¶|paras?\.?|paragraphs?)\s*([A-Za-z]*\d+(?:\.\d+)?)\s*\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_APOSTROPHE = re.compile(r"[’‘]")
_POSSESSIVE = re.compile(r"'s$")
_NEGATION = re.compile(r"\b(?:no|not|never|none|nor|neither|nobody|nothing|cannot|without)\b|n[’']t\b", re.I)
_REFUSAL = re.compile(
    r"\b(?:do(?:es)? not (?:say|mention|contain|specify|state|provide|answer|address)"
    r"|no information|not (?:mentioned|stated|specified|provided)"
    r"|cannot (?:be )?(?:found|answered))\b",
    re.I,
)
_QUOTE_GAP = " … "  # between the sentences of a quote that are not next to each other
SHIPPED = Answering()  # the answering rules as shipped (rag/settings.py)


def support(sentence: str, text: str, *, min_words: int = SHIPPED.min_claim_words, context: str = "") -> float:
    """How well `text` supports `sentence`: the share of the sentence's content words it contains,
    and 0 when the sentence states a number (in figures or in words) that the text does not, names
    someone or somewhere that neither the text nor its `context` (its section heading) names ("Kenya"
    in a list of countries the paragraph never gives), negates where the text never does ("No State
    adopted a road map" against a paragraph on a State that did), or has under `min_words` content
    words."""
    sentence, text = figures(sentence), figures(text)
    if set(_NUMBER.findall(sentence)) - set(_NUMBER.findall(text)):
        return 0.0
    if _unnamed(sentence, f"{text} {context}"):
        return 0.0
    if _negations(sentence) - _negations(text):
        return 0.0
    words = _content(sentence)
    if len(words) < min_words:  # "HACKED.", "Yes." or "$32,000." is no claim a paragraph can be checked against
        return 0.0
    return len(words & _content(text)) / len(words)


def _content(text: str) -> set[str]:
    """The content words of `text`, each figure one of them ("Every 6 months.": three; "$32,000": one)."""
    return set(terms(_NUMBER.sub(" ", text))) | set(_NUMBER.findall(text))


def _unnamed(sentence: str, text: str) -> list[str]:
    """The names `sentence` gives (its first word aside: `names`) that `text` does not hold, ignoring
    case, the apostrophe's form and a possessive "'s"."""
    plain = _APOSTROPHE.sub("'", text)
    written = (_POSSESSIVE.sub("", _APOSTROPHE.sub("'", name)) for name in names(sentence))
    return [name for name in written if not re.search(rf"(?<!\w){re.escape(name)}", plain, re.I)]


def _negations(text: str) -> set[str]:
    """The negating words of `text` ("n't" and "cannot" counted as "not")."""
    found = {m.lower().replace("’", "'") for m in _NEGATION.findall(text)}
    return {"not" if word in {"n't", "cannot"} else word for word in found}


def is_refusal(sentence: str) -> bool:
    """True for a sentence saying the documents do not answer."""
    return bool(_REFUSAL.search(sentence))


def verify(draft: str, hits: Sequence[Hit], rules: Answering = SHIPPED) -> tuple[list[Sentence], list[str], bool]:
    """Check a draft answer against the retrieved units (`rules.support`: the share of a sentence's
    content words that the unit it cites must hold).

    Returns the supported sentences (with their citations), the dropped sentences, and whether the
    draft said the documents do not answer."""
    retrieved = {(doc_key(h.unit.doc), h.unit.para): Citation.of(h.unit) for h in hits}
    kept: list[Sentence] = []
    dropped: list[str] = []
    refused = False
    for raw in split_sentences(draft, min_chars=12):
        cited = [retrieved.get((doc_key(d), p)) for d, p in MARKER.findall(raw)]
        text = " ".join(MARKER.sub("", raw).split()).strip()
        text = re.sub(r"\s+([.,;:])", r"\1", text)
        if not text:
            continue
        if is_refusal(text):
            refused = True
            continue
        claimed = [c for c in dict.fromkeys(cited) if c is not None and _supports(c, text, rules) >= rules.support]
        if not claimed:  # re-attribute to the retrieved unit that supports the sentence best
            best = max(retrieved.values(), key=lambda c: _supports(c, text, rules), default=None)
            if best is not None and _supports(best, text, rules) >= rules.support:
                claimed = [best]
        if claimed:
            kept.append(Sentence(text, tuple(claimed), True, quote(text, claimed)))
        else:
            dropped.append(text)
    return kept, dropped, refused and not kept


def _supports(citation: Citation, sentence: str, rules: Answering) -> float:
    return support(sentence, citation.text, min_words=rules.min_claim_words, context=citation.section)


def quote(sentence: str, citations: Sequence[Citation], *, most: int = 2) -> str:
    """The cited units' own sentences that support `sentence` (a model's words), in reading order: the
    one sharing most of its content words and figures, then at most `most - 1` more each adding two or
    more of them ("402 casualties …, 199 attributed to Al-Shabaab" rests on two). Nothing when the
    sentence already is in the units' words (it repeats most of the quote's content words)."""
    claim = _content(figures(sentence))
    pool = _sentences(citations)
    contents = [_content(figures(s)) for s in pool]
    chosen: list[int] = []
    missing = set(claim)
    while len(chosen) < most:
        gains = [len(missing & words) for words in contents]
        best = max(range(len(pool)), key=gains.__getitem__, default=None)
        if best is None or gains[best] < (1 if not chosen else 2):
            break
        chosen.append(best)
        missing -= contents[best]
    words = set().union(*(contents[i] for i in chosen))
    if not words or _repeats(claim, words):
        return ""
    return _QUOTE_GAP.join(pool[i] for i in sorted(chosen))


def widen(sentence: Sentence, answering: Sequence[str]) -> Sentence:
    """`sentence` (a model's, verified) with `answering`, sentences of its cited units, added to its quote,
    all in reading order; those the sentence itself repeats are left out."""
    pool = _sentences(sentence.citations)
    claim = _content(figures(sentence.text))
    added = {s for s in answering if s in pool and not _repeats(claim, _content(figures(s)))}
    kept = [s for s in dict.fromkeys(pool) if s in added or (sentence.quote and s in sentence.quote)]
    return replace(sentence, quote=_QUOTE_GAP.join(kept)) if kept else sentence


def _sentences(citations: Sequence[Citation]) -> list[str]:
    return [s for c in citations for s in split_sentences(c.text)]


def _repeats(claim: set[str], words: set[str]) -> bool:
    """Whether a claim with content words `claim` repeats a passage with `words` (holds 80% of them)."""
    return len(words - claim) < 0.2 * len(words)


def render(sentences: Sequence[Sentence]) -> str:
    """Answer text: each sentence, its marker group, and its quote (when it has one)."""
    return " ".join(f"{s.text} {''.join(c.marker for c in s.citations)}{s.evidence}" for s in sentences)
