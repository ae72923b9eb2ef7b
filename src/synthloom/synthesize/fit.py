"""``fit_copula``: learn a :class:`~synthloom.synthesize.copula.CopulaModel` from a real table.

Without ``privacy`` the copula keeps the real table's empirical marginals and its
pairwise-complete correlations (no privacy guarantee: rare categories and extreme values are
the real ones). With :class:`PrivacySettings` every measurement of the rows goes through a DP
mechanism and is recorded in the model's :class:`~synthloom.synthesize.privacy.Ledger`:

* ``marginal_share`` of ε is split evenly over the learnt columns, each a noisy histogram
  (numeric, datetime) or noisy category counts (Laplace);
* the rest of ε, and all of δ, goes to the noisy correlation matrix (analytic Gaussian; Laplace
  when δ = 0). A table with a single learnt column spends all of ε on its marginal.

What DP covers is the rows. The schema is not covered: column names and kinds, and, unless
``bounds`` gives them publicly, each numeric column's range and each categorical column's list
of categories, which are then read from the data (``notes['bounds']`` says which per column).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthloom.assay.kinds import column_kinds
from synthloom.errors import InputError
from synthloom.synthesize.copula import (
    CopulaModel,
    dimensions_of,
    dp_correlation,
    nearest_correlation,
    normal_scores,
    order_categories,
    pairwise_correlation,
    undo_coarsening,
)
from synthloom.synthesize.marginals import (
    IdColumn,
    Marginal,
    dp_categorical,
    dp_numeric,
    empirical_categorical,
    empirical_numeric,
    numeric_values,
)
from synthloom.synthesize.privacy import Ledger

__all__ = ["DEFAULT_DELTA", "ColumnBounds", "PrivacySettings", "fit_copula"]

#: δ when only ε is given: far below 1 / rows for any table this runs on.
DEFAULT_DELTA = 1e-9


@dataclass(frozen=True)
class PrivacySettings:
    """The DP budget and how the DP copula spends it."""

    epsilon: float
    delta: float = DEFAULT_DELTA
    #: Share of ε spent on the marginals; the rest goes to the correlation matrix.
    marginal_share: float = 0.5
    #: Bins of a numeric column's noisy histogram (integer columns with fewer values get one
    #: bin per value).
    bins: int = 64

    def __post_init__(self) -> None:
        if not (np.isfinite(self.epsilon) and self.epsilon > 0):
            raise InputError(f"epsilon must be a finite number > 0, got {self.epsilon}")
        if not 0 <= self.delta < 1:
            raise InputError(f"delta must be in [0, 1), got {self.delta}")
        if not 0 < self.marginal_share < 1:
            raise InputError(f"marginal_share must be in (0, 1), got {self.marginal_share}")
        if self.bins < 2:
            raise InputError(f"bins must be at least 2, got {self.bins}")


@dataclass(frozen=True)
class ColumnBounds:
    """Public knowledge of a column: its range (numbers; datetimes in seconds since 1970) or
    its list of categories."""

    low: float | None = None
    high: float | None = None
    categories: tuple[Any, ...] | None = None


def fit_copula(
    real: pd.DataFrame,
    *,
    kinds: Mapping[str, str] | None = None,
    privacy: PrivacySettings | None = None,
    bounds: Mapping[str, ColumnBounds] | None = None,
    seed: int | None = None,
) -> CopulaModel:
    """Fit a Gaussian copula (DP when ``privacy`` is given) to ``real``.

    ``kinds`` maps each column to an assay kind (:mod:`synthloom.assay.kinds`; detected from
    ``real`` when None). ``seed`` seeds the DP noise and the categorical jitter; None draws it
    from the operating system.
    """
    if len(real) < 2:
        raise InputError("the real table needs at least 2 rows to learn from")
    names = [str(c) for c in real.columns]
    if len(set(names)) != len(names):
        raise InputError("the real table has duplicate column names; name each column once")
    real = real.set_axis(names, axis=1)
    kinds = dict(kinds) if kinds is not None else column_kinds(real)
    bounds = dict(bounds or {})
    rng = np.random.default_rng(seed)
    learnt = [n for n in names if kinds[n] != "id"]
    if not learnt:
        raise InputError(
            "every column is an identifier (kind id): there is nothing to learn; set kinds "
            "with --kinds"
        )
    ledger = Ledger(privacy.epsilon, privacy.delta) if privacy is not None else None
    marginals: dict[str, Marginal] = {}
    sources: dict[str, str] = {}
    for name in names:
        kind = kinds[name]
        if kind == "id":
            marginals[name] = IdColumn(name, pd.api.types.is_numeric_dtype(real[name].dtype))
        elif privacy is None or ledger is None:
            numeric = kind in ("numerical", "datetime")
            marginals[name] = (
                empirical_numeric(name, real[name], kind)
                if numeric
                else empirical_categorical(name, real[name])
            )
        else:
            # One learnt column has no pair to correlate: all of ε goes to its marginal.
            spend = privacy.marginal_share if len(learnt) > 1 else 1.0
            share = privacy.epsilon * spend / len(learnt)
            marginals[name], sources[name] = _dp_marginal(
                name, real[name], kind, bounds.get(name), privacy, share, ledger, rng
            )
    dims = dimensions_of(marginals)
    scores, present = normal_scores(real, kinds, marginals, dims, rng, by_rank=ledger is None)
    categorical = [j for j, d in enumerate(dims) if d.role == "category"]
    if ledger is None and categorical:
        marginals = order_categories(real, marginals, dims, scores, present)
        scores[:, categorical], _ = normal_scores(
            real, kinds, marginals, [dims[j] for j in categorical], rng, by_rank=True
        )
    if ledger is None or privacy is None:
        corr = pairwise_correlation(scores, present)
    elif len(dims) > 1 and len(learnt) > 1:
        present_share = np.array(
            [
                1.0 - getattr(marginals[d.column], "missing_share", 0.0)
                if d.role == "value"
                else 1.0
                for d in dims
            ]
        )
        corr = dp_correlation(
            scores,
            present_share,
            epsilon=privacy.epsilon - ledger.spent_epsilon,
            delta=privacy.delta,
            ledger=ledger,
            rng=rng,
        )
    else:
        corr = np.eye(len(dims))
    corr = undo_coarsening(corr, dims, marginals)
    for i, a in enumerate(dims):
        for j, b in enumerate(dims):
            # A value and its own missing flag are never both present: their score correlation
            # is noise.
            if i != j and a.column == b.column:
                corr[i, j] = 0.0
    notes: dict[str, Any] = {}
    if ledger is not None:
        notes["bounds"] = sources
    return CopulaModel(
        columns=names,
        marginals=marginals,
        dimensions=dims,
        correlation=nearest_correlation(corr),
        method="dp-copula" if ledger is not None else "copula",
        ledger=ledger,
        notes=notes,
    )


def _dp_marginal(
    name: str,
    series: pd.Series,
    kind: str,
    given: ColumnBounds | None,
    privacy: PrivacySettings,
    epsilon: float,
    ledger: Ledger,
    rng: np.random.Generator,
) -> tuple[Marginal, str]:
    """A column's DP marginal, and where its bounds came from."""
    if kind in ("numerical", "datetime"):
        if given is not None and given.low is not None and given.high is not None:
            low, high, source = given.low, given.high, "--bounds (public)"
        else:
            values, _ = numeric_values(series, kind)
            present = values[~np.isnan(values)]
            low = float(present.min()) if present.size else 0.0
            high = float(present.max()) if present.size else 0.0
            source = "data (not covered by epsilon)"
        marginal: Marginal = dp_numeric(
            name,
            series,
            kind,
            low=low,
            high=high,
            bins=privacy.bins,
            epsilon=epsilon,
            ledger=ledger,
            rng=rng,
            detail=f"range [{low:g}, {high:g}] from {source}",
        )
        return marginal, source
    if given is not None and given.categories is not None:
        categories, source = list(given.categories), "--bounds (public)"
    else:
        found = pd.unique(series.dropna())
        categories = sorted((v.item() if isinstance(v, np.generic) else v for v in found), key=str)
        source = "data (not covered by epsilon)"
    marginal = dp_categorical(
        name,
        series,
        categories,
        epsilon=epsilon,
        ledger=ledger,
        rng=rng,
        detail=f"{len(categories)} categories from {source}",
    )
    return marginal, source
