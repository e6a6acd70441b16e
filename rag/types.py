"""The data model: frozen dataclasses shared by every module."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

UnitKind = Literal["paragraph", "footnote", "preamble", "text"]


@dataclass(frozen=True, slots=True)
class Unit:
    """One citable piece of a document: a numbered paragraph, a footnote, a preambular
    paragraph, or an unnumbered text block (a box, an annex paragraph)."""

    doc: str
    para: str
    kind: UnitKind
    page: int
    section: str
    text: str

    def to_json(self) -> dict[str, object]:
        """The public JSON shape of a unit (`rag parse --jsonl`; README, Command line)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed source file: its UN symbol (or file stem) and what is known about it."""

    id: str
    title: str
    date: str
    source: str
    sha256: str
    pages: int


@dataclass(frozen=True, slots=True)
class Parsed:
    """The result of parsing one file: the document, its units, and non-fatal warnings."""

    document: Document
    units: tuple[Unit, ...]
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved unit with its fused score and 1-based rank."""

    unit: Unit
    score: float
    rank: int

    def to_json(self) -> dict[str, object]:
        """Unit fields plus score and rank (`rag search --jsonl`)."""
        return {**self.unit.to_json(), "score": round(self.score, 6), "rank": self.rank}


@dataclass(frozen=True, slots=True)
class Citation:
    """A cited unit, with its exact text."""

    doc: str
    para: str
    page: int
    section: str
    text: str

    @classmethod
    def of(cls, unit: Unit) -> Citation:
        """The citation of `unit`."""
        return cls(unit.doc, unit.para, unit.page, unit.section, unit.text)

    @property
    def marker(self) -> str:
        """The inline marker an answer uses for this unit: [S/2020/754 ¶23]."""
        return f"[{self.doc} ¶{self.para}]"


@dataclass(frozen=True, slots=True)
class Sentence:
    """One answer sentence and the units that support it (none: it was unsupported and dropped), with
    `quote`: the cited units' own words that support it, when the sentence puts them in other words."""

    text: str
    citations: tuple[Citation, ...]
    supported: bool
    quote: str = ""

    @property
    def evidence(self) -> str:
        """The quote as it follows the sentence's citation: ` — “…”`, or nothing."""
        return f" — “{self.quote}”" if self.quote else ""


@dataclass(frozen=True, slots=True)
class Answer:
    """A verified answer: text with inline markers, the cited units, or a refusal with see-also units."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    backend: str
    sentences: tuple[Sentence, ...] = ()
    see_also: tuple[Citation, ...] = ()
    dropped: tuple[str, ...] = ()  # sentences removed because no retrieved unit supports them
    timings: tuple[tuple[str, float], ...] = ()  # (stage, milliseconds)
    retrieved: tuple[Citation, ...] = ()  # every unit the answer was drawn from, in rank order
    refusal: str | None = None  # why it was refused: "not_mentioned", "unclear", "unmatched" or "not_said"

    def to_json(self) -> dict[str, object]:
        """The public JSON shape of an answer (`rag ask --jsonl`, the app's /ask API)."""
        return {
            "question": self.question,
            "answer": self.text,
            "citations": [asdict(c) for c in self.citations],
            "refused": self.refused,
            "see_also": [asdict(c) for c in self.see_also],
            "backend": self.backend,
            "sentences": [
                {
                    "text": s.text,
                    "citations": [c.marker for c in s.citations],
                    "supported": s.supported,
                    "quote": s.quote,
                }
                for s in self.sentences
            ],
            "dropped": list(self.dropped),
            "timings_ms": {stage: round(ms, 1) for stage, ms in self.timings},
            "retrieved": [asdict(c) for c in self.retrieved],
            "refusal": self.refusal,
        }

    @classmethod
    def from_json(cls, data: dict) -> Answer:
        """The answer `to_json` described (sentences' markers resolved to the listed units)."""
        lists = {key: tuple(Citation(**c) for c in data.get(key, ())) for key in ("citations", "see_also", "retrieved")}
        by_marker = {c.marker: c for group in lists.values() for c in group}
        sentences = tuple(
            Sentence(
                s["text"],
                tuple(by_marker[m] for m in s["citations"] if m in by_marker),
                s["supported"],
                s.get("quote", ""),
            )
            for s in data.get("sentences", ())
        )
        return cls(
            data["question"],
            data["answer"],
            lists["citations"],
            data["refused"],
            data["backend"],
            sentences,
            lists["see_also"],
            tuple(data.get("dropped", ())),
            tuple(data.get("timings_ms", {}).items()),
            lists["retrieved"],
            data.get("refusal"),
        )
