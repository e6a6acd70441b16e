"""The Milvus store (RAG_STORE=milvus) against the FAISS store: a real Milvus Lite database, the fake
embedder (fast). The real model, Ray and the corpus are in tests/test_cluster.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag import store
from rag.errors import IndexProblem, RagError
from rag.library import ingest, open_searcher, open_store, remove
from rag.milvus_store import MilvusStore
from rag.settings import Settings
from tests.conftest import FakeEmbedder, un_text

TRAFFIC = [
    "Member States reported smuggling of migrants and trafficking in firearms across porous borders.",
    "Customs authorities strengthened controls on cultural property at ports and airports.",
    "Financial intelligence units shared reports on terrorism financing with prosecutors. Banks "
    "filed suspicious transaction reports on payments to militants.",
]
PRISONS = [
    "Prison administrations separated violent extremist prisoners from the general population.",
    "Rehabilitation programmes in prisons included education and drug treatment. Probation services "
    "followed released prisoners for two years.",
    "Prosecutors reported on the financing of terrorism in prisons.",
]
QUESTIONS = [
    "violent extremist prisoners",
    "banks reporting payments to militants",
    "firearms trafficking at borders",
    "education in prisons",
    "terrorism financing",
    "probation after release",
]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "traffic.txt").write_text(un_text("S/2099/1", TRAFFIC))
    (folder / "prisons.txt").write_text(un_text("S/2099/2", PRISONS))
    (folder / "empty.txt").write_bytes(b"")
    return folder


def _settings(tmp_path: Path, docs: Path, kind: str) -> Settings:
    return Settings(index=tmp_path / f"index-{kind}", corpus=docs, store=kind)


def _collections(settings: Settings) -> list[str]:
    return sorted(open_store(settings).client.list_collections())  # type: ignore[attr-defined]


def test_milvus_holds_what_faiss_holds_and_ranks_alike(tmp_path, docs):
    searchers = {}
    for kind in ("faiss", "milvus"):
        settings = _settings(tmp_path, docs, kind)
        report = ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
        assert sorted(report.added) == ["S/2099/1", "S/2099/2"] and len(report.failed) == 1
        searchers[kind] = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    assert (tmp_path / "index-milvus" / "milvus.db").exists() and not list((tmp_path / "index-milvus").glob("gen-*"))
    faiss, milvus = searchers["faiss"].data.snapshot, searchers["milvus"].data.snapshot
    assert milvus.documents == faiss.documents and milvus.units == faiss.units
    assert (milvus.fingerprint, milvus.parser) == (faiss.fingerprint, faiss.parser)
    for name in ("vectors", "owners", "token_ids", "tokens", "token_offsets"):
        assert np.array_equal(getattr(milvus, name), getattr(faiss, name)), name
    for question in QUESTIONS:
        ranked = {
            kind: [(h.unit.doc, h.unit.para) for h in searcher.search(question, k=4)]
            for kind, searcher in searchers.items()
        }
        assert ranked["milvus"] == ranked["faiss"], question
        within = {kind: searcher.search(question, k=2, doc="S/2099/2") for kind, searcher in searchers.items()}
        assert {h.unit.doc for h in within["milvus"]} == {"S/2099/2"}
    query = FakeEmbedder().embed_query("violent extremist prisoners")
    rows, scores = searchers["milvus"].index.search(query, 3, docs=["S/2099/1"])
    owners = {searchers["milvus"].units[o].doc for o in milvus.owners[rows]}
    assert owners == {"S/2099/1"} and np.all(np.diff(scores) <= 1e-6)


def test_milvus_library_skips_unchanged_replaces_changed_and_removes(tmp_path, docs):
    settings = _settings(tmp_path, docs, "milvus")
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    milvus = open_store(settings)
    assert isinstance(milvus, MilvusStore)
    first = milvus.manifest()
    assert first is not None and first["units"] == 6 and first["model"] == "fake"
    again = ingest([docs / "traffic.txt"], settings=settings, embedder=FakeEmbedder(), progress=False)
    assert again.unchanged == ("S/2099/1",) and milvus.manifest() == first  # nothing was rewritten
    (docs / "traffic.txt").write_text(un_text("S/2099/1", ["Only one paragraph about maritime piracy remains."]))
    assert ingest([docs / "traffic.txt"], settings=settings, embedder=FakeEmbedder(), progress=False).replaced
    searcher = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    assert [u.text for u in searcher.units if u.doc == "S/2099/1"] == [
        "Only one paragraph about maritime piracy remains."
    ]
    assert searcher.search("maritime piracy", k=1)[0].unit.doc == "S/2099/1"
    remove("S/2099/1", settings=settings, embedder=FakeEmbedder())
    assert {u.doc for u in open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False).units} == {
        "S/2099/2"
    }
    generation = milvus.manifest()["generation"]  # type: ignore[index]
    assert generation != first["generation"]
    parts = [c for c in _collections(settings) if c != "paracite_current"]
    assert parts and all(c.startswith(generation) for c in parts)  # old generations dropped


def test_milvus_writer_that_dies_leaves_the_old_generation(tmp_path, docs, monkeypatch):
    settings = _settings(tmp_path, docs, "milvus")
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    before = open_store(settings).manifest()

    def dies(self, collection, rows, **kwargs):
        if collection.endswith("_views"):
            raise KeyboardInterrupt  # the writer stops half-way through its new generation
        return real_insert(self, collection, rows, **kwargs)

    real_insert = MilvusStore._insert
    monkeypatch.setattr(MilvusStore, "_insert", dies)
    (docs / "prisons.txt").write_text(un_text("S/2099/2", ["A changed paragraph about prison visits."]))
    with pytest.raises(KeyboardInterrupt):
        ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    assert len({c.split("_")[1] for c in _collections(settings) if c != "paracite_current"}) == 2  # a half-written one
    assert open_store(settings).manifest() == before
    searcher = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    assert len(searcher.units) == 6  # the old generation, whole
    monkeypatch.setattr(MilvusStore, "_insert", real_insert)
    assert ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False).replaced == ("S/2099/2",)
    generation = open_store(settings).manifest()["generation"]  # type: ignore[index]
    assert all(c.startswith(generation) for c in _collections(settings) if c != "paracite_current")


def test_milvus_other_model_or_schema_is_a_clear_error(tmp_path, docs):
    settings = _settings(tmp_path, docs, "milvus")
    ingest([docs], settings=settings, embedder=FakeEmbedder("model-a"), progress=False)
    with pytest.raises(IndexProblem, match="rebuild it with `rag ingest --rebuild`"):
        open_searcher(settings=settings, embedder=FakeEmbedder("model-b"), progress=False)
    ingest([], settings=settings, embedder=FakeEmbedder("model-b"), rebuild=True, progress=False)
    assert len(open_searcher(settings=settings, embedder=FakeEmbedder("model-b"), progress=False).units) == 6
    assert open_store(settings).manifest()["schema"] == store.SCHEMA_VERSION  # type: ignore[index]


def test_milvus_bad_settings_are_one_line_errors(tmp_path, rag):
    with pytest.raises(RagError, match="RAG_MILVUS_COLLECTION"):
        MilvusStore(str(tmp_path / "x.db"), "no spaces allowed")
    run = rag("search", "anything", env={"RAG_STORE": "milvus", "RAG_MILVUS_URI": str(tmp_path / "not-a-db.txt")})
    assert run.code != 0 and run.stderr.startswith("rag: error: cannot open the Milvus store")
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    run = rag("ingest", str(tmp_path), "--ray-workers", "2")
    assert run.code == 2 and run.stderr.strip() == "rag: error: --ray-workers needs --ray and a number of at least 1"


def test_milvus_lite_file_open_elsewhere_is_a_one_line_error(tmp_path, docs, rag):
    settings = _settings(tmp_path, docs, "milvus")
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    open_store(settings).close()  # this process lets go of the file
    path = str(settings.index / "milvus.db")
    hold = (
        "import sys, time; from pymilvus import MilvusClient; MilvusClient(sys.argv[1]); "
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold, path], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        run = rag("search", "prisons", env={"RAG_STORE": "milvus", "RAG_MILVUS_URI": path})
        assert run.code != 0 and run.stderr.strip() == (
            f"rag: error: the Milvus Lite file {path!r} is open in another process (Milvus Lite serves one process "
            "at a time: stop the app or the other command, or use a Milvus server)"
        )
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_milvus_lite_connection_survives_an_idle_minute(tmp_path, docs):
    """pymilvus pings every 10 s; Milvus Lite's server took that as abuse after about 30 s idle and closed
    the channel ("too_many_pings"), which broke a `rag ingest --ray` whose files took minutes to read."""
    settings = _settings(tmp_path, docs, "milvus")
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    open_store(settings).close()
    script = (
        "import sys, time; from rag.milvus_store import MilvusStore; m = MilvusStore(sys.argv[1]); "
        "print(m.manifest()['units']); time.sleep(60); print(m.manifest()['units'])"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(settings.index / "milvus.db")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "GRPC_VERBOSITY": "INFO"},
    )
    assert run.returncode == 0 and run.stdout.split() == ["6", "6"], run.stderr[-2000:]
    assert "too_many_pings" not in run.stderr and "GOAWAY" not in run.stderr


def test_milvus_approximate_index_past_threshold_finds_the_same(tmp_path, docs):
    exact = _settings(tmp_path, docs, "milvus")
    approx = exact.model_copy(update={"index": tmp_path / "approx", "ann_threshold": 1})
    for settings in (exact, approx):
        ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    assert open_store(approx).manifest()["index"] == "IVF_SQ8"  # type: ignore[index]
    a = open_searcher(settings=exact, embedder=FakeEmbedder(), progress=False)
    b = open_searcher(settings=approx, embedder=FakeEmbedder(), progress=False)
    for question in QUESTIONS:
        assert [h.unit for h in a.search(question, k=2)] == [h.unit for h in b.search(question, k=2)]
