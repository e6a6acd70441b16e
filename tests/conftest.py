"""Shared test fixtures: paths to the shipped corpus and the shared awkward PDFs, and a CLI runner."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from rag.parse import parse_file
from rag.settings import MODEL_CACHE, Settings
from rag.types import Parsed

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SHARED = Path(os.environ.get("PARACITE_SHARED", ROOT.parent / "shared"))
ROBUSTNESS = SHARED / "pdf-robustness"
# Processes a test starts get a private home, but share the model cache the user's processes use: the
# shipped models are assembled there once (400 MB to 1.1 GB each), not once per test.
MODELS = {"RAG_MODEL_CACHE": os.environ.get("RAG_MODEL_CACHE", str(MODEL_CACHE))}

needs_shared = pytest.mark.skipif(
    not ROBUSTNESS.is_dir(), reason=f"the shared awkward-PDF folder {ROBUSTNESS} is not present on this machine"
)


@functools.cache
def parse_once(path: Path) -> Parsed:
    """`parse_file` of a shipped or shared file with the default settings, once per test session: a PDF is
    read in a child process, seconds each, and many tests read the same files (the result is frozen)."""
    return parse_file(path, settings=Settings())


def free_port() -> int:
    """A TCP port free on loopback now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory) -> Path:
    """The default corpus indexed once per test session with the real embedding model, the way a new
    user's first command does it (`rag search` on first use). Indexing it takes minutes on two cores, so
    the slow tests share this one: read it, or `copy_index` it before changing it. `make test` names its
    folder in PARACITE_CORPUS_INDEX so that the quality gate after the tests evaluates over the same index
    instead of embedding the corpus a second time."""
    named = os.environ.get("PARACITE_CORPUS_INDEX")
    folder = Path(named) if named else tmp_path_factory.mktemp("corpus-index") / "index"
    new = not folder.exists()
    env = {**os.environ, "RAG_INDEX": str(folder), "HF_HUB_OFFLINE": "1", **MODELS}
    run = subprocess.run(
        [sys.executable, "-m", "rag", "search", "warm up", "-k", "1", "--jsonl"],
        capture_output=True,
        text=True,
        env=env,
        timeout=3300,  # a hang guard: 5-6 minutes here, 3-4 times that on a slowed CI machine
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert ("first use: indexing the default corpus" in run.stderr) == new
    return folder


def copy_index(index: Path, to: Path) -> Path:
    """A private copy of `index` at `to` (for a test that adds to or removes from it)."""
    shutil.copytree(index, to)
    return to


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
        full_env = {
            **os.environ,
            "HOME": str(tmp_path),
            "RAG_INDEX": str(tmp_path / "index"),
            **MODELS,
            **(env or {}),
        }
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
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _words(text):
                out[i, _bucket(word, self.dim)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def embed_with_tokens(self, texts):
        """Each word is a token: its id and its one-hot vector (no context)."""
        tokens = []
        for text in texts:
            ids = np.array([_bucket(w, 10_000) for w in _words(text)], dtype=np.int32)
            vectors = np.zeros((len(ids), self.dim), dtype=np.float32)
            vectors[np.arange(len(ids)), ids % self.dim] = 1.0
            tokens.append((ids, vectors))
        return self.embed_documents(texts), tokens

    def embed_query(self, text):
        return self.embed_documents([text])[0]

    def embed_query_tokens(self, text):
        from rag.embed import Query

        vectors, [(ids, tokens)] = self.embed_with_tokens([text])
        return Query(vectors[0], ids, tokens, tuple(_words(text)))


def _words(text: str) -> list[str]:
    return [w.strip(".,;:()?") for w in text.lower().split()]


def _bucket(word: str, n: int) -> int:
    return zlib.crc32(word.encode()) % n


def un_text(symbol: str, paragraphs: list[str]) -> str:
    """A small UN-style text document with numbered paragraphs."""
    body = "\n\n".join(f"{n}. {p}" for n, p in enumerate(paragraphs, start=1))
    return f"United Nations {symbol}\nSecurity Council\nDistr.: General\n1 May 2099\n\nI. Introduction\n\n{body}\n"
