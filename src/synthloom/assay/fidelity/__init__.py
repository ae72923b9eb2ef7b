"""Table fidelity: how closely a synthetic table follows a real one (SDMetrics 0.32's metrics).

The public face; the parts live along their seams:

* :mod:`synthloom.assay.kinds`             which metric scores a column (its kind)
* :mod:`~synthloom.assay.fidelity.columns` a column prepared once; the column metrics
* :mod:`~synthloom.assay.fidelity.pairs`   correlations and contingency tables of column pairs
* :mod:`~synthloom.assay.fidelity.joint`   joint counts of many pairs in a few passes (blocks)
* :mod:`~synthloom.assay.fidelity.summary` per-column summaries for the report
* :mod:`~synthloom.assay.fidelity.table`   :func:`table_fidelity`, the aggregate scores
  (its docstring holds the definitions and the one deliberate difference from SDMetrics)
"""

from __future__ import annotations

from synthloom.assay.fidelity.columns import (
    boundary_adherence,
    category_adherence,
    ks_complement,
    tv_complement,
)
from synthloom.assay.fidelity.pairs import (
    BINNINGS,
    NUM_BINS,
    contingency_similarity,
    correlation_similarity,
    cramers_v,
)
from synthloom.assay.fidelity.table import table_fidelity
from synthloom.assay.kinds import (
    CATEGORICAL_MAX_DISTINCT_INTEGERS,
    ID_LIKE_MIN_VALUES,
    ID_LIKE_SHARE,
    KINDS,
    column_kinds,
    id_like_note,
)

__all__ = [
    "BINNINGS",
    "CATEGORICAL_MAX_DISTINCT_INTEGERS",
    "ID_LIKE_MIN_VALUES",
    "ID_LIKE_SHARE",
    "KINDS",
    "NUM_BINS",
    "boundary_adherence",
    "category_adherence",
    "column_kinds",
    "contingency_similarity",
    "correlation_similarity",
    "cramers_v",
    "id_like_note",
    "ks_complement",
    "table_fidelity",
    "tv_complement",
]
