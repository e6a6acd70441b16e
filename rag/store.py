"""The index on disk: a FAISS file, the units and documents beside it, and a manifest with
checksums. Written atomically as a new generation folder, then switched to with one rename."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import faiss
import numpy as np

from rag.errors import IndexProblem, RagError
from rag.types import Document, Unit

SCHEMA_VERSION = 2  # 2: token vectors for reranking
_CURRENT = "CURRENT"
_FILES = (
    "documents.json",
    "units.jsonl",
    "vectors.npy",
    "owners.npy",
    "vectors.faiss",
    "token_ids.npy",
    "tokens.npy",
    "token_offsets.npy",
)
# Files the index maps rather than reads (`load`): past this size one is checked at open by its size,
# not read whole for its checksum (a million units' token vectors are tens of GB).
_MAPPED = ("vectors.npy", "token_ids.npy", "tokens.npy")
CHECKSUM_LIMIT = 256 * 2**20
# The steps of `save`, in the order it passes them: the crash tests stop a writer after each one, so every
# file added to `_FILES` becomes a step they cover without being told.
CHECKPOINTS = (
    "generation-folder",
    *_FILES,
    "manifest.json",
    "fsync-files",
    "fsync-generation",
    "current-tmp",
    "switch",
    "fsync-folder",
    "prune",
)
# Called with each checkpoint's name as `save` passes it; None (always, outside tests) costs one comparison.
on_checkpoint: Callable[[str], None] | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one index generation holds, in memory."""

    fingerprint: str  # of the embedding model that made the vectors
    parser: int  # version of the parser that made the units
    documents: tuple[Document, ...]
    units: tuple[Unit, ...]
    vectors: np.ndarray  # float32, normalised: one row per view (a unit, or one of its sentences)
    owners: np.ndarray  # int64: the unit each vector row belongs to
    token_ids: np.ndarray  # int32: the tokens of every unit's text, unit after unit
    tokens: np.ndarray  # int8: their contextual vectors, quantised (see `quantise`)
    token_offsets: np.ndarray  # int64: unit u's tokens are rows token_offsets[u]:token_offsets[u + 1]

    @classmethod
    def empty(cls, fingerprint: str, parser: int, dim: int) -> Snapshot:
        """A snapshot with no documents."""
        return cls(
            fingerprint,
            parser,
            (),
            (),
            np.zeros((0, dim), dtype=np.float32),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int32),
            np.zeros((0, dim), dtype=np.int8),
            np.zeros(1, dtype=np.int64),
        )

    def unit_tokens(self, unit: int) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and quantised token vectors of unit number `unit`."""
        start, end = self.token_offsets[unit], self.token_offsets[unit + 1]
        return self.token_ids[start:end], self.tokens[start:end]


TOKEN_SCALE = 127  # int8 token vectors hold a normalised vector's components times this (the int8 range)


def quantise(vectors: np.ndarray) -> np.ndarray:
    """Normalised vectors as int8 (a quarter of float32's size; cosines change by under 0.01)."""
    return np.clip(np.rint(vectors * TOKEN_SCALE), -TOKEN_SCALE, TOKEN_SCALE).astype(np.int8)


def dequantise(tokens: np.ndarray) -> np.ndarray:
    """int8 token vectors (`quantise`) back as float32."""
    return tokens.astype(np.float32) / TOKEN_SCALE


NPROBE = 32  # IVF lists searched per question (evals/bench_scale.py measures the recall)
RESCORE = 100  # rows an approximate search takes from the quantised index, at least, to score again exactly


class VectorIndex:
    """Inner-product search over normalised vectors: exact for small libraries; past a threshold, an
    inverted file of 4-bit quantised vectors (IVF-SQ4: an eighth of float32's memory) whose best rows,
    `RESCORE` or more, are scored again exactly from the float32 vectors (which the store maps from
    disk rather than reads): at a million units 0.8 GB with recall@10 above 0.95 (README, "At scale"),
    where 8-bit codes alone took twice the memory and HNSW over them lost recall."""

    def __init__(self, index: faiss.Index, vectors: np.ndarray) -> None:
        self.index = index
        self.vectors = vectors

    @classmethod
    def build(cls, vectors: np.ndarray, *, ann_threshold: int) -> VectorIndex:
        """Index `vectors` (already normalised)."""
        n, dim = vectors.shape
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index: faiss.Index
        if n >= ann_threshold:
            lists = max(1, min(int(4 * n**0.5), n // 39))  # faiss wants 39 training points per list
            index = faiss.IndexIVFScalarQuantizer(
                faiss.IndexFlatIP(dim), dim, lists, faiss.ScalarQuantizer.QT_4bit, faiss.METRIC_INNER_PRODUCT
            )
            sample = np.random.default_rng(0).choice(n, min(n, 100_000), replace=False)
            index.train(vectors[np.sort(sample)])
        else:
            index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return cls(index, vectors)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, docs: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and exact scores of the `k` nearest rows, optionally only among `allowed` row ids (those
        of the documents `docs`, which a store that filters by document uses instead)."""
        k = min(k, self.index.ntotal if allowed is None else len(allowed))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = query.reshape(1, -1).astype(np.float32)
        selector = None if allowed is None else faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
        # faiss's bundled stubs lack these (SWIG) classes' arguments; the runtime has them (tested)
        params: faiss.SearchParameters | None
        if not isinstance(self.index, faiss.IndexIVF):
            params = None if selector is None else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            scores, ids = self.index.search(query, k, params=params)
            keep = ids[0] >= 0
            return ids[0][keep], scores[0][keep]
        # within a few documents every list is searched (their rows may sit in any), only their rows scored
        probe = NPROBE if selector is None else self.index.nlist
        params = faiss.SearchParametersIVF(sel=selector, nprobe=probe)  # type: ignore[call-arg]
        ids = self.index.search(query, max(k, RESCORE), params=params)[1][0]
        ids = np.sort(ids[ids >= 0])  # in file order: fewer pages of the mapped vectors read
        scores = self.vectors[ids] @ query[0]
        best = np.argsort(-scores, kind="stable")[:k]
        return ids[best], scores[best]


class Vectors(Protocol):
    """A store's vector search (`VectorIndex`, or Milvus's)."""

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, docs: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class LexicalSearch(Protocol):
    """A store that ranks units by BM25 itself (Milvus), given the question."""

    def lexical(self, question: str, k: int, docs: Sequence[str] | None = None) -> np.ndarray:
        """Unit rows, best first."""
        ...


class Store(Protocol):
    """Where an index lives: the FAISS folder (`FaissStore`) or Milvus (`rag.milvus_store`)."""

    def load(self, *, fingerprint: str | None) -> tuple[Snapshot, Vectors] | None: ...

    def load_units(self) -> tuple[int, tuple[Document, ...], tuple[Unit, ...]] | None: ...

    def save(self, snapshot: Snapshot, *, model: str, ann_threshold: int) -> Vectors: ...


@dataclass(frozen=True, slots=True)
class FaissStore:
    """The index in a folder: FAISS and numpy files (the functions below)."""

    folder: Path

    def load(self, *, fingerprint: str | None) -> tuple[Snapshot, VectorIndex] | None:
        return load(self.folder, fingerprint=fingerprint)

    def load_units(self) -> tuple[int, tuple[Document, ...], tuple[Unit, ...]] | None:
        return load_units(self.folder)

    def save(self, snapshot: Snapshot, *, model: str, ann_threshold: int) -> VectorIndex:
        return save(self.folder, snapshot, model=model, ann_threshold=ann_threshold)


def load(folder: Path, *, fingerprint: str | None) -> tuple[Snapshot, VectorIndex] | None:
    """Open the current generation; None when the folder holds no index yet. A `fingerprint` other
    than the one the vectors were made with is an error (None skips that check)."""
    opened = _open(folder, _FILES, schema=True)
    if opened is None:
        return None
    gen, manifest, documents, units = opened
    if fingerprint is not None and manifest["fingerprint"] != fingerprint:
        raise IndexProblem(
            f"the index in {str(folder)!r} was built with {manifest['model']!r} ({manifest['fingerprint']}), "
            f"not with the embedding model now configured ({fingerprint}); rebuild it with `rag ingest --rebuild` "
            f"or set RAG_EMBED_MODEL={manifest['model']}"
        )
    # the large files mapped, not read: a search touches a few hundred vectors and ten units' token vectors
    vectors, owners, token_ids, tokens, offsets = (
        np.load(gen / name, mmap_mode="r" if name in _MAPPED else None, allow_pickle=False)
        for name in ("vectors.npy", "owners.npy", "token_ids.npy", "tokens.npy", "token_offsets.npy")
    )
    index = VectorIndex(faiss.read_index(str(gen / "vectors.faiss")), vectors)
    if not (
        len(owners) == len(vectors) == index.index.ntotal
        and (owners < len(units)).all()
        and len(offsets) == len(units) + 1
        and offsets[-1] == len(token_ids) == len(tokens)
    ):
        raise IndexProblem(
            f"the index in {str(folder)!r} is inconsistent (unit and vector counts differ); "
            f"{_REBUILD.format(folder=str(folder))}"
        )
    snapshot = Snapshot(
        manifest["fingerprint"], manifest["parser"], documents, units, vectors, owners, token_ids, tokens, offsets
    )
    return snapshot, index


def load_units(folder: Path) -> tuple[int, tuple[Document, ...], tuple[Unit, ...]] | None:
    """The parser version, documents and units of the current generation, whatever its schema or model
    (what a rebuild embeds again); None when the folder holds no index yet."""
    opened = _open(folder, ("documents.json", "units.jsonl"), schema=False)
    return None if opened is None else (opened[1]["parser"], opened[2], opened[3])


_REBUILD = "delete {folder!r} and run `rag ingest` again"


def _open(
    folder: Path, files: tuple[str, ...], *, schema: bool
) -> tuple[Path, dict, tuple[Document, ...], tuple[Unit, ...]] | None:
    """The current generation's folder, manifest, documents and units, with `files` checked against
    their checksums (after the schema version, when `schema`)."""
    current = folder / _CURRENT
    if not current.exists():
        return None
    gen = folder / current.read_text().strip()
    rebuild = _REBUILD.format(folder=str(folder))
    try:
        manifest = json.loads((gen / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise IndexProblem(f"the index in {str(folder)!r} is damaged (manifest unreadable: {exc}); {rebuild}") from None
    if schema and manifest.get("schema") != SCHEMA_VERSION:
        raise IndexProblem(
            f"the index in {str(folder)!r} has schema {manifest.get('schema')!r}, this Paracite reads "
            f"{SCHEMA_VERSION}; rebuild it with `rag ingest --rebuild`"
        )
    sizes = manifest.get("sizes", {})
    for name in files:
        path = gen / name
        size = path.stat().st_size if path.exists() else -1
        if name in _MAPPED and sizes.get(name, 0) > CHECKSUM_LIMIT:
            intact = size == sizes[name]
        else:
            intact = size >= 0 and sha256_file(path) == manifest.get("files", {}).get(name)
        if not intact:
            raise IndexProblem(
                f"the index in {str(folder)!r} is damaged ({name} is not the file its manifest describes); {rebuild}"
            )
    documents = tuple(Document(**d) for d in json.loads((gen / "documents.json").read_text()))
    with (gen / "units.jsonl").open(encoding="utf-8") as f:
        units = tuple(Unit(**json.loads(line)) for line in f)
    return gen, manifest, documents, units


def save(folder: Path, snapshot: Snapshot, *, model: str, ann_threshold: int) -> VectorIndex:
    """Write `snapshot` as a new generation and switch to it atomically; old generations are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    current = folder / _CURRENT
    number = 1 + max((int(p.name[4:]) for p in folder.glob("gen-*") if p.name[4:].isdigit()), default=0)
    gen = folder / f"gen-{number:08d}"
    gen.mkdir()
    _checkpoint("generation-folder")
    index = VectorIndex.build(snapshot.vectors, ann_threshold=ann_threshold)
    writers: dict[str, Callable[[Path], object]] = {
        "documents.json": lambda path: path.write_text(
            json.dumps([asdict(d) for d in snapshot.documents], ensure_ascii=False)
        ),
        "units.jsonl": lambda path: _write_lines(
            path, (json.dumps(u.to_json(), ensure_ascii=False) for u in snapshot.units)
        ),
        "vectors.npy": lambda path: np.save(path, snapshot.vectors.astype(np.float32), allow_pickle=False),
        "owners.npy": lambda path: np.save(path, snapshot.owners.astype(np.int64), allow_pickle=False),
        "vectors.faiss": lambda path: faiss.write_index(index.index, str(path)),
        "token_ids.npy": lambda path: np.save(path, snapshot.token_ids.astype(np.int32), allow_pickle=False),
        "tokens.npy": lambda path: np.save(path, snapshot.tokens.astype(np.int8), allow_pickle=False),
        "token_offsets.npy": lambda path: np.save(path, snapshot.token_offsets.astype(np.int64), allow_pickle=False),
    }
    for name in _FILES:  # a name in `_FILES` without a writer is a KeyError here, never a file left unwritten
        writers[name](gen / name)
        _checkpoint(name)
    manifest = {
        "schema": SCHEMA_VERSION,
        "model": model,
        "fingerprint": snapshot.fingerprint,
        "parser": snapshot.parser,
        "dimension": int(snapshot.vectors.shape[1]),
        "units": len(snapshot.units),
        "vectors": len(snapshot.vectors),
        "index": type(index.index).__name__,
        "documents": {d.id: d.sha256 for d in snapshot.documents},
        "files": {name: sha256_file(gen / name) for name in _FILES},
        "sizes": {name: (gen / name).stat().st_size for name in _FILES},
    }
    (gen / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    _checkpoint("manifest.json")
    for path in gen.iterdir():
        _fsync(path)
    _checkpoint("fsync-files")
    _fsync(gen)
    _checkpoint("fsync-generation")
    tmp = folder / f"{_CURRENT}.tmp"
    tmp.write_text(gen.name)
    _fsync(tmp)
    _checkpoint("current-tmp")
    os.replace(tmp, current)  # the switch: readers see the old generation or the new one, never a mix
    _checkpoint("switch")
    _fsync(folder)
    _checkpoint("fsync-folder")
    prune(folder)
    _checkpoint("prune")
    return index


def _write_lines(path: Path, lines: Iterator[str]) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


def _checkpoint(name: str) -> None:
    if on_checkpoint is not None:
        on_checkpoint(name)


def prune(folder: Path) -> None:
    """Delete generations other than the current one (left by a crash); call with the writer lock."""
    current = folder / _CURRENT
    keep = current.read_text().strip() if current.exists() else None
    for old in folder.glob("gen-*"):
        if old.name != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def writer_lock(folder: Path) -> Iterator[None]:
    """Hold the index's write lock, so two ingests never interleave."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            message = f"another `rag ingest` is writing the index in {str(folder)!r}; try again when it ends"
            raise RagError(message) from None
        yield


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
