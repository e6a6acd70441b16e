"""Text of a PDF, page by page, read by pypdf in a child process bounded in time and memory."""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
from dataclasses import dataclass
from pathlib import Path

from rag.errors import EncryptedPDF, TooExpensive, UnreadableFile


@dataclass(frozen=True, slots=True)
class PdfText:
    """The text layer of each page, plus pages that carry images (a scan without OCR)."""

    pages: tuple[str, ...]
    image_pages: int
    warnings: tuple[str, ...]


def is_pdf(path: Path) -> bool:
    """True when a file starts with the PDF header ("%PDF-", after any leading whitespace)."""
    with path.open("rb") as f:
        return f.read(1024).lstrip(b"\x00\t\n\r\f ").startswith(b"%PDF-")


def read_pdf(path: Path, *, password: str | None, timeout_s: float, memory_mb: int) -> PdfText:
    """Extract per-page text; raise a BadInput subclass naming why a file cannot be used."""
    with path.open("rb") as f:
        if b"%PDF" not in f.read(1024):
            raise UnreadableFile(f"{str(path)!r} is not a readable PDF (no PDF header)")
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    # (the standard library's stubs give BaseContext no Process; every concrete context has one)
    child = ctx.Process(target=_extract, args=(str(path), password, memory_mb, sender, receiver), daemon=True)  # type: ignore[attr-defined]
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise TooExpensive(
                f"{str(path)!r} took longer than {timeout_s:g} s to read; raise RAG_PDF_TIMEOUT_S to allow more"
            )
        try:
            result = receiver.recv()
        except EOFError:
            result = ("memory",)
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    return _outcome(path, password, result)


def _outcome(path: Path, password: str | None, result: tuple) -> PdfText:
    status = result[0]
    if status == "ok":
        return PdfText(pages=tuple(result[1]), image_pages=result[2], warnings=tuple(result[3]))
    if status == "encrypted":
        hint = "the password given is wrong" if password else "give the password with --password"
        raise EncryptedPDF(f"{str(path)!r} is encrypted: {hint}")
    if status == "memory":
        raise TooExpensive(
            f"{str(path)!r} needs more than the memory bound to read; raise RAG_PDF_MEMORY_MB to allow more"
        )
    raise UnreadableFile(f"{str(path)!r} is not a readable PDF ({result[1]})")


def _extract(path: str, password: str | None, memory_mb: int, conn, parents_end) -> None:  # runs in the child
    # A forked child holds the parent's end of the pipe too: closed here, a parent that dies mid-read closes
    # the last reader, and the child's send fails (it exits) instead of blocking forever on a full pipe.
    parents_end.close()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # pypdf prints recovery chatter; the parent reports one line instead
    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        _limit_memory(memory_mb)
        conn.send(_read(path, password))
    except MemoryError:
        conn.send(("memory",))
    except Exception as exc:  # noqa: BLE001 - any parser failure means "not readable"
        conn.send(("unreadable", _describe(exc)))
    finally:
        conn.close()


def _read(path: str, password: str | None) -> tuple:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    reader = PdfReader(path, strict=False)
    if reader.is_encrypted and not reader.decrypt(password or ""):
        return ("encrypted",)
    pages: list[str] = []
    warnings: list[str] = []
    image_pages = 0
    for number, page in enumerate(reader.pages, start=1):
        image_pages += _has_images(page)
        try:
            pages.append(page.extract_text() or "")
        except (MemoryError, LimitReachedError):
            raise
        except Exception as exc:  # noqa: BLE001 - one bad page must not lose the others
            pages.append("")
            warnings.append(f"page {number} skipped ({_describe(exc)})")
    return ("ok", pages, image_pages, warnings)


def _has_images(page) -> bool:
    try:
        xobjects = page["/Resources"].get_object().get("/XObject")
        if xobjects is None:
            return False
        return any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.get_object().values())
    except Exception:  # noqa: BLE001 - a damaged resource dict only means "no known images"
        return False


def _limit_memory(memory_mb: int) -> None:
    # The child starts as a copy of the parent (which may hold torch), so bound the growth, not the total.
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[0]) * resource.getpagesize()
    limit = current + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__
