"""The `rag` command line: argument parsing, output formats, and one-line errors with exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import ValidationError

from rag.errors import BadInput, RagError
from rag.labels import label
from rag.settings import Settings, unknown_variables
from rag.types import Sentence


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every `rag` subcommand."""
    parser = argparse.ArgumentParser(prog="rag", description="Paracite: cited answers from UN documents.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="split a PDF or text file into its numbered paragraphs and footnotes")
    p.add_argument("file", type=Path)
    p.add_argument("--jsonl", action="store_true", help="one JSON object per unit")
    p.add_argument("--password", help="password of an encrypted PDF")

    p = sub.add_parser("ingest", help="parse, embed and add or replace documents (files or folders)")
    p.add_argument("paths", type=Path, nargs="+")
    p.add_argument("--password", help="password of encrypted PDFs")
    p.add_argument("--rebuild", action="store_true", help="re-embed every stored unit with the configured model")
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="parse and embed on Ray: a cluster's address (auto, HOST:6379, ray://HOST:10001) or none for this machine",
    )
    p.add_argument("--ray-workers", type=int, metavar="N", help="Ray workers (default: one per CPU of the cluster)")

    sub.add_parser("docs", help="list the indexed documents")

    p = sub.add_parser("remove", help="remove a document from the index")
    p.add_argument("doc", help="document symbol, as `rag docs` shows it")

    p = sub.add_parser("search", help="find the paragraphs that answer a question ('-' reads questions from stdin)")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=5, help="number of paragraphs (default 5)")
    p.add_argument("--doc", help="search only this document")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per question")

    p = sub.add_parser("ask", help="a short answer citing numbered paragraphs ('-' reads questions from stdin)")
    p.add_argument("question")
    p.add_argument("--llm", help="backend: extractive, local[:GGUF path], openai:MODEL (default: RAG_LLM)")
    p.add_argument("-k", type=int, default=5, help="paragraphs retrieved for the answer (default 5)")
    p.add_argument("--doc", help="answer only from this document")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per question")

    p = sub.add_parser("eval", help="run gold questions; report the metrics and fail when they fell below the baseline")
    p.add_argument(
        "--gold",
        type=Path,
        nargs="+",
        help="gold JSON-lines files (default: evals/gold.jsonl evals/heldout.jsonl evals/dev.jsonl)",
    )
    p.add_argument("--llm", help="backend: extractive, local[:GGUF path], openai:MODEL (default: RAG_LLM)")
    p.add_argument(
        "-k",
        type=int,
        default=10,
        help="retrieval depth: hit@k and MRR are counted within it; answers "
        "read the first min(k, 5) paragraphs (default 10)",
    )
    p.add_argument("--doc", help="only the questions about this document")
    p.add_argument("--baseline", type=Path, help="accepted figures and tolerances (default: evals/baseline.json)")
    p.add_argument("--update-baseline", action="store_true", help="record this run's figures as the baseline")
    p.add_argument("--report", type=Path, metavar="DIR", help="write report.md, charts and results.jsonl here")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per question, then one per gold file")

    sub.add_parser("flagged", help="answers flagged 'wrong citation' in the app, as gold-question candidates (JSONL)")

    for p in sub.choices.values():
        if p.prog.split()[-1] not in ("parse",):
            p.add_argument("--index", type=Path, help="index folder (default: index/, env RAG_INDEX)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input, 1 other failure)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC (Milvus's client) notes every fork otherwise
    _show_logs()
    args = build_parser().parse_args(argv)
    try:
        if unknown := unknown_variables(os.environ):
            raise BadInput(f"{unknown[0]} (see the README's settings)")
        try:
            settings = Settings(**({"index": args.index} if getattr(args, "index", None) else {}))
        except ValidationError as exc:
            first = exc.errors()[0]
            name = "RAG_" + "__".join(map(str, first["loc"])).upper() if first["loc"] else "a RAG_ setting"
            raise BadInput(f"{name}={first.get('input')!r} is not valid: {first['msg']}") from None
        return COMMANDS[args.command](args, settings)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


class _LogLine(logging.Formatter):
    """The library's log records as the CLI's own lines: "rag: …", "rag: warning: …"."""

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: "
        return f"rag: {level}{record.getMessage()}"


class _Stderr(logging.StreamHandler):
    """A handler writing to whatever `sys.stderr` is at the time (tests swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _show_logs() -> None:
    """Show what the library logs (first-use indexing, skipped files) on stderr, once per process."""
    logger = logging.getLogger("rag")
    if not any(isinstance(h.formatter, _LogLine) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(_LogLine())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _embedder(settings: Settings):
    from rag.embed import embedder_for

    return embedder_for(settings)


def _parse(args: argparse.Namespace, settings: Settings) -> int:
    from rag.parse import parse_file

    parsed = parse_file(args.file, settings=settings, password=args.password)
    for warning in parsed.warnings:
        print(f"rag: warning: {args.file}: {warning}", file=sys.stderr)
    out = sys.stdout
    for unit in parsed.units:
        if args.jsonl:
            out.write(json.dumps(unit.to_json(), ensure_ascii=False) + "\n")
        else:
            out.write(f"{unit.doc} ¶{unit.para} (p. {unit.page}; {unit.section or '-'})\n  {unit.text}\n")
    kinds = Counter(u.kind for u in parsed.units)
    summary = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in kinds.items())
    print(f"{parsed.document.id}: {summary} on {parsed.document.pages} pages", file=sys.stderr)
    return 0


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.library import ingest, read

    if args.ray_workers is not None and (args.ray is None or args.ray_workers < 1):
        raise BadInput("--ray-workers needs --ray and a number of at least 1")
    if args.ray is not None:
        from rag.distributed import RayReader

        reader = RayReader(args.ray, args.ray_workers)
    missing = [p for p in args.paths if not p.exists()]
    report = ingest(
        [p for p in args.paths if p.exists()],
        settings=settings,
        embedder=_embedder(settings),
        password=args.password,
        rebuild=args.rebuild,
        reader=read if args.ray is None else reader,
    )
    for outcome, ids in (("added", report.added), ("replaced", report.replaced), ("unchanged", report.unchanged)):
        if ids:
            print(f"{outcome}: {', '.join(ids)}")
    failed = [(str(p), f"{str(p)!r} does not exist") for p in missing] + list(report.failed)
    for path, reason in failed:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    done = len(report.added) + len(report.replaced) + len(report.unchanged)
    if failed:
        print(f"rag: {len(failed)} of {len(failed) + done} files could not be ingested (listed above)", file=sys.stderr)
    return 2 if failed and not done else 0


def _docs(args: argparse.Namespace, settings: Settings) -> int:
    from rag.library import documents

    for doc, units in documents(settings=settings, embedder=_embedder(settings)):
        kinds = Counter(u.kind for u in units)
        counts = ", ".join(f"{n} {k}{'s' if n != 1 else ''}" for k, n in kinds.items())
        print(f"{doc.id}\t{doc.pages} pages\t{counts}\t{doc.title[:80]}")
    return 0


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    from rag.library import remove

    doc = remove(args.doc, settings=settings, embedder=_embedder(settings))
    print(f"removed: {doc.id}")
    return 0


def _questions(question: str) -> Iterator[str]:
    if question != "-":
        yield question
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _each_question(args: argparse.Namespace, handle: Callable[[str], None]) -> int:
    """Run `handle` on the question, or on each stdin line for "-": there a bad question is reported
    in one line and the batch goes on (exit code 2 at the end)."""
    code = 0
    for question in _questions(args.question):
        try:
            handle(question)
        except BadInput as exc:
            if args.question != "-":
                raise
            print(f"rag: error: {exc}", file=sys.stderr)
            code = 2
        sys.stdout.flush()
    return code


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from rag.library import open_searcher

    searcher = open_searcher(settings=settings, embedder=_embedder(settings))

    def handle(question: str) -> None:
        hits = searcher.search(question, k=args.k, doc=args.doc)
        if args.jsonl:
            print(json.dumps({"question": question, "hits": [h.to_json() for h in hits]}, ensure_ascii=False))
            return
        print(f"Q: {question}")
        for h in hits:
            u = h.unit
            print(f"  {h.rank}. {u.doc} ¶{u.para} (p. {u.page}; {u.section or '-'}) [{h.score:.4f}]")
            print(f"     {u.text[:160]}{'…' if len(u.text) > 160 else ''}")

    return _each_question(args, handle)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from rag.library import open_searcher
    from rag.llm import make_generator
    from rag.pipeline import answer

    searcher = open_searcher(settings=settings, embedder=_embedder(settings))
    generator = make_generator(args.llm or settings.llm, settings)

    def handle(question: str) -> None:
        if args.question == "-" and not args.jsonl:
            print(f"Q: {question}")
        streamed: list[Sentence] = []

        def show(sentence: Sentence) -> None:  # verified sentences appear as the model writes them
            if not args.jsonl:
                marks = "".join(c.marker for c in sentence.citations)
                print(("" if not streamed else " ") + f"{sentence.text} {marks}{sentence.evidence}", end="", flush=True)
                streamed.append(sentence)

        result = answer(
            question,
            searcher=searcher,
            generator=generator,
            k=args.k,
            doc=args.doc,
            on_sentence=show,
            rules=settings.answering,
        )
        if args.jsonl:
            print(json.dumps(result.to_json(), ensure_ascii=False))
            return
        if result.refused:
            print(result.text)
        else:
            print()
            for c in result.citations:
                print(
                    f"  {c.marker} {label(c.doc, c.para)}, p. {c.page}; {c.section or '-'}: "
                    f"{c.text[:140]}{'…' if len(c.text) > 140 else ''}"
                )
        for lost in result.dropped:
            print(f"  (dropped, no retrieved paragraph supports it: {lost[:100]})", file=sys.stderr)

    return _each_question(args, handle)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from rag import evaluate
    from rag.llm import make_generator
    from rag.retrieve import doc_key

    baseline = args.baseline or evaluate.DEFAULT_BASELINE
    entries = evaluate.load_baseline(baseline)
    if args.k < 1:
        raise BadInput(f"-k must be at least 1, not {args.k!r}")
    golds = []  # every file is read and checked before any model loads
    for path in args.gold or evaluate.DEFAULT_GOLD:
        questions = evaluate.load_gold(path)
        if args.doc:
            questions = tuple(q for q in questions if doc_key(q.doc) == doc_key(args.doc))
            if not questions:
                raise BadInput(f"{path} has no questions about {args.doc!r}")
        golds.append((path, questions))
    searcher = evaluate.open_for([q for _, qs in golds for q in qs], settings=settings, embedder=_embedder(settings))
    generator = make_generator(args.llm or settings.llm, settings)
    backend = generator.name if generator else "extractive"
    runs, regressions = [], []
    for path, questions in golds:
        rows = evaluate.run_questions(
            questions,
            searcher=searcher,
            generator=generator,
            depth=args.k,
            label=f"eval {path.name}",
            rules=settings.answering,
        )
        run = evaluate.Evaluation(path, backend, args.k, args.doc, evaluate.questions_digest(questions), tuple(rows))
        entry = entries.get(run.key)
        fell = evaluate.compare(run, entry) if entry and not args.update_baseline else []
        runs.append(run)
        regressions += fell
        _show_eval(run, entry, fell, jsonl=args.jsonl)
    if args.report:
        from rag.report import write_report

        print(f"report: {write_report(args.report, runs, entries, regressions)}", file=sys.stderr)
    if args.update_baseline:
        evaluate.update_baseline(baseline, runs)
        print(f"baseline updated: {baseline} ({', '.join(r.key for r in runs)})", file=sys.stderr)
        return 0
    for regression in regressions:
        print(f"rag: regression: {regression.message()}", file=sys.stderr)
    if regressions:
        print(
            f"rag: error: {len(regressions)} metric{'s' if len(regressions) > 1 else ''} fell past the tolerance "
            f"of {baseline}; fix the cause, or accept the new figures with --update-baseline",
            file=sys.stderr,
        )
        return 1
    return 0


def _show_eval(run, entry: dict | None, regressions: list, *, jsonl: bool) -> None:
    from rag.evaluate import grouped
    from rag.report import tables

    if not jsonl:
        print(tables(run, entry, regressions) + "\n", flush=True)
        return
    for row in run.rows:
        print(json.dumps({"run": run.key, **row.to_json()}, ensure_ascii=False))
    print(
        json.dumps(
            {
                "run": run.key,
                "gold": str(run.gold),
                "backend": run.backend,
                "k": run.depth,
                "overall": run.summary,
                "by_type": grouped(run.rows, lambda r: r.type),
                "by_doc": grouped(run.rows, lambda r: r.doc),
                "regressions": [r.message() for r in regressions],
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


def _flagged(args: argparse.Namespace, settings: Settings) -> int:
    from rag.history import History, gold_candidate

    path = settings.index / "app" / "history.sqlite"
    if not path.is_file():
        print(f"rag: no app history in {str(settings.index)!r} yet: nothing flagged", file=sys.stderr)
        return 0
    for turn, reason in History(path).flagged():
        print(json.dumps(gold_candidate(turn, reason), ensure_ascii=False))
    return 0


COMMANDS = {
    "parse": _parse,
    "ingest": _ingest,
    "docs": _docs,
    "remove": _remove,
    "search": _search,
    "ask": _ask,
    "eval": _eval,
    "flagged": _flagged,
}
