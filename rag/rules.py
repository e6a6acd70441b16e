"""The parser's tuned numbers in one place: each with its bounds and the reason for its value."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def _rule(default: float, low: float, high: float, why: str):  # noqa: ANN202 - a dataclass field
    return field(default=default, metadata={"bounds": (low, high), "why": why})


@dataclass(frozen=True, slots=True)
class ParserRules:
    """Thresholds of segmentation, furniture and symbol finding (README, "Parsing")."""

    # -- segmentation
    numbered_share: float = _rule(
        0.5, 0.2, 0.9, "numbered paragraphs must hold this share of a stretch's text, else its numbers are a list"
    )
    max_chars_per_number: int = _rule(
        2500, 800, 10000, "more text than this per numbered paragraph means the numbers are stray, not paragraphs"
    )
    min_chars_per_number: int = _rule(
        80, 20, 200, "numbered items this short on average are a list or table (signatories, agenda), not paragraphs"
    )
    number_lookahead: int = _rule(2, 0, 5, "how many paragraph numbers may be skipped (a misread number) and warned")
    heading_max_chars: int = _rule(150, 80, 300, "a standalone heading line is at most this long")
    between_heading_max_chars: int = _rule(
        400, 160, 800, "a one- or two-line heading between numbered paragraphs is at most this long"
    )
    heading_wrap_lines: int = _rule(2, 1, 4, "a heading's title wraps over at most this many more lines")
    heading_wrap_chars: int = _rule(100, 60, 200, "a wrapped heading line longer than this is body text")
    part_title_lines: int = _rule(4, 2, 6, "an annex's title under its heading runs over at most this many lines")
    title_max_chars: int = _rule(70, 40, 120, "a sub-heading or box title is at most this long")
    title_max_words: int = _rule(12, 6, 25, "… and at most this many words")
    block_short_line: float = _rule(
        0.7, 0.5, 0.9, "a sentence-final line shorter than this share of the widest line ends a layout block"
    )
    numbered_title_chars: int = _rule(
        45, 20, 70, 'a numbered line this short that reads as a title is a numbered heading ("1. Background")'
    )
    heading_share_of_numbers: float = _rule(
        0.3, 0.1, 0.6, "a part whose numbered lines are this often titles has numbered headings, not paragraphs"
    )
    # -- page furniture and footnotes
    furniture_zone_lines: int = _rule(
        4, 2, 8, "running headers and footers sit in this many lines at a page's top or foot"
    )
    furniture_page_share: float = _rule(
        0.4, 0.2, 0.8, "a line repeated (digits aside) at the top or foot of this share of pages is furniture"
    )
    furniture_min_pages: int = _rule(3, 2, 5, "… and on at least this many pages")
    # -- front matter
    symbol_search_lines: int = _rule(40, 10, 80, "the document symbol is printed within this many lines of page 1")
    title_chars: int = _rule(300, 100, 600, "a title is cut at this many characters")

    def __post_init__(self) -> None:
        for f in fields(self):
            low, high = f.metadata["bounds"]
            value = getattr(self, f.name)
            if not low <= value <= high:
                raise ValueError(f"parser rule {f.name}={value!r} is outside its bounds {low}–{high}")


RULES = ParserRules()
