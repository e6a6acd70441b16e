"""The shipped local models' registry and their assembly into the model cache, on small fake part
packages made in a temporary folder (the real models' parts are only located and sized here)."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import llama, models
from rag.errors import BadInput, RagError
from rag.llm import local_gguf, make_generator
from rag.settings import Settings
from tests.conftest import ROOT

PART_SIZE = 3 << 20  # big enough that concurrent assemblies overlap


def _fake_model(site: Path, name: str = "fake", parts: int = 3) -> tuple[models.LocalModel, bytes]:
    """A model split across `parts` fake packages `fake-partN` under `site`, and its whole content. The
    packages' code raises if run: assembly must only read their data files."""
    whole, made = b"", []
    for n in range(1, parts + 1):
        module = site / f"{name}_part{n}"
        (module / "data").mkdir(parents=True)
        (module / "__init__.py").write_text("raise RuntimeError('a part package was imported')\n")
        data = bytes([n]) * PART_SIZE + os.urandom(64)
        (module / "data" / f"part{n:02d}.bin").write_bytes(data)
        whole += data
        made.append((len(data), hashlib.sha256(data).hexdigest()))
    model = models.LocalModel(
        name=name,
        file_name=f"{name}.gguf",
        parts=models._parts(name, "1.0", made),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        provenance="made by the test",
    )
    return model, whole


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def _leftovers(cache: Path, model: models.LocalModel) -> set[str]:
    expected = {model.file_name, f"{model.file_name}.verified", f"{model.file_name}.lock"}
    return {p.name for p in cache.iterdir()} - expected


def test_assembles_the_parts_in_order_and_verifies_them(site, tmp_path):
    model, whole = _fake_model(site)
    cache = tmp_path / "cache"
    path = models.gguf(model, cache)
    assert path == cache / "fake.gguf"
    assert path.read_bytes() == whole
    assert (cache / "fake.gguf.verified").is_file()
    assert not _leftovers(cache, model)
    assert not any(name.startswith("fake_part") for name in sys.modules)


def test_a_missing_part_package_is_named(site, tmp_path):
    model, _ = _fake_model(site)
    (site / "fake_part2" / "__init__.py").unlink()
    (site / "fake_part2" / "data" / "part02.bin").unlink()
    (site / "fake_part2" / "data").rmdir()
    (site / "fake_part2").rmdir()
    with pytest.raises(BadInput, match=r"needs the package fake-part2==1\.0, which is not installed"):
        models.gguf(model, tmp_path / "cache")
    assert not (tmp_path / "cache").exists()  # nothing is written before every part is found


def test_a_part_without_its_data_file_is_named(site, tmp_path):
    model, _ = _fake_model(site)
    (site / "fake_part3" / "data" / "part03.bin").unlink()
    with pytest.raises(RagError, match=r"the package fake-part3 is damaged \(data/part03\.bin is missing\)"):
        models.gguf(model, tmp_path / "cache")


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_part_is_named_and_nothing_is_left(site, tmp_path, damage):
    model, _ = _fake_model(site)
    data = site / "fake_part2" / "data" / "part02.bin"
    content = bytearray(data.read_bytes())
    if damage == "flip":
        content[1000] ^= 1
    else:
        del content[-10:]
    data.write_bytes(bytes(content))
    cache = tmp_path / "cache"
    with pytest.raises(RagError, match=r"the package fake-part2 is damaged .*pip install --force-reinstall") as error:
        models.gguf(model, cache)
    assert "\n" not in str(error.value)
    assert not (cache / "fake.gguf").exists()
    assert not _leftovers(cache, model)


def test_a_whole_that_differs_from_the_recorded_digest_is_refused(site, tmp_path):
    model, _ = _fake_model(site)
    wrong = models.LocalModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(RagError, match="does not match its recorded SHA-256"):
        models.gguf(wrong, tmp_path / "cache")
    assert not (tmp_path / "cache" / "fake.gguf").exists()


def test_a_verified_file_is_reused_without_hashing_it_again(site, tmp_path, monkeypatch):
    model, whole = _fake_model(site)
    cache = tmp_path / "cache"
    first = models.gguf(model, cache)
    stat = first.stat()

    def no_hashing(*args, **kwargs):
        raise AssertionError("hashed again")

    monkeypatch.setattr(models.hashlib, "sha256", no_hashing)
    assert models.gguf(model, cache) == first
    assert first.stat().st_mtime_ns == stat.st_mtime_ns and first.stat().st_ino == stat.st_ino


@pytest.mark.parametrize("change", ["same-size-content", "stamp-removed", "stamp-of-another-file"])
def test_a_changed_or_unstamped_file_is_assembled_again(site, tmp_path, change):
    model, whole = _fake_model(site)
    cache = tmp_path / "cache"
    path = models.gguf(model, cache)
    stamp = cache / "fake.gguf.verified"
    if change == "same-size-content":
        path.write_bytes(b"x" * model.size)
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns + 1_000_000))
    elif change == "stamp-removed":
        stamp.unlink()
    else:
        stamp.write_text(stamp.read_text().replace(model.sha256, "0" * 64))
    assert models.gguf(model, cache).read_bytes() == whole


CHILD = """
import logging, pathlib, pickle, sys, time
logging.basicConfig(level=logging.INFO, format="%(message)s")
from rag import models
model = pickle.loads(bytes.fromhex(sys.argv[1]))
gate = pathlib.Path(sys.argv[3])
while not gate.exists():
    time.sleep(0.002)
print(models.gguf(model, pathlib.Path(sys.argv[2])))
"""


def test_concurrent_processes_assemble_once_and_all_get_the_whole_file(site, tmp_path):
    model, whole = _fake_model(site, parts=4)
    cache, gate = tmp_path / "cache", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, pickle.dumps(model).hex(), str(cache), str(gate)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    time.sleep(1.5)  # every child imported and waiting at the gate
    gate.touch()
    results = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0] * 4, results
    assert {out.strip() for out, _ in results} == {str(cache / "fake.gguf")}
    assert sum("assembling the local model fake" in err for _, err in results) == 1
    assert (cache / "fake.gguf").read_bytes() == whole
    assert not _leftovers(cache, model)


def test_the_registry_is_consistent():
    assert models.DEFAULT_MODEL in models.MODELS
    for name, model in models.MODELS.items():
        assert name == model.name and ":" not in name and "/" not in name
        assert sum(part.size for part in model.parts) == model.size
        assert len(model.sha256) == 64 and all(len(part.sha256) == 64 for part in model.parts)
        assert len({part.package for part in model.parts}) == len(model.parts)
        if len(model.parts) == 1:
            assert model.parts[0].sha256 == model.sha256
    assert len({model.file_name for model in models.MODELS.values()}) == len(models.MODELS)


@pytest.mark.parametrize("name", list(models.MODELS))
def test_every_shipped_model_is_installed_at_its_recorded_size(name):
    for part in models.MODELS[name].parts:
        assert models.locate(part).stat().st_size == part.size, part.package


def test_local_names_and_paths(tmp_path):
    with pytest.raises(BadInput, match=r"unknown local model 'qwen9'; use one of qwen2\.5-1\.5b, "):
        local_gguf("qwen9", tmp_path)
    with pytest.raises(BadInput, match=r"GGUF model '.*nope\.gguf' not found"):
        local_gguf(str(tmp_path / "nope.gguf"), tmp_path)
    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF")
    assert local_gguf(str(own), tmp_path) == ("own.gguf", own)
    with pytest.raises(BadInput, match="unknown local model 'nope'"):
        make_generator("local:nope", Settings(model_cache=tmp_path))


def test_a_model_file_is_loaded_once_per_process_and_context(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(llama, "_loaded", {})
    monkeypatch.setattr(llama, "_open", lambda path, n_ctx: opened.append((path, n_ctx)) or object())
    first = llama.LlamaCppChat.load(tmp_path / "m.gguf", n_ctx=4096, max_tokens=100)
    again = llama.LlamaCppChat.load(tmp_path / "." / "m.gguf", n_ctx=4096, max_tokens=200)
    other = llama.LlamaCppChat.load(tmp_path / "m.gguf", n_ctx=2048, max_tokens=100)
    assert len(opened) == 2
    assert first.llama is again.llama and first.turn is again.turn and again.max_tokens == 200
    assert other.llama is not first.llama and other.turn is not first.turn


def test_llama_cpp_threads_are_the_physical_cores():
    assert 1 <= llama.physical_cores() <= len(os.sched_getaffinity(0))


def test_the_readme_names_every_shipped_model_with_its_size_and_digest():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for model in [*models.MODELS.values(), *models.EMBEDDERS.values()]:
        row = next(line for line in readme.splitlines() if line.strip().startswith(f"| `{model.name}`"))
        assert f"{model.size:,} B" in row and f"`{model.sha256[:8]}…{model.sha256[-8:]}`" in row


def _fake_zipped_model(site: Path, tmp_path: Path) -> tuple[models.LocalModel, dict[str, bytes]]:
    """A zipped model folder (with the Windows junk the real upload carries) split across two fake part
    packages, and the files it must extract to."""
    import zipfile

    files = {
        "config.json": b'{"model_type": "bert"}',
        "1_Pooling/config.json": b"{}",
        "model.safetensors": os.urandom(5000),
    }
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, data in files.items():
            zipped.writestr(f"zipped-model/{name}", data)
        zipped.writestr("zipped-model/desktop.ini", b"junk")
    whole = archive.read_bytes()
    half = len(whole) // 2
    made = []
    for n, data in enumerate((whole[:half], whole[half:]), start=1):
        (site / f"zipped_part{n}" / "data").mkdir(parents=True)
        (site / f"zipped_part{n}" / "__init__.py").write_text("raise RuntimeError('a part package was imported')\n")
        (site / f"zipped_part{n}" / "data" / f"part{n:02d}.bin").write_bytes(data)
        made.append((len(data), hashlib.sha256(data).hexdigest()))
    model = models.LocalModel(
        name="zipped-model",
        file_name="zipped-model.zip",
        parts=models._parts("zipped", "1.0", made),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        provenance="made by the test",
    )
    return model, files


def test_a_zipped_model_folder_is_extracted_once_and_its_zip_removed(site, tmp_path, monkeypatch):
    model, files = _fake_zipped_model(site, tmp_path)
    cache = tmp_path / "cache"
    folder = models.folder(model, cache)
    assert folder == cache / "zipped-model"
    assert {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == files
    assert {p.name for p in cache.iterdir() if not p.name.endswith(".lock")} == {
        "zipped-model",
        "zipped-model.extracted",
    }

    def no_assembly(*args, **kwargs):
        raise AssertionError("assembled again")

    monkeypatch.setattr(models, "gguf", no_assembly)
    assert models.folder(model, cache) == folder  # re-used after a size check


def test_a_damaged_extracted_folder_is_extracted_again(site, tmp_path):
    model, files = _fake_zipped_model(site, tmp_path)
    cache = tmp_path / "cache"
    folder = models.folder(model, cache)
    (folder / "model.safetensors").write_bytes(b"cut")
    assert (models.folder(model, cache) / "model.safetensors").read_bytes() == files["model.safetensors"]


def test_a_zipped_model_with_a_damaged_part_is_named(site, tmp_path):
    model, _ = _fake_zipped_model(site, tmp_path)
    data = site / "zipped_part2" / "data" / "part02.bin"
    content = bytearray(data.read_bytes())
    content[10] ^= 1
    data.write_bytes(bytes(content))
    with pytest.raises(RagError, match=r"the package zipped-part2 is damaged"):
        models.folder(model, tmp_path / "cache")
    assert not (tmp_path / "cache" / "zipped-model").exists()


@pytest.mark.parametrize("name", list(models.EMBEDDERS))
def test_every_shipped_embedding_model_is_installed_at_its_recorded_size(name):
    model = models.EMBEDDERS[name]
    assert sum(part.size for part in model.parts) == model.size
    for part in model.parts:
        assert models.locate(part).stat().st_size == part.size, part.package
