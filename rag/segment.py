"""Body lines → units: numbered paragraphs, preambular paragraphs, boxes, annex and layout blocks,
with the heading path of each."""

from __future__ import annotations

import enum
import re
from collections import Counter
from dataclasses import dataclass, field, replace

from rag.layout import Line
from rag.repair import REF_TOKEN, finish, join_lines
from rag.rules import RULES
from rag.types import Unit, UnitKind

_NUMBERED = re.compile(r"(\d{1,3}) ?\.\s+([^\s.].*)")
_CHAPTER = re.compile(r"([IVXL]+)\.\s+(\S.*)")
_CHAPTER_WORD = re.compile(r"Chapter ([IVXL]+)")
_LETTER = re.compile(r"([A-Z])\.\s+(\S.*)")
_LETTER_BARE = re.compile(r"([B-HJ-Z])\s+([A-Z]\S*\s.*)")  # "G Update on …": the period left out (not "A", "I")
_ANNEX = re.compile(r"(?:Annex|Appendix|Enclosure|ANNEX|APPENDIX|ENCLOSURE)(?: [IVXL]+| \d+)?")
_TOC = re.compile(r".*(?:\.\s?){4,}\s*\d+")
# words a title line wrapped after goes on from ("… of the Mission and the" / "United Nations country team")
_JOINER = re.compile(
    r"a|an|the|and|or|nor|but|of|on|in|for|to|by|with|from|at|as|into|onto|across|between|against|under|over"
    r"|within|without|among|through|during|towards?|its|their|his|her|our|including",
    re.I,
)
# the body that adopts a text, alone on its line before the preamble: "The Security Council,", "The Meeting
# of States Parties,", "The Conference of Ministers,", "The Economic Commission for Europe,"
_COUNCIL = re.compile(r"The [A-Z][\w’'-]*(?: (?:of|for|and|on|the|to|[A-Z][\w’'-]*)){1,8}(?<=[\w)])\s*,")
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
    # (page, printed footnote mark) → the section of the part whose heading carries that mark
    marked_headings: dict[tuple[int, int], str] = field(default_factory=dict)


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
        warnings: tuple[str, ...] = ()
        if numbered and seg.warnings:  # numbers there, but skipping: not to be trusted as ids
            pages = sorted({u.page for u in seg.units if u.kind == "paragraph"})
            warnings = (
                f"the paragraph numbers on pages {pages[0]}–{pages[-1]} could not be read with confidence"
                f" ({'; '.join(seg.warnings)}); the text is kept as layout units",
            )
        contributions = _contributions(lines)
        if contributions:
            fresh = _Segmenter(lines, doc=doc, ocr=ocr, vocab=vocab)
            units = fresh.contribution_units(lines, contributions)
            return Segmented(tuple(units), (), warnings + tuple(fresh.warnings), fresh.cited_in)
        blocks = layout_blocks([ln for ln in lines if ln.text])
        units = seg.blocks_to_units(blocks, kind="paragraph", section="")
        return Segmented(tuple(units), (), warnings, seg.cited_in)
    return Segmented(tuple(seg.units), tuple(seg.front), tuple(seg.warnings), seg.cited_in, seg.marked_headings)


_TOC_ENTRY = re.compile(r"(\d{1,3})\. (\S.*?)\s*(?:\.\s?){3,}\s*\d+")
_LIST_ENTRY = re.compile(r"(\d{1,3})\. (\S.*)")


def _contributions(lines: list[Line]) -> list[tuple[int, int, int, str]]:
    """The parts of a compilation or an annotated agenda: the entries of its first numbered list 1…N (a
    table of contents, "3. Association des jeunes … ..... 4", or an agenda, "3. Study and advice …")
    found again, in order and all of them, as numbered headings after the list. Returns (heading line
    index, first body line index, number, name) per part, or nothing."""
    entries: list[tuple[int, str]] = []
    k = 0
    while k < len(lines):
        m = _TOC_ENTRY.fullmatch(lines[k].text) or _LIST_ENTRY.fullmatch(lines[k].text)
        if m and int(m.group(1)) == len(entries) + 1:
            name = m.group(2)
            if not _TOC_ENTRY.fullmatch(lines[k].text):  # an agenda item wraps over lines
                while k + 1 < len(lines) and lines[k + 1].text and not _LIST_ENTRY.fullmatch(lines[k + 1].text):
                    k += 1
                    name += " " + lines[k].text
            entries.append((int(m.group(1)), name.rstrip(" .")))
        elif entries and lines[k].text and not m:
            break
        k += 1
    if len(entries) < 3:
        return []
    found: list[tuple[int, int, int, str]] = []
    for number, name in entries:
        prefix = f"{number}. {name[:25]}"
        hit = next((i for i in range(k, len(lines)) if lines[i].text.startswith(prefix)), None)
        if hit is None:
            return []
        end, heading = hit, ""
        while end < len(lines) and len(heading) < len(f"{number}. {name}"):
            heading = f"{heading} {lines[end].text}".strip()
            end += 1
        found.append((hit, end, number, name))
        k = end
    return found


_PART_ANNEX = re.compile(r"(?i)(annex|appendix|enclosure|attachment)(?: ([IVXL]+|\d+))?")
_PART_DECISION = re.compile(
    r"(?:(Intersessional decision|Draft decision|Decision|Draft resolution|Resolution) ([IVXL]+|\d+(?:/\d+)?)"
    r"|(Draft resolution|Draft decision)|(\d{4}/\d{1,3}))"
)


PartPath = tuple[tuple[str, str], ...]  # (kind, label) from the outermost part: (("annex", "I"), ("decision", "2"))


@dataclass(slots=True)
class _Part:
    """A stretch of lines under one part heading ("Annex II", "Decision 3", "Draft resolution I")."""

    path: PartPath
    heading: Line | None
    lines: list[Line] = field(default_factory=list)
    mark: int | None = None  # a footnote mark glued to the heading's number ("decision 11": decision 1, mark 1)


def _parts(lines: list[Line], root: PartPath, first: tuple[str, str] | None = None) -> list[_Part]:
    """Lines cut at part headings, each part with its path under `root` (a document annex, or the body
    paragraph that introduces draft resolutions).

    Under a document annex, an annex heading ordered after it starts a new top-level part, another one is
    the annex of the decision it follows ("Annex I" after annex III's decision 3); a decision or resolution
    heading starts a part beside the previous one. Under a body paragraph, an annex heading is the annex
    of the resolution it follows, and a decision or resolution heading right after such an annex heading
    is that annex's title (the text annexed), not a part of its own. A heading's number with a footnote
    mark glued to it ("Intersessional decision 11" for decision 1, mark 1) is read as the number its
    siblings prove: the next in their sequence, when the printed one starts with it."""
    path = (*root, first) if first else root
    parts = [_Part(path, None)]
    last: dict[tuple[PartPath, str], int] = {}  # the last number of each kind of part under a parent
    act_annex_opened = False
    mark: int | None = None
    for ln in lines:
        part = _part_of(ln.text)
        if part is not None and part[0] not in _TOP_KINDS and act_annex_opened:
            part = None  # the title of the text an act annexes ("Annex" + "Resolution 2025/1")
        if ln.text:
            act_annex_opened = False
        if part is None:
            parts[-1].lines.append(ln)
            continue
        kind, label = part
        embedded = root[0][0] not in _TOP_KINDS
        if kind in _TOP_KINDS:
            if not embedded and (_order(label) > _order(path[0][1]) or len(path) == 1):
                path = (part,)
            else:
                path = (*path[:2], part) if len(path) >= 2 else (*path[:1], part)
                act_annex_opened = embedded and len(path) == 3
        else:
            parent = path[:1]
            if label.isdigit():
                want = last.get((parent, kind), 0) + 1
                if int(label) != want and label.startswith(str(want)) and len(label) - len(str(want)) <= 2:
                    label, mark = str(want), int(label[len(str(want)) :])
                last[(parent, kind)] = int(label)
            path = (*parent, (kind, label))
        parts.append(_Part(path, ln, mark=mark))
        mark = None
    return parts


_TOP_KINDS = {"annex", "appendix", "enclosure", "attachment"}


def _title_lines(lines: list[Line]) -> int:
    """How many of a part's first lines are its title ("Parties on notice for potential listing in the
    next report to / the Security Council" under "Appendix"), 0 when it has none: a few lines, none ending
    as a sentence ends, then a gap or the indented first line of a paragraph starting in upper case."""
    for n, ln in enumerate(lines[: RULES.part_title_lines + 1]):
        if n and (not ln.text or (ln.indent and ln.text[0].isupper())):
            title = sum(len(t.text) + 1 for t in lines[:n])
            return n if title <= RULES.title_chars and any(t.text for t in lines[n:]) else 0
        if not ln.text or ln.text.endswith(_TERMINAL):
            return 0
    return 0


# a paragraph's closing words that introduce texts set out after it
_INTRODUCES = re.compile(r"(?i)\b((?:draft )?(?:resolution|decision)s?)\b[^:]{0,80}:$")


def _order(label: str) -> int:
    return int(label) if label.isdigit() else roman(label) if label else 0


def _part_of(text: str) -> tuple[str, str] | None:
    if m := _PART_ANNEX.fullmatch(text):
        return m.group(1).lower(), m.group(2) or ""
    if m := _PART_DECISION.fullmatch(text):
        if m.group(4):
            return "decision", m.group(4)
        if m.group(3):
            return m.group(3).lower(), ""
        return m.group(1).lower(), m.group(2)
    return None


def _slug(kind: str, label: str) -> str:
    return "-".join([kind.replace(" ", "-"), *([label] if label else [])])


def _part_label(path: PartPath) -> str:
    return " / ".join(f"{kind[:1].upper()}{kind[1:]} {label}".strip() for kind, label in path if kind != "para")


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
              A paragraph ending "…the following draft resolution:" hands the texts it sets out, up to
              where the body resumes, to `embedded` (parts under that paragraph: `para-11.…`).
              → ANNEX on a line that is exactly "Annex", "Appendix" or "Enclosure", optionally with a
                Roman or Arabic number (`_ANNEX`); it becomes the annexes' section.
    ANNEX     final: every later line is kept in `annex`, cut into parts after the pass (`part_units`:
              numbered parts keep their numbers under the part's id, the others are layout blocks of kind
              "text").

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
        self.marked_headings: dict[tuple[int, int], str] = {}
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
        self.slugs: set[str] = set()  # ids of the parts numbered so far, which must stay unique
        self.restarts = 0  # numbered lines "1." met in the body after paragraph 2
        self.nested = False  # a part's own pass, which looks for no texts embedded in it
        self.indented = any(ln.indent for ln in lines)  # the text marks paragraph starts by an indent
        # the longest heading line: a title wraps only where its next word would not fit
        self.heading_width = max(
            (
                len(ln.text)
                for ln in lines
                if (_CHAPTER.fullmatch(ln.text) or _LETTER.fullmatch(ln.text))
                and len(ln.text) <= RULES.heading_max_chars
                and not _TOC.fullmatch(ln.text)
            ),
            default=0,
        )

    # -- the pass -------------------------------------------------------------------------
    def run(self) -> None:
        i = 0
        while i < len(self.lines):
            i += self.step(i)
        self.close()
        if self.annex:
            self.units.extend(self.annex_units())

    def annex_units(self) -> list[Unit]:
        """Units of the document's annexes (`part_units` under the first annex heading)."""
        return self.part_units(self.annex, (_part_of(self.annex_label) or ("annex", ""),), section="")

    def part_units(
        self, lines: list[Line], root: PartPath, *, section: str, first: tuple[str, str] | None = None
    ) -> list[Unit]:
        """Units of the parts of a stretch: a part (an annex, a decision or resolution in it) whose
        paragraphs are numbered from 1 again keeps its numbers under the part's id
        (`annex-II.decision-1.3`, `para-11.draft-resolution.pp2`); another part's text is cut into layout
        blocks of kind "text", under the part's section."""
        units: list[Unit] = []
        for part in _parts(lines, root, first):
            numbered = self.numbered_part(part, section)
            if numbered and part.heading and part.mark is not None:
                self.marked_headings.setdefault((part.heading.page, part.mark), numbered[0].section)
            if numbered is not None:
                units.extend(numbered)
                continue
            if part.path == root and root[0][0] in _TOP_KINDS:
                label = self.annex_label or _part_label(root)
            else:
                label = _part_label(part.path)
            stretch = ([part.heading] if part.heading else []) + part.lines
            if titled := _title_lines(part.lines):
                title = finish(" ".join(ln.text for ln in part.lines[:titled]), ocr=self.ocr, vocab=self.vocab)
                label, stretch = f"{label} {title}" if label else title, part.lines[titled:]
            where = f"{section} / {label}" if section and label else section or label
            units.extend(self.blocks_to_units(layout_blocks(stretch), kind="text", section=where))
        return units

    def numbered_part(self, part: _Part, section: str, *, name: str = "") -> list[Unit] | None:
        """The units of a part whose paragraphs are confidently numbered 1, 2, 3… (or a resolution's
        preamble with one unnumbered operative paragraph), else None; a part whose numbers are there but
        cannot be read with confidence is warned about, naming its pages and the part (`name`, as its
        section reads, else its label)."""
        path, lines = part.path, part.lines
        sub = _Segmenter(lines, doc=self.doc, ocr=self.ocr, vocab=self.vocab)
        sub.per_page, sub.nested = Counter(self.per_page), True
        sub.run()
        paragraphs = [u for u in sub.units if u.kind == "paragraph"]
        preambles = [u for u in sub.units if u.kind == "preamble"]
        numbers = [int(u.para) for u in paragraphs if u.para.isdigit()]
        text = sum(len(ln.text) for ln in lines) - sum(len(t) for t in sub.front) - sub.heading_chars
        chars = sum(len(u.text) for u in paragraphs + preambles)
        slug = ".".join(_slug(kind, label) for kind, label in path)
        operative_only = not numbers and len(preambles) >= 2 and preambles[-1].text.endswith(".")
        irregular = len(numbers) >= 2 and (
            numbers != list(range(1, len(numbers) + 1)) or bool(sub.warnings) or sub.restarts > 0
        )
        if (
            (len(numbers) < 2 and not operative_only)
            or irregular
            or sub.annex
            or slug in self.slugs
            or chars < RULES.numbered_share * text
            or chars < RULES.min_chars_per_number * max(len(numbers), 1)
            or sub.titled > RULES.heading_share_of_numbers * len(numbers)
        ):
            paragraph_like = chars >= RULES.min_chars_per_number * max(len(numbers), 1) and not (
                sub.titled > RULES.heading_share_of_numbers * len(numbers)
            )
            if (irregular and paragraph_like) or (slug in self.slugs and numbers):
                pages = sorted({ln.page for ln in lines if ln.text})
                where = f"page {pages[0]}" if len(pages) == 1 else f"pages {pages[0]}–{pages[-1]}"
                self.warnings.append(
                    f"the paragraph numbering of {name or _part_label(path) or 'a part'} ({where}) could not be read"
                    " with confidence; its text is kept as unnumbered units"
                )
            return None
        self.slugs.add(slug)
        title = finish(" ".join(t for t in sub.front if not _COUNCIL.fullmatch(t)), ocr=self.ocr, vocab=self.vocab)
        label = _part_label(path) + (f" {title}" if title and len(title) <= RULES.title_chars else "")
        label = f"{section} / {label}" if section else label
        self.per_page = sub.per_page
        out = []
        for u in sub.units:
            kind, para = u.kind, f"{slug}.{u.para}" if u.kind in ("paragraph", "preamble") else u.para
            if operative_only and u is preambles[-1]:  # a resolution's one unnumbered operative paragraph
                self.per_page[u.page] += 1
                kind, para = "text", f"p{u.page}.{self.per_page[u.page]}"
            where = f"{label} / {u.section}" if u.section else label
            out.append(Unit(u.doc, para, kind, u.page, where, u.text))
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
        if self.mode is Mode.BODY and not self.nested and (consumed := self.embedded(i)):
            return consumed
        consumed = self.heading(i)
        if consumed:
            self.heading_chars += sum(len(ln.text) for ln in self.lines[i : i + consumed])
            return consumed
        m = _NUMBERED.fullmatch(text)
        if m and m.group(1) == "1" and self.mode is Mode.BODY and self.expected > 2 and m.group(2)[0].isupper():
            self.restarts += 1  # a numbering that starts again: parts not cut where they begin
        if m and self.accepts(int(m.group(1)), m.group(2), after_sentence=self.after_sentence(i)):
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

    def embedded(self, i: int) -> int:
        """Draft resolutions or decisions that the open paragraph introduces ("… recommends the adoption
        of the following draft resolution:"): from line i — a part heading ("Draft resolution I"), or at
        most a few title lines and then the adopting body ("The General Assembly,") or a paragraph 1 —
        up to where the body resumes, cut into parts under the paragraph (`para-11.draft-resolution.3`).
        Returns the lines consumed, 0 when line i starts no such text."""
        o = self.open
        if o is None or o.kind != "paragraph" or not o.lines or not o.lines[-1].endswith(":"):
            return 0
        intro = _INTRODUCES.search(" ".join(o.lines[-3:]))
        if intro is None:
            return 0
        head = _part_of(self.lines[i].text)
        if (head is None or head[0] in _TOP_KINDS) and not self.titles_then_text(i):
            return 0
        kind = intro.group(1).lower().removesuffix("s")
        end = self.embedded_end(i)
        self.close()
        root: PartPath = (("para", o.para),)
        stretch = self.lines[i:end]
        self.units.extend(self.part_units(stretch, root, section=self.section(), first=None if head else (kind, "")))
        return end - i

    def titles_then_text(self, i: int) -> bool:
        """From line i: at most a few title lines, then the adopting body or a paragraph numbered 1."""
        titles = 0
        for ln in self.lines[i:]:
            if not ln.text:
                continue
            number = _NUMBERED.fullmatch(ln.text)
            if _COUNCIL.fullmatch(ln.text) or (number and number.group(1) == "1" and self.expected > 1):
                return titles > 0 or _COUNCIL.fullmatch(ln.text) is not None
            titles += 1
            if titles > RULES.heading_wrap_lines + 4 or ln.text.endswith((".", ";")):
                return False
        return False

    def embedded_end(self, i: int) -> int:
        """Where the body resumes after an embedded text starting at line i: the body's next paragraph
        number when the text's own numbering does not take it, or the body's next chapter or letter
        heading (or a document annex, when the text annexes nothing)."""
        inner, annexes = 1, False
        for k in range(i, len(self.lines)):
            text = self.lines[k].text
            if not text:
                continue
            number = _NUMBERED.fullmatch(text)
            part = _part_of(text)
            if number:
                n = int(number.group(1))
                if n in (1, inner):
                    inner = n + 1
                elif n == self.expected and not number.group(2)[0].islower():
                    return k
            elif part is not None and part[0] not in _TOP_KINDS:
                inner = 1
            elif (_ANNEX.fullmatch(text) and not annexes) or self.body_heading(text):
                return k
            annexes = annexes or "annex" in text.lower()
        return len(self.lines)

    def body_heading(self, text: str) -> bool:
        """The body's next chapter ("III. Recommendations") or lettered section ("B. Europe") heading."""
        if (m := _CHAPTER.fullmatch(text)) and m.group(2)[0].isupper():
            return self.chapter is not None and roman(m.group(1)) == self.chapter[0] + 1
        if (m := _LETTER.fullmatch(text)) and self.title_like(m.group(2)):
            return self.letter is not None and m.group(1) == chr(ord(self.letter[0]) + 1)
        return False

    def contribution_units(self, lines: list[Line], contributions: list[tuple[int, int, int, str]]) -> list[Unit]:
        """Units of a compilation: each contribution is a part with its name as section; its paragraphs
        keep their numbers under `contribution-N` when numbered 1, 2, 3…, else they are layout units,
        with the contribution's sub-headings ("Introduction") in their section."""
        units: list[Unit] = []
        front = [ln for ln in lines[: contributions[0][0]] if ln.text]
        units.extend(self.blocks_to_units(layout_blocks(front), kind="text", section=""))
        bounds = [c[0] for c in contributions] + [len(lines)]
        for (first, start, number, name), end in zip(contributions, bounds[1:], strict=True):
            section = f"{number}. {name}"
            body = lines[start:end]
            part = _Part((("contribution", str(number)),), lines[first], body)
            numbered = self.numbered_part(part, "", name=section)
            if numbered is not None:
                units.extend(
                    replace(u, section=u.section.replace(f"Contribution {number}", section, 1)) for u in numbered
                )
                continue
            sub = ""
            for block in layout_blocks(body):
                text = " ".join(ln.text for ln in block)
                if len(block) <= 2 and self.title_like(text):
                    sub = text
                    continue
                where = f"{section} / {sub}" if sub else section
                units.extend(self.blocks_to_units([block], kind="paragraph", section=where))
        return units

    # -- decisions ------------------------------------------------------------------------
    def accepts(self, number: int, rest: str, *, after_sentence: bool = False) -> bool:
        """A numbered line starts the next paragraph: 1 before the body, then the expected number (or a
        skip of a few, warned). A lower-case start ("5. on 3 December", an OCR misread) is accepted only
        for exactly the expected number after a finished sentence."""
        if self.mode in (Mode.FRONT, Mode.PREAMBLE):
            return number == 1
        if rest[0].islower():
            return after_sentence and number == self.expected
        return self.expected <= number <= self.expected + RULES.number_lookahead

    def after_sentence(self, i: int) -> bool:
        """The text before line i (skipping gaps) ends as a sentence does."""
        j = next((k for k in range(i - 1, -1, -1) if self.lines[k].text), None)
        return j is not None and self.lines[j].text.endswith((".", ":", ";", "?", "!", ".”", '."'))

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
                consumed, title, subtitle = self.standalone(i, m.group(2))
                if consumed:
                    self.set_chapter(m.group(1), title)
                    self.subhead = subtitle
                    return consumed
        if (m := _LETTER.fullmatch(text) or _LETTER_BARE.fullmatch(text)) and m.group(2)[0].isupper():
            expected = "A" if self.letter is None else chr(ord(self.letter[0]) + 1)
            if m.group(1) == expected and self.mode is not Mode.ANNEX:
                consumed, title, subtitle = self.standalone(i, m.group(2))
                if consumed:
                    self.close()
                    self.letter, self.subhead = (m.group(1), title), subtitle
                    return consumed
        return 0

    def standalone(self, i: int, title: str) -> tuple[int, str, str]:
        """A heading stands alone: after at most two wrapped title lines comes a gap, a page end,
        a numbered paragraph or a lettered heading; or, on the line after it, a subtitle standing
        alone ("V. Audit: Summary of audit results and recommendations" / "Overview of strategic and
        systemic issues and trends"). Returns (lines consumed, title, subtitle) or (0, _, _)."""
        page = self.lines[i].page

        def ends(j: int) -> bool:  # the heading ends before line j
            after = self.lines[j] if j < len(self.lines) else None
            return (
                after is None
                or not after.text
                or after.page != page
                or bool(_NUMBERED.fullmatch(after.text))
                or bool(_LETTER.fullmatch(after.text) and self.title_like(after.text))
            )

        for extra in range(RULES.heading_wrap_lines + 1):
            j = i + 1 + extra
            if ends(j):
                wrapped = [ln.text for ln in self.lines[i + 1 : j]]
                return j - i, finish(" ".join([title, *wrapped]), ocr=self.ocr, vocab=self.vocab), ""
            after = self.lines[j].text
            if len(after) > RULES.heading_wrap_chars or after.endswith((".", ",", ";")):
                break
            if extra == 0 and self.subtitle(self.lines[i].text, after) and ends(j + 1):
                return 2, finish(title, ocr=self.ocr, vocab=self.vocab), after
        return 0, title, ""

    def subtitle(self, line: str, after: str) -> bool:
        """Line `after`, under a heading's `line`, is no wrap of its title: it starts a capitalised title
        of its own, `line` does not end on a word a title goes on from, and `after`'s first word would
        have fit on `line` (the longest heading line of the document measures the width)."""
        return (
            self.title_like(after)
            and not _JOINER.fullmatch(line.split()[-1])
            and not line.endswith((":", "-", "–", "—", "/"))
            and len(line) + 1 + len(after.split()[0]) <= self.heading_width
        )

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
        numbered = _NUMBERED.fullmatch(nxt)
        # a title line set off above, right on top of the next paragraph ("Audit opinion" / "22. The Office…")
        on_top = (
            j == i + 1
            and numbered is not None
            and self.accepts(int(numbered.group(1)), numbered.group(2))
            and (self.open is None or not self.open.lines or self.open.lines[-1].endswith(_TERMINAL))
        )
        if on_top or (follows_gap and (j is None or numbered or self.title_like(nxt))):
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
        """Line i starts the next preambular paragraph: after a gap, at an indented capitalised line, or
        at an opener word ("Recalling", "Mindful") after a line ending in "," or ";" (when the text
        indents its paragraphs, only at an indented line: "Planning and …" goes on a line). A page break
        is no gap; an old-style footnote mark ("5/") does not hide the comma before it."""
        ln = self.lines[i]
        j = next((k for k in range(i - 1, -1, -1) if self.lines[k].text), None)
        if j is None or self.open is None:
            return True
        prev = self.lines[j]
        before = re.sub(r"\s\d{1,2}/$", "", REF_TOKEN.sub("", prev.text).rstrip())
        if prev.page != ln.page:
            if ln.text[0].islower() or not before.endswith((",", ";", ".")):
                return False
        elif j < i - 1:
            return True
        if ln.indent and ln.text[0].isupper():
            return True
        if self.indented and not ln.indent:
            return False
        word = ln.text.split(" ", 1)[0].rstrip(",")
        return before.endswith((",", ";")) and (word in _OPENER_WORDS or bool(_OPENER.fullmatch(word)))

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
