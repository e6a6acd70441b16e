"""Paracite app entry point. The chat interface arrives with the cited-answers work; until then this
parses the shipped default corpus and shows what Paracite will cite."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from rag import RagError, Settings, parse_file

CORPUS = Path(__file__).resolve().parent / "corpus"


def main() -> int:
    """Parse every document of the default corpus and print a summary line for each."""
    settings = Settings()
    for path in sorted(p for p in CORPUS.iterdir() if p.suffix.lower() in {".pdf", ".txt"}):
        start = time.perf_counter()
        try:
            parsed = parse_file(path, settings=settings)
        except RagError as exc:
            print(f"{path.name}: {exc}", file=sys.stderr)
            continue
        kinds = Counter(u.kind for u in parsed.units)
        counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        print(f"{parsed.document.id:20} {counts}  ({time.perf_counter() - start:.2f} s)")
    print("\nThe chat app is coming soon; meanwhile try: rag parse corpus/S_2020_754.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
