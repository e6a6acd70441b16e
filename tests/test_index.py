"""The index on disk and the library operations, with the fake embedder (fast)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag import store
from rag.errors import BadInput, IndexProblem
from rag.library import ingest, open_searcher, remove
from rag.settings import Settings
from tests.conftest import FakeEmbedder, un_text

TRAFFIC = [
    "Member States reported smuggling of migrants and trafficking in firearms across porous borders.",
    "Customs authorities strengthened controls on cultural property at ports and airports.",
    "Financial intelligence units shared reports on terrorism financing with prosecutors.",
]
PRISONS = [
    "Prison administrations separated violent extremist prisoners from the general population.",
    "Rehabilitation programmes in prisons included education and drug treatment.",
]


@pytest.fixture
def library(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "traffic.txt").write_text(un_text("S/2099/1", TRAFFIC))
    (docs / "prisons.txt").write_text(un_text("S/2099/2", PRISONS))
    (docs / "empty.txt").write_bytes(b"")
    (docs / "garbage.txt").write_bytes(bytes(range(256)) * 8)
    settings = Settings(index=tmp_path / "index", corpus=docs)
    return docs, settings


def _generation(settings: Settings) -> str:
    return (settings.index / "CURRENT").read_text()


def test_folder_ingest_skips_bad_files_and_reports_them(library):
    docs, settings = library
    report = ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    assert sorted(report.added) == ["S/2099/1", "S/2099/2"]
    assert sorted(Path(p).name for p, _ in report.failed) == ["empty.txt", "garbage.txt"]
    assert all(reason for _, reason in report.failed)
    searcher = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    assert [u.para for u in searcher.units if u.doc == "S/2099/1"] == ["1", "2", "3"]
    hit = searcher.search("violent extremist prisoners", k=1)[0]
    assert (hit.unit.doc, hit.unit.para, hit.rank) == ("S/2099/2", "1", 1)


def test_unchanged_file_does_nothing_and_changed_file_replaces(library):
    docs, settings = library
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    before = _generation(settings)
    again = ingest([docs / "traffic.txt"], settings=settings, embedder=FakeEmbedder(), progress=False)
    assert again.unchanged == ("S/2099/1",) and not again.added and not again.replaced
    assert _generation(settings) == before  # nothing was rewritten
    (docs / "traffic.txt").write_text(un_text("S/2099/1", ["Only one paragraph about maritime piracy remains."]))
    changed = ingest([docs / "traffic.txt"], settings=settings, embedder=FakeEmbedder(), progress=False)
    assert changed.replaced == ("S/2099/1",)
    searcher = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    texts = [u.text for u in searcher.units if u.doc == "S/2099/1"]
    assert texts == ["Only one paragraph about maritime piracy remains."]
    assert len([u for u in searcher.units if u.doc == "S/2099/2"]) == 2
    assert searcher.search("maritime piracy", k=1)[0].unit.doc == "S/2099/1"
    assert len(list(settings.index.glob("gen-*"))) == 1  # old generations are cleaned up


def test_open_searcher_maps_its_vectors_and_outlives_a_newer_generation(library):
    """Vectors and token vectors are mapped from disk, read-only; a searcher opened before an ingest
    that replaces (and deletes) its generation keeps searching what it opened."""
    docs, settings = library
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    old = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    for array in (old.data.vectors, old.data.snapshot.tokens, old.data.snapshot.token_ids):
        assert isinstance(array, np.memmap) and not array.flags.writeable
    (docs / "prisons.txt").write_text(un_text("S/2099/2", ["Only maritime piracy is discussed here."]))
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    assert len(list(settings.index.glob("gen-*"))) == 1  # the searcher's generation is gone from disk
    hit = old.search("violent extremist prisoners", k=1)[0]
    assert (hit.unit.doc, hit.unit.para) == ("S/2099/2", "1")
    new = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    assert new.search("maritime piracy", k=1)[0].unit.text == "Only maritime piracy is discussed here."


def test_remove_and_document_filter(library):
    docs, settings = library
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    searcher = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    hits = searcher.search("prisoners and migrants", k=5, doc="s/2099/1")
    assert hits and {h.unit.doc for h in hits} == {"S/2099/1"}
    with pytest.raises(BadInput, match="no document 'S/9/9'"):
        searcher.search("anything", doc="S/9/9")
    assert remove("S/2099/2", settings=settings, embedder=FakeEmbedder()).id == "S/2099/2"
    searcher = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    assert {u.doc for u in searcher.units} == {"S/2099/1"}
    assert searcher.search("violent extremist prisoners", k=3)[0].unit.doc == "S/2099/1"
    with pytest.raises(BadInput):
        remove("S/2099/2", settings=settings, embedder=FakeEmbedder())


def test_unit_tokens_stay_with_their_units_through_ingest_and_remove(library):
    docs, settings = library
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)

    def tokens_by_unit():
        snapshot, _ = store.load(settings.index, fingerprint="fake-1")
        return {(u.doc, u.para): snapshot.unit_tokens(i) for i, u in enumerate(snapshot.units)}

    before = tokens_by_unit()
    snapshot, _ = store.load(settings.index, fingerprint="fake-1")
    for i, unit in enumerate(snapshot.units):  # each unit's tokens are its own text's, quantised
        ids, vectors = snapshot.unit_tokens(i)
        [(expected_ids, expected)] = FakeEmbedder().embed_with_tokens([unit.text])[1]
        assert vectors.dtype == np.int8 and len(ids) == len(vectors) > 0
        assert np.array_equal(ids, expected_ids) and np.abs(vectors / 127 - expected).max() < 0.01
    remove("S/2099/2", settings=settings, embedder=FakeEmbedder())
    after = tokens_by_unit()
    assert after and set(after) < set(before)
    for key, (ids, vectors) in after.items():
        assert np.array_equal(ids, before[key][0]) and np.array_equal(vectors, before[key][1])


def test_old_schema_asks_for_a_rebuild(library):
    docs, settings = library
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    gen = settings.index / _generation(settings)
    manifest = json.loads((gen / "manifest.json").read_text())
    for name in ("token_ids.npy", "tokens.npy", "token_offsets.npy"):  # what schema 1 lacked
        (gen / name).unlink()
        del manifest["files"][name]
    (gen / "manifest.json").write_text(json.dumps({**manifest, "schema": 1}))
    with pytest.raises(IndexProblem, match="schema 1.*rag ingest --rebuild"):
        open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    ingest([docs], settings=settings, embedder=FakeEmbedder(), rebuild=True, progress=False)
    assert open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False).units


def test_first_use_indexes_the_default_corpus(library):
    _, settings = library
    assert not settings.index.exists()
    searcher = open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)
    assert {d.id for d in searcher.documents} == {"S/2099/1", "S/2099/2"}


def test_other_model_is_a_clear_error(library):
    docs, settings = library
    ingest([docs], settings=settings, embedder=FakeEmbedder("model-a"), progress=False)
    with pytest.raises(IndexProblem, match="rebuild it with `rag ingest --rebuild`"):
        open_searcher(settings=settings, embedder=FakeEmbedder("model-b"), progress=False)
    ingest([], settings=settings, embedder=FakeEmbedder("model-b"), rebuild=True, progress=False)
    assert open_searcher(settings=settings, embedder=FakeEmbedder("model-b"), progress=False).units


@pytest.mark.parametrize("victim", ["vectors.faiss", "units.jsonl", "owners.npy", "tokens.npy", "manifest.json"])
def test_corrupted_file_is_a_clear_error(library, victim):
    docs, settings = library
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    path = settings.index / _generation(settings) / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data[: len(data) - 3]))
    with pytest.raises(IndexProblem, match="is damaged.*delete"):
        open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)


def test_large_mapped_files_are_checked_by_size(library, monkeypatch):
    """Past `CHECKSUM_LIMIT` the mapped files are not read whole at open: a truncated one is still a
    clear error."""
    docs, settings = library
    monkeypatch.setattr(store, "CHECKSUM_LIMIT", 0)
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    assert open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False).search("prisons", k=1)
    path = settings.index / _generation(settings) / "tokens.npy"
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(IndexProblem, match="is damaged.*tokens.npy"):
        open_searcher(settings=settings, embedder=FakeEmbedder(), progress=False)


def test_no_pickle_on_disk(library):
    docs, settings = library
    ingest([docs], settings=settings, embedder=FakeEmbedder(), progress=False)
    gen = settings.index / _generation(settings)
    assert sorted(p.name for p in gen.iterdir()) == sorted([*store._FILES, "manifest.json"])
    for path in gen.iterdir():
        assert not path.read_bytes().startswith(b"\x80"), path  # pickle protocol marker
    assert np.load(gen / "vectors.npy", allow_pickle=False).dtype == np.float32
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["model"] == "fake" and manifest["fingerprint"] == "fake-1" and manifest["dimension"] == 64


def test_approximate_index_past_threshold_finds_the_same(library):
    docs, settings = library
    exact = settings.model_copy(update={"index": settings.index.parent / "exact"})
    approx = settings.model_copy(update={"index": settings.index.parent / "approx", "ann_threshold": 1})
    for s in (exact, approx):
        ingest([docs], settings=s, embedder=FakeEmbedder(), progress=False)
    manifest = json.loads((approx.index / _generation(approx) / "manifest.json").read_text())
    assert manifest["index"] == "IndexIVFScalarQuantizer"
    for question in ("customs cultural property", "rehabilitation education"):
        a = open_searcher(settings=exact, embedder=FakeEmbedder(), progress=False).search(question, k=2)
        b = open_searcher(settings=approx, embedder=FakeEmbedder(), progress=False).search(question, k=2)
        assert [h.unit.para for h in a] == [h.unit.para for h in b]


def test_approximate_index_recall_exact_scores_and_document_filter():
    """The approximate index on 20,000 clustered vectors: the exact top 10 mostly found, with exact
    scores, and a search within some rows (one document's) returns only those rows, the best first."""
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(200, 64)).astype(np.float32)
    vectors = centres[rng.integers(0, 200, 20_000)] + rng.normal(scale=0.3, size=(20_000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact, approx = (store.VectorIndex.build(vectors, ann_threshold=t) for t in (10**9, 1))
    assert type(approx.index).__name__ == "IndexIVFScalarQuantizer" and approx.index.nlist > 100
    queries = vectors[rng.choice(20_000, 50, replace=False)] + rng.normal(scale=0.1, size=(50, 64)).astype(np.float32)
    recall = np.mean([len(set(exact.search(q, 10)[0]) & set(approx.search(q, 10)[0])) / 10 for q in queries])
    assert recall >= 0.95
    rows, scores = approx.search(queries[0], 10)
    assert np.allclose(scores, vectors[rows] @ queries[0], atol=1e-5) and (np.diff(scores) <= 0).all()
    allowed = np.sort(rng.choice(20_000, 300, replace=False))
    for q in queries[:10]:
        rows, scores = approx.search(q, 5, allowed)
        assert len(rows) == 5 and set(rows) <= set(allowed.tolist())
        assert rows[0] == allowed[np.argmax(vectors[allowed] @ q)]
