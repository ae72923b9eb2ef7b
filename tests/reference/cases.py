"""The data sets the fidelity and privacy metrics are compared with SDMetrics on.

They are built from seeded numpy draws, so the pandas-2 environment that runs SDMetrics
(``.venv-ref``) and the users' pandas-3 environment build the same values; ``fingerprint``
lets each side check that.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

CASES = ["shifted", "missing", "datetimes", "unseen", "ties", "small"]
# The QualityReport comparisons run on these cases (the report is slow on the others' shapes).
REPORT_CASES = ["shifted", "missing", "datetimes"]


def _side(rng: np.random.Generator, rows: int, case: str, synthetic: bool) -> pd.DataFrame:
    shift = 0.4 if synthetic else 0.0
    base = rng.normal(shift, 1.0 + shift / 2, rows)
    frame = pd.DataFrame(
        {
            "amount": base,
            "linked": 1.5 * base + rng.normal(0, 0.7, rows),
            "gamma": rng.gamma(2.0 + shift, 1.0, rows),
            "colour": rng.choice(
                ["red", "green", "blue", "grey"],
                rows,
                p=[0.4, 0.3, 0.2, 0.1] if not synthetic else [0.3, 0.3, 0.3, 0.1],
            ).astype(object),
            "tier": np.where(base > 0.3, "high", "low").astype(object),
            "flag": rng.random(rows) < (0.3 if not synthetic else 0.45),
        }
    )
    if case == "missing":
        for column in ("amount", "gamma", "colour"):
            frame.loc[rng.random(rows) < 0.1, column] = None
        flag = frame["flag"].astype(object)
        flag[rng.random(rows) < 0.05] = None
        frame["flag"] = flag
    if case == "datetimes":
        start = pd.Timestamp("2021-03-01") + pd.Timedelta(days=20 if synthetic else 0)
        seconds = rng.integers(0, 3600 * 24 * 200, rows) + (base * 86400 * 10).astype(np.int64)
        frame["when"] = start + pd.to_timedelta(seconds, unit="s")
        frame["logged"] = frame["when"] + pd.to_timedelta(rng.integers(0, 3600, rows), unit="s")
        frame.loc[rng.random(rows) < 0.05, "logged"] = pd.NaT
    if case == "unseen":
        colour = frame["colour"].to_numpy().copy()
        if synthetic:
            colour[rng.random(rows) < 0.05] = "purple"  # never in the real data
        else:
            colour[rng.random(rows) < 0.05] = "black"  # never in the synthetic data
        frame["colour"] = colour
        frame["code"] = rng.integers(0, 4 if not synthetic else 5, rows)
    if case == "ties":
        frame["amount"] = np.round(frame["amount"] * 4) / 4  # many tied values
        frame["gamma"] = np.round(frame["gamma"], 1) + 0.1 + 0.2  # float noise in the last digits
        frame["count"] = rng.poisson(3 + shift * 3, rows)
    return frame


def fidelity_case(case: str, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(real, synthetic) of one named case."""
    rng = np.random.default_rng(seed + CASES.index(case))
    rows_real, rows_synthetic = (31, 17) if case == "small" else (900, 700)
    return (
        _side(rng, rows_real, case, synthetic=False),
        _side(rng, rows_synthetic, case, synthetic=True),
    )


def binning_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A pair with the same joint distribution on both sides, one far synthetic value."""
    rng = np.random.default_rng(5)

    def draw(rows: int) -> pd.DataFrame:
        value = rng.normal(0, 1, rows)
        return pd.DataFrame({"value": value, "group": np.where(value > 0.2, "a", "b")})

    real, synthetic = draw(2000), draw(2000)
    synthetic.loc[0, "value"] = 12.0  # one far value stretches the synthetic side's own edges
    return real, synthetic


# QualityReport numbers with the report's own binning (synthloom's --fidelity-binning report).
REPORT_BINNING_CASES = ["infinite", "ties", "orders"]


def report_binning_case(case: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(real, synthetic) for the report-binning comparison: infinite values, tied values, and
    a table of orders with mixed pairs, missing values of every kind and a wide range."""
    if case == "infinite":
        real, synthetic = fidelity_case("missing", seed=23)
        synthetic.loc[[3, 40, 41], "gamma"] = np.inf  # a synthetic +inf in a numeric column
        real.loc[[7], "linked"] = -np.inf
        return real, synthetic
    if case == "ties":
        return fidelity_case("ties", seed=29)
    rng = np.random.default_rng(31)

    def orders(rows: int, synthetic: bool) -> pd.DataFrame:
        channel = rng.choice(["web", "store", "phone"], rows, p=[0.5, 0.35, 0.15]).astype(object)
        base = rng.lognormal(3.5 + 0.2 * synthetic, 0.8, rows)
        amount = np.where(channel == "store", base * 1.8, base).round(2)
        items = np.maximum(1, (amount / 25 + rng.poisson(1, rows))).astype(np.int64)
        frame = pd.DataFrame(
            {
                "amount": amount,
                "items": items,
                "channel": channel,
                "returned": rng.random(rows) < np.where(amount > 80, 0.25, 0.05),
                "rating": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0, np.nan], rows),
            }
        )
        frame.loc[rng.random(rows) < 0.08, "amount"] = np.nan
        frame.loc[rng.random(rows) < 0.05, "channel"] = None
        return frame

    return orders(1200, synthetic=False), orders(800, synthetic=True)


REPORT_BINNING_KINDS = {
    "orders": {
        "amount": "numerical",
        "items": "numerical",
        "channel": "categorical",
        "returned": "boolean",
        "rating": "categorical",
    }
}


def one_row_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.DataFrame({"x": [1.0], "y": [2.0], "c": ["a"]}),
        pd.DataFrame({"x": [1.5], "y": [2.0], "c": ["b"]}),
    )


def population(n: int, seed: int) -> pd.DataFrame:
    """A small table of people for the distance-based privacy metrics."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n).round(1)
    income = np.exp(rng.normal(10, 0.5, n)).round(0)
    income[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "city": rng.choice(["north", "south", "east", "west", None], n),
            "member": rng.random(n) < 0.3,
            "visits": rng.poisson(3, n),
        }
    )


POPULATION_SDTYPES = {
    "age": "numerical",
    "income": "numerical",
    "city": "categorical",
    "member": "categorical",
    "visits": "numerical",
}


def as_numbers(frame: pd.DataFrame, kinds: dict[str, str], names: list[str]) -> pd.DataFrame:
    """The columns as SDMetrics' report hands them to the metric classes (datetimes as ns)."""
    out = frame[names].copy()
    for name in names:
        if kinds[name] == "datetime":
            values = out[name]
            nanoseconds = values.astype("datetime64[ns]").astype("int64").astype(float)
            out[name] = nanoseconds.where(values.notna())
    return out


def _missing(value: object) -> bool:
    return (
        value is None
        or (isinstance(value, float | np.floating) and np.isnan(value))
        or (value is pd.NA or value is pd.NaT)
    )


def fingerprint(frame: pd.DataFrame) -> str:
    """A digest of the values (not the dtypes), equal under pandas 2 and 3 for the same data."""
    digest = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            column = column.astype("datetime64[ns]").astype(object)
        values = column.astype(object).tolist()
        text = [
            "<na>" if _missing(v) else repr(float(v)) if isinstance(v, float) else str(v)
            for v in values
        ]
        digest.update(f"{name}\x00{'|'.join(text)}\x01".encode())
    return digest.hexdigest()[:16]
