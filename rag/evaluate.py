"""Deterministic evaluation on gold questions: loading them, running them through retrieval and answering,
pure metric functions, summaries per question type and document, and the regression gate against a
baseline of accepted figures. No LLM judge: paragraph ids, key facts and refusals decide."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rag.errors import BadInput, RagError
from rag.pipeline import Generator, answer
from rag.retrieve import Searcher, doc_key
from rag.settings import Answering, Settings

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_GOLD = tuple(ROOT / "evals" / name for name in ("gold.jsonl", "heldout.jsonl", "dev.jsonl"))
DEFAULT_BASELINE = ROOT / "evals" / "baseline.json"
DEPTH = 10  # default retrieval depth: hit@1/3/5/10 and MRR are counted within it
ANSWER_K = 5  # paragraphs an answer reads at most (`rag ask`'s default); fewer when the depth is smaller
HIT_AT = (1, 3, 5, 10)
FIELDS = ("id", "doc", "question", "paragraphs", "key_facts", "type")
UNANSWERABLE = "unanswerable"

UnitKey = tuple[str, str]  # (document key, paragraph id): "S/RES/2768(2025)", "pp2"


@dataclass(frozen=True, slots=True)
class GoldQuestion:
    """One gold question: where its answer is (paragraph ids within `doc`) and what it must say."""

    id: str
    doc: str
    question: str
    paragraphs: tuple[str, ...]
    key_facts: tuple[str, ...]
    type: str
    line: int = 0

    @property
    def answerable(self) -> bool:
        """Whether the documents answer it (unanswerable questions must be refused)."""
        return self.type != UNANSWERABLE

    @property
    def gold_units(self) -> frozenset[UnitKey]:
        """Its gold paragraphs as unit keys."""
        return frozenset(unit_key(self.doc, p) for p in self.paragraphs)


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """What happened to one gold question: what was retrieved, what was answered, and how it scores."""

    id: str
    doc: str
    type: str
    question: str
    gold: tuple[str, ...]
    key_facts: tuple[str, ...]
    retrieved: tuple[UnitKey, ...]  # the ranking, `depth` deep (doc as indexed, paragraph id)
    answer_k: int  # the first `answer_k` retrieved units are what the answer read
    answer: str
    refused: bool
    citations: tuple[UnitKey, ...]
    latency_ms: float
    rank: int | None  # 1-based rank of the first gold unit retrieved; None: not within the depth
    facts_found: bool
    unretrieved: int  # citations of units the answer did not read

    @property
    def answerable(self) -> bool:
        """Whether the question has gold paragraphs."""
        return self.type != UNANSWERABLE

    @property
    def failed(self) -> bool:
        """An answerable question refused, missing a key fact or citing no gold paragraph; an unanswerable
        one answered; or any citation of a unit that was not read."""
        if self.unretrieved:
            return True
        if not self.answerable:
            return not self.refused
        gold = {unit_key(self.doc, p) for p in self.gold}
        return self.refused or not self.facts_found or not any(unit_key(*c) in gold for c in self.citations)

    def to_json(self) -> dict[str, object]:
        """A JSON object of every field."""
        return {
            **asdict(self),
            "retrieved": [list(u) for u in self.retrieved],
            "citations": [list(c) for c in self.citations],
        }


# Metrics: stable key → (label, which way is better, default tolerance; None: reported, never gated).
# Latency and answer length are reported only: they vary with the machine or are not better either way.
METRICS: dict[str, tuple[str, str, float | None]] = {
    "hit@1": ("hit@1 (a gold paragraph ranked first)", "higher", 0.02),
    "hit@3": ("hit@3", "higher", 0.02),
    "hit@5": ("hit@5", "higher", 0.02),
    "hit@10": ("hit@10", "higher", 0.02),
    "mrr": ("MRR", "higher", 0.02),
    "key_facts": ("key facts (every key fact in the answer)", "higher", 0.02),
    "citation_precision": ("citation precision (cited units that are gold)", "higher", 0.02),
    "citation_recall": ("citation recall (gold units cited)", "higher", 0.02),
    "cites_gold": ("answers citing a gold paragraph", "higher", 0.02),
    "unanswerable_refused": ("unanswerable refused", "higher", 0.02),
    "false_refusals": ("false refusals (answerable refused)", "lower", 0.02),
    "unretrieved_citations": ("citations to units not retrieved", "lower", 0),
    "answer_words": ("median answer length (words)", "lower", None),
    "latency_p50_ms": ("latency p50 (ms)", "lower", None),
    "latency_p95_ms": ("latency p95 (ms)", "lower", None),
}
# An LLM's greedy decoding repeats itself on one machine, but another CPU's float rounding can flip a
# token; its small fixed subset (one question = 0.1) gets one question of slack.
LLM_TOLERANCE = 0.1


# ---- gold files -------------------------------------------------------------------------------------


def load_gold(path: Path) -> tuple[GoldQuestion, ...]:
    """The questions of a gold JSON-lines file; any unusable line is a BadInput naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"gold file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"gold file {str(path)!r} cannot be read ({type(exc).__name__})") from None
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        question = _gold_line(line, f"{path}:{number}", number)
        if question.id in seen:
            raise BadInput(f"{path}:{number}: id {question.id!r} occurs twice")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise BadInput(f"gold file {str(path)!r} holds no questions (one JSON object a line)")
    return tuple(questions)


def _gold_line(line: str, where: str, number: int) -> GoldQuestion:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise BadInput(f"{where}: not a JSON object")
    if missing := [f for f in FIELDS if f not in row]:
        raise BadInput(f"{where}: missing field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for name in ("id", "doc", "question", "type"):
        if not isinstance(row[name], str) or not row[name].strip():
            raise BadInput(f"{where}: {name} must be a non-empty string")
    paragraphs = row["paragraphs"]
    if not isinstance(paragraphs, list) or not all(
        (isinstance(p, int) and not isinstance(p, bool)) or (isinstance(p, str) and p.strip()) for p in paragraphs
    ):
        raise BadInput(f'{where}: paragraphs must be a list of paragraph numbers or ids such as "fn1", "pp2"')
    facts = row["key_facts"]
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        raise BadInput(f"{where}: key_facts must be a list of strings")
    if (row["type"] == UNANSWERABLE) != (not paragraphs):
        raise BadInput(f"{where}: a question has no paragraphs exactly when its type is {UNANSWERABLE!r}")
    return GoldQuestion(
        row["id"],
        row["doc"],
        row["question"],
        tuple(str(p).strip() for p in paragraphs),
        tuple(facts),
        row["type"],
        number,
    )


def questions_digest(questions: Sequence[GoldQuestion]) -> str:
    """A short hash of the questions as run (the baseline knows which questions its figures are of)."""
    canonical = json.dumps([[q.id, q.doc, q.question, q.paragraphs, q.key_facts, q.type] for q in questions])
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# ---- the corpus and the index -----------------------------------------------------------------------


def corpus_files(corpus: Path) -> dict[str, Path]:
    """The corpus's files by the document key their names spell: `S_RES_2768 (2025).en.pdf` holds
    S/RES/2768 (2025), a file without a symbol its stem (what the parser names such a document)."""
    from rag.library import expand

    files: dict[str, Path] = {}
    for path in expand([corpus]) if corpus.is_dir() else []:
        files.setdefault(doc_key(path.stem), path)
        files[doc_key(path.name.split(".")[0].replace("_", "/"))] = path
    return files


def open_for(questions: Sequence[GoldQuestion], *, settings: Settings, embedder, progress: bool = True) -> Searcher:
    """A searcher over the configured index; with no index yet, one is built from the corpus files the
    questions need. Every question's document must be in the index."""
    from rag.library import ingest, open_searcher, open_store

    needed = sorted({q.doc for q in questions}, key=doc_key)
    if open_store(settings).load(fingerprint=embedder.fingerprint) is None:
        files = corpus_files(settings.corpus)
        if lacking := [d for d in needed if doc_key(d) not in files]:
            raise BadInput(
                f"no index in {str(settings.index)!r}, and the corpus {str(settings.corpus)!r} has no "
                f"file for {', '.join(lacking)}: ingest the documents first (rag ingest FILE… --index DIR)"
            )
        documents = f"{len(needed)} document{'s' if len(needed) > 1 else ''}"
        log.info("no index yet: indexing the %s the questions need into %r…", documents, str(settings.index))
        report = ingest([files[doc_key(d)] for d in needed], settings=settings, embedder=embedder, progress=progress)
        if report.failed:
            raise RagError(f"cannot index {report.failed[0][0]}: {report.failed[0][1]}")
    searcher = open_searcher(settings=settings, embedder=embedder, progress=progress)
    indexed = {doc_key(d.id) for d in searcher.documents}
    if lacking := [d for d in needed if doc_key(d) not in indexed]:
        raise BadInput(
            f"the index {str(settings.index)!r} lacks {', '.join(lacking)}, which the questions need: "
            "ingest them (rag ingest FILE… --index DIR) or give an empty --index folder"
        )
    return searcher


# ---- running questions ------------------------------------------------------------------------------


def run_question(
    q: GoldQuestion,
    *,
    searcher: Searcher,
    generator: Generator | None,
    depth: int = DEPTH,
    rules: Answering | None = None,
) -> QuestionResult:
    """Retrieve `depth` units for one question within its document, answer from the first
    min(depth, ANSWER_K) of them (under `rules`, default as shipped), and score it."""
    if depth < 1:
        raise BadInput(f"-k must be at least 1, not {depth!r}")
    answer_k = min(depth, ANSWER_K)
    # answered first: its latency then includes embedding the question, which the ranking search reuses
    result = answer(q.question, searcher=searcher, generator=generator, k=answer_k, doc=q.doc, rules=rules)
    hits = searcher.search(q.question, k=depth, doc=q.doc)
    retrieved = tuple((h.unit.doc, h.unit.para) for h in hits)
    citations = tuple((c.doc, c.para) for c in result.citations)
    return QuestionResult(
        q.id,
        q.doc,
        q.type,
        q.question,
        q.paragraphs,
        q.key_facts,
        retrieved,
        answer_k,
        result.text,
        result.refused,
        citations,
        dict(result.timings).get("total", 0.0),
        first_rank(retrieved, q.gold_units),
        key_facts_found(result.text, q.key_facts, refused=result.refused),
        unretrieved(citations, retrieved[:answer_k]),
    )


def run_questions(
    questions: Sequence[GoldQuestion],
    *,
    searcher: Searcher,
    generator: Generator | None,
    depth: int = DEPTH,
    progress: bool = True,
    label: str = "eval",
    rules: Answering | None = None,
) -> list[QuestionResult]:
    """Every question through retrieval and answering, in file order."""
    bar = tqdm(questions, desc=label, unit="q", disable=not progress, file=sys.stderr, leave=False)
    return [run_question(q, searcher=searcher, generator=generator, depth=depth, rules=rules) for q in bar]


# ---- metric functions (pure) ------------------------------------------------------------------------


def unit_key(doc: str, para: object) -> UnitKey:
    """A unit compared without case or spaces in its document id: ("S/RES/2768(2025)", "pp2")."""
    return doc_key(doc), str(para).strip()


def first_rank(retrieved: Sequence[UnitKey], gold: Iterable[UnitKey]) -> int | None:
    """The 1-based rank of the first retrieved unit that is gold; None when none is."""
    wanted = {unit_key(*g) for g in gold}
    return next((i for i, u in enumerate(retrieved, start=1) if unit_key(*u) in wanted), None)


def hit_at(rank: int | None, n: int) -> bool:
    """Whether a gold unit was retrieved within the first `n`."""
    return rank is not None and rank <= n


def reciprocal_rank(rank: int | None) -> float:
    """1/rank, 0 when no gold unit was retrieved."""
    return 1.0 / rank if rank else 0.0


def key_facts_found(text: str, key_facts: Sequence[str], *, refused: bool) -> bool:
    """Whether an answer (not a refusal, not empty) holds every key fact, ignoring case, typography (’ or ',
    “ or ", – or -, spacing) and how a percentage is written ("30 per cent", "30%")."""
    if refused or not text.strip():
        return False
    said = _plain(text)
    return all(_plain(fact) in said for fact in key_facts)


_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "“": '"', "”": '"', "–": "-", "—": "-", "‑": "-"})


def _plain(text: str) -> str:
    """`text` as `key_facts_found` compares it: lower case, plain quotes and dashes, single spaces, "%"."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_TYPOGRAPHY)
    return re.sub(r"\s+", " ", re.sub(r"\s*(?:per ?cent\b|%)", "%", text))


def cited_gold(citations: Iterable[UnitKey], gold: Iterable[UnitKey]) -> int:
    """How many distinct cited units are gold (the document counts: ¶3 of another document is not)."""
    wanted = {unit_key(*g) for g in gold}
    return len({unit_key(*c) for c in citations} & wanted)


def citation_precision(citations: Sequence[UnitKey], gold: Iterable[UnitKey]) -> float | None:
    """The share of distinct cited units that are gold; None when nothing is cited."""
    cited = {unit_key(*c) for c in citations}
    return cited_gold(cited, gold) / len(cited) if cited else None


def citation_recall(citations: Iterable[UnitKey], gold: Iterable[UnitKey]) -> float | None:
    """The share of gold units cited; None when there are no gold units (an unanswerable question)."""
    wanted = {unit_key(*g) for g in gold}
    return cited_gold(citations, wanted) / len(wanted) if wanted else None


def unretrieved(citations: Iterable[UnitKey], read: Iterable[UnitKey]) -> int:
    """How many citations name a unit the answer was not given."""
    given = {unit_key(*u) for u in read}
    return sum(unit_key(*c) not in given for c in citations)


def word_count(text: str) -> int:
    """Words in an answer (its citation markers count as words too)."""
    return len(text.split())


def mean(values: Iterable[float | bool]) -> float | None:
    """The arithmetic mean; None for no values."""
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation); None for no values."""
    return float(np.percentile(values, q)) if len(values) else None


def summarise(rows: Sequence[QuestionResult]) -> dict[str, float | int | None]:
    """Every metric over `rows` (None where a metric has no questions to count, such as unanswerable
    refused in a group without unanswerable questions)."""
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    cited = [c for r in answerable for c in dict.fromkeys(unit_key(*c) for c in r.citations)]
    gold_of = {r.id: {unit_key(r.doc, p) for p in r.gold} for r in answerable}
    right = sum(cited_gold(r.citations, gold_of[r.id]) for r in answerable)
    summary: dict[str, float | int | None] = {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }
    summary |= {f"hit@{n}": mean(hit_at(r.rank, n) for r in answerable) for n in HIT_AT}
    summary |= {
        "mrr": mean(reciprocal_rank(r.rank) for r in answerable),
        "key_facts": mean(r.facts_found for r in answerable),
        "citation_precision": right / len(cited) if cited else None,  # pooled over every citation
        "citation_recall": mean(citation_recall(r.citations, gold_of[r.id]) or 0.0 for r in answerable),
        "cites_gold": mean(cited_gold(r.citations, gold_of[r.id]) > 0 for r in answerable),
        "unanswerable_refused": mean(r.refused for r in unanswerable),
        "false_refusals": mean(r.refused for r in answerable),
        "unretrieved_citations": sum(r.unretrieved for r in rows),
        "answer_words": percentile([word_count(r.answer) for r in answerable if not r.refused], 50),
        "latency_p50_ms": percentile([r.latency_ms for r in rows], 50),
        "latency_p95_ms": percentile([r.latency_ms for r in rows], 95),
    }
    return summary


def grouped(rows: Sequence[QuestionResult], key: Callable[[QuestionResult], str]) -> dict[str, dict]:
    """`summarise` per group (question type, document), groups in order of first appearance."""
    groups: dict[str, list[QuestionResult]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return {name: summarise(members) for name, members in groups.items()}


def hit_curve(rows: Sequence[QuestionResult], depth: int) -> list[float]:
    """hit@n of the answerable questions for n = 1 … depth."""
    ranks = [r.rank for r in rows if r.answerable]
    return [sum(hit_at(rank, n) for rank in ranks) / len(ranks) if ranks else 0.0 for n in range(1, depth + 1)]


# ---- the baseline and the gate ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One gold file run through one backend."""

    gold: Path
    backend: str
    depth: int
    doc: str | None
    digest: str
    rows: tuple[QuestionResult, ...]

    @property
    def key(self) -> str:
        """Its baseline entry's name: "gold.jsonl / extractive" (a --doc run names its document)."""
        return f"{self.gold.name} / {self.backend}" + (f" / doc {self.doc}" if self.doc else "")

    @property
    def summary(self) -> dict[str, float | int | None]:
        """Every metric over all its questions."""
        return summarise(self.rows)


@dataclass(frozen=True, slots=True)
class Regression:
    """A gated metric that fell past its tolerance (or questions that differ from the baseline's)."""

    entry: str
    metric: str
    baseline: float | None
    current: float | None
    tolerance: float

    def message(self) -> str:
        """One line saying what fell, from what to what, by how much."""
        if self.metric == "questions":
            return (
                f"{self.entry}: the questions differ from those the baseline was recorded on (the gold file "
                "changed): check the figures and record them with --update-baseline"
            )
        if self.current is None or self.baseline is None:
            return f"{self.entry}: {self.metric} is {_fmt(self.current)}, baseline {_fmt(self.baseline)}"
        change = abs(self.current - self.baseline)
        verb = "fell" if METRICS[self.metric][1] == "higher" else "rose"
        return (
            f"{self.entry}: {self.metric} {verb} from {_fmt(self.baseline)} to {_fmt(self.current)} "
            f"(by {_fmt(change)}; tolerance {_fmt(self.tolerance)})"
        )


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def load_baseline(path: Path) -> dict:
    """The baseline file's entries ({} when the file does not exist yet)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["entries"]
        if not isinstance(entries, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise BadInput(f'baseline {str(path)!r} is not a baseline file (JSON with "entries")') from None
    return entries


def default_tolerance(backend: str) -> dict[str, float]:
    """Tolerances of a new baseline entry: rates 0.02 (0.1 for an LLM), unretrieved citations 0."""
    llm = backend != "extractive"
    return {m: (LLM_TOLERANCE if llm and t else t) for m, (_, _, t) in METRICS.items() if t is not None}


def entry_of(evaluation: Evaluation, tolerance: dict[str, float] | None = None) -> dict:
    """The baseline entry recording an evaluation's figures."""
    summary = evaluation.summary
    return {
        "gold": evaluation.gold.name,
        "backend": evaluation.backend,
        "k": evaluation.depth,
        "questions": summary["questions"],
        "questions_sha256": evaluation.digest,
        "metrics": {m: (round(v, 4) if isinstance(v, float) else v) for m, v in summary.items() if m in METRICS},
        "tolerance": tolerance or default_tolerance(evaluation.backend),
    }


def compare(evaluation: Evaluation, entry: dict) -> list[Regression]:
    """The gated metrics of `evaluation` that fell past their tolerance against a baseline entry."""
    if entry.get("questions_sha256") != evaluation.digest:
        return [Regression(evaluation.key, "questions", None, None, 0.0)]
    current, accepted = evaluation.summary, entry.get("metrics", {})
    out = []
    for metric, tolerance in entry.get("tolerance", {}).items():
        if metric not in METRICS or metric not in accepted:
            continue
        now, then = current.get(metric), accepted[metric]
        if then is None:
            continue
        higher = METRICS[metric][1] == "higher"
        worse = now is None or (now < then - tolerance - 1e-9 if higher else now > then + tolerance + 1e-9)
        if worse:
            out.append(Regression(evaluation.key, metric, then, now, tolerance))
    return out


def update_baseline(path: Path, evaluations: Sequence[Evaluation]) -> None:
    """Record the evaluations' figures as accepted (each entry keeps its hand-set tolerances)."""
    entries = load_baseline(path)
    for evaluation in evaluations:
        kept = entries.get(evaluation.key, {}).get("tolerance")
        entries[evaluation.key] = entry_of(evaluation, kept)
    about = (
        "Accepted figures of `rag eval` per gold file and backend, with a tolerance per gated metric. "
        "Rewritten only by `rag eval --update-baseline`; tolerances may be edited by hand."
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"about": about, "entries": dict(sorted(entries.items()))}, indent=1, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
