"""A file (PDF or text, including OCR text) → a Document and its units."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import replace
from pathlib import Path

from rag.errors import BadInput, NoText, TooExpensive, UnreadableFile
from rag.front import PAGES, front_matter
from rag.furniture import Furniture, learn
from rag.layout import (
    FURNITURE,
    Footnote,
    Line,
    find_symbol,
    in_number_order,
    is_furniture,
    split_page,
    split_text_pages,
    strip_reference_marks,
)
from rag.pdf import is_pdf, read_pdf
from rag.repair import clean_line, finish, is_double_spaced, join_lines, repair_paragraph_numbers, vocabulary
from rag.segment import Segmented, segment
from rag.settings import Settings
from rag.textfile import read_text
from rag.types import Document, Parsed, Unit

PARSER_VERSION = 10  # bump when units, document facts or their embedded views change: re-ingest re-reads the file
# (7: the items of semicolon lists are embedded too, `rag.indexed.views`; 8: a lettered heading without its
# period, "G Update on …", opens its section; 9: so does a title line right on top of a paragraph, "Audit opinion",
# and a subtitle under a heading is a sub-heading; 10: an annex's title lines are its section, not its text)
TEXT_SUFFIXES = {".txt", ".text"}
SUPPORTED = TEXT_SUFFIXES | {".pdf"}
_ODS_MISSING = re.compile(r"document you are looking for does not exist in the Official Document System", re.I)


def parse_file(path: Path, *, settings: Settings, password: str | None = None) -> Parsed:
    """Parse one file; raise a BadInput subclass with a one-line reason when it cannot be used."""
    if not path.exists():
        raise BadInput(f"{str(path)!r} does not exist")
    if path.is_dir():
        raise BadInput(f"{str(path)!r} is a folder; give a file")
    size_mb = path.stat().st_size / 2**20
    if size_mb > settings.max_file_mb:
        raise TooExpensive(
            f"{str(path)!r} is {size_mb:.0f} MB, over the {settings.max_file_mb} MB bound (RAG_MAX_FILE_MB)"
        )
    suffix = path.suffix.lower()
    if suffix == ".pdf" or is_pdf(path):  # a PDF is known by its header, whatever its name
        pdf = read_pdf(path, password=password, timeout_s=settings.pdf_timeout_s, memory_mb=settings.pdf_memory_mb)
        if not any(p.strip() for p in pdf.pages):
            if pdf.warnings:
                raise UnreadableFile(f"{str(path)!r} has no readable text ({pdf.warnings[0]})")
            if pdf.image_pages:
                raise NoText(f"{str(path)!r} has no text layer (a scanned image; OCR is not available)")
            raise NoText(f"{str(path)!r} contains no text")
        pages, ocr, warnings = list(pdf.pages), False, list(pdf.warnings)
    elif suffix in TEXT_SUFFIXES:
        text, notes = read_text(path)
        pages, ocr, warnings = [text], True, list(notes)
    else:
        raise BadInput(f"{str(path)!r} is not a supported file type; give a .pdf or .txt file")
    if _is_ods_placeholder(pages):
        raise BadInput(
            f"{str(path)!r} is the UN document system's 'document does not exist' page, not a document;"
            " download the document again under its symbol"
        )
    data = path.read_bytes()
    parsed = parse_pages(pages, ocr=ocr, stem=path.stem, source=str(path), sha256=hashlib.sha256(data).hexdigest())
    if not parsed.units:
        raise NoText(f"{str(path)!r} contains no text")
    return Parsed(parsed.document, parsed.units, tuple(warnings) + parsed.warnings)


def _is_ods_placeholder(pages: list[str]) -> bool:
    # ODS serves this one-page notice, as a PDF, for a symbol it does not hold
    text = " ".join(" ".join(pages[:2]).split())
    return len(pages) <= 2 and len(text) < 600 and _ODS_MISSING.search(text) is not None


def parse_pages(pages: list[str], *, ocr: bool, stem: str, source: str = "", sha256: str = "") -> Parsed:
    """Parse extracted text: one string per PDF page, or a single string for a text file."""
    double = ocr and is_double_spaced("".join(pages))

    def clean(raw: str) -> str:
        return clean_line(raw, ocr=ocr, double_spaced=double)

    first_lines = [c for raw in pages[0].splitlines()[:200] if (c := clean(raw))]
    symbol = find_symbol(first_lines)
    if len(pages) == 1 and ocr:
        pages = split_text_pages(pages[0], symbol)
    cleaned = [[(clean(raw), raw[:1].isspace()) for raw in page.splitlines()] for page in pages]
    title, date = front_matter([first_lines, *([t for t, _ in page] for page in cleaned[1:PAGES])], symbol)
    furniture = learn([[t for t, _ in page] for page in cleaned])
    body: list[Line] = []
    footnotes: list[Footnote] = []
    for number, page_lines in enumerate(cleaned, start=1):
        lines = [Line(number, _unfurnished(t, number, symbol, furniture), indent=ind) for t, ind in page_lines]
        printed = footnotes[-1].mark if footnotes and footnotes[-1].mark is not None else len(footnotes)
        page_body, notes = split_page(lines, symbol, printed + 1, ocr=ocr)
        page_body = in_number_order(page_body)
        first = len(footnotes) + 1 - (1 if notes and notes[0].continues and footnotes else 0)
        marks = [(n.mark, first + k) for k, n in enumerate(notes) if n.mark is not None]
        body.extend(strip_reference_marks(page_body, marks))
        for note in notes:
            if note.continues and footnotes:
                footnotes[-1] = replace(footnotes[-1], lines=footnotes[-1].lines + note.lines)
            else:
                footnotes.append(replace(note, continues=False))
    body = [
        Line(ln.page, t, ln.indent)
        for ln, t in zip(body, repair_paragraph_numbers([ln.text for ln in body]), strict=True)
    ]
    vocab = vocabulary("\n".join([*(ln.text for ln in body), *(" ".join(f.lines) for f in footnotes)]))
    doc = symbol or stem
    seg = segment(body, doc=doc, ocr=ocr, vocab=vocab)
    notes_units = [
        Unit(
            doc,
            f"fn{k}",
            "footnote",
            f.page,
            _note_section(seg, k, f),
            finish(join_lines(list(f.lines), vocab), ocr=ocr, vocab=vocab),
        )
        for k, f in enumerate(footnotes, start=1)
    ]
    units = _in_reading_order(list(seg.units), notes_units)
    document = Document(
        id=doc,
        title=title,
        date=date,
        source=source,
        sha256=sha256,
        pages=len(pages),
    )
    return Parsed(document, tuple(units), seg.warnings + _script_warnings(units))


def _unfurnished(text: str, page: int, symbol: str | None, furniture: Furniture) -> str:
    """A line without the document's running headers and footers; whole-line furniture is left for
    `split_page` to drop (its place matters to footnote areas), so it is given as the symbol."""
    if is_furniture(text, symbol):
        return text
    if furniture.is_repeated(text):
        return symbol or FURNITURE
    stripped = furniture.strip_jobs(text, page)
    return stripped if stripped or not text else symbol or FURNITURE


def _note_section(seg: Segmented, index: int, note: Footnote) -> str:
    """A footnote's section: that of the unit citing it, else of the part whose heading carries its mark
    on its page, else of the last unit on or before its page."""
    if index in seg.cited_in:
        return seg.cited_in[index].section
    marked = seg.marked_headings.get((note.page, note.mark)) if note.mark is not None else None
    return marked or _section_at(seg.units, note.page)


def _section_at(units: tuple[Unit, ...], page: int) -> str:
    return next((u.section for u in reversed(units) if u.page <= page), "")


def _in_reading_order(body: list[Unit], notes: list[Unit]) -> list[Unit]:
    out: list[Unit] = []
    pending = list(notes)
    for unit in body:
        while pending and pending[0].page < unit.page:
            out.append(pending.pop(0))
        out.append(unit)
    return out + pending


def _script_warnings(units: list[Unit]) -> tuple[str, ...]:
    text = "".join(u.text for u in units)
    if not text:
        return ()
    warnings = []
    if any(unicodedata.bidirectional(c) in ("R", "AL") for c in text):
        warnings.append("contains right-to-left script; check that its word order reads correctly")
    odd = sum(1 for c in text if unicodedata.category(c)[0] in "MC" or unicodedata.category(c) == "Co")
    if odd > 0.2 * len(text):
        warnings.append(
            f"the text layer looks garbled ({odd} of {len(text)} characters are marks or unassigned);"
            " the PDF's fonts may lack a Unicode mapping"
        )
    return tuple(warnings)
