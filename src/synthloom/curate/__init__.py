"""Curation: exact, near-duplicate and semantic dedup, benchmark decontamination, PII redaction.

Every step is a :class:`Stage` (``run(records, log) -> kept records``) that reports what it
drops or changes, with a reason, to a :class:`StageLog`; :func:`run_stages` chains stages and
measures each, and :func:`curate_file` runs a whole curation into an output folder.
"""

from __future__ import annotations

from synthloom.curate.base import (
    AuditWriter,
    RecordSpill,
    Stage,
    StageLog,
    StageStats,
    run_stages,
    score_of,
)
from synthloom.curate.decontam import Benchmark, Decontaminate, load_benchmark
from synthloom.curate.dedup import (
    ExactDedup,
    GroupDedup,
    NearDedup,
    TextView,
    group_representatives,
)
from synthloom.curate.redact import PII_MODES, PiiRedact
from synthloom.curate.run import (
    DEDUP_METHODS,
    CurateOptions,
    CurateResult,
    build_stages,
    curate_file,
)
from synthloom.curate.semantic import SemanticDedup, semantic_duplicate_pairs

__all__ = [
    "DEDUP_METHODS",
    "PII_MODES",
    "AuditWriter",
    "Benchmark",
    "CurateOptions",
    "CurateResult",
    "Decontaminate",
    "ExactDedup",
    "GroupDedup",
    "NearDedup",
    "PiiRedact",
    "RecordSpill",
    "SemanticDedup",
    "Stage",
    "StageLog",
    "StageStats",
    "TextView",
    "build_stages",
    "curate_file",
    "group_representatives",
    "load_benchmark",
    "run_stages",
    "score_of",
    "semantic_duplicate_pairs",
]
