"""Page layout of UN documents: the symbol, page furniture, footnote areas and reference marks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.rules import RULES

_SYMBOL = re.compile(r"[A-Z]{1,6}(?:/[A-Za-z0-9.\-]+)+(?: \(\d{4}\))?")
# a symbol standing at the end of a masthead line ("United Nations System CEB/2025/4", in any script)
_SYMBOL_AT_END = re.compile(r"(?:[^\W\d_][^\W\d_ ]*\s+)*?([A-Za-z]{1,6}(?:\s?/\s?[A-Za-z0-9.\-]+)+(?: \(\d{4}\))?)\.?")
# OCR confusions inside a symbol's numbers: "A/39/36I" is A/39/361, "S/2O20/754" is S/2020/754
_OCR_DIGITS = str.maketrans({"I": "1", "l": "1", "L": "1", "|": "1", "O": "0", "o": "0"})
# a job number line of any office ("20-09860 (E) 030820", "GE.25-05965 (E)"), digits OCR-misread as
# letters tolerated ("84-I7984 1304q (E)")
_JOB = re.compile(
    r"(?:\d{1,4}/\d{1,4} )?(?:[A-Z]{1,3}\.)?\d{2}-\d{5}(?: ?\([A-Z]\))?(?: \d{6})*(?: \d{1,4}/\d{1,4})?"
    r"|\d{2}-(?=[\dIl]*\d)[\dIl]{5}(?: [\dIlOoq]{5,6})?(?: ?\([A-Z]\))?"
)
_COUNTER = re.compile(r"\d{1,4}/\d{1,4}")
_BARCODE = re.compile(r"\*\d{5,}\*|[lIi1|!]{12,}")
_SEPARATOR = re.compile(r"_{5,}")
_PARAGRAPH_START = re.compile(r"(\d{1,3}) ?\.\s+[A-Z“(]")
_FOOTNOTE_START = re.compile(r"(?:(\d{1,3})/?|[\^*'’])\s+(\S.*)")


@dataclass(frozen=True, slots=True)
class Line:
    """A cleaned line of body text; an empty `text` marks a gap between blocks."""

    page: int
    text: str
    indent: bool = False


@dataclass(frozen=True, slots=True)
class Footnote:
    """A footnote's text lines and the page where it starts."""

    page: int
    lines: tuple[str, ...]
    mark: int | None = None  # the printed footnote number, when it is a number
    continues: bool = False  # the rest of the previous page's last footnote


def find_symbol(first_page_lines: list[str]) -> str | None:
    """The UN document symbol printed at the top of the first page, if any: the last word of a masthead
    line ("United Nations S/2020/754", "United Nations System CEB/2025/4"), joint symbols kept whole,
    OCR confusions of digits repaired ("A/39/36I" → A/39/361), a lower-case OCR symbol upper-cased."""
    for line in first_page_lines[: RULES.symbol_search_lines]:
        m = _SYMBOL_AT_END.fullmatch(line.strip())
        if m is None:
            continue
        text = _repair_symbol(m.group(1))
        if _SYMBOL.fullmatch(text) and any(c.isdigit() for c in text) and _plausible(text):
            return text
    return None


def _repair_symbol(text: str) -> str:
    text = re.sub(r"\s*/\s*", "/", text)
    head, _, rest = text.partition("/")
    parts = [
        p.translate(_OCR_DIGITS) if re.fullmatch(r"[\dIlLO|o]+", p) and re.search(r"\d", p) else p
        for p in rest.split("/")
    ]
    text = "/".join([head, *parts])
    return text.upper() if text[:1].islower() else text


def _plausible(text: str) -> bool:
    # a symbol's body starts with its organ ("S", "A", "E/C.2", "CEDAW"), and it is no address or ratio
    return not re.search(r"https?:|www\.", text) and not text.startswith("UN/")


def is_symbol_line(line: str, symbol: str | None) -> bool:
    """True for a page header that repeats the document symbol (any case, any spacing, a digit misread
    as a letter by OCR: "A/39/36r" heads the pages of A/39/361; a speck read as a period: "A./47/466")."""
    if symbol is None:
        return False
    seen, want = (re.sub(r"[\s.]", "", text).lower() for text in (line, symbol))
    if seen == want:
        return True
    if len(seen) != len(want) or len(want) < 6:
        return False
    diff = [(a, b) for a, b in zip(seen, want, strict=True) if a != b]
    return len(diff) == 1 and diff[0][0].isalpha() and diff[0][1].isdigit()


FURNITURE = "\ue002"  # stands for a line learned to be furniture of its document (a running header or footer)


def is_furniture(line: str, symbol: str | None) -> bool:
    """True for page headers and footers: symbol, job number, page counter, barcode."""
    return bool(
        line == FURNITURE
        or is_symbol_line(line, symbol)
        or _JOB.fullmatch(line)
        or (_COUNTER.fullmatch(line) and _counts(line))
        or _BARCODE.fullmatch(line)
    )


def _counts(counter: str) -> bool:
    page, of = counter.split("/")
    return 0 < int(page) <= int(of)  # "4/18"; not "2025/1", a decision's number


def in_number_order(lines: list[Line]) -> list[Line]:
    """A page's body with its numbered paragraphs in number order, when its text layer gives them in
    reverse (older scanned documents: paragraphs 3, 2, 1 on the first page of A/47/466): three or more
    numbers, all of the page's, exactly a consecutive run counting down; any other page is left as is."""
    starts = [i for i, ln in enumerate(lines) if _PARAGRAPH_START.match(ln.text)]
    numbers = [int(_PARAGRAPH_START.match(lines[i].text).group(1)) for i in starts]  # type: ignore[union-attr]
    if len(numbers) < 3 or numbers != list(range(numbers[0], numbers[0] - len(numbers), -1)):
        return lines
    bounds = [*starts, len(lines)]
    chunks = [lines[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    ordered = [c for _, c in sorted(zip(numbers, chunks, strict=True), key=lambda nc: nc[0])]
    return lines[: starts[0]] + [ln for chunk in ordered for ln in chunk]


def split_text_pages(text: str, symbol: str | None) -> list[str]:
    """Pages of a plain-text document: form feeds, else the repeated symbol header."""
    if "\f" in text:
        return text.split("\f")
    if symbol is None:
        return [text]
    pages: list[list[str]] = [[]]
    seen_header = False
    for raw in text.splitlines():
        if is_symbol_line(" ".join(raw.split()), symbol):
            if seen_header:
                pages.append([])
            seen_header = True
        pages[-1].append(raw)
    return ["\n".join(p) for p in pages]


def split_page(lines: list[Line], symbol: str | None, next_fn: int, *, ocr: bool) -> tuple[list[Line], list[Footnote]]:
    """Separate one page into body lines and footnotes, dropping furniture.

    A footnote area starts at a separator rule; OCR text, which loses the rule, gets its footnotes
    from the blocks at the foot of the page. `next_fn` is the printed number the next footnote would carry.
    """
    separator = next((i for i, ln in enumerate(lines) if _SEPARATOR.fullmatch(ln.text)), None)
    if separator is not None:
        body = [ln for ln in lines[:separator] if not is_furniture(ln.text, symbol)]
        area = [ln for ln in lines[separator + 1 :] if ln.text and not is_furniture(ln.text, symbol)]
        return body, _footnotes_after_separator(area, next_fn)
    if not ocr:
        body = [ln for ln in lines if not is_furniture(ln.text, symbol)]
        start = _unruled_notes_start(body, next_fn)
        if start is None:
            return _starred_note(body)
        area = [ln for ln in body[start:] if ln.text]
        return body[:start], _footnotes_after_separator(area, next_fn)
    return _footnotes_at_page_end(lines, symbol)


_NOTE_MARK = re.compile(r"(\d{1,3})(/?) +\S")
# a word carrying a star mark at the end of a line ("Item 108 of the provisional agenda*")
_STAR_REFERENCE = re.compile(r"[^\W_]\*{1,3}$")
# a note that is only a document symbol, its star lost by OCR ("A/39/1s0." for "* A/39/150.")
_SYMBOL_NOTE = re.compile(r"(?:\*{1,3} ?)?([A-Z]{1,6}(?:/[A-Za-z0-9.\-]+)+)")


def _starred_note(body: list[Line]) -> tuple[list[Line], list[Footnote]]:
    """A page whose head carries a star mark ("provisional agenda*") and whose last line, after a
    finished sentence, is only a document symbol (its star and rule lost by OCR: A/39/361): that line is
    the star's footnote, not the end of the paragraph above it."""
    texts = [ln.text for ln in body]
    filled = [i for i, t in enumerate(texts) if t]
    if len(filled) < 3:
        return body, []
    last, before = filled[-1], filled[-2]
    m = _SYMBOL_NOTE.fullmatch(texts[last])
    if (
        m is None
        or not re.search(r"[.;:]$", texts[before])
        or not any(_STAR_REFERENCE.search(t) for t in texts[:before])
    ):
        return body, []
    return body[:last], [Footnote(body[last].page, (m.group(1),))]


def _unruled_notes_start(body: list[Line], next_fn: int) -> int | None:
    """Where the footnotes of a PDF page without a separator rule begin, if it has any: a run of lines
    at the foot of the page whose notes are numbered on from the document's last footnote (`next_fn`,
    or 1 where an annex restarts them), the first after a gap, or marked in the older style "1/" (A/48/653),
    with body text before them."""
    texts = [ln.text for ln in body]
    last = max((i for i, t in enumerate(texts) if t), default=-1)
    for start in range(last, 0, -1):
        m = _NOTE_MARK.match(texts[start])
        if m is None or int(m.group(1)) not in (next_fn, 1) or re.match(r"\d{1,3} ?\.", texts[start]):
            continue
        slash = m.group(2)
        gap = not texts[start - 1]
        if not (gap or slash) or not any(texts[:start]):
            continue
        expected, ok = int(m.group(1)) + 1, True
        for t in texts[start + 1 : last + 1]:
            n = _NOTE_MARK.match(t)
            if n and n.group(2) == slash and int(n.group(1)) == expected:
                expected += 1
            elif re.match(r"\d{1,3} ?\. ", t):
                ok = False
                break
        if ok:
            return start
    return None


def _footnotes_after_separator(area: list[Line], next_fn: int) -> list[Footnote]:
    indented = any(ln.indent for ln in area)
    notes: list[tuple[int | None, list[str]]] = []
    continued: list[str] = []  # lines before the first mark: a footnote carried over a page break
    last = next_fn - 1  # the printed number of the footnote before
    for ln in area:
        m = _FOOTNOTE_START.fullmatch(ln.text)
        mark = int(m.group(1)) if m and m.group(1) else None
        # numbering runs on through the document and restarts at 1 in an annex (and runs on from there)
        expected = mark is None or mark in (last + 1, 1)
        if m and expected and (ln.indent or not indented):
            notes.append((mark, [m.group(2)]))
            last = mark if mark is not None else last + 1
        else:
            (notes[-1][1] if notes else continued).append(ln.text)
    page = area[0].page if area else 0
    head = [Footnote(page, tuple(continued), continues=True)] if continued else []
    return head + [Footnote(page, tuple(lines), mark) for mark, lines in notes]


def _footnotes_at_page_end(lines: list[Line], symbol: str | None) -> tuple[list[Line], list[Footnote]]:
    # No separator (OCR text): footnotes are the trailing blocks of a page that start with a
    # footnote mark, or that sit among the footer lines, and are not a numbered paragraph.
    blocks: list[tuple[list[Line], bool]] = []  # (lines, comes after a footer line)
    after_footer = False
    current: list[Line] = []
    seen_body = False
    for i, ln in enumerate(lines):
        if is_furniture(ln.text, symbol):
            if current:
                blocks.append((current, after_footer))
                current = []
            if seen_body and not is_symbol_line(ln.text, symbol) and i >= len(lines) / 2:
                after_footer = True
        elif not ln.text:
            if current:
                blocks.append((current, after_footer))
                current = []
        else:
            current.append(ln)
            seen_body = True
    if current:
        blocks.append((current, after_footer))
    notes: list[Footnote] = []
    while blocks:
        block, in_footer = blocks[-1]
        first = block[0].text
        marked = _FOOTNOTE_START.fullmatch(first) is not None and not re.match(r"\d{1,3} ?\.", first)
        numbered = re.match(r"\d{1,3} ?\. ", first) is not None
        if numbered or not (marked or in_footer):
            break
        blocks.pop()
        m = _FOOTNOTE_START.fullmatch(first)
        head = m.group(2) if marked and m else first
        mark = int(m.group(1)) if marked and m and m.group(1) else None
        notes.insert(0, Footnote(block[0].page, (head, *[ln.text for ln in block[1:]]), mark))
    body: list[Line] = []
    for block, _ in blocks:
        if body:
            body.append(Line(block[0].page, ""))
        body.extend(block)
    return body, notes


def ref_token(index: int) -> str:
    """A placeholder left where a footnote reference stood, so the citing unit can be found."""
    return f"\ue000{index}\ue001"


def strip_reference_marks(body: list[Line], marks: list[tuple[int, int]]) -> list[Line]:
    """Replace footnote reference numbers glued into the body text of their page ("threat4") by a
    `ref_token` of the footnote's index in the document; `marks` holds (printed number, index)."""
    lines = [ln.text for ln in body]
    for n, index in marks:
        patterns = (
            rf"(?<=[^\W\d_][^\W\d_A-Z])({n})(?=[\s,.;:)”’]|$)",  # "Levant1", "threat4"; not "G20"
            rf"(?<=[”’\"\)\]])({n})(?=[\s,.;:]|$)",  # "“Da’esh”)2"
            rf"(?<=[^\W\d_][.,;:]) {{0,2}}({n})(?= |$)",  # "report. 3 It", "structures, 5  Da’esh"
            rf"(?<=\S) ({n}/)(?=[\s,.;:]|$)",  # the older style: "relating to the item, 5/"
        )
        for pattern in patterns:
            hit = next(((i, m) for i, t in enumerate(lines) if (m := re.search(pattern, t))), None)
            if hit:
                i, m = hit
                lines[i] = (lines[i][: m.start()] + ref_token(index) + lines[i][m.end() :]).replace("  ", " ")
                break
    return [Line(ln.page, t, ln.indent) for ln, t in zip(body, lines, strict=True)]
