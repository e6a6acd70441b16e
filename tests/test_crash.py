"""Crash safety of the index: a writer killed (SIGKILL) after every named step of `store.save`, at random
moments (a child process with the fake embedder; the real `rag ingest` in the slow run), and two
writers at once. Each time the index must open with its checksums right, hold exactly the old
state or the new one, and let the next ingest complete and clear what the dead writer left."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import store
from rag.library import ingest, open_searcher
from rag.settings import Settings
from tests.conftest import MODELS, ROOT, FakeEmbedder, un_text

CHILD = Path(__file__).with_name("crash_child.py")
TRAFFIC = [
    "Member States reported smuggling of migrants and trafficking in firearms across porous borders.",
    "Customs authorities strengthened controls on cultural property at ports and airports.",
]
PRISONS = [
    "Prison administrations separated violent extremist prisoners from the general population.",
    "Rehabilitation programmes in prisons included education and drug treatment.",
]
SWITCH = store.CHECKPOINTS.index("switch")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A folder with two small UN-style text documents."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "traffic.txt").write_text(un_text("S/2099/1", TRAFFIC))
    (folder / "prisons.txt").write_text(un_text("S/2099/2", PRISONS))
    return folder


@pytest.fixture(autouse=True)
def _no_writer_left():
    """A test that fails while a child writer is held at its stop does not leave it waiting."""
    yield
    while Writer.started:
        proc = Writer.started.pop().proc
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _settings(index: Path) -> Settings:
    return Settings(index=index)


def held(index: Path) -> dict[str, list[str]]:
    """Each document the index opens with and its units' texts; fails unless every checksum matches."""
    loaded = store.load(index, fingerprint=None)
    assert loaded is not None, f"no index in {index}"
    snapshot, vectors = loaded
    # Checked here too, not only by store.load, so a store that stopped checking cannot pass.
    gen = index / (index / "CURRENT").read_text().strip()
    manifest = json.loads((gen / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(store._FILES)
    assert all(store.sha256_file(gen / name) == digest for name, digest in manifest["files"].items())
    assert vectors.index.ntotal == len(snapshot.vectors) == len(snapshot.owners)
    return {d.id: [u.text for u in snapshot.units if u.doc == d.id] for d in snapshot.documents}


def assert_clean(index: Path) -> None:
    """Only the current generation is left, and no half-made CURRENT.tmp."""
    current = (index / "CURRENT").read_text().strip()
    assert [p.name for p in index.glob("gen-*")] == [current]
    assert not (index / "CURRENT.tmp").exists()


class Writer:
    """tests/crash_child.py in a child process: an ingest with the fake embedder that reports each
    checkpoint it passes (and can be held at one)."""

    started: list[Writer] = []

    def __init__(self, index: Path, files: list[Path], *, stop: str | None = None) -> None:
        command = [sys.executable, str(CHILD), str(index), *map(str, files), *(["--stop", stop] if stop else [])]
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=index.parent
        )
        self.lines: list[str] = []
        Writer.started.append(self)

    def read_until(self, prefix: str) -> str:
        """The child's next line starting with `prefix` (earlier lines are kept); fails if it ends first."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.strip())
            if line.startswith(prefix):
                return line.strip()
        self.proc.wait()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        raise AssertionError(
            f"the writer ended (code {self.proc.returncode}) without {prefix!r}; it printed {self.lines}; stderr: {err}"
        )

    def reached(self) -> list[str]:
        """The checkpoints the child said it passed, in order."""
        return [line.split(" ", 1)[1] for line in self.lines if line.startswith("reached ")]

    def kill(self) -> None:
        """SIGKILL the child (as a crash or `kill -9` would) and keep what it printed before dying."""
        os.kill(self.proc.pid, signal.SIGKILL)
        out, _ = self.proc.communicate(timeout=30)
        self.lines += [line.strip() for line in out.splitlines()]

    def resume(self) -> int:
        """Let a child held at its stop go on; its exit code."""
        out, err = self.proc.communicate("\n", timeout=60)
        self.lines += [line.strip() for line in out.splitlines()]
        assert self.proc.returncode == 0, err
        return self.proc.returncode


def test_a_write_passes_every_checkpoint_in_order(docs, tmp_path):
    writer = Writer(tmp_path / "index", [docs / "traffic.txt"])
    writer.read_until("done")
    assert writer.resume() == 0
    assert writer.reached() == list(store.CHECKPOINTS)
    # every file of a generation is a checkpoint of its own, so the kill test below stops after each
    gen = sorted((tmp_path / "index").glob("gen-*"))[-1]
    assert {p.name for p in gen.iterdir()} <= set(store.CHECKPOINTS)


@pytest.mark.parametrize("checkpoint", store.CHECKPOINTS)
def test_kill_at_each_checkpoint_leaves_the_old_or_the_new_index(docs, tmp_path, checkpoint):
    index, embedder = tmp_path / "index", FakeEmbedder()
    new = tmp_path / "reference"  # what the interrupted write would have made, written without a crash
    for folder in (index, new):
        ingest([docs / "traffic.txt"], settings=_settings(folder), embedder=embedder, progress=False)
    old = held(index)
    ingest([docs / "prisons.txt"], settings=_settings(new), embedder=embedder, progress=False)
    new_state = held(new)

    writer = Writer(index, [docs / "prisons.txt"], stop=checkpoint)
    assert writer.read_until("stopped") == f"stopped {checkpoint}"
    position = store.CHECKPOINTS.index(checkpoint)
    assert writer.reached() == list(store.CHECKPOINTS[: position + 1])  # it really got there, step by step
    writer.kill()

    assert held(index) == (new_state if position >= SWITCH else old)  # the old index or the new, never a mix
    hit = open_searcher(settings=_settings(index), embedder=embedder, progress=False).search("customs", k=1)[0]
    assert hit.unit.doc == "S/2099/1"
    report = ingest([docs / "prisons.txt"], settings=_settings(index), embedder=embedder, progress=False)
    assert (report.added, report.unchanged) == (((), ("S/2099/2",)) if position >= SWITCH else (("S/2099/2",), ()))
    assert held(index) == new_state
    assert_clean(index)  # what the dead writer left was removed


def test_random_kills_of_a_writer_leave_a_complete_index(docs, tmp_path):
    big = docs / "big.txt"  # big enough that its write is several checkpoints apart in time
    big.write_text(
        un_text(
            "S/2099/3", [f"Customs authorities in port {i} shared {i} reports with prosecutors." for i in range(1000)]
        )
    )
    base, reference = tmp_path / "base", tmp_path / "reference"
    ingest([docs / "traffic.txt"], settings=_settings(base), embedder=FakeEmbedder(), progress=False)
    old = held(base)
    shutil.copytree(base, reference)
    calibration = Writer(reference, [big])
    calibration.read_until("start")
    began = time.monotonic()
    calibration.read_until("reached generation-folder")
    writing = time.monotonic()
    calibration.read_until("done")
    whole, save = time.monotonic() - began, time.monotonic() - writing
    calibration.resume()
    new_state = held(reference)

    landed = []
    for seed in range(6):
        rng = random.Random(seed)
        index = tmp_path / f"seed-{seed}"
        shutil.copytree(base, index)
        writer = Writer(index, [big])
        # even seeds: any moment of the ingest; odd seeds: a moment within the write (or just after it)
        if seed % 2 == 0:
            writer.read_until("start")
            time.sleep(rng.uniform(0, whole))
        else:
            writer.read_until("reached generation-folder")
            time.sleep(rng.uniform(0, 1.5 * save))
        writer.kill()
        reached = writer.reached()
        landed.append(
            "done"
            if any(line.startswith("done") for line in writer.lines)
            else f"after {reached[-1]}"
            if reached
            else "before the write"
        )
        assert held(index) == (new_state if "switch" in reached else old), f"seed {seed}: killed {landed[-1]}"
        report = ingest([big], settings=_settings(index), embedder=FakeEmbedder(), progress=False)
        assert set(report.added + report.unchanged) == {"S/2099/3"}
        assert held(index) == new_state
        assert_clean(index)
    print(f"killed: {landed}")


def test_a_second_writer_fails_clearly_and_the_first_completes(docs, tmp_path, rag):
    index = tmp_path / "index"  # the `rag` fixture's RAG_INDEX
    ingest([docs / "traffic.txt"], settings=_settings(index), embedder=FakeEmbedder(), progress=False)
    old = held(index)
    (docs / "third.txt").write_text(un_text("S/2099/4", ["Border guards were trained in document fraud."]))
    first = Writer(index, [docs / "prisons.txt"], stop="fsync-files")  # held inside the lock, mid-write
    first.read_until("stopped")

    second = rag("ingest", str(docs / "third.txt"), timeout=60)  # the real CLI
    assert second.code == 1
    assert second.stderr.splitlines() == [
        f"rag: error: another `rag ingest` is writing the index in {str(index)!r}; try again when it ends"
    ]
    assert second.stdout == ""
    assert held(index) == old  # untouched by the second, and the first has not switched yet

    assert first.resume() == 0
    assert set(held(index)) == {"S/2099/1", "S/2099/2"}
    assert_clean(index)
    report = ingest([docs / "third.txt"], settings=_settings(index), embedder=FakeEmbedder(), progress=False)
    assert report.added == ("S/2099/4",)  # the lock was released: the retry goes through


@pytest.mark.slow
def test_random_kills_of_rag_ingest_leave_a_complete_index(tmp_path):
    from rag.embed import embedder_for

    index, docs = tmp_path / "index", tmp_path / "docs"
    docs.mkdir()
    files = []
    for n in range(7):
        files.append(docs / f"doc{n}.txt")
        paragraphs = [f"States reported {n} cases of smuggling in region {i} to the Committee." for i in range(30)]
        files[-1].write_text(un_text(f"S/2099/{10 + n}", paragraphs))
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT), **MODELS}

    def cli(*paths: Path) -> subprocess.Popen:
        command = [sys.executable, "-m", "rag", "ingest", *map(str, paths), "--index", str(index)]
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path
        )

    began = time.monotonic()
    first = cli(files[0])
    assert first.wait(timeout=120) == 0, first.communicate()[1]
    whole = time.monotonic() - began
    settings = _settings(index)
    embedder = embedder_for(settings)

    landed = []
    for seed, path in enumerate(files[1:-1]):
        rng = random.Random(seed)
        doc = f"S/2099/{11 + seed}"
        before, generations = held(index), {p.name for p in index.glob("gen-*")}
        proc = cli(path)
        if seed % 2 == 0:  # any moment of the run: starting, parsing, embedding, writing
            time.sleep(rng.uniform(0, whole))
        else:  # a moment within the write: from when its new generation folder appears
            while proc.poll() is None and not {p.name for p in index.glob("gen-*")} - generations:
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        current, made = (index / "CURRENT").read_text().strip(), {p.name for p in index.glob("gen-*")} - generations
        landed.append(
            "after the switch" if current not in generations else "during the write" if made else "before the write"
        )
        after = held(index)
        assert {d: after[d] for d in before} == before, f"seed {seed}: killed {landed[-1]}"  # all it held, unchanged
        assert set(after) - set(before) <= {doc}
        report = ingest([path], settings=settings, embedder=embedder, progress=False)  # the next ingest completes
        assert set(report.added + report.unchanged) == {doc}
        assert set(held(index)) == set(before) | {doc}
        assert_clean(index)
    last = cli(*files)  # and the real CLI carries on: the crashed runs' documents are all there
    out, err = last.communicate(timeout=120)
    assert last.returncode == 0, err
    assert set(held(index)) == {f"S/2099/{10 + n}" for n in range(7)}
    assert out.splitlines()[0] == f"added: S/2099/{10 + 6}"
    assert_clean(index)
    print(f"killed: {landed}")
