"""Citation labels as researchers write them: "S/2020/754, para. 23", "S/2020/754, note 2"."""

from __future__ import annotations

import re

_PAGE_BLOCK = re.compile(r"p(\d+)\.(\d+)")
# a paragraph in a part that restarts its numbering: "annex-I.3", "annex-II.decision-1.pp2"
# … or in a text a body paragraph introduces: "para-11.draft-resolution.5"; a compilation's contribution
_KINDS = (
    r"(?:annex|appendix|enclosure|attachment|decision|draft-decision|intersessional-decision"
    r"|resolution|draft-resolution|contribution)(?:-[^.]+)?"
)
_IN_PART = re.compile(rf"((?:para-\d+|{_KINDS})(?:\.{_KINDS})*)\.(\d+|pp\d+)")
_TWO_WORDS = ("draft-", "intersessional-")


def label(doc: str, para: str) -> str:
    """How a reader cites unit `para` of `doc`: numbered paragraphs as "para. N", footnotes as
    "note N", a resolution's preambular paragraphs as "preambular para. N" (never to be taken for an
    operative paragraph), unnumbered text by its page, a paragraph of a part that restarts its
    numbering by the part ("annex II, decision 1, para. 3")."""
    if para.isdigit():
        return f"{doc}, para. {para}"
    if para.startswith("fn") and para[2:].isdigit():
        return f"{doc}, note {para[2:]}"
    if para.startswith("pp") and para[2:].isdigit():
        return f"{doc}, preambular para. {para[2:]}"
    if match := _PAGE_BLOCK.fullmatch(para):
        return f"{doc}, p. {match.group(1)} (unnumbered text {match.group(2)})"
    if match := _IN_PART.fullmatch(para):  # "annex-II.decision-1.3": annex II, decision 1, para. 3
        parts = [_part(p) for p in match.group(1).split(".")]
        return f"{doc}, {', '.join(parts)}, {label(doc, match.group(2)).split(', ', 1)[1]}"
    return f"{doc}, para. {para}"


def _part(slug: str) -> str:
    if slug.startswith("para-"):
        return f"para. {slug[5:]}"
    kind, _, name = slug.partition("-") if not slug.startswith(_TWO_WORDS) else _two_words(slug)
    return f"{kind.replace('-', ' ')} {name}".strip()


def _two_words(slug: str) -> tuple[str, str, str]:
    first, _, rest = slug.partition("-")
    second, _, name = rest.partition("-")
    return f"{first} {second}", "-", name
