"""The index in Milvus (`RAG_STORE=milvus`): Milvus Lite (a local file) or a Milvus server, through the
same `pymilvus` client. It holds what the FAISS store's folder holds (documents, units, vectors, token
vectors, the manifest's facts) and serves the dense search and BM25 search of candidates; the fusion
and the reranking stay Paracite's (`rag.retrieve`).

Like the FAISS store, a save writes a new generation (its own collections) and then switches to it in
one write of the `<name>_current` record; readers see the old generation or the new one, never a mix,
and a writer that dies leaves collections that the next save removes."""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import IndexProblem, RagError
from rag.indexed import doc_key, lexical_text
from rag.lexical import analysed
from rag.store import NPROBE, SCHEMA_VERSION, Snapshot
from rag.types import Document, Unit

_PARTS = ("documents", "units", "views", "tokens")  # each generation's collections: <name>_g<number>_<part>
_BATCH = 1000  # rows per insert
_TEXT_CHARS = 60_000  # of a unit's words for BM25 (a VARCHAR holds at most 65,535 bytes)
_NONE = [0.0, 0.0]  # the placeholder vector of collections that hold no vectors (Milvus wants one)
_TOKEN_BYTES = 45_000  # int8 token vectors per record, before base64 (60,000 characters)


class MilvusVectors:
    """Inner-product search over one generation's vectors (exact below the ANN threshold), and BM25
    search over its units' text, both optionally within a few documents."""

    def __init__(self, client: Any, generation: str) -> None:
        self.client, self.generation = client, generation

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, docs: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vector rows and cosines of the `k` nearest rows (within `docs`: document keys, when given)."""
        hits = self._search(f"{self.generation}_views", [query.astype(np.float32).tolist()], "vector", k, docs)
        return np.array([h["row"] for h in hits], dtype=np.int64), np.array([h["distance"] for h in hits], np.float32)

    def lexical(self, question: str, k: int, docs: Sequence[str] | None = None) -> np.ndarray:
        """Unit rows ranked by Milvus's BM25 for `question` (analysed as the units were: `analysed`)."""
        words = analysed([question])[0]
        hits = self._search(f"{self.generation}_units", [words], "sparse", k, docs) if words else []
        return np.array([h["row"] for h in hits], dtype=np.int64)

    def _search(self, collection: str, data: list, field: str, k: int, docs: Sequence[str] | None) -> list[dict]:
        if k <= 0:
            return []
        found = self.client.search(
            collection,
            data=data,
            anns_field=field,
            limit=min(k, 16_384),  # Milvus's largest top-k
            filter=f"doc in {json.dumps(list(docs))}" if docs is not None else "",
            output_fields=[],
            search_params={"params": {"nprobe": NPROBE}} if field == "vector" else {},  # IVF's (FLAT ignores it)
        )
        return list(found[0])


class MilvusStore:
    """One library in a Milvus database: `uri` a Milvus Lite file (path ending in .db) or a server's
    address; `name` prefixes its collections."""

    def __init__(self, uri: str, name: str = "paracite", token: str | None = None) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,150}", name):
            raise RagError(f"RAG_MILVUS_COLLECTION {name!r}: use letters, digits and underscores")
        self.uri, self.name, self.token = uri, name, token

    @property
    def client(self) -> Any:
        if not hasattr(self, "_client"):
            from pymilvus import MilvusClient

            for name in ("pymilvus", "milvus_lite"):  # their warnings and tracebacks; our errors say what failed
                logging.getLogger(name).setLevel(logging.CRITICAL)  # (after the import, which sets pymilvus's)

            try:
                # Milvus Lite's in-process gRPC server keeps gRPC's default ping policy (none more often than
                # every 5 minutes without calls), which pymilvus's 10-second keepalive breaks: the server closed
                # the idle channel ("too many pings") while Ray was reading files
                local = {} if "://" in self.uri else {"grpc.keepalive_time_ms": 360_000}
                self._client = MilvusClient(self.uri, token=self.token or "", timeout=60, grpc_options=local)
            except Exception as exc:  # noqa: BLE001 - any failure to connect is a configuration problem
                if _locked(self.uri):
                    raise RagError(
                        f"the Milvus Lite file {self.uri!r} is open in another process (Milvus Lite serves one "
                        "process at a time: stop the app or the other command, or use a Milvus server)"
                    ) from None
                raise RagError(f"cannot open the Milvus store at {self.uri!r} ({type(exc).__name__}: {exc})") from None
        return self._client

    def close(self) -> None:
        """Close the connection and, for a Milvus Lite file, the server this process ran for it (which holds
        the file's lock until then: another process can open the file after this)."""
        if hasattr(self, "_client"):
            self._client.close()
            del self._client
        if "://" not in self.uri:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self.uri)

    # -- reading ---------------------------------------------------------------------------------------------

    def manifest(self) -> dict | None:
        """The current generation's manifest; None when the store holds no index yet."""
        if not self.client.has_collection(f"{self.name}_current"):
            return None
        self.client.load_collection(f"{self.name}_current")  # a reopened collection must be loaded to be read
        rows = self.client.query(f"{self.name}_current", filter="key == 0", output_fields=["manifest"])
        return json.loads(rows[0]["manifest"]) if rows else None

    def load(self, *, fingerprint: str | None) -> tuple[Snapshot, MilvusVectors] | None:
        """The current generation, as the FAISS store's `load` gives it (see there)."""
        manifest = self.manifest()
        if manifest is None:
            return None
        if manifest.get("schema") != SCHEMA_VERSION:
            raise IndexProblem(
                f"the Milvus index {self.name!r} has schema {manifest.get('schema')!r}, this Paracite reads "
                f"{SCHEMA_VERSION}; rebuild it with `rag ingest --rebuild`"
            )
        if fingerprint is not None and manifest["fingerprint"] != fingerprint:
            raise IndexProblem(
                f"the Milvus index {self.name!r} was built with {manifest['model']!r} ({manifest['fingerprint']}), "
                f"not with the embedding model now configured ({fingerprint}); rebuild it with `rag ingest --rebuild` "
                f"or set RAG_EMBED_MODEL={manifest['model']}"
            )
        gen = manifest["generation"]
        for suffix in _PARTS:
            self.client.load_collection(f"{gen}_{suffix}")
        documents, units = self._catalogue(gen)
        views = self._rows(f"{gen}_views", ["row", "owner", "vector"])
        vectors = np.array([r["vector"] for r in views], dtype=np.float32).reshape(len(views), manifest["dimension"])
        owners = np.array([r["owner"] for r in views], dtype=np.int64)
        per_unit: list[list[tuple[int, bytes, bytes]]] = [[] for _ in units]
        for r in self._rows(f"{gen}_tokens", ["unit", "part", "ids", "vectors"]):
            per_unit[r["unit"]].append((r["part"], base64.b64decode(r["ids"]), base64.b64decode(r["vectors"])))
        offsets = np.zeros(len(units) + 1, dtype=np.int64)
        ids_parts, vector_parts = [], []
        for u, parts in enumerate(per_unit):
            parts.sort()
            ids = np.frombuffer(b"".join(p[1] for p in parts), dtype=np.int32)
            ids_parts.append(ids)
            vector_parts.append(np.frombuffer(b"".join(p[2] for p in parts), dtype=np.int8))
            offsets[u + 1] = offsets[u] + len(ids)
        dim = manifest["dimension"]
        token_ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int32)
        tokens = np.concatenate(vector_parts).reshape(-1, dim) if vector_parts else np.zeros((0, dim), np.int8)
        if not (len(units) == manifest["units"] and len(vectors) == manifest["vectors"] and len(tokens) == offsets[-1]):
            raise IndexProblem(
                f"the Milvus index {self.name!r} is inconsistent (unit and vector counts differ); "
                "rebuild it with `rag ingest --rebuild`"
            )
        snapshot = Snapshot(
            manifest["fingerprint"], manifest["parser"], documents, units, vectors, owners, token_ids, tokens, offsets
        )
        return snapshot, MilvusVectors(self.client, gen)

    def load_units(self) -> tuple[int, tuple[Document, ...], tuple[Unit, ...]] | None:
        """The parser version, documents and units of the current generation (what a rebuild embeds)."""
        manifest = self.manifest()
        if manifest is None:
            return None
        for suffix in ("documents", "units"):
            self.client.load_collection(f"{manifest['generation']}_{suffix}")
        return (manifest["parser"], *self._catalogue(manifest["generation"]))

    def _catalogue(self, gen: str) -> tuple[tuple[Document, ...], tuple[Unit, ...]]:
        documents = tuple(Document(**json.loads(r["document"])) for r in self._rows(f"{gen}_documents", ["document"]))
        units = tuple(Unit(**json.loads(r["unit"])) for r in self._rows(f"{gen}_units", ["unit"]))
        return documents, units

    def _rows(self, collection: str, fields: list[str]) -> list[dict]:
        """Every row of `collection`, in primary-key order."""
        iterator = self.client.query_iterator(collection, batch_size=_BATCH, filter="", output_fields=["row", *fields])
        rows: list[dict] = []
        while batch := iterator.next():
            rows.extend(batch)
        iterator.close()
        return sorted(rows, key=lambda r: r["row"])

    # -- writing ---------------------------------------------------------------------------------------------

    def save(self, snapshot: Snapshot, *, model: str, ann_threshold: int) -> MilvusVectors:
        """Write `snapshot` as a new generation and switch to it; older generations are dropped."""
        from pymilvus import DataType, Function, FunctionType

        client = self.client
        number = 1 + max((int(m) for m in self._generations()), default=0)
        gen = f"{self.name}_g{number:06d}"
        dim = int(snapshot.vectors.shape[1])
        approximate = len(snapshot.vectors) >= ann_threshold

        def collection(suffix: str, fields: list[tuple], *, vector: str | None = None, bm25: bool = False) -> str:
            schema = client.create_schema(auto_id=False)
            schema.add_field("row", DataType.INT64, is_primary=True)
            for name, kind, options in fields:
                schema.add_field(name, kind, **options)
            params = client.prepare_index_params()
            if vector:
                if approximate:  # Milvus's IVF has no 4-bit codes (the FAISS store's); 8-bit ones, a quarter of float32
                    lists = max(1, min(int(4 * len(snapshot.vectors) ** 0.5), len(snapshot.vectors) // 39))
                    params.add_index(vector, index_type="IVF_SQ8", metric_type="IP", params={"nlist": lists})
                else:
                    params.add_index(vector, index_type="FLAT", metric_type="IP")
            if bm25:
                schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
                schema.add_function(
                    Function(
                        name="bm25",
                        function_type=FunctionType.BM25,
                        input_field_names=["text"],
                        output_field_names=["sparse"],
                    )
                )
                params.add_index(  # bm25s's constants, as rag.lexical ranks
                    "sparse",
                    index_type="SPARSE_INVERTED_INDEX",
                    metric_type="BM25",
                    params={"bm25_k1": 1.5, "bm25_b": 0.75},
                )
            if not (vector or bm25):  # Milvus wants a vector field in every collection
                schema.add_field("none", DataType.FLOAT_VECTOR, dim=2)
                params.add_index("none", index_type="FLAT", metric_type="L2")
            name = f"{gen}_{suffix}"
            client.create_collection(name, schema=schema, index_params=params)
            return name

        text = (DataType.VARCHAR, {"max_length": 65_535})
        doc = ("doc", DataType.VARCHAR, {"max_length": 1_024})
        documents = collection("documents", [("document", *text)])
        units = collection(
            "units",
            [
                doc,
                ("unit", *text),
                ("text", DataType.VARCHAR, {"max_length": 65_535, "enable_analyzer": True}),
            ],
            bm25=True,
        )
        views = collection(
            "views",
            [doc, ("owner", DataType.INT64, {}), ("vector", DataType.FLOAT_VECTOR, {"dim": dim})],
            vector="vector",
        )
        tokens = collection(
            "tokens", [("unit", DataType.INT64, {}), ("part", DataType.INT64, {}), ("ids", *text), ("vectors", *text)]
        )
        if not client.has_collection(current := f"{self.name}_current"):
            schema = client.create_schema(auto_id=False)
            schema.add_field("key", DataType.INT64, is_primary=True)
            schema.add_field("manifest", *text[:1], **text[1])
            schema.add_field("none", DataType.FLOAT_VECTOR, dim=2)
            params = client.prepare_index_params()
            params.add_index("none", index_type="FLAT", metric_type="L2")
            client.create_collection(current, schema=schema, index_params=params)

        self._insert(
            documents,
            (
                {"row": i, "document": _fit(json.dumps(asdict(d), ensure_ascii=False), "document")}
                for i, d in enumerate(snapshot.documents)
            ),
            placeholder=True,
        )
        self._insert(
            units,
            (
                {
                    "row": i,
                    "doc": doc_key(u.doc),
                    "unit": _fit(json.dumps(u.to_json(), ensure_ascii=False), f"unit {u.doc} {u.para}"),
                    "text": words[:_TEXT_CHARS],
                }
                for i, (u, words) in enumerate(
                    zip(snapshot.units, analysed([lexical_text(u) for u in snapshot.units]), strict=True)
                )
            ),
        )
        self._insert(
            views,
            (
                {"row": i, "doc": doc_key(snapshot.units[o].doc), "owner": int(o), "vector": v.tolist()}
                for i, (o, v) in enumerate(zip(snapshot.owners, snapshot.vectors, strict=True))
            ),
        )
        self._insert(tokens, self._token_rows(snapshot, dim), placeholder=True)
        for name in (documents, units, views, tokens):
            client.flush(name)
        manifest = {
            "schema": SCHEMA_VERSION,
            "model": model,
            "fingerprint": snapshot.fingerprint,
            "parser": snapshot.parser,
            "dimension": dim,
            "units": len(snapshot.units),
            "vectors": len(snapshot.vectors),
            "index": "IVF_SQ8" if approximate else "FLAT",
            "documents": {d.id: d.sha256 for d in snapshot.documents},
            "generation": gen,
        }
        # the switch: one record, written in one upsert
        client.upsert(current, [{"key": 0, "manifest": _fit(json.dumps(manifest), "manifest"), "none": _NONE}])
        client.flush(current)
        for older in self._generations():
            if f"{self.name}_g{older}" != gen:
                self._drop(f"{self.name}_g{older}")
        return MilvusVectors(client, gen)

    def _token_rows(self, snapshot: Snapshot, dim: int) -> Iterator[dict]:
        per_record = max(1, _TOKEN_BYTES // dim)
        row = 0
        for u in range(len(snapshot.units)):
            ids, vectors = snapshot.unit_tokens(u)
            for part, start in enumerate(range(0, max(len(ids), 1), per_record)):
                yield {
                    "row": row,
                    "unit": u,
                    "part": part,
                    "ids": base64.b64encode(ids[start : start + per_record].astype(np.int32).tobytes()).decode(),
                    "vectors": base64.b64encode(vectors[start : start + per_record].astype(np.int8).tobytes()).decode(),
                }
                row += 1

    def _insert(self, collection: str, rows: Iterator[dict], *, placeholder: bool = False) -> None:
        batch: list[dict] = []
        for row in rows:
            batch.append({**row, "none": _NONE} if placeholder else row)
            if len(batch) == _BATCH:
                self.client.insert(collection, batch)
                batch = []
        if batch:
            self.client.insert(collection, batch)

    def _generations(self) -> list[str]:
        """The generation numbers that have collections (complete or left by a writer that died)."""
        pattern = re.compile(rf"{re.escape(self.name)}_g(\d{{6}})_\w+")
        return sorted({m.group(1) for c in self.client.list_collections() if (m := pattern.fullmatch(c))})

    def _drop(self, gen: str) -> None:
        for suffix in _PARTS:
            if self.client.has_collection(f"{gen}_{suffix}"):
                self.client.drop_collection(f"{gen}_{suffix}")


def _locked(uri: str) -> bool:
    """Whether `uri` is a Milvus Lite folder whose lock another process holds."""
    lock = Path(uri) / "LOCK"
    if "://" in uri or not lock.exists():
        return False
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _fit(text: str, what: str) -> str:
    if len(text.encode()) > 65_535:
        raise RagError(f"{what} is longer than a Milvus text field holds (64 KB); use the FAISS store for it")
    return text
