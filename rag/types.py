"""The data model: frozen dataclasses shared by every module (DESIGN.md §3)."""

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
        """The public JSON shape of a unit (DESIGN.md §4)."""
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
        """Unit fields plus score and rank (DESIGN.md §4)."""
        return {**self.unit.to_json(), "score": round(self.score, 6), "rank": self.rank}
