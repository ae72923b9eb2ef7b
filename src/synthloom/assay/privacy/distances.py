"""Distances for tables: distance to the closest record against a held-out real baseline
(:func:`distance_to_closest_record`) and a distance-based membership-inference attack
(:func:`membership_inference_auc`), both on Gower distances over mixed columns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.assay.privacy.copies import utc_nanoseconds
from synthloom.errors import DataFormatError, InputError

__all__ = [
    "DistanceOptions",
    "distance_to_closest_record",
    "membership_inference_auc",
    "split_holdout",
]


class DistanceOptions(TypedDict, total=False):
    """Options of both distance measures: ``kinds`` maps a column to ``"numeric"`` or
    ``"categorical"`` where the dtype would mislead; each table is subsampled (seeded by
    ``seed``, default 0) to ``max_rows`` rows (default 20,000)."""

    kinds: dict[str, str] | None
    max_rows: int
    seed: int


# Pairs of rows compared per block: small enough to stay in cache, large enough for numpy.
_BLOCK_PAIRS = 1 << 19


def split_holdout(
    df: pd.DataFrame, frac: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): a seeded random ``frac`` of the rows held out, both re-indexed."""
    if not 0.0 < frac < 1.0:
        raise InputError(f"holdout fraction {frac} must be between 0 and 1", field="frac")
    n_holdout = round(len(df) * frac)
    if n_holdout < 1 or n_holdout >= len(df):
        raise DataFormatError(
            f"{len(df)} rows cannot be split into train and a {frac:.0%} holdout; "
            "give more reference rows"
        )
    rng = np.random.default_rng(seed)
    held = np.zeros(len(df), dtype=bool)
    held[rng.choice(len(df), size=n_holdout, replace=False)] = True
    return df[~held].reset_index(drop=True), df[held].reset_index(drop=True)


@dataclass
class _Table:
    """Columns ready for Gower distances: floats (NaN = missing) or category codes."""

    numeric: list[npt.NDArray[np.float64]]
    codes: list[npt.NDArray[np.int64]]
    rows: int


def _encode(
    frames: Sequence[pd.DataFrame], columns: list[Any], kinds: dict[str, str]
) -> list[_Table]:
    """Encode several tables alike: one category code space per column across all of them."""
    tables = [_Table([], [], len(f)) for f in frames]
    for col in columns:
        kind = kinds.get(str(col)) or _infer_kind(frames[0][col])
        if kind == "numeric":
            for table, frame in zip(tables, frames, strict=True):
                table.numeric.append(_as_float(frame[col], col))
        else:
            # Missing values form one category of their own, so two missing values are equal.
            joined = pd.concat([_as_categories(f[col]) for f in frames], ignore_index=True)
            codes, _ = pd.factorize(joined.astype(str))
            offset = 0
            for table in tables:
                table.codes.append(codes[offset : offset + table.rows].astype(np.int64))
                offset += table.rows
    return tables


def _gower_nearest(query: _Table, reference: _Table) -> npt.NDArray[np.float64]:
    """Distance of each query row to its closest reference row, SDMetrics' DCR conventions.

    Per numeric column ``min(|x - y| / range, 1)`` with the range of the reference rows (a
    zero range counts any difference as 1), 1 when exactly one side is missing, 0 when both are;
    per categorical column 0 when equal, else 1; the mean over columns.
    """
    n_cols = len(query.numeric) + len(query.codes)
    inv_ranges: list[float | None] = []
    for values in reference.numeric:
        finite = values[~np.isnan(values)]
        span = float(finite.max() - finite.min()) if len(finite) else 0.0
        inv_ranges.append(1.0 / span if span > 0 else None)
    has_missing = [
        bool(np.isnan(q).any() or np.isnan(r).any())
        for q, r in zip(query.numeric, reference.numeric, strict=True)
    ]
    out = np.empty(query.rows)

    def block_min(lo: int, hi: int) -> None:
        total = np.zeros((hi - lo, reference.rows))
        for q_all, r, inv, nan in zip(
            query.numeric, reference.numeric, inv_ranges, has_missing, strict=True
        ):
            q = q_all[lo:hi, None]
            diff = q - r[None, :]
            np.abs(diff, out=diff)
            if inv is None:
                diff = (diff > 0).astype(np.float64)
            else:
                diff *= inv
                np.minimum(diff, 1.0, out=diff)
            if nan:
                missing = np.isnan(diff)
                diff[missing] = (np.isnan(q) != np.isnan(r)[None, :])[missing]
            total += diff
        for qc, rc in zip(query.codes, reference.codes, strict=True):
            total += qc[lo:hi, None] != rc[None, :]
        out[lo:hi] = total.min(axis=1) / n_cols

    # numpy releases the GIL in these loops, so threads share the blocks out over the cores.
    block = max(1, _BLOCK_PAIRS // max(reference.rows, 1))
    starts = range(0, query.rows, block)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for future in [pool.submit(block_min, lo, min(query.rows, lo + block)) for lo in starts]:
            future.result()
    return out


_MISSING = "\x00<missing>"


def _as_categories(series: pd.Series) -> pd.Series:
    """Values as objects, every kind of missing value as one category of its own."""
    obj = series.astype(object)
    return obj.where(series.notna().to_numpy(), _MISSING)


def _infer_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        return "numeric"
    return "categorical"


def _as_float(series: pd.Series, col: str) -> npt.NDArray[np.float64]:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = np.full(len(series), np.nan)
        present = series.notna().to_numpy()
        out[present] = utc_nanoseconds(series[present]).astype(np.float64)
        return out
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna()
    if bad.any():
        raise DataFormatError(
            f"value {series[bad].iloc[0]!r} is not a number; fix it or declare the column "
            "categorical in kinds",
            field=str(col),
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _prepare(
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    options: DistanceOptions,
) -> tuple[_Table, _Table, _Table]:
    """Encoded (train, holdout, synthetic), each subsampled to ``max_rows`` rows."""
    max_rows, seed = options.get("max_rows", 20000), options.get("seed", 0)
    for name, frame in (("train", real_train), ("holdout", real_holdout), ("synthetic", synthetic)):
        if len(frame) == 0:
            raise DataFormatError(f"the {name} table has no rows; distances need at least one")
    columns = list(real_train.columns)
    if not columns:
        raise DataFormatError("the real table has no columns")
    for name, frame in (("holdout", real_holdout), ("synthetic", synthetic)):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataFormatError(
                f"the {name} table lacks column(s) of the real table: "
                f"{', '.join(map(str, missing))}",
                field=str(missing[0]),
            )
    kinds = dict(options.get("kinds") or {})
    unknown = [c for c in kinds if c not in map(str, columns)]
    if unknown:
        raise InputError(
            f"kinds names column(s) not in the data: {', '.join(unknown)}", field="kinds"
        )
    for col, kind in kinds.items():
        if kind not in ("numeric", "categorical"):
            raise InputError(f"kind {kind!r}; use numeric or categorical", field=f"kinds.{col}")
    if max_rows < 1:
        raise InputError("must be at least 1", field="max_rows")
    rng = np.random.default_rng(seed)

    def sample(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[columns]
        if len(frame) > max_rows:
            frame = frame.iloc[np.sort(rng.choice(len(frame), size=max_rows, replace=False))]
        return frame.reset_index(drop=True)

    train, holdout, synth = _encode(
        [sample(real_train), sample(real_holdout), sample(synthetic)], columns, kinds
    )
    return train, holdout, synth


def distance_to_closest_record(
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    **options: Unpack[DistanceOptions],
) -> dict[str, Any]:
    """Distance of synthetic rows to the closest training row, against a held-out baseline.

    The distance is SDMetrics' DCR distance (a Gower distance): the mean over columns of
    ``min(|x - y| / range, 1)`` for numbers and datetimes, with the range of the rows searched,
    and of 0/1 (equal or not) for categories; a missing value is 1 from any value and 0 from
    another missing one. Options (``kinds``, ``max_rows``, ``seed``): :class:`DistanceOptions`.
    A generator
    that copies its training rows puts synthetic rows much closer to them than fresh real rows
    (the holdout) are.

    Returns:
        synthetic_median: median distance of a synthetic row to its closest training row
        holdout_median: the same for holdout rows (the baseline)
        synthetic_p5, holdout_p5: 5th percentiles of the two
        synthetic_share_closer_than_holdout_p5: share of synthetic rows closer to train than
            the holdout's 5th percentile (about 0.05 without copying, near 1 for copies)
        share_synthetic_closer_to_train_than_holdout: share of synthetic rows strictly closer to
            their nearest training row than to their nearest holdout row (SDMetrics'
            DCROverfittingProtection ``closer_to_training``; 1.0 for copies)
        share_expected_without_copying: what that share is for a generator that does not copy
            (ties aside): n_train / (n_train + n_holdout), 0.5 with equal sizes
        synthetic_share_exact_match, holdout_share_exact_match: share at distance 0
        n_train, n_holdout, n_synthetic, n_columns: the sizes used
    """
    train, holdout, synth = _prepare(real_train, real_holdout, synthetic, options)
    d_syn = _gower_nearest(synth, train)
    d_hold = _gower_nearest(holdout, train)
    d_syn_hold = _gower_nearest(synth, holdout)
    hold_p5 = float(np.percentile(d_hold, 5))
    return {
        "synthetic_median": float(np.median(d_syn)),
        "holdout_median": float(np.median(d_hold)),
        "synthetic_p5": float(np.percentile(d_syn, 5)),
        "holdout_p5": hold_p5,
        "synthetic_share_closer_than_holdout_p5": float(np.mean(d_syn < hold_p5)),
        "share_synthetic_closer_to_train_than_holdout": float(np.mean(d_syn < d_syn_hold)),
        "share_expected_without_copying": train.rows / (train.rows + holdout.rows),
        "synthetic_share_exact_match": float(np.mean(d_syn == 0.0)),
        "holdout_share_exact_match": float(np.mean(d_hold == 0.0)),
        "n_train": train.rows,
        "n_holdout": holdout.rows,
        "n_synthetic": synth.rows,
        "n_columns": len(train.numeric) + len(train.codes),
    }


def membership_inference_auc(
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    **options: Unpack[DistanceOptions],
) -> float:
    """AUC of a distance-based membership-inference attack (0.5 = no leakage, 1.0 = copies).

    The attacker sees only the synthetic data and scores each real row by how close the nearest
    synthetic row is; the AUC is how well that score tells training rows (members) from
    holdout rows (non-members). Distances and options as in :func:`distance_to_closest_record`.
    """
    from sklearn.metrics import roc_auc_score

    train, holdout, synth = _prepare(real_train, real_holdout, synthetic, options)
    scores = -np.concatenate([_gower_nearest(train, synth), _gower_nearest(holdout, synth)])
    labels = np.concatenate([np.ones(train.rows), np.zeros(holdout.rows)])
    return float(roc_auc_score(labels, scores))
