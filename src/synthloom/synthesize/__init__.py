"""Tabular synthesis: a Gaussian copula, optionally differentially private.

Fit once, sample many::

    from synthloom.synthesize import PrivacySettings, fit_copula

    model = fit_copula(real_df, privacy=PrivacySettings(epsilon=1.0), seed=None)
    first = model.sample(10_000, seed=1)
    second = model.sample(50_000, seed=2)   # no further privacy cost: post-processing

:func:`synthesize` is the command's whole run: read the real table, fit, sample, write
``synthetic.csv``/``.parquet`` and ``run.json``, and assay the result.
"""

from __future__ import annotations

from synthloom.synthesize.bounds import load_bounds
from synthloom.synthesize.copula import CopulaModel
from synthloom.synthesize.fit import DEFAULT_DELTA, ColumnBounds, PrivacySettings, fit_copula
from synthloom.synthesize.privacy import BudgetStep, Ledger
from synthloom.synthesize.run import SynthesizeOptions, SynthesizeResult, synthesize

__all__ = [
    "DEFAULT_DELTA",
    "BudgetStep",
    "ColumnBounds",
    "CopulaModel",
    "Ledger",
    "PrivacySettings",
    "SynthesizeOptions",
    "SynthesizeResult",
    "fit_copula",
    "load_bounds",
    "synthesize",
]
