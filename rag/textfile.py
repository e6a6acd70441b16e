"""Decoding a text file (including OCR output) into a string, refusing binary data."""

from __future__ import annotations

import codecs
from pathlib import Path

from rag.errors import NoText, UnreadableFile


def read_text(path: Path) -> tuple[str, tuple[str, ...]]:
    """Return the decoded text and warnings; raise NoText or UnreadableFile when unusable."""
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), ()
    if not data.strip():
        raise NoText(f"{str(path)!r} is empty")
    if _looks_binary(data[:65536]):
        raise UnreadableFile(f"{str(path)!r} is binary data, not text; give a .txt or .pdf file")
    try:
        return data.decode("utf-8-sig"), ()
    except UnicodeDecodeError:
        pass
    try:
        text, encoding = data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "Latin-1"
    return text, (f"{str(path)!r} is not UTF-8; read it as {encoding}",)


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return control > len(sample) * 0.01
