"""The library of indexed documents: ingest (add, replace, skip unchanged), list, remove, open."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rag import store
from rag.embed import Embedder, Tokens
from rag.errors import BadInput, RagError
from rag.parse import PARSER_VERSION, SUPPORTED, parse_file
from rag.retrieve import Searcher, doc_key, views
from rag.settings import Settings
from rag.store import Snapshot
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


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files to ingest: each file given, and every supported file under each folder given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED))
        else:
            files.append(path)
    return files


def ingest(
    paths: Iterable[Path],
    *,
    settings: Settings,
    embedder: Embedder,
    password: str | None = None,
    rebuild: bool = False,
    progress: bool = True,
    on_progress: Progress | None = None,
) -> IngestReport:
    """Parse, embed and add or replace documents; bad files are reported and skipped, never fatal.
    The index is switched to the new state in one atomic step, or left as it was. `progress` shows
    bars on stderr; `on_progress` is told each stage as it goes (for a progress display of one's own)."""
    tell = on_progress or (lambda stage, fraction: None)
    files = expand(paths)
    with store.writer_lock(settings.index):
        store.prune(settings.index)
        snapshot = Snapshot.empty(embedder.fingerprint, PARSER_VERSION, embedder.dim)
        if rebuild:  # only the units are kept (from an index of any model or schema); all is embedded again
            if catalogue := store.load_units(settings.index):
                parser, documents_before, units_before = catalogue
                snapshot = replace(snapshot, parser=parser, documents=documents_before, units=units_before)
        elif loaded := store.load(settings.index, fingerprint=embedder.fingerprint):
            snapshot = loaded[0]
        known = {d.sha256: d for d in snapshot.documents} if snapshot.parser == PARSER_VERSION else {}
        documents = {d.id: d for d in snapshot.documents}
        units: dict[str, list[Unit]] = {d.id: [] for d in snapshot.documents}
        first: dict[str, int] = {}
        for i, unit in enumerate(snapshot.units):
            units[unit.doc].append(unit)
            first.setdefault(unit.doc, i)
        # per document: its view vectors, for each the owning unit's index within the document, and the
        # tokens of each of its units
        vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        tokens: dict[str, list[Tokens]] = {doc: [] for doc in documents}
        if not rebuild:
            rows_of: dict[str, list[int]] = {doc: [] for doc in documents}
            for row, owner in enumerate(snapshot.owners):
                rows_of[snapshot.units[owner].doc].append(row)
            for doc, rows in rows_of.items():
                vectors[doc] = (snapshot.vectors[rows], snapshot.owners[rows] - first.get(doc, 0))
            for i, unit in enumerate(snapshot.units):
                tokens[unit.doc].append(snapshot.unit_tokens(i))
        added: list[str] = []
        replaced: list[str] = []
        unchanged: list[str] = []
        failed: list[tuple[str, str]] = []
        bar = tqdm(files, desc="ingest", unit="file", disable=not progress, file=sys.stderr, leave=False)
        for done, path in enumerate(bar):
            bar.set_postfix_str(path.name[-30:])
            tell(f"parse {path.name}", done / len(files))
            try:
                digest = store.sha256_file(path) if path.is_file() else None
                if digest in known and not rebuild:
                    unchanged.append(known[digest].id)
                    continue
                parsed = parse_file(path, settings=settings, password=password)
            except RagError as exc:
                failed.append((str(path), str(exc)))
                continue
            document = parsed.document
            (replaced if document.id in documents else added).append(document.id)
            documents[document.id], units[document.id] = document, list(parsed.units)
            vectors.pop(document.id, None)
        bar.close()
        if not (added or replaced or rebuild):
            return IngestReport(unchanged=tuple(unchanged), failed=tuple(failed))
        todo = [doc for doc in documents if doc not in vectors]
        texts: list[str] = []
        wholes: list[int] = []  # the rows of `texts` that are whole units (embedded with their tokens)
        spans: dict[str, tuple[int, list[int]]] = {}  # doc: (first row in `texts`, owner of each of its rows)
        for doc in todo:
            owners: list[int] = []
            spans[doc] = (len(texts), owners)
            for i, unit in enumerate(units[doc]):
                wholes.append(len(texts))
                texts += (v := views(unit))
                owners += [i] * len(v)
        fresh, fresh_tokens = _embed(embedder, texts, wholes, progress, tell)
        for doc, (start, owners) in spans.items():
            vectors[doc] = (fresh[start : start + len(owners)], np.array(owners, dtype=np.int64))
            tokens[doc] = [fresh_tokens[start + j] for j in range(len(owners)) if start + j in fresh_tokens]
        new = _snapshot(embedder, documents, units, vectors, tokens)
        tell("save", 1.0)
        store.save(settings.index, new, model=embedder.name, hnsw_threshold=settings.hnsw_threshold)
    return IngestReport(tuple(added), tuple(replaced), tuple(unchanged), tuple(failed))


def remove(doc: str, *, settings: Settings, embedder: Embedder) -> Document:
    """Remove one document from the index; an unknown id is a BadInput."""
    with store.writer_lock(settings.index):
        loaded = store.load(settings.index, fingerprint=embedder.fingerprint)
        match = next((d for d in loaded[0].documents if doc_key(d.id) == doc_key(doc)), None) if loaded else None
        if match is None:
            raise BadInput(f"no document {doc!r} in the index; `rag docs` lists them")
        snap = loaded[0]  # type: ignore[index]
        keep_units = [i for i, u in enumerate(snap.units) if u.doc != match.id]
        renumber = {old: new for new, old in enumerate(keep_units)}
        keep_rows = [r for r, o in enumerate(snap.owners) if int(o) in renumber]
        owners = np.array([renumber[int(snap.owners[r])] for r in keep_rows], dtype=np.int64)
        token_ids, tokens, offsets = _concat_tokens([snap.unit_tokens(i) for i in keep_units], snap.tokens.shape[1])
        store.save(
            settings.index,
            Snapshot(
                snap.fingerprint,
                snap.parser,
                tuple(d for d in snap.documents if d.id != match.id),
                tuple(snap.units[i] for i in keep_units),
                snap.vectors[keep_rows],
                owners,
                token_ids,
                tokens,
                offsets,
            ),
            model=embedder.name,
            hnsw_threshold=settings.hnsw_threshold,
        )
    return match


def open_searcher(
    *, settings: Settings, embedder: Embedder, progress: bool = True, on_progress: Progress | None = None
) -> Searcher:
    """Load the index, building it from the shipped default corpus on first use."""
    loaded = store.load(settings.index, fingerprint=embedder.fingerprint)
    if loaded is None:
        log.info("first use: indexing the default corpus %r…", str(settings.corpus))
        report = ingest(
            [settings.corpus], settings=settings, embedder=embedder, progress=progress, on_progress=on_progress
        )
        for path, reason in report.failed:
            log.warning("skipped %s: %s", path, reason)
        loaded = store.load(settings.index, fingerprint=embedder.fingerprint)
        if loaded is None:
            raise RagError(f"no documents could be indexed from {str(settings.corpus)!r}")
    snapshot, index = loaded
    return Searcher(snapshot, index, embedder, settings)


def documents(*, settings: Settings, embedder: Embedder) -> list[tuple[Document, list[Unit]]]:
    """Every indexed document with its units (the default corpus is indexed on first use)."""
    searcher = open_searcher(settings=settings, embedder=embedder)
    by_doc: dict[str, list[Unit]] = {}
    for unit in searcher.units:
        by_doc.setdefault(unit.doc, []).append(unit)
    return [(d, by_doc.get(d.id, [])) for d in searcher.documents]


def _snapshot(
    embedder: Embedder,
    documents: dict[str, Document],
    units: dict[str, list[Unit]],
    vectors: dict[str, tuple[np.ndarray, np.ndarray]],
    tokens: dict[str, list[Tokens]],
) -> Snapshot:
    """Concatenate per-document units and views into one snapshot, owners renumbered globally."""
    order, offset, owners = list(documents), 0, []
    for doc in order:
        owners.append(vectors[doc][1] + offset)
        offset += len(units[doc])
    empty = np.zeros((0, embedder.dim), np.float32)
    token_ids, token_vectors, offsets = _concat_tokens([t for d in order for t in tokens[d]], embedder.dim)
    return Snapshot(
        embedder.fingerprint,
        PARSER_VERSION,
        tuple(documents[d] for d in order),
        tuple(u for d in order for u in units[d]),
        np.concatenate([vectors[d][0] for d in order]) if order else empty,
        np.concatenate(owners) if owners else np.zeros(0, np.int64),
        token_ids,
        token_vectors,
        offsets,
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


def _embed(
    embedder: Embedder, texts: list[str], whole: list[int], progress: bool, tell: Progress
) -> tuple[np.ndarray, dict[int, Tokens]]:
    """Vectors of every view in `texts`; the rows in `whole` (whole units) are embedded with their
    tokens, which are returned by row, quantised."""
    is_whole = set(whole)
    parts = [i for i in range(len(texts)) if i not in is_whole]
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    tokens: dict[int, Tokens] = {}
    batches = [(True, whole[i : i + 64]) for i in range(0, len(whole), 64)]
    batches += [(False, parts[i : i + 64]) for i in range(0, len(parts), 64)]
    for done, (with_tokens, rows) in enumerate(
        tqdm(batches, desc="embed", unit="batch", disable=not progress, file=sys.stderr, leave=False)
    ):
        tell("embed", done / len(batches))
        batch = [texts[i] for i in rows]
        if with_tokens:
            vectors, batch_tokens = embedder.embed_with_tokens(batch)
            tokens.update({row: (ids, store.quantise(v)) for row, (ids, v) in zip(rows, batch_tokens, strict=True)})
        else:
            vectors = embedder.embed_documents(batch)
        out[rows] = vectors
    return out, tokens
