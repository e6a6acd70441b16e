"""Citation labels as researchers write them: "S/2020/754, para. 23", "S/2020/754, note 2"."""

from __future__ import annotations

import re

_PAGE_BLOCK = re.compile(r"p(\d+)\.(\d+)")


def label(doc: str, para: str) -> str:
    """How a reader cites unit `para` of `doc`: numbered paragraphs as "para. N", footnotes as
    "note N", a resolution's preambular paragraphs as "preambular para. N" (never to be taken for an
    operative paragraph), unnumbered text by its page."""
    if para.isdigit():
        return f"{doc}, para. {para}"
    if para.startswith("fn") and para[2:].isdigit():
        return f"{doc}, note {para[2:]}"
    if para.startswith("pp") and para[2:].isdigit():
        return f"{doc}, preambular para. {para[2:]}"
    if match := _PAGE_BLOCK.fullmatch(para):
        return f"{doc}, p. {match.group(1)} (unnumbered text {match.group(2)})"
    return f"{doc}, para. {para}"
