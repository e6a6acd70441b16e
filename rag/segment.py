"""Body lines → units: numbered paragraphs, preambular paragraphs, boxes, annex and layout blocks,
with the heading path of each."""

from __future__ import annotations

import enum
import re
from collections import Counter
from dataclasses import dataclass, field

from rag.layout import Line
from rag.repair import REF_TOKEN, finish, join_lines
from rag.rules import RULES
from rag.types import Unit, UnitKind

_NUMBERED = re.compile(r"(\d{1,3}) ?\.\s+([^\s.].*)")
_CHAPTER = re.compile(r"([IVXL]+)\.\s+(\S.*)")
_CHAPTER_WORD = re.compile(r"Chapter ([IVXL]+)")
_LETTER = re.compile(r"([A-Z])\.\s+(\S.*)")
_ANNEX = re.compile(r"(?:Annex|Appendix|Enclosure|ANNEX|APPENDIX|ENCLOSURE)(?: [IVXL]+| \d+)?")
_TOC = re.compile(r".*(?:\.\s?){4,}\s*\d+")
_COUNCIL = re.compile(
    r"The (?:Security Council|General Assembly|Human Rights Council|Economic and Social Council"
    r"|[A-Z][\w ]{2,60}(?:Council|Assembly|Conference|Commission|Board))\s*,"
)
_OPENER = re.compile(r"[A-Z][a-z]+(?:ing|ed)")
_OPENER_WORDS = {
    "Mindful",
    "Aware",
    "Conscious",
    "Cognizant",
    "Deeply",
    "Gravely",
    "Strongly",
    "Further",
    "Also",
    "Seriously",
    "Firmly",
    "Bearing",
    "Acting",
}
_TERMINAL = (".", ";", ":", "!", "?", "”", ")", ".’", ".'")
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50}


@dataclass(frozen=True, slots=True)
class Segmented:
    """Units of the body (footnotes excluded), the front-matter lines, and warnings."""

    units: tuple[Unit, ...]
    front: tuple[str, ...]
    warnings: tuple[str, ...]
    cited_in: dict[int, Unit] = field(default_factory=dict)  # footnote index → the unit citing it


@dataclass(slots=True)
class _Open:
    kind: UnitKind
    para: str
    page: int
    section: str
    lines: list[str] = field(default_factory=list)


class Mode(enum.Enum):
    """The part of a document the segmenter is in; `_Segmenter` describes the transitions."""

    FRONT = "front"
    PREAMBLE = "preamble"
    BODY = "body"
    ANNEX = "annex"


def roman(numeral: str) -> int:
    """Value of a Roman numeral (I–L range used by UN chapter headings)."""
    values = [_ROMAN[c] for c in numeral]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


def segment(lines: list[Line], *, doc: str, ocr: bool, vocab: Counter[str]) -> Segmented:
    """Cut body lines into units; documents without numbered paragraphs fall back to layout blocks."""
    seg = _Segmenter(lines, doc=doc, ocr=ocr, vocab=vocab)
    seg.run()
    numbered = [len(u.text) for u in seg.units if u.kind in ("paragraph", "preamble")]
    # Stray numbered lines (a list, notes of a book) do not make a paragraph-numbered document.
    body = (
        sum(len(ln.text) for ln in lines)
        - sum(len(t) for t in seg.front)
        - sum(len(ln.text) for ln in seg.annex)
        - seg.heading_chars
    )
    if (
        not numbered
        or sum(numbered) < RULES.numbered_share * body
        or sum(numbered) > RULES.max_chars_per_number * len(numbered)
    ):
        blocks = layout_blocks([ln for ln in lines if ln.text])
        units = seg.blocks_to_units(blocks, kind="paragraph", section="")
        return Segmented(tuple(units), (), (), seg.cited_in)
    return Segmented(tuple(seg.units), tuple(seg.front), tuple(seg.warnings), seg.cited_in)


_PART_ANNEX = re.compile(r"(?i)(annex|appendix|enclosure|attachment)(?: ([IVXL]+|\d+))?")
_PART_DECISION = re.compile(
    r"(?:(Intersessional decision|Draft decision|Decision|Draft resolution|Resolution) ([IVXL]+|\d+(?:/\d+)?)"
    r"|(\d{4}/\d{1,3}))"
)


def _parts(lines: list[Line], first_label: str) -> list[tuple[tuple[tuple[str, str], ...], Line | None, list[Line]]]:
    """Annex lines cut at part headings: (the part's path of (kind, label), its heading line, its lines).
    An annex heading starts a top-level part; a decision or resolution heading a part inside it."""
    top = _part_of(first_label) or ("annex", "")
    path: tuple[tuple[str, str], ...] = (top,)
    parts: list[tuple[tuple[tuple[str, str], ...], Line | None, list[Line]]] = [(path, None, [])]
    for ln in lines:
        part = _part_of(ln.text)
        if part is not None:
            if part[0] not in _TOP_KINDS:
                path = (path[0], part)
            elif _order(part[1]) > _order(path[0][1]) or len(path) == 1:
                path = (part,)
            else:  # "Annex I" after annex III's decision 3: that decision's own annex
                path = (*path[:2], part)
            parts.append((path, ln, []))
        else:
            parts[-1][2].append(ln)
    return parts


_TOP_KINDS = {"annex", "appendix", "enclosure", "attachment"}


def _order(label: str) -> int:
    return int(label) if label.isdigit() else roman(label) if label else 0


def _part_of(text: str) -> tuple[str, str] | None:
    if m := _PART_ANNEX.fullmatch(text):
        return m.group(1).lower(), m.group(2) or ""
    if m := _PART_DECISION.fullmatch(text):
        if m.group(3):
            return "decision", m.group(3)
        return m.group(1).lower(), m.group(2)
    return None


def _slug(kind: str, label: str) -> str:
    return "-".join([kind.replace(" ", "-"), *([label] if label else [])])


def _part_label(path: tuple[tuple[str, str], ...]) -> str:
    return " / ".join(f"{kind[:1].upper()}{kind[1:]} {label}".strip() for kind, label in path)


def layout_blocks(lines: list[Line]) -> list[list[Line]]:
    """Group lines into layout paragraphs: gaps, first-line indents, and short sentence-final lines."""
    blocks: list[list[Line]] = []
    width = max((len(ln.text) for ln in lines), default=0)
    for ln in lines:
        prev = blocks[-1][-1] if blocks and blocks[-1] else None
        if not ln.text:
            if blocks and blocks[-1]:
                blocks.append([])
            continue
        starts = prev is None or (
            prev.text.endswith(_TERMINAL)
            and ln.text[0].isupper()
            and (ln.indent or len(prev.text) < RULES.block_short_line * width)
        )
        if starts and blocks and blocks[-1]:
            blocks.append([ln])
        elif blocks:
            blocks[-1].append(ln)
        else:
            blocks.append([ln])
    return [b for b in blocks if b]


class _Segmenter:
    """The state of one pass over a document's body lines.

    `step` takes one line at a time; empty lines and table-of-contents lines ("Introduction ..... 3")
    are skipped in every mode. The mode only moves forward, FRONT → (PREAMBLE) → BODY → ANNEX:

    FRONT     masthead, title and any text before the first unit; its lines are kept in `front`
              (for the document's title and date), not as units.
              → PREAMBLE on a line that is only "The Security Council," (`_COUNCIL`: or the General
                Assembly, or "The … Council/Assembly/Conference/Commission/Board,").
              → BODY on numbered paragraph 1 ("1. …"; no other number is accepted before the body).
    PREAMBLE  every line joins the open preambular paragraph `ppN`, or starts the next one after a gap,
              at an indented capitalised line, or at an opener word ("Recalling", "Mindful") following
              a line that ends in "," or ";" (`starts_preamble`).
              → BODY on numbered paragraph 1.
    BODY      numbered paragraphs, accepted when numbered `expected` to `expected` + 2 and not going on
              in lower case (a skip is warned about); between them headings between paragraphs
              (`heading_between_paragraphs`), sub-headings and text boxes (`subheading_or_box`). Other
              lines continue the open unit, or go to `front` when none is open.
              → ANNEX on a line that is exactly "Annex", "Appendix" or "Enclosure", optionally with a
                Roman or Arabic number (`_ANNEX`); it becomes the annexes' section.
    ANNEX     final: every later line is kept in `annex`, cut into layout blocks of kind "text" after
              the pass; no headings or numbered paragraphs are looked for.

    In FRONT, PREAMBLE and BODY a line is first tried as a heading standing alone (`heading`): "Chapter
    IV" with its title on the next line, "II. Title" (in BODY, once a chapter is set, only the next
    numeral), or "C. Title" (the next letter; "A" after each chapter); then as an accepted numbered
    paragraph; only then for the transitions above. Headings change no mode: they close the open unit
    and set the section path (`chapter`, `letter`, `subhead`).
    """

    def __init__(self, lines: list[Line], *, doc: str, ocr: bool, vocab: Counter[str]) -> None:
        self.lines, self.doc, self.ocr, self.vocab = lines, doc, ocr, vocab
        # results
        self.units: list[Unit] = []
        self.front: list[str] = []
        self.warnings: list[str] = []
        self.cited_in: dict[int, Unit] = {}
        self.heading_chars = 0  # text of the headings found, which is neither paragraphs nor body text
        self.titled = 0  # numbered lines that read as titles (an agenda, numbered headings), not paragraphs
        # the state machine: its mode, the unit being built, and the numbering it expects next
        self.mode = Mode.FRONT
        self.open: _Open | None = None
        self.expected = 1  # the next paragraph number
        self.preambles = 0  # preambular paragraphs so far
        self.per_page: Counter[int] = Counter()  # unnumbered blocks so far on each page, for "p9.1" ids
        # the section path of the units being built
        self.chapter: tuple[int, str, str] | None = None  # value, numeral, title
        self.letter: tuple[str, str] | None = None
        self.subhead = ""
        # ANNEX mode: its heading and its lines, segmented after the pass
        self.annex_label = ""
        self.annex: list[Line] = []

    # -- the pass -------------------------------------------------------------------------
    def run(self) -> None:
        i = 0
        while i < len(self.lines):
            i += self.step(i)
        self.close()
        if self.annex:
            self.units.extend(self.annex_units())

    def annex_units(self) -> list[Unit]:
        """Units of the annexes: a part (an annex, a decision or resolution in it) whose paragraphs are
        numbered from 1 again keeps its numbers under the part's id (`annex-II.decision-1.3`); the other
        parts' text is cut into layout blocks of kind "text", as one stretch."""
        units: list[Unit] = []
        pending: list[Line] = []
        pending_section = self.annex_label
        for path, heading, lines in _parts(self.annex, self.annex_label):
            numbered = self.numbered_part(path, heading, lines)
            if numbered is None:
                if not pending:
                    pending_section = self.annex_label if not units else _part_label(path)
                pending.extend(([heading] if heading else []) + lines)
                continue
            if pending:
                units.extend(self.blocks_to_units(layout_blocks(pending), kind="text", section=pending_section))
                pending = []
            units.extend(numbered)
        if pending:
            units.extend(self.blocks_to_units(layout_blocks(pending), kind="text", section=pending_section))
        return units

    def numbered_part(
        self, path: tuple[tuple[str, str], ...], heading: Line | None, lines: list[Line]
    ) -> list[Unit] | None:
        """The units of a part whose paragraphs are confidently numbered 1, 2, 3…, else None."""
        sub = _Segmenter(lines, doc=self.doc, ocr=self.ocr, vocab=self.vocab)
        sub.per_page = Counter(self.per_page)
        sub.run()
        paragraphs = [u for u in sub.units if u.kind == "paragraph"]
        numbers = [int(u.para) for u in paragraphs if u.para.isdigit()]
        text = sum(len(ln.text) for ln in lines) - sum(len(t) for t in sub.front) - sub.heading_chars
        chars = sum(len(u.text) for u in paragraphs)
        if (
            len(numbers) < 2
            or numbers != list(range(1, len(numbers) + 1))
            or sub.warnings
            or sub.annex
            or chars < RULES.numbered_share * text
            or chars < RULES.min_chars_per_number * len(numbers)
            or sub.titled > RULES.heading_share_of_numbers * len(numbers)
        ):
            return None
        slug = ".".join(_slug(kind, label) for kind, label in path)
        title = finish(" ".join(t for t in sub.front if not _COUNCIL.fullmatch(t)), ocr=self.ocr, vocab=self.vocab)
        label = _part_label(path) + (f" {title}" if title and len(title) <= RULES.title_chars else "")
        self.per_page = sub.per_page
        out = []
        for u in sub.units:
            para = f"{slug}.{u.para}" if u.kind in ("paragraph", "preamble") else u.para
            section = f"{label} / {u.section}" if u.section else label
            out.append(Unit(u.doc, para, u.kind, u.page, section, u.text))
        for index, unit in sub.cited_in.items():
            self.cited_in.setdefault(index, next((o for o in out if o.text == unit.text and o.page == unit.page), unit))
        return out

    def step(self, i: int) -> int:
        ln = self.lines[i]
        text = ln.text
        if not text or _TOC.fullmatch(text):
            return 1
        if self.mode is Mode.ANNEX:
            self.annex.append(ln)
            return 1
        consumed = self.heading(i)
        if consumed:
            self.heading_chars += sum(len(ln.text) for ln in self.lines[i : i + consumed])
            return consumed
        m = _NUMBERED.fullmatch(text)
        if m and self.accepts(int(m.group(1)), m.group(2)):
            self.start_paragraph(int(m.group(1)), m.group(2), ln.page)
            rest = m.group(2).rstrip(". ")
            self.titled += self.title_like(rest) and (len(rest) <= RULES.numbered_title_chars or not self.continues(i))
            return 1
        if self.mode is Mode.FRONT and _COUNCIL.fullmatch(text):  # FRONT → PREAMBLE
            self.mode = Mode.PREAMBLE
            return 1
        if self.mode is Mode.BODY and _ANNEX.fullmatch(text):  # BODY → ANNEX
            self.close()
            self.mode, self.annex_label = Mode.ANNEX, text
            return 1
        if self.mode is Mode.BODY and (consumed := self.heading_between_paragraphs(i)):
            self.heading_chars += sum(len(ln.text) for ln in self.lines[i : i + consumed])
            return consumed
        if self.mode is Mode.BODY and self.gap_before(i) and self.title_like(text):
            return self.subheading_or_box(i)
        if self.mode is Mode.PREAMBLE:
            if self.open is None or self.starts_preamble(i):
                self.close()
                self.preambles += 1
                self.open = _Open("preamble", f"pp{self.preambles}", ln.page, self.section())
            self.open.lines.append(text)
        elif self.mode is Mode.FRONT or self.open is None:
            self.front.append(text)
        else:
            self.open.lines.append(text)
        return 1

    # -- decisions ------------------------------------------------------------------------
    def accepts(self, number: int, rest: str) -> bool:
        if self.mode in (Mode.FRONT, Mode.PREAMBLE):
            return number == 1
        return self.expected <= number <= self.expected + RULES.number_lookahead and not rest[0].islower()

    def heading(self, i: int) -> int:
        text = self.lines[i].text
        if len(text) > RULES.heading_max_chars or text.endswith((",", ";")):
            return 0
        if m := _CHAPTER_WORD.fullmatch(text):
            j = self.next_text(i)
            if j is not None:
                self.set_chapter(m.group(1), self.lines[j].text)
                return j - i + 1
        if (m := _CHAPTER.fullmatch(text)) and m.group(2)[0].isupper():
            value = roman(m.group(1))
            if self.mode is not Mode.BODY or self.chapter is None or value == self.chapter[0] + 1:
                consumed, title = self.standalone(i, m.group(2))
                if consumed:
                    self.set_chapter(m.group(1), title)
                    return consumed
        if (m := _LETTER.fullmatch(text)) and m.group(2)[0].isupper():
            expected = "A" if self.letter is None else chr(ord(self.letter[0]) + 1)
            if m.group(1) == expected and self.mode is not Mode.ANNEX:
                consumed, title = self.standalone(i, m.group(2))
                if consumed:
                    self.close()
                    self.letter, self.subhead = (m.group(1), title), ""
                    return consumed
        return 0

    def standalone(self, i: int, title: str) -> tuple[int, str]:
        """A heading stands alone: after at most two wrapped title lines comes a gap, a page end,
        a numbered paragraph or a lettered heading. Returns (lines consumed, title) or (0, _)."""
        page = self.lines[i].page
        for extra in range(RULES.heading_wrap_lines + 1):
            j = i + 1 + extra
            after = self.lines[j] if j < len(self.lines) else None
            if (
                after is None
                or not after.text
                or after.page != page
                or _NUMBERED.fullmatch(after.text)
                or (_LETTER.fullmatch(after.text) and self.title_like(after.text))
            ):
                wrapped = [ln.text for ln in self.lines[i + 1 : j]]
                return j - i, finish(" ".join([title, *wrapped]), ocr=self.ocr, vocab=self.vocab)
            if len(after.text) > RULES.heading_wrap_chars or after.text.endswith((".", ",", ";")):
                break
        return 0, title

    def heading_between_paragraphs(self, i: int) -> int:
        """One or two lines after a finished paragraph, then a gap and the next numbered paragraph, not
        ending as a sentence does: a subheading, also when too long or numbered to look like a title
        ("3. Coordination with the African Union Transition Mission in Somalia/African")."""
        if self.open is None or not self.open.lines or not self.open.lines[-1].endswith(_TERMINAL):
            return 0
        for size in (1, 2):
            block = self.lines[i : i + size]
            if len(block) < size or not all(ln.text and ln.page == block[0].page for ln in block):
                return 0
            if i + size < len(self.lines) and self.lines[i + size].text:
                continue  # no gap after it (yet)
            title = " ".join(ln.text for ln in block)
            j = self.next_text(i + size - 1)
            m = _NUMBERED.fullmatch(self.lines[j].text) if j is not None else None
            heading_like = (title[0].isupper() or title[0].isdigit()) and not title.endswith(_TERMINAL)
            if (
                m
                and self.accepts(int(m.group(1)), m.group(2))
                and heading_like
                and len(title) <= RULES.between_heading_max_chars
            ):
                self.close()
                self.subhead = _NUMBERED.sub(r"\2", title)
                return size
            return 0
        return 0

    def set_chapter(self, numeral: str, title: str) -> None:
        self.close()
        self.chapter, self.letter, self.subhead = (roman(numeral), numeral, title), None, ""

    def subheading_or_box(self, i: int) -> int:
        ln = self.lines[i]
        j = self.next_text(i)
        follows_gap = i + 1 >= len(self.lines) or not self.lines[i + 1].text
        nxt = self.lines[j].text if j is not None else ""
        if follows_gap and (j is None or _NUMBERED.fullmatch(nxt) or self.title_like(nxt)):
            self.close()
            prev = self.lines[i - 2].text if i >= 2 and not self.lines[i - 1].text else ""
            chained = self.subhead and prev and self.subhead.endswith(prev)
            self.subhead = f"{self.subhead} / {ln.text}" if chained else ln.text
            return 1
        if self.open is None or not self.open.lines or self.open.lines[-1].endswith(_TERMINAL):
            self.close()
            self.per_page[ln.page] += 1
            self.open = _Open("text", f"p{ln.page}.{self.per_page[ln.page]}", ln.page, self.section())
            self.open.lines.append(ln.text + ("" if ln.text.endswith(_TERMINAL) else ":"))
            return 1
        self.open.lines.append(ln.text)
        return 1

    def starts_preamble(self, i: int) -> bool:
        ln, prev = self.lines[i], self.lines[i - 1] if i else None
        if prev is None or not prev.text or prev.page != ln.page and not self.open:
            return True
        if ln.indent and ln.text[0].isupper():
            return True
        word = ln.text.split(" ", 1)[0].rstrip(",")
        return prev.text.endswith((",", ";")) and (word in _OPENER_WORDS or bool(_OPENER.fullmatch(word)))

    def continues(self, i: int) -> bool:
        """The line after line i goes on with its text (no gap, same page)."""
        after = self.lines[i + 1] if i + 1 < len(self.lines) else None
        return (
            after is not None
            and bool(after.text)
            and after.page == self.lines[i].page
            and not _NUMBERED.fullmatch(after.text)
        )

    def gap_before(self, i: int) -> bool:
        return i == 0 or not self.lines[i - 1].text or self.lines[i - 1].page != self.lines[i].page

    @staticmethod
    def title_like(text: str) -> bool:
        return (
            len(text) <= RULES.title_max_chars
            and text[0].isupper()
            and not text.endswith((".", ",", ";", ":", "!", "?"))
            and len(text.split()) <= RULES.title_max_words
            and not _NUMBERED.fullmatch(text)
        )

    def next_text(self, i: int) -> int | None:
        return next((j for j in range(i + 1, len(self.lines)) if self.lines[j].text), None)

    # -- building units -------------------------------------------------------------------
    def start_paragraph(self, number: int, rest: str, page: int) -> None:
        self.close()
        if number > self.expected:
            missing = ", ".join(str(n) for n in range(self.expected, number))
            self.warnings.append(f"paragraph numbering skips {missing}")
        self.mode, self.expected = Mode.BODY, number + 1  # FRONT/PREAMBLE → BODY (or stays BODY)
        self.open = _Open("paragraph", str(number), page, self.section(), [rest])

    def section(self) -> str:
        if self.mode is Mode.ANNEX:
            return self.annex_label
        path = ""
        if self.chapter and self.letter:
            path = f"{self.chapter[1]}.{self.letter[0]} {self.letter[1]}"
        elif self.chapter:
            path = f"{self.chapter[1]}. {self.chapter[2]}"
        elif self.letter:
            path = f"{self.letter[0]}. {self.letter[1]}"
        return f"{path} / {self.subhead}" if path and self.subhead else path or self.subhead

    def close(self) -> None:
        if self.open is not None:
            o = self.open
            self.add(Unit(self.doc, o.para, o.kind, o.page, o.section, join_lines(o.lines, self.vocab)), self.units)
        self.open = None

    def add(self, draft: Unit, units: list[Unit]) -> None:
        """Finish a unit's text and note which footnotes it cites."""
        text = finish(draft.text, ocr=self.ocr, vocab=self.vocab)
        if text:
            unit = Unit(draft.doc, draft.para, draft.kind, draft.page, draft.section, text)
            units.append(unit)
            for index in REF_TOKEN.findall(draft.text):
                self.cited_in.setdefault(int(index), unit)

    def blocks_to_units(self, blocks: list[list[Line]], *, kind: UnitKind, section: str) -> list[Unit]:
        units: list[Unit] = []
        for block in blocks:
            page = block[0].page
            self.per_page[page] += 1
            text = join_lines([ln.text for ln in block], self.vocab)
            self.add(Unit(self.doc, f"p{page}.{self.per_page[page]}", kind, page, section, text), units)
        return units
