"""Sentence splitting shared by embedding views, extractive answers and citation checks."""

from __future__ import annotations

import re

_BREAK = re.compile(r"(?<=[.;:?!])\s+(?=[A-Z(“\"‘\[])")
_ABBREVIATIONS = {"no.", "nos.", "para.", "paras.", "art.", "e.g.", "i.e.", "vol.", "mr.", "ms.", "dr.", "st.", "cf."}


def split_sentences(text: str, *, min_chars: int = 20) -> list[str]:
    """Sentences of `text` (a break after ". ; : ? !" before a capital, not after "para." or an
    initial); fragments shorter than `min_chars` are merged into the previous sentence."""
    out: list[str] = []
    for part in _BREAK.split(text.strip()):
        last = out[-1].rsplit(" ", 1)[-1].lower() if out else ""
        if out and (len(part) < min_chars or last in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+", last)):
            out[-1] = f"{out[-1]} {part}"
        elif part:
            out.append(part)
    return out


_ITEM_BREAK = re.compile(r";\s+(?:and\s+|or\s+)?")


def list_items(sentence: str, *, min_words: int = 4) -> list[str]:
    """The items of a sentence that lists several with semicolons ("…: one tasks senior prosecutors…;
    another…; and a third expanded the mandate…"), each of at least `min_words` words, without the
    lead-in that ends in a colon; none when the sentence lists fewer than two."""
    _, colon, rest = sentence.partition(": ")
    items = [item.strip(" ;.") for item in _ITEM_BREAK.split(rest if colon and ";" in rest else sentence)]
    items = [item for item in items if len(item.split()) >= min_words]
    return items if len(items) > 1 else []
