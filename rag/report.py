"""What `rag eval` shows: Markdown tables for the terminal and report.md, the failed questions, and PNG
charts (matplotlib, imported only here and only when a report is written)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from rag.evaluate import HIT_AT, METRICS, Evaluation, Regression, grouped, hit_curve

GROUP_COLUMNS = (
    "hit@1",
    "hit@5",
    "mrr",
    "key_facts",
    "citation_precision",
    "citation_recall",
    "unanswerable_refused",
    "false_refusals",
)
SHORT = {
    "hit@1": "hit@1",
    "hit@5": "hit@5",
    "mrr": "MRR",
    "key_facts": "key facts",
    "citation_precision": "precision",
    "citation_recall": "recall",
    "unanswerable_refused": "unans. refused",
    "false_refusals": "false refusals",
    "cites_gold": "cites gold",
}
GATED_RATES = {m for m, (_, _, tolerance) in METRICS.items() if tolerance is not None}
TYPE_CHART = ("hit@1", "hit@5", "key_facts", "citation_precision", "citation_recall")


def cell(value: float | int | None, digits: int = 3) -> str:
    """A table cell: integers as they are, rates rounded, "–" for a metric with nothing to count."""
    if value is None:
        return "–"
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def title(evaluation: Evaluation) -> str:
    """A run's one-line description."""
    s = evaluation.summary
    return (
        f"{evaluation.key} · k={evaluation.depth} · {s['questions']} questions "
        f"({s['answerable']} answerable, {s['unanswerable']} unanswerable)"
    )


def headline(evaluation: Evaluation, entry: dict | None, regressions: Sequence[Regression] = ()) -> str:
    """Every metric, with the baseline's figure, the change and whether the gate passed it."""
    current = evaluation.summary
    accepted = (entry or {}).get("metrics", {})
    tolerance = (entry or {}).get("tolerance", {})
    fell = {r.metric for r in regressions}
    lines = ["| metric | value | baseline | change | gate |", "|---|---:|---:|---:|---|"]
    for metric, (label, _, _) in METRICS.items():
        now, then = current.get(metric), accepted.get(metric)
        digits = 3 if metric in GATED_RATES else 1
        change = ""
        if isinstance(now, int | float) and isinstance(then, int | float):
            change = f"{round(now - then, digits) + 0.0:+.{digits}f}"  # + 0.0: no "-0.000"
        if metric in fell:
            gate = f"**FELL** (tolerance {tolerance[metric]})"
        elif metric in tolerance and entry:
            gate = f"ok (± {tolerance[metric]})"
        else:
            gate = "not gated" if entry else ""
        lines.append(f"| {label} | {cell(now, digits)} | {cell(then, digits)} | {change} | {gate} |")
    return "\n".join(lines)


def group_table(groups: dict[str, dict], name: str) -> str:
    """One row per group (question type or document): its size and main metrics."""
    lines = [
        f"| {name} | n | " + " | ".join(SHORT[m] for m in GROUP_COLUMNS) + " |",
        "|---|---:|" + "---:|" * len(GROUP_COLUMNS),
    ]
    for group, s in groups.items():
        lines.append(f"| {group} | {s['questions']} | " + " | ".join(cell(s[m], 2) for m in GROUP_COLUMNS) + " |")
    return "\n".join(lines)


def tables(evaluation: Evaluation, entry: dict | None, regressions: Sequence[Regression] = ()) -> str:
    """The headline, per-type and per-document tables of one run, as Markdown."""
    rows = evaluation.rows
    head = headline(evaluation, entry, regressions)
    if not entry:
        head += "\n\n(no baseline entry for this run: `--update-baseline` records one)"
    return "\n\n".join(
        [
            f"## {title(evaluation)}",
            head,
            "### Per question type\n\n" + group_table(grouped(rows, lambda r: r.type), "type"),
            "### Per document\n\n" + group_table(grouped(rows, lambda r: r.doc), "document"),
        ]
    )


def failures(evaluation: Evaluation, limit: int = 60) -> str:
    """The failed questions: the question, its gold paragraphs, what was retrieved, what was answered."""
    failed = [r for r in evaluation.rows if r.failed]
    if not failed:
        return "No failed questions."
    out = [
        f"{len(failed)} of {len(evaluation.rows)} questions failed (an answerable question refused, missing a key "
        "fact or citing no gold paragraph; an unanswerable one answered; a citation of a unit not read)."
    ]
    for r in failed[:limit]:
        gold = {p for p in r.gold}
        retrieved = ", ".join(f"**¶{p}**" if p in gold and _same(d, r.doc) else f"¶{p}" for d, p in r.retrieved[:5])
        cited = ", ".join(f"{d} ¶{p}" for d, p in r.citations) or "none"
        why = (
            "answered, but unanswerable"
            if not r.answerable
            else "refused"
            if r.refused
            else "key fact missing"
            if not r.facts_found
            else "no gold paragraph cited"
        )
        if r.unretrieved:
            why += f"; {r.unretrieved} citation(s) of units not read"
        out.append(
            f"- **{r.id}** ({r.type}, {r.doc}): {r.question}\n"
            f"  - why: {why}; gold: {', '.join('¶' + p for p in r.gold) or 'none (unanswerable)'}"
            + (f"; key facts: {', '.join(repr(f) for f in r.key_facts)}" if r.key_facts else "")
            + f"\n  - retrieved (first 5; gold in bold; first gold at rank {r.rank or '> ' + str(len(r.retrieved))}): "
            f"{retrieved}\n  - answered: {_quote(r.answer)}\n  - cited: {cited}"
        )
    if len(failed) > limit:
        out.append(f"- … and {len(failed) - limit} more (all of them in results.jsonl)")
    return "\n".join(out)


def _same(doc: str, other: str) -> bool:
    return doc.replace(" ", "").upper() == other.replace(" ", "").upper()


def _quote(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return (text[:limit] + "…") if len(text) > limit else text


def _slug(evaluation: Evaluation) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", f"{evaluation.gold.stem}-{evaluation.backend}").strip("-").lower()


def write_report(
    folder: Path, evaluations: Sequence[Evaluation], entries: dict[str, dict], regressions: Sequence[Regression] = ()
) -> Path:
    """report.md with every run's tables, charts and failed questions, the charts as PNG files, and
    results.jsonl (every question's row) in `folder`; returns the report's path."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    parts = [
        "# Paracite evaluation report",
        "Deterministic metrics (paragraph ids, key facts, refusals; no LLM judge). Latency and answer length "
        "are reported, not gated. The gate compares each run with its entry in the baseline file; "
        "`--update-baseline` records new figures.",
    ]
    lines = []
    for evaluation in evaluations:
        entry = entries.get(evaluation.key)
        mine = [r for r in regressions if r.entry == evaluation.key]
        verdict = (
            ("**the gate failed**: " + "; ".join(r.message() for r in mine))
            if mine
            else ("the gate passed" if entry else "no baseline entry: not gated")
        )
        parts += [tables(evaluation, entry, mine), f"Gate: {verdict}."]
        parts.append(
            "### Charts\n\n" + "\n\n".join(f"![{name}]({file})" for name, file in charts(folder, evaluation, entry))
        )
        parts.append("### Failed questions\n\n" + failures(evaluation))
        lines += [json.dumps({"run": evaluation.key, **r.to_json()}, ensure_ascii=False) for r in evaluation.rows]
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = folder / "report.md"
    report.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return report


def charts(folder: Path, evaluation: Evaluation, entry: dict | None) -> list[tuple[str, str]]:
    """Four PNG charts of one run; returns (caption, file name) of each."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    slug, made = _slug(evaluation), []

    def save(figure, suffix: str, caption: str) -> None:
        figure.tight_layout()
        figure.savefig(folder / f"{slug}-{suffix}.png", dpi=100, metadata={"Software": None})
        plt.close(figure)
        made.append((caption, f"{slug}-{suffix}.png"))

    types = grouped(evaluation.rows, lambda r: r.type)
    names = [t for t, s in types.items() if s["answerable"]]
    figure, axes = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(TYPE_CHART)
    for i, metric in enumerate(TYPE_CHART):
        axes.bar(
            [x + i * width for x in range(len(names))],
            [types[t][metric] or 0 for t in names],
            width,
            label=SHORT[metric],
        )
    axes.set_xticks(
        [x + 0.4 - width / 2 for x in range(len(names))], [f"{t}\n(n={types[t]['answerable']})" for t in names]
    )
    axes.set_ylim(0, 1.05)
    axes.set_title(f"Metrics per question type ({evaluation.key})")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    save(figure, "types", "Metrics per question type")

    figure, axes = plt.subplots(figsize=(6, 4))
    curve = hit_curve(evaluation.rows, evaluation.depth)
    axes.plot(range(1, len(curve) + 1), curve, marker="o", label="this run")
    if entry:
        base = [(n, entry["metrics"].get(f"hit@{n}")) for n in HIT_AT if n <= entry.get("k", max(HIT_AT))]
        axes.plot(
            [n for n, v in base if v is not None],
            [v for _, v in base if v is not None],
            "x--",
            label="baseline",
            color="grey",
        )
    axes.set_xlabel("k (paragraphs retrieved)")
    axes.set_ylabel("answerable questions, share")
    axes.set_ylim(0, 1.05)
    axes.set_title(f"hit@k: a gold paragraph in the top k ({evaluation.key})", fontsize=10)
    axes.legend()
    save(figure, "hit-at-k", "The hit@k curve (with the baseline's hit@1/3/5/10)")

    figure, axes = plt.subplots(figsize=(6, 4))
    axes.hist([r.latency_ms for r in evaluation.rows], bins=30, color="tab:purple")
    axes.set_xlabel("answer latency (ms): retrieval and answering")
    axes.set_ylabel("questions")
    s = evaluation.summary
    axes.set_title(f"Latency: p50 {cell(s['latency_p50_ms'], 1)} ms, p95 {cell(s['latency_p95_ms'], 1)} ms")
    save(figure, "latency", "Latency distribution")

    gated = [m for m in METRICS if METRICS[m][2] is not None and m != "unretrieved_citations"]
    figure, axes = plt.subplots(figsize=(9, 4))
    now = [evaluation.summary[m] or 0 for m in gated]
    axes.bar([x + 0.2 for x in range(len(gated))], now, 0.4, label="this run")
    if entry:
        then = [entry["metrics"].get(m) or 0 for m in gated]
        tolerance = [entry.get("tolerance", {}).get(m, 0) for m in gated]
        axes.bar(
            [x - 0.2 for x in range(len(gated))],
            then,
            0.4,
            yerr=tolerance,
            capsize=3,
            color="grey",
            label="baseline (± tolerance)",
        )
    axes.set_xticks(range(len(gated)), [SHORT.get(m, m) for m in gated], rotation=30, ha="right")
    axes.set_ylim(0, 1.1)
    axes.set_title(f"This run against the baseline ({evaluation.key})")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    save(figure, "baseline", "This run against the baseline (gated rates; lower is better for false refusals)")
    return made
