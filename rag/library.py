"""The library of indexed documents: ingest (add, replace, skip unchanged), list, remove, open."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from rag import store
from rag.embed import Embedder, Tokens
from rag.errors import BadInput, RagError
from rag.indexed import doc_key, views
from rag.parse import PARSER_VERSION, SUPPORTED, is_pdf, parse_file
from rag.retrieve import Searcher
from rag.settings import Settings
from rag.store import Snapshot, Store
from rag.types import Document, Unit

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest did, document by document."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (path, one-line reason)


Progress = Callable[[str, float], None]  # (stage, fraction done): "parse S_2020_754.txt", "embed", "save"


def open_store(settings: Settings) -> Store:
    """The store the settings name: the FAISS folder `index`, or Milvus (RAG_STORE=milvus)."""
    if settings.store == "milvus":
        from rag.milvus_store import MilvusStore

        token = settings.milvus_token.get_secret_value() if settings.milvus_token else None
        uri = settings.milvus_uri or str(settings.index / "milvus.db")
        if "://" not in uri:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        return MilvusStore(uri, settings.milvus_collection, token)
    return store.FaissStore(settings.index)


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files to ingest: each file given, and every supported file under each folder given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and (p.suffix.lower() in SUPPORTED or is_pdf(p)))
            )
        else:
            files.append(path)
    return files


@dataclass(frozen=True, slots=True)
class Entry:
    """One document as ingest handles it: its units and, once embedded, the vectors of their views
    (`owners`: the unit, within the document, of each vector row) and their quantised token vectors."""

    document: Document
    units: tuple[Unit, ...]
    vectors: np.ndarray | None = None  # None: not embedded yet
    owners: np.ndarray | None = None
    tokens: tuple[Tokens, ...] = ()


def _silent(stage: str, fraction: float) -> None:
    """A `Progress` that shows nothing."""


class Reader(Protocol):
    """Reads files into entries: parsed (and possibly embedded already), and the files that failed with
    their one-line reasons. `read` below does it in this process; `rag.distributed` on Ray."""

    def __call__(
        self, paths: list[Path], *, settings: Settings, password: str | None, progress: bool, tell: Progress
    ) -> tuple[list[Entry], list[tuple[str, str]]]: ...


def read(
    paths: list[Path], *, settings: Settings, password: str | None, progress: bool, tell: Progress = _silent
) -> tuple[list[Entry], list[tuple[str, str]]]:
    """Parse each file in turn (embedding comes after, in batches across documents)."""
    entries: list[Entry] = []
    failed: list[tuple[str, str]] = []
    bar = tqdm(paths, desc="ingest", unit="file", disable=not progress, file=sys.stderr, leave=False)
    for done, path in enumerate(bar):
        bar.set_postfix_str(path.name[-30:])
        tell(f"parse {path.name}", done / len(paths))
        try:
            parsed = parse_file(path, settings=settings, password=password)
        except RagError as exc:
            failed.append((str(path), str(exc)))
            continue
        entries.append(Entry(parsed.document, parsed.units))
    bar.close()
    return entries, failed


def ingest(
    paths: Iterable[Path],
    *,
    settings: Settings,
    embedder: Embedder,
    password: str | None = None,
    rebuild: bool = False,
    progress: bool = True,
    on_progress: Progress | None = None,
    reader: Reader = read,
) -> IngestReport:
    """Parse, embed and add or replace documents; bad files are reported and skipped, never fatal.
    The index is switched to the new state in one atomic step, or left as it was. `progress` shows
    bars on stderr; `on_progress` is told each stage as it goes (for a progress display of one's own).
    `reader` parses the files that are new or changed (and may embed them: `rag.distributed`)."""
    tell = on_progress or _silent
    files = expand(paths)
    with store.writer_lock(settings.index):
        if settings.store == "faiss":
            store.prune(settings.index)
        entries, parser = _load(settings, embedder, rebuild)
        known = {e.document.sha256: e.document for e in entries.values()} if parser == PARSER_VERSION else {}
        unchanged: list[str] = []
        todo: list[Path] = []
        failed: list[tuple[str, str]] = []
        for path in files:
            try:
                digest = store.sha256_file(path) if path.is_file() else None
            except OSError as exc:
                failed.append((str(path), f"{str(path)!r} cannot be read ({exc.strerror})"))
                continue
            if digest in known and not rebuild:
                unchanged.append(known[digest].id)
            else:
                todo.append(path)
        fresh, unread = (
            reader(todo, settings=settings, password=password, progress=progress, tell=tell) if todo else ([], [])
        )
        failed += unread
        added: list[str] = []
        replaced: list[str] = []
        for entry in fresh:
            doc = entry.document.id
            (replaced if doc in entries else added).append(doc)
            entries[doc] = entry
        if not (added or replaced or rebuild):
            return IngestReport(unchanged=tuple(unchanged), failed=tuple(failed))
        entries = embed_entries(embedder, entries, progress=progress, tell=tell)
        tell("save", 1.0)
        _save(settings, embedder, entries)
    return IngestReport(tuple(added), tuple(replaced), tuple(unchanged), tuple(failed))


def remove(doc: str, *, settings: Settings, embedder: Embedder) -> Document:
    """Remove one document from the index; an unknown id is a BadInput."""
    with store.writer_lock(settings.index):
        loaded = open_store(settings).load(fingerprint=embedder.fingerprint)
        entries = _entries(loaded[0], with_vectors=True) if loaded else {}
        match = next((e.document for e in entries.values() if doc_key(e.document.id) == doc_key(doc)), None)
        if match is None:
            raise BadInput(f"no document {doc!r} in the index; `rag docs` lists them")
        del entries[match.id]
        _save(settings, embedder, entries)
    return match


def open_searcher(
    *, settings: Settings, embedder: Embedder, progress: bool = True, on_progress: Progress | None = None
) -> Searcher:
    """Load the index, building it from the shipped default corpus on first use."""
    loaded = open_store(settings).load(fingerprint=embedder.fingerprint)
    if loaded is None:
        log.info("first use: indexing the default corpus %r…", str(settings.corpus))
        report = ingest(
            [settings.corpus], settings=settings, embedder=embedder, progress=progress, on_progress=on_progress
        )
        for path, reason in report.failed:
            log.warning("skipped %s: %s", path, reason)
        loaded = open_store(settings).load(fingerprint=embedder.fingerprint)
        if loaded is None:
            raise RagError(f"no documents could be indexed from {str(settings.corpus)!r}")
    snapshot, index = loaded
    return Searcher(snapshot, index, embedder, settings.retrieval)


def documents(*, settings: Settings, embedder: Embedder) -> list[tuple[Document, list[Unit]]]:
    """Every indexed document with its units (the default corpus is indexed on first use)."""
    searcher = open_searcher(settings=settings, embedder=embedder)
    by_doc: dict[str, list[Unit]] = {}
    for unit in searcher.units:
        by_doc.setdefault(unit.doc, []).append(unit)
    return [(d, by_doc.get(d.id, [])) for d in searcher.documents]


def _load(settings: Settings, embedder: Embedder, rebuild: bool) -> tuple[dict[str, Entry], int]:
    """The library's documents as entries, and the parser version that read them. On `rebuild` only the
    units are kept (from an index of any model or schema): everything is embedded again."""
    if rebuild:
        if catalogue := open_store(settings).load_units():
            parser, documents, units = catalogue
            by_doc: dict[str, list[Unit]] = {d.id: [] for d in documents}
            for unit in units:
                by_doc[unit.doc].append(unit)
            return {d.id: Entry(d, tuple(by_doc[d.id])) for d in documents}, parser
    elif loaded := open_store(settings).load(fingerprint=embedder.fingerprint):
        return _entries(loaded[0], with_vectors=True), loaded[0].parser
    return {}, PARSER_VERSION


def _save(settings: Settings, embedder: Embedder, entries: dict[str, Entry]) -> None:
    open_store(settings).save(_join(embedder, entries), model=embedder.name, ann_threshold=settings.ann_threshold)


def _entries(snapshot: Snapshot, *, with_vectors: bool) -> dict[str, Entry]:
    """A snapshot split into one entry per document (in the snapshot's order)."""
    first: dict[str, int] = {}
    units: dict[str, list[Unit]] = {d.id: [] for d in snapshot.documents}
    for i, unit in enumerate(snapshot.units):
        units[unit.doc].append(unit)
        first.setdefault(unit.doc, i)
    rows: dict[str, list[int]] = {d.id: [] for d in snapshot.documents}
    for row, owner in enumerate(snapshot.owners):
        rows[snapshot.units[owner].doc].append(row)
    out = {}
    for document in snapshot.documents:
        doc, start = document.id, first.get(document.id, 0)
        out[doc] = Entry(
            document,
            tuple(units[doc]),
            snapshot.vectors[rows[doc]] if with_vectors else None,
            snapshot.owners[rows[doc]] - start if with_vectors else None,
            tuple(snapshot.unit_tokens(start + i) for i in range(len(units[doc]))) if with_vectors else (),
        )
    return out


def _join(embedder: Embedder, entries: dict[str, Entry]) -> Snapshot:
    """Every entry (all embedded) in one snapshot, owners renumbered across the library."""
    order = list(entries.values())
    offsets = np.cumsum([0] + [len(e.units) for e in order])
    token_ids, token_vectors, token_offsets = _concat_tokens([t for e in order for t in e.tokens], embedder.dim)
    vectors = [e.vectors for e in order if e.vectors is not None]
    owners = [e.owners + offset for e, offset in zip(order, offsets, strict=False) if e.owners is not None]
    return Snapshot(
        embedder.fingerprint,
        PARSER_VERSION,
        tuple(e.document for e in order),
        tuple(u for e in order for u in e.units),
        np.concatenate(vectors) if vectors else np.zeros((0, embedder.dim), np.float32),
        np.concatenate(owners) if owners else np.zeros(0, np.int64),
        token_ids,
        token_vectors,
        token_offsets,
    )


def _concat_tokens(per_unit: list[Tokens], dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-unit (ids, int8 vectors) as the snapshot's flat arrays and offsets."""
    offsets = np.zeros(len(per_unit) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(ids) for ids, _ in per_unit])
    if not per_unit:
        return np.zeros(0, np.int32), np.zeros((0, dim), np.int8), offsets
    return (
        np.concatenate([ids for ids, _ in per_unit]).astype(np.int32),
        np.concatenate([v for _, v in per_unit]).astype(np.int8),
        offsets,
    )


def embed_entries(
    embedder: Embedder, entries: dict[str, Entry], *, progress: bool, tell: Progress = _silent
) -> dict[str, Entry]:
    """Every entry embedded: the views of each unit of the entries not embedded yet, in batches across
    documents; whole units with their token vectors (for reranking), quantised."""
    todo = [doc for doc, e in entries.items() if e.vectors is None]
    texts: list[str] = []
    owners: list[int] = []  # for each row of `texts`: the unit's index within its document
    whole: list[int] = []  # the rows of `texts` that are whole units (embedded with their tokens)
    spans: dict[str, tuple[int, int]] = {}
    for doc in todo:
        start = len(texts)
        for i, unit in enumerate(entries[doc].units):
            whole.append(len(texts))
            texts += (v := views(unit))
            owners += [i] * len(v)
        spans[doc] = (start, len(texts))
    # batches of texts of about the same length: little padding to compute
    whole = sorted(whole, key=lambda row: len(texts[row]))
    parts = sorted(set(range(len(texts))) - set(whole), key=lambda row: len(texts[row]))
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    tokens: dict[int, Tokens] = {}
    batches = [(True, whole[i : i + 64]) for i in range(0, len(whole), 64)]
    batches += [(False, parts[i : i + 64]) for i in range(0, len(parts), 64)]
    for done, (with_tokens, rows) in enumerate(
        tqdm(batches, desc="embed", unit="batch", disable=not (progress and batches), file=sys.stderr, leave=False)
    ):
        tell("embed", done / len(batches))
        batch = [texts[i] for i in rows]
        if with_tokens:
            vectors, batch_tokens = embedder.embed_with_tokens(batch)
            tokens.update({row: (ids, store.quantise(v)) for row, (ids, v) in zip(rows, batch_tokens, strict=True)})
        else:
            vectors = embedder.embed_documents(batch)
        out[rows] = vectors
    done_entries = dict(entries)
    for doc, (start, end) in spans.items():
        done_entries[doc] = replace(
            entries[doc],
            vectors=out[start:end],
            owners=np.array(owners[start:end], dtype=np.int64),
            tokens=tuple(tokens[row] for row in range(start, end) if row in tokens),
        )
    return done_entries
