"""The library one server shares: the index opened (built from the default corpus on first start) in
the background with its progress on view, reopened after every upload or removal, and a first-come,
first-served queue for an LLM that serves one request at a time."""

from __future__ import annotations

import collections
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.embed import Embedder
from rag.errors import RagError
from rag.library import Progress, ingest, open_searcher, remove
from rag.retrieve import Searcher
from rag.settings import Settings
from rag.types import Document, Unit


class NotReady(RagError):
    """The index is still being built."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What the library shows of one document."""

    id: str
    title: str
    date: str
    pages: int
    paragraphs: tuple[str, ...]  # the numbered paragraphs' ids, in order
    footnotes: int
    other: int  # preambular paragraphs and unnumbered text blocks

    @classmethod
    def of(cls, document: Document, units: Sequence[Unit]) -> Summary:
        """The summary of `document` with its `units`."""
        numbered = tuple(u.para for u in units if u.kind == "paragraph" and u.para.isdigit())
        footnotes = sum(u.kind == "footnote" for u in units)
        return cls(
            document.id,
            document.title,
            document.date,
            document.pages,
            numbered,
            footnotes,
            len(units) - len(numbered) - footnotes,
        )

    def outcome(self) -> str:
        """One line: "S/2025/154: 46 numbered paragraphs (1–46), 3 footnotes"."""
        parts = []
        if self.paragraphs:
            n = len(self.paragraphs)
            parts.append(f"{n} numbered paragraph{'s' * (n != 1)} ({self.paragraphs[0]}–{self.paragraphs[-1]})")
        if self.footnotes:
            parts.append(f"{self.footnotes} footnote{'s' * (self.footnotes != 1)}")
        if self.other:
            parts.append(f"{self.other} other text block{'s' * (self.other != 1)}")
        return f"{self.id}: {', '.join(parts) or 'no text units'}"


@dataclass(frozen=True, slots=True)
class Status:
    """Where opening the index stands."""

    ready: bool
    stage: str
    fraction: float
    error: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of adding one uploaded file."""

    name: str
    ok: bool
    message: str  # "S/2025/154: 46 numbered paragraphs (1–46), 3 footnotes", or the reason it failed


_UNSAFE = re.compile(r"[^A-Za-z0-9._() -]+")


def safe_name(name: str) -> str:
    """A file name that is safe to store: its last path part, odd characters replaced, no leading dots."""
    base = _UNSAFE.sub("_", Path(name.replace("\\", "/")).name).strip(" .")
    return base[-120:] or "upload"


class LiveIndex:
    """The index of one server, shared by all its users; reopened after each change."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings, self.embedder = settings, embedder
        self._searcher: Searcher | None = None
        self._status = Status(False, "starting", 0.0)
        self._write = threading.Lock()  # uploads and removals, one at a time within this server

    def open(self) -> None:
        """Open the index (building it from the default corpus when there is none); progress is kept
        in `status`. Run it in a background thread to serve the page meanwhile."""
        try:
            searcher = open_searcher(
                settings=self.settings, embedder=self.embedder, progress=False, on_progress=self._progress
            )
        except RagError as exc:
            self._status = Status(False, "failed", 0.0, str(exc))
            return
        self._searcher = searcher
        self._status = Status(True, "ready", 1.0)

    def _progress(self, stage: str, fraction: float) -> None:
        self._status = Status(False, f"indexing the default corpus: {stage}", fraction)

    @property
    def status(self) -> Status:
        """How far opening the index has come."""
        return self._status

    @property
    def searcher(self) -> Searcher:
        """The current searcher; NotReady while the index is being built."""
        if self._searcher is None:
            status = self._status
            if status.error:
                raise NotReady(f"the library could not be opened: {status.error}")
            raise NotReady(f"the library is still being indexed ({status.fraction:.0%}); ask again in a moment")
        return self._searcher

    def summaries(self) -> list[Summary]:
        """Every document in the library, in index order."""
        searcher = self.searcher
        units: dict[str, list[Unit]] = collections.defaultdict(list)
        for unit in searcher.units:
            units[unit.doc].append(unit)
        return [Summary.of(d, units[d.id]) for d in searcher.documents]

    def documents(self) -> dict[str, Document]:
        """The library's documents by id."""
        return {d.id: d for d in self.searcher.documents}

    def add(
        self,
        files: Sequence[tuple[str, bytes | Path]],
        *,
        password: str | None = None,
        on_progress: Progress | None = None,
    ) -> list[Outcome]:
        """Store uploaded files under the index folder (names sanitised) and ingest each; one outcome a file."""
        tell = on_progress or (lambda stage, fraction: None)
        outcomes = []
        folder = self.settings.index / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        with self._write:
            for i, (name, content) in enumerate(files):
                data = content.read_bytes() if isinstance(content, Path) else content
                target = _free_target(folder, safe_name(name), data)
                kept_before = target.exists()  # the same file, uploaded earlier
                target.write_bytes(data)

                def step(stage: str, fraction: float, i: int = i, name: str = name) -> None:
                    tell(f"{name} ({i + 1} of {len(files)}): {stage.split()[0]}", (i + fraction) / len(files))

                try:
                    report = ingest(
                        [target],
                        settings=self.settings,
                        embedder=self.embedder,
                        password=password,
                        progress=False,
                        on_progress=step,
                    )
                except RagError as exc:
                    report = None
                    failure = str(exc)
                if report is None or report.failed:
                    if not kept_before:
                        target.unlink(missing_ok=True)
                    reason = report.failed[0][1] if report else failure
                    outcomes.append(Outcome(name, False, f"{name}: {_short(reason, str(target))}"))
                    continue
                self._reopen()
                ids = report.added + report.replaced + report.unchanged
                summary = next((s for s in self.summaries() if s.id in ids), None)
                said = summary.outcome() if summary else f"{name}: added"
                if report.unchanged:
                    said += " (already in the library, unchanged)"
                elif report.replaced:
                    said += " (replaced the earlier version)"
                outcomes.append(Outcome(name, True, said))
        return outcomes

    def remove(self, doc: str) -> Document:
        """Remove one document from the library."""
        with self._write:
            removed = remove(doc, settings=self.settings, embedder=self.embedder)
            self._reopen()
        return removed

    def _reopen(self) -> None:
        self._searcher = open_searcher(settings=self.settings, embedder=self.embedder, progress=False)


def _free_target(folder: Path, name: str, data: bytes) -> Path:
    """Where to store an upload: `name`, or `name-2`, `name-3`… when another file already holds that
    name (an earlier upload is never overwritten, nor deleted if this one fails)."""
    target, n = folder / name, 1
    while target.exists() and target.read_bytes() != data:
        n += 1
        target = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
    return target


def _short(reason: str, path: str) -> str:
    """A failure reason without the server-side path of the stored upload."""
    return reason.replace(repr(path), "the file").replace(path, "the file")


class TurnQueue:
    """First come, first served turns at a backend that serves one request at a time (llama.cpp)."""

    def __init__(self) -> None:
        self._waiting: collections.deque[int] = collections.deque()
        self._next = 0
        self._changed = threading.Condition()

    def join(self) -> int:
        """A ticket at the back of the queue."""
        with self._changed:
            self._next += 1
            self._waiting.append(self._next)
            return self._next

    def ahead(self, ticket: int) -> int:
        """How many tickets are ahead of `ticket` (0: its turn)."""
        with self._changed:
            return self._waiting.index(ticket) if ticket in self._waiting else 0

    def wait(self, ticket: int, timeout: float) -> bool:
        """Wait up to `timeout` seconds for `ticket`'s turn; whether it has come."""
        with self._changed:
            return bool(self._changed.wait_for(lambda: bool(self._waiting) and self._waiting[0] == ticket, timeout))

    def leave(self, ticket: int) -> None:
        """Give up a ticket: its turn is over, or it stopped waiting."""
        with self._changed:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            self._changed.notify_all()

    def __len__(self) -> int:
        with self._changed:
            return len(self._waiting)
