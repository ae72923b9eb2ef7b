"""What a card says, as data: the files it describes and how they were made.

The readers of :mod:`synthloom.card.runs` fill these from run folders; :mod:`synthloom.card.render`
turns them into the card. Nothing here holds a secret or a full local path (see
:mod:`synthloom.card.places`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["AssaySummary", "DataConfig", "DataKind", "Endpoint", "Provenance", "Step"]

DataKind = Literal["sft", "preference", "data"]


@dataclass(frozen=True)
class DataConfig:
    """One ``configs`` entry: a named subset of the files, its one ``train`` split."""

    name: str
    #: Path or glob relative to the card's folder, with forward slashes (the Hub's form).
    pattern: str
    files: tuple[Path, ...]
    rows: int
    kind: DataKind


@dataclass(frozen=True)
class Endpoint:
    """A model the run asked: its role, name and where it was reached, described safely."""

    role: str
    model: str
    where: str


@dataclass(frozen=True)
class Step:
    """One step of the making of the data, with the counts it recorded."""

    name: str
    records_in: int | None = None
    kept: int | None = None
    dropped: int | None = None
    changed: int | None = None
    note: str = ""


@dataclass
class Provenance:
    """How one run (or one curate / mix folder) made its data."""

    recipe: str
    summary: str
    status: str | None = None
    synthloom_version: str | None = None
    created: str | None = None
    endpoints: list[Endpoint] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)
    sources: list[tuple[str, str]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    #: ``"stage: reason"`` -> records dropped for it.
    rejects: Counter[str] = field(default_factory=Counter)
    usage: list[tuple[str, str]] = field(default_factory=list)
    #: Runs this one was made from (curate's input run, a mix's source runs).
    upstream: list[Provenance] = field(default_factory=list)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssaySummary:
    """The assay's headline numbers and gate verdict, as read from its metrics.json."""

    folder: str
    kind: str | None
    synthetic_rows: int | None
    reference_rows: int | None
    headline: tuple[tuple[str, str], ...]
    #: None: the assay ran without a gate.
    gate_passed: bool | None
    gate_rules: tuple[tuple[str, str, bool], ...]
    note: str = ""
