"""Bad input gets one clear line and exit code 2 — never a traceback, a hang or unbounded memory.
Runs the real CLI in a subprocess, on the awkward real-world PDFs and on broken text files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROBUSTNESS, ROOT, needs_shared


def _one_line_error(run, *needles: str) -> None:
    assert run.code == 2, (run.code, run.stderr)
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: error: "), run.stderr
    assert "Traceback" not in run.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_path(rag, tmp_path: Path):
    _one_line_error(rag("parse", str(tmp_path / "nope.pdf"), "--jsonl"), "does not exist")


def test_directory(rag, tmp_path: Path):
    _one_line_error(rag("parse", str(tmp_path), "--jsonl"), "is a folder")


def test_empty_text_file(rag, tmp_path: Path):
    (tmp_path / "empty.txt").write_bytes(b"")
    _one_line_error(rag("parse", str(tmp_path / "empty.txt"), "--jsonl"), "is empty")


def test_binary_garbage_named_txt(rag, tmp_path: Path):
    (tmp_path / "garbage.txt").write_bytes(bytes(range(256)) * 64)
    _one_line_error(rag("parse", str(tmp_path / "garbage.txt"), "--jsonl"), "binary data, not text")


def test_unsupported_type(rag, tmp_path: Path):
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04")
    _one_line_error(rag("parse", str(tmp_path / "notes.docx"), "--jsonl"), "not a supported file type")


def test_text_named_pdf(rag, tmp_path: Path):
    (tmp_path / "fake.pdf").write_text("1. This is not a PDF at all.")
    _one_line_error(rag("parse", str(tmp_path / "fake.pdf"), "--jsonl"), "not a readable PDF")


def test_non_utf8_text_is_read_with_a_warning(rag, tmp_path: Path):
    text = "1. The Organisation’s report – café funding was discussed.\n\n2. A second paragraph follows."
    (tmp_path / "latin.txt").write_bytes(text.encode("cp1252"))
    run = rag("parse", str(tmp_path / "latin.txt"), "--jsonl")
    assert run.code == 0, run.stderr
    units = run.units()
    assert [u["para"] for u in units] == ["1", "2"]
    assert "café" in units[0]["text"] and "Organisation’s" in units[0]["text"]
    assert "not UTF-8" in run.stderr


# (file, expected exit code, words the one-line outcome must contain)
AWKWARD = [
    ("encrypted/aes-256.pdf", 2, ["encrypted", "--password"]),
    ("encrypted/libreoffice-writer-password.pdf", 2, ["encrypted", "--password"]),
    ("encrypted/r4-aes-user-password.pdf", 2, ["encrypted", "--password"]),
    ("scanned/1991-12-19_Interoffice_memorandum_Fleischhauer.pdf", 2, ["no text layer"]),
    ("scanned/patchelf.pdf", 2, ["no text"]),
    ("scanned/Seige_of_Vicksburg_Sample_OCR.pdf", 0, []),
    ("malformed/Pages-tree-refs.pdf", 2, ["not a readable PDF"]),
    ("malformed/bomb_giant.pdf", 2, ["no readable text"]),
    ("malformed/helloworld-bad.pdf", 0, []),
    ("malformed/zen_of_python_corrupted.pdf", 0, []),
    ("malformed/bug1978317.pdf", 0, []),
    ("encodings_layout/empty.pdf", 2, ["contains no text"]),
    ("encodings_layout/habibi.pdf", 0, []),
    ("encodings_layout/multicolumn.pdf", 0, []),
    ("encodings_layout/vertical.pdf", 0, []),
    ("large/freeculture.pdf", 0, []),
]


@needs_shared
@pytest.mark.parametrize(("name", "code", "words"), AWKWARD, ids=[a[0] for a in AWKWARD])
def test_awkward_pdfs(rag, name, code, words):
    run = rag("parse", str(ROBUSTNESS / name), "--jsonl")
    assert "Traceback" not in run.stderr
    if code:
        _one_line_error(run, *words)
    else:
        assert run.code == 0, run.stderr
        assert run.units(), "expected units"


@needs_shared
@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("aes-256.pdf", "foo"),
        ("libreoffice-writer-password.pdf", "openpassword"),
        ("r4-aes-user-password.pdf", "asdfzxcv"),
    ],
)
def test_encrypted_with_password(rag, name, password):
    run = rag("parse", str(ROBUSTNESS / "encrypted" / name), "--jsonl", "--password", password)
    assert run.code == 0, run.stderr
    assert any(u["text"] for u in run.units())
    wrong = rag("parse", str(ROBUSTNESS / "encrypted" / name), "--password", "wrong")
    _one_line_error(wrong, "password given is wrong")


@needs_shared
def test_content_of_recovered_pdfs(rag):
    hello = rag("parse", str(ROBUSTNESS / "malformed/helloworld-bad.pdf"), "--jsonl").units()
    assert hello[0]["text"] == "Hello, world!"
    zen = " ".join(
        u["text"] for u in rag("parse", str(ROBUSTNESS / "malformed/zen_of_python_corrupted.pdf"), "--jsonl").units()
    )
    assert "Beautiful is better than ugly." in zen


@needs_shared
def test_columns_not_interleaved(rag):
    units = rag("parse", str(ROBUSTNESS / "encodings_layout/multicolumn.pdf"), "--jsonl").units()
    texts = [u["text"] for u in units]
    first = next(t for t in texts if t.startswith("Lorem ipsum dolor sit amet"))
    # the first column's paragraph reads on to its own end, not into the second column
    assert first.endswith("Duis eget orci sit amet orci dignissim rutrum.")
    assert sum("Nam dui ligula" in t for t in texts) == 1


@needs_shared
def test_garbled_and_rtl_text_warn(rag):
    vertical = rag("parse", str(ROBUSTNESS / "encodings_layout/vertical.pdf"), "--jsonl")
    assert "garbled" in vertical.stderr
    habibi = rag("parse", str(ROBUSTNESS / "encodings_layout/habibi.pdf"), "--jsonl")
    assert "right-to-left" in habibi.stderr and "habibi" in habibi.units()[0]["text"]


@needs_shared
def test_time_bound(rag):
    # bug1978317.pdf needs seconds and ~400 MB in pypdf: a tight bound stops it with a clear message.
    run = rag("parse", str(ROBUSTNESS / "malformed/bug1978317.pdf"), env={"RAG_PDF_TIMEOUT_S": "0.5"}, timeout=30)
    _one_line_error(run, "took longer than 0.5 s", "RAG_PDF_TIMEOUT_S")


@needs_shared
def test_memory_bound(rag):
    run = rag("parse", str(ROBUSTNESS / "malformed/bug1978317.pdf"), env={"RAG_PDF_MEMORY_MB": "64"}, timeout=60)
    _one_line_error(run, "memory bound", "RAG_PDF_MEMORY_MB")


def test_bad_setting_in_the_environment(rag, tmp_path: Path):
    (tmp_path / "a.txt").write_text("1. Some text about the Council.\n")
    for value in ("abc", "-1", "201"):  # not a number, below and above its bounds
        _one_line_error(
            rag("parse", str(tmp_path / "a.txt"), env={"RAG_RETRIEVAL__RERANK_DEPTH": value}),
            f"RAG_RETRIEVAL__RERANK_DEPTH='{value}' is not valid",
        )
    # a renamed setting, or a misspelt one, would otherwise be ignored without a word
    _one_line_error(
        rag("parse", str(tmp_path / "a.txt"), env={"RAG_RERANK_DEPTH": "0"}),
        "RAG_RERANK_DEPTH is now RAG_RETRIEVAL__RERANK_DEPTH",
    )
    _one_line_error(rag("parse", str(tmp_path / "a.txt"), env={"RAG_INDX": "x"}), "RAG_INDX is not a setting")


def test_a_pdf_reader_whose_parent_is_killed_does_not_linger(tmp_path: Path):
    """A PDF is read in a child process; when its parent is killed mid-read (`kill -9` of `rag ingest`, the
    app stopped while indexing), the child ends once it has read the file instead of waiting forever to
    hand over text that nobody will take."""
    pid_file = tmp_path / "child.pid"
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from rag import pdf\n"
        "real = pdf._extract\n"
        "def extract(*args):\n"
        f"    Path({str(pid_file)!r}).write_text(str(os.getpid()))\n"
        "    real(*args)\n"
        "pdf._extract = extract\n"
        "pdf.read_pdf(Path(sys.argv[1]), password=None, timeout_s=300, memory_mb=2048)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(CORPUS / "A_80_1.en.pdf")], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    parent.kill()  # before the child has sent the text (over 64 KB: more than a pipe holds)
    parent.wait()
    child = int(pid_file.read_text())

    def alive() -> bool:
        try:
            return Path(f"/proc/{child}/stat").read_text().split(") ")[1][0] != "Z"
        except (FileNotFoundError, IndexError):
            return False

    deadline = time.monotonic() + 90
    while alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    lingering = alive()
    if lingering:
        os.kill(child, 9)
    assert not lingering
