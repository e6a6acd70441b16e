"""Shared test fixtures: paths to the shipped corpus and the shared awkward PDFs, and a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED = Path(os.environ.get("PARACITE_SHARED", ROOT.parent / "shared"))
ROBUSTNESS = SHARED / "pdf-robustness"

needs_shared = pytest.mark.skipif(
    not ROBUSTNESS.is_dir(), reason=f"the shared awkward-PDF folder {ROBUSTNESS} is not present on this machine"
)


@dataclass(frozen=True)
class Run:
    """What one `rag` invocation did."""

    code: int
    stdout: str
    stderr: str

    def units(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines()]


@pytest.fixture
def rag(tmp_path: Path):
    """Run the real `rag` CLI in a subprocess, with a private home and index."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
        full_env = {**os.environ, "HOME": str(tmp_path), "RAG_INDEX": str(tmp_path / "index"), **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=full_env, timeout=timeout
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run
