"""The `rag` command line: argument parsing, output formats, and one-line errors with exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from rag.errors import RagError
from rag.parse import parse_file
from rag.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every `rag` subcommand."""
    parser = argparse.ArgumentParser(prog="rag", description="Paracite: cited answers from UN documents.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="split a PDF or text file into its numbered paragraphs and footnotes")
    p.add_argument("file", type=Path)
    p.add_argument("--jsonl", action="store_true", help="one JSON object per unit")
    p.add_argument("--password", help="password of an encrypted PDF")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input, 1 other failure)."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    try:
        if args.command == "parse":
            return _parse(args, settings)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return 1


def _parse(args: argparse.Namespace, settings: Settings) -> int:
    parsed = parse_file(args.file, settings=settings, password=args.password)
    for warning in parsed.warnings:
        print(f"rag: warning: {args.file}: {warning}", file=sys.stderr)
    out = sys.stdout
    for unit in parsed.units:
        if args.jsonl:
            out.write(json.dumps(unit.to_json(), ensure_ascii=False) + "\n")
        else:
            out.write(f"{unit.doc} ¶{unit.para} (p. {unit.page}; {unit.section or '-'})\n  {unit.text}\n")
    kinds = Counter(u.kind for u in parsed.units)
    summary = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in kinds.items())
    print(f"{parsed.document.id}: {summary} on {parsed.document.pages} pages", file=sys.stderr)
    return 0
