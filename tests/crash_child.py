"""A writer for the crash tests, run as a child process: ingests files with the fake embedder and
prints each checkpoint of `store.save` as it passes it, optionally stopping at one until told to go on.

    python tests/crash_child.py INDEX [--stop CHECKPOINT] FILE...

stdout, one line each: `start` (just before the ingest), `reached NAME` (each checkpoint passed),
`stopped NAME` (waiting at --stop: a line on stdin, or its end, lets it go on), `done ADDED UNCHANGED`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag import store  # noqa: E402  (after the path, so the child finds the package from any folder)
from rag.library import ingest  # noqa: E402
from rag.settings import Settings  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402


def main() -> None:
    """Parse the arguments, install the checkpoint reporter and ingest."""
    parser = argparse.ArgumentParser()
    parser.add_argument("index", type=Path)
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--stop", choices=store.CHECKPOINTS)
    args = parser.parse_args()

    def report(name: str) -> None:
        # Flushed line by line: the parent kills as soon as it reads a line, and must not lose earlier ones.
        print(f"reached {name}", flush=True)
        if name == args.stop:
            print(f"stopped {name}", flush=True)
            sys.stdin.readline()  # held here, inside the writer lock, until the parent kills or releases it

    store.on_checkpoint = report
    print("start", flush=True)
    done = ingest(args.files, settings=Settings(index=args.index), embedder=FakeEmbedder(), progress=False)
    print(f"done {','.join(done.added) or '-'} {','.join(done.unchanged) or '-'}", flush=True)


if __name__ == "__main__":
    main()
