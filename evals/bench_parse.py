"""Benchmark: parse time of each default-corpus document (median of repeated runs, in-process)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from rag import Settings, parse_file

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
RUNS = 5


def main() -> None:
    """Print a Markdown table: document, pages, units, median and best parse time."""
    settings = Settings()
    print("| document | pages | units | median s | best s |")
    print("|---|---:|---:|---:|---:|")
    for path in sorted(p for p in CORPUS.iterdir() if p.suffix.lower() in {".pdf", ".txt"}):
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            parsed = parse_file(path, settings=settings)
            times.append(time.perf_counter() - start)
        print(
            f"| {parsed.document.id} | {parsed.document.pages} | {len(parsed.units)} "
            f"| {statistics.median(times):.3f} | {min(times):.3f} |"
        )


if __name__ == "__main__":
    main()
