"""Ingest on Ray Data (`rag ingest PATH… --ray [ADDRESS]`): the same code on one machine or a cluster.

The files that are new or changed (the driver compares checksums first, as without Ray) flow through a
Ray dataset, one file per row, to a pool of workers (Ray actors): each loads the embedding model once,
then parses a file and embeds its units (`rag.library.read` and `embed_entries`, the code a local
ingest runs). Ray streams the rows, so only the files in flight are in the workers' memory. Bad files
come back with their one-line reasons. The driver alone writes the index, once, atomically, into the
configured store (FAISS or Milvus). Ray's own logs go to its session folder, not the terminal."""

from __future__ import annotations

import logging
import pickle
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.errors import RagError
from rag.library import Entry, Progress, embed_entries, read
from rag.settings import Settings

LOCAL = "local"  # --ray with no address: a Ray instance started for this ingest on this machine


@dataclass(frozen=True, slots=True)
class RayReader:
    """A `rag.library.Reader` that parses and embeds on Ray. `address`: a running cluster's ("auto",
    "HOST:6379", "ray://HOST:10001") or LOCAL; `workers`: how many (default: one per CPU of the cluster),
    each given the cluster's CPUs / `workers` (torch threads, at least one)."""

    address: str = LOCAL
    workers: int | None = None

    def __call__(
        self, paths: list[Path], *, settings: Settings, password: str | None, progress: bool, tell: Progress
    ) -> tuple[list[Entry], list[tuple[str, str]]]:
        import ray
        import ray.data

        logging.getLogger("ray.data").setLevel(logging.ERROR)  # its progress lines (its log files keep them)

        _connect(ray, self.address)
        cpus = float(ray.cluster_resources().get("CPU", 1))
        workers = max(1, min(self.workers or int(cpus), len(paths)))
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # one bar: ours, below
        context.print_on_execution_start = False
        per_worker = cpus / workers
        rows = ray.data.from_items([{"path": str(p.resolve())} for p in paths], override_num_blocks=len(paths))
        with warnings.catch_warnings():  # max_restarts is passed on to the actors (a deprecated way, in Ray 2.60)
            warnings.simplefilter("ignore")
            done = rows.map_batches(
                _Worker,
                fn_constructor_kwargs={"settings": settings, "password": password, "threads": max(1, int(per_worker))},
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=per_worker,
                max_restarts=0,  # a worker that dies fails the ingest (nothing is written); not restarted
            )
        entries: list[Entry] = []
        failed: list[tuple[str, str]] = []
        nodes: set[str] = set()
        start = time.perf_counter()
        stage = f"parse and embed on Ray ({workers} workers)"
        bar = tqdm(total=len(paths), desc="ray", unit="file", disable=not progress, file=sys.stderr, leave=False)
        for n, row in enumerate(done.iter_rows(), start=1):
            tell(stage, n / len(paths))
            bar.update()
            nodes.add(row["node"])
            if row["error"]:
                failed.append((row["path"], row["error"]))
            else:
                entries.append(pickle.loads(row["entry"]))
        bar.close()
        seconds, units = time.perf_counter() - start, sum(len(e.units) for e in entries)
        print(
            f"ray: {len(paths)} files read by {workers} workers on {len(nodes)} node{'s' * (len(nodes) != 1)}: "
            f"{units} units in {seconds:.1f} s ({units / seconds:.1f} units/s)",
            file=sys.stderr,
        )
        return entries, failed


class _Worker:
    """One Ray worker: the embedding model loaded once, then one file per call."""

    def __init__(self, settings: Settings, password: str | None, threads: int) -> None:
        import ray
        import torch

        from rag.embed import embedder_for

        torch.set_num_threads(threads)
        self.node = ray.get_runtime_context().get_node_id()
        self.settings, self.password = settings, password
        self.embedder = embedder_for(settings)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        out: dict[str, list] = {"path": [], "entry": [], "error": [], "node": []}
        for path in batch["path"]:
            entries, failed = read([Path(path)], settings=self.settings, password=self.password, progress=False)
            embedded = embed_entries(self.embedder, {e.document.id: e for e in entries}, progress=False)
            out["path"].append(path)
            out["entry"].append(pickle.dumps(next(iter(embedded.values()))) if embedded else b"")
            out["error"].append(failed[0][1] if failed else "")
            out["node"].append(self.node)
        return out


def _connect(ray: Any, address: str) -> None:
    if ray.is_initialized():
        return
    logging.getLogger("ray").setLevel(logging.ERROR)  # Ray Data's progress lines; its log files keep them
    try:
        if address == LOCAL:
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the cluster is the user's to fix
        raise RagError(f"cannot connect to the Ray cluster at {address!r} ({type(exc).__name__}: {exc})") from None
