"""Sweep: parse every document of a folder and set the numbering found against an independent check.

For each PDF (recognised by its `%PDF-` header, whatever its name) or text file it prints one row:
the symbol and date the parser found, its units, the numbered paragraphs it found (as runs per part: `1–78`,
`annex.1–5`), the runs an independent check finds in pypdf's raw text, whether the two agree, how many
units still hold a job number (page furniture left in the text) and the parse time.

The check does not use the parser: it reads each page's raw text with pypdf, takes every line that
starts with "N." followed by a capital (or an opening bracket or quote), and chains the numbers into
runs: a number extends the open run that ends one below it, and 1 starts a new run. Runs lying
wholly between two consecutive numbers of another run are lists inside a paragraph and are dropped,
as are runs of one number.

    python evals/sweep.py FOLDER [FOLDER…] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rag import Settings, parse_file
from rag.errors import RagError
from rag.pdf import is_pdf
from rag.types import Unit

# A job number of any UN office: "25-09397", "GE.25-08796", "GE.17-23427(E)".
JOB_NUMBER = re.compile(r"(?<![\w/.-])(?:[A-Z]{1,3}\.)?\d{2}-\d{5}(?![\w/-])")
_NUMBERED_LINE = re.compile(r"\s*(\d{1,3}) ?\.\s+([(“\"‘\[]|[^\W\d_])(.*)")


@dataclass(frozen=True, slots=True)
class Row:
    """What the sweep found for one file."""

    file: str
    symbol: str
    date: str  # the issue date read from the masthead ("" when none is printed)
    units: int
    found: str  # the parser's numbered paragraphs, as runs per part
    check: str  # the independent check's runs
    agree: bool
    job_units: int  # units whose text holds a job number
    seconds: float
    error: str = ""


def documents(folder: Path) -> list[Path]:
    """The PDFs (by content) and text files of a folder, sorted by name."""
    out = []
    for path in sorted(folder.iterdir()):
        readable = is_pdf(path) or path.suffix.lower() in {".txt", ".text"}
        if path.is_file() and path.name.lower() != "readme.md" and readable:
            out.append(path)
    return out


def raw_pages(path: Path) -> list[str]:
    """Page texts straight from pypdf (or the file's text), without the parser."""
    if not is_pdf(path):
        return [path.read_text(encoding="utf-8", errors="replace")]
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def check_runs(pages: list[str]) -> list[tuple[int, int]]:
    """Runs of paragraph numbers at line starts in raw text, as (first, last) in document order."""
    starts: list[int] = []
    for page in pages:
        for line in page.splitlines():
            m = _NUMBERED_LINE.match(line)
            if m and not m.group(2).islower():
                starts.append(int(m.group(1)))
    spans: list[tuple[int, int, list[int]]] = []  # (first number, last number, positions)
    for pos, n in enumerate(starts):
        open_runs = [k for k, (_, last, _) in enumerate(spans) if last == n - 1]
        if open_runs:
            k = open_runs[-1]
            first, _, where = spans[k]
            spans[k] = (first, n, [*where, pos])
        elif n == 1:
            spans.append((1, 1, [pos]))
    kept = []
    for first, last, where in spans:
        if len(where) < 2:
            continue
        inside = any(
            other is not where and any(a < where[0] and where[-1] < b for a, b in zip(other, other[1:], strict=False))
            for _, _, other in spans
            if len(other) >= 2
        )
        if not inside:
            kept.append((where[0], first, last))
    return [(first, last) for _, first, last in sorted(kept)]


def found_runs(units: tuple[Unit, ...]) -> list[tuple[str, int, int]]:
    """The parser's numbered paragraphs as runs (part, first, last), one per unbroken stretch."""
    runs: list[tuple[str, int, int]] = []
    for unit in units:
        if unit.kind != "paragraph":
            continue
        part, _, number = unit.para.rpartition(".")
        if not number.isdigit() or re.fullmatch(r"p\d+", part):
            continue
        n = int(number)
        if runs and runs[-1][0] == part and runs[-1][2] == n - 1:
            runs[-1] = (part, runs[-1][1], n)
        else:
            runs.append((part, n, n))
    return runs


def _show(runs: list[tuple[str, int, int]]) -> str:
    shown = [f"{part + '.' if part else ''}{a}" + (f"–{b}" if b != a else "") for part, a, b in runs]
    return ", ".join(shown) or "—"


def sweep_file(path: Path, settings: Settings) -> Row:
    """Parse one file and check it."""
    check = check_runs(raw_pages(path))
    shown_check = _show([("", a, b) for a, b in check])
    start = time.perf_counter()
    try:
        parsed = parse_file(path, settings=settings)
    except RagError as exc:
        seconds = time.perf_counter() - start
        return Row(
            path.name,
            "",
            "",
            0,
            "—",
            shown_check,
            not check,
            0,
            round(seconds, 2),
            str(exc).replace(repr(str(path)), repr(path.name))[:100],
        )
    seconds = time.perf_counter() - start
    runs = found_runs(parsed.units)
    agree = [(a, b) for _, a, b in runs] == check
    jobs = sum(1 for u in parsed.units if JOB_NUMBER.search(u.text))
    return Row(
        path.name,
        parsed.document.id,
        parsed.document.date,
        len(parsed.units),
        _show(runs),
        shown_check,
        agree,
        jobs,
        round(seconds, 2),
    )


def sweep(folders: list[Path], settings: Settings | None = None) -> list[Row]:
    """One row per document of the folders."""
    settings = settings or Settings()
    return [sweep_file(path, settings) for folder in folders for path in documents(folder)]


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table, with a totals line."""
    lines = [
        "| file | symbol | date | units | numbered paragraphs found | check (raw text) | agree | units with job no."
        " | s |",
        "|---|---|---|---:|---|---|:-:|---:|---:|",
    ]
    for r in rows:
        symbol = r.symbol or f"error: {r.error}"
        lines.append(
            f"| {r.file} | {symbol} | {r.date} | {r.units} | {r.found} | {r.check} | {'yes' if r.agree else 'NO'} "
            f"| {r.job_units} | {r.seconds:.2f} |"
        )
    agree = sum(r.agree for r in rows)
    lines.append(
        f"| **{len(rows)} files** | | | {sum(r.units for r in rows)} | | | {agree}/{len(rows)} "
        f"| {sum(r.job_units for r in rows)} | {sum(r.seconds for r in rows):.1f} |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the sweep of the folders given (a Markdown table, or JSON lines with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    args = parser.parse_args(argv)
    for folder in args.folders:
        if not folder.is_dir():
            print(f"sweep: error: {str(folder)!r} is not a folder", file=sys.stderr)
            return 2
    rows = sweep(args.folders)
    if args.json:
        for row in rows:
            print(json.dumps(asdict(row), ensure_ascii=False))
    else:
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
