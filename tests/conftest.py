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


class FakeEmbedder:
    """A fast, deterministic stand-in for the sentence-transformers model (unit tests only): hashed
    bag-of-words vectors, so texts sharing words are near each other."""

    name = "fake"
    dim = 64

    def __init__(self, fingerprint: str = "fake-1") -> None:
        self.fingerprint = fingerprint

    def embed_documents(self, texts):
        import zlib

        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.strip(".,;:()").encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def un_text(symbol: str, paragraphs: list[str]) -> str:
    """A small UN-style text document with numbered paragraphs."""
    body = "\n\n".join(f"{n}. {p}" for n, p in enumerate(paragraphs, start=1))
    return f"United Nations {symbol}\nSecurity Council\nDistr.: General\n1 May 2099\n\nI. Introduction\n\n{body}\n"
