"""Load on the chat app, measured:

- `load`: the app (`python app.py`, extractive backend) started on a free loopback port over a fresh
  index of the default corpus; N concurrent gradio_client clients each ask M gold questions through
  the `/ask` API. Prints errors, latency p50/p95 and throughput.
- `queue`: the local LLM taken in turn — Q questions asked at once through the app's service
  (rag/chat.py) with the `local` backend: the queue positions each one was shown, when each
  generation ran (they must not overlap), none lost; and an extractive question asked meanwhile.

    python evals/bench_app.py [--clients 20] [--questions 5] [--queue 3] [--skip-queue | --skip-load]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def load(index: Path, clients: int, questions: list[str]) -> None:
    """N clients × M questions through the app's API, all at once."""
    from gradio_client import Client

    port = _free_port()
    env = {**os.environ, "RAG_INDEX": str(index), "RAG_APP_PORT": str(port), "RAG_LLM": "extractive"}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900
        while True:  # the page comes at once; the library is ready when /ask answers
            try:
                Client(url, verbose=False).predict("warm up", api_name="/ask")
                break
            except Exception:  # noqa: BLE001 - not up or not indexed yet
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the app did not become ready") from None
                time.sleep(2)
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            api = Client(url, verbose=False)
            for i in range(len(questions)):
                question = questions[(n + i) % len(questions)]
                start = time.perf_counter()
                try:
                    result = api.predict(question, "extractive", 5, [], api_name="/ask")
                    assert result["question"] == question
                    with lock:
                        latencies.append((time.perf_counter() - start) * 1000)
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(30)
    asked = clients * len(questions)
    print(
        f"load: {clients} concurrent clients × {len(questions)} questions = {asked} requests through /ask "
        "(extractive, app on loopback, 2 cores)\n"
    )
    print("| measure | value |\n|---|---:|")
    print(f"| errors | {len(errors)} |")
    if latencies:
        print(f"| latency p50 (ms) | {statistics.median(latencies):.0f} |")
        print(f"| latency p95 (ms) | {_pct(latencies, 95):.0f} |")
    print(f"| wall time (s) | {wall:.1f} |")
    print(f"| throughput (answers/s) | {len(latencies) / wall:.1f} |")
    for error in errors[:5]:
        print(f"error: {error}")


def llm_queue(index: Path, waiting: int, question: str) -> None:
    """`waiting` questions to the local model at once, plus one extractive question meanwhile."""
    from rag.chat import ChatService
    from rag.embed import embedder_for
    from rag.settings import Settings
    from rag.types import Answer

    settings = Settings(index=index)
    service = ChatService(settings, embedder_for(settings))
    service.live.open()
    service.generator("local")  # the model loads before the clock starts
    records: dict[int, dict] = {}

    def ask(n: int) -> None:
        record = records[n] = {"shown": [], "writing": None, "done": None, "answer": None}
        for item in service.ask(question, docs=None, backend="local", k=5):
            if isinstance(item, Answer):
                record["answer"], record["done"] = item, time.perf_counter()
            elif item.startswith("Waiting"):
                if not record["shown"] or record["shown"][-1] != item:
                    record["shown"].append(item)
            elif item.startswith("The local model is writing"):
                record["writing"] = time.perf_counter()

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(waiting)]
    start = time.perf_counter()
    for t in threads:
        t.start()
        time.sleep(0.2)  # arrival order is the queue order
    time.sleep(1)
    quick_start = time.perf_counter()
    quick = [i for i in service.ask(question, docs=None, backend="extractive", k=5) if isinstance(i, Answer)]
    quick_ms = (time.perf_counter() - quick_start) * 1000
    for t in threads:
        t.join()
    print(f"\nqueue: {waiting} questions to the local model at once (llama.cpp answers one at a time)\n")
    print("| question | positions shown while waiting | generation ran (s after start) | answered |")
    print("|---:|---|---|---|")
    spans = []
    for n in range(waiting):
        r = records[n]
        shown = "; ".join(s.split(": ")[1].split(" ahead")[0] + " ahead" for s in r["shown"]) or "none (served first)"
        span = (r["writing"] - start, r["done"] - start) if r["writing"] and r["done"] else None
        spans.append(span)
        ran = f"{span[0]:.1f}–{span[1]:.1f}" if span else "never"
        print(f"| {n + 1} | {shown} | {ran} | {'yes' if r['answer'] else 'LOST'} |")
    done = sorted(s for s in spans if s)
    overlaps = sum(a[1] > b[0] + 0.05 for a, b in zip(done, done[1:], strict=False))
    print(
        f"\nlost: {sum(s is None for s in spans)}; overlapping generations: {overlaps}; an extractive question "
        f"asked meanwhile answered in {quick_ms:.0f} ms ({'answer' if quick else 'none'})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=5)
    parser.add_argument("--queue", type=int, default=3, help="questions sent to the local model at once")
    parser.add_argument("--skip-queue", action="store_true", help="only the load test")
    parser.add_argument("--skip-load", action="store_true", help="only the queue test")
    args = parser.parse_args()
    gold = [json.loads(line) for line in (ROOT / "evals" / "gold.jsonl").read_text().splitlines() if line.strip()]
    questions = [g["question"] for g in gold[: args.questions]]
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        if not args.skip_load:
            load(index, args.clients, questions)
        if not args.skip_queue:
            llm_queue(index, args.queue, "How many Member States contributed to the report?")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
