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
