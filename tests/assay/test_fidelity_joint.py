"""The fast paths of table fidelity: contingency tables counted in blocks of columns
(synthloom.assay.fidelity.joint), KS read from merged pieces, bins by edge comparisons. Each is
checked against an independent count (pandas, scipy) and the block path against the pair-by-pair
path, on a messy mixed table of the kind users bring."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from scipy.stats.contingency import association

from synthloom.assay.fidelity import columns as fidelity_columns
from synthloom.assay.fidelity import contingency_similarity, ks_complement, table_fidelity
from synthloom.assay.fidelity import pairs as pair_metrics
from synthloom.assay.fidelity.columns import ks_statistic
from synthloom.assay.fidelity.joint import CELL_LIMIT, block_counts, pair_table, plan_blocks


def _orders(n: int, seed: int, shift: float) -> pd.DataFrame:
    """Web-shop orders as an export gives them: totals with gaps, counts, tied discount rates,
    timestamps with missing shipping dates, a few regions and channels, 700 SKUs (some
    missing), a nullable gift flag, an express flag and a 1-5 rating stored as float."""
    rng = np.random.default_rng(seed)
    base = rng.normal(shift, 1.0, n)
    total = np.round(np.exp(3.0 + 0.6 * base + rng.normal(0, 0.3, n)), 2)
    total[rng.random(n) < 0.04] = np.nan
    placed = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 365 * 24 * 3600, n), unit="s"
    )
    shipped = pd.Series(placed + pd.to_timedelta(rng.gamma(2.0, 20.0 + 5 * shift, n), unit="h"))
    shipped[rng.random(n) < 0.07] = pd.NaT  # not shipped yet
    sku = np.array([f"SKU-{k:04d}" for k in rng.zipf(1.3, n) % 700], dtype=object)
    sku[rng.random(n) < 0.01] = None
    gift = pd.array(rng.random(n) < 0.1 + shift / 20, dtype="boolean")
    gift[rng.random(n) < 0.05] = pd.NA
    rating = np.clip(np.round(3.5 + base + rng.normal(0, 0.8, n)), 1, 5)
    rating[rng.random(n) < 0.3] = np.nan  # most buyers never rate
    return pd.DataFrame(
        {
            "order_total": total,
            "items": rng.poisson(2.0 + (base > 1), n) + 1,
            "discount_rate": rng.choice([0.0, 0.0, 0.0, 0.05, 0.1, 0.15, 0.25], n),
            "placed_at": placed,
            "shipped_at": shipped,
            "region": rng.choice(["north", "south", "east", "west", "central", "islands"], n),
            "channel": np.where(base > 0.8, "app", rng.choice(["web", "app", "phone"], n)),
            "sku": sku,
            "gift_wrap": gift,
            "express": base + rng.normal(0, 1, n) > 1.2,
            "rating": rating,
        }
    )


KINDS = {
    "order_total": "numerical",
    "items": "numerical",
    "discount_rate": "numerical",
    "placed_at": "datetime",
    "shipped_at": "datetime",
    "region": "categorical",
    "channel": "categorical",
    "sku": "categorical",
    "gift_wrap": "boolean",
    "express": "boolean",
    "rating": "categorical",
}


def _cut_on_real_edges(real: pd.Series, values: pd.Series) -> np.ndarray:
    """The metric class's binning, written out: digitize on the real histogram edges, outer
    edges open, missing values their own category."""

    def as_float(series: pd.Series) -> np.ndarray:
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            ns = series.to_numpy().view(np.int64).astype(np.float64)
            ns[series.isna().to_numpy()] = np.nan
            return ns
        return series.to_numpy(dtype=np.float64, na_value=np.nan)

    real_values, cut_values = as_float(real), as_float(values)
    edges = np.histogram_bin_edges(real_values[~np.isnan(real_values)], bins=10)
    codes = np.clip(np.digitize(cut_values, edges) - 1, 0, 9).astype(object)
    codes[np.isnan(cut_values)] = None
    return codes


def _labels(values: Any) -> np.ndarray:
    """Values as strings, missing ones (None, NaN, NaT, pd.NA) as one label: the same under
    pandas 2 and 3, and without fillna's object downcasting."""
    values = np.asarray(values, dtype=object)
    return np.where(pd.isna(values), "<missing>", values.astype(str))


def _reference_pair(
    real: pd.DataFrame, synthetic: pd.DataFrame, first: str, second: str
) -> tuple[float, float]:
    """(1 - TVD of the joint frequencies, real Cramér's V), counted by pandas and scipy."""
    columns = {}
    for side, frame in (("real", real), ("synthetic", synthetic)):
        for name in (first, second):
            if KINDS[name] in ("numerical", "datetime"):
                columns[side, name] = _cut_on_real_edges(real[name], frame[name])
            else:
                columns[side, name] = frame[name].astype(object).to_numpy()

    def joint(side: str) -> pd.Series:
        labels = [_labels(columns[side, name]) for name in (first, second)]
        return pd.DataFrame({"a": labels[0], "b": labels[1]}).value_counts()

    real_counts, synthetic_counts = joint("real"), joint("synthetic")
    gap = (
        (real_counts / real_counts.sum())
        .sub(synthetic_counts / synthetic_counts.sum(), fill_value=0.0)
        .abs()
        .sum()
    )
    table = real_counts.unstack(fill_value=0).to_numpy()
    return 1.0 - 0.5 * float(gap), float(association(table, method="cramer"))


@pytest.fixture(scope="module")
def orders() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _orders(9_000, seed=11, shift=0.0), _orders(7_500, seed=12, shift=0.3)


def test_every_contingency_pair_matches_pandas_and_scipy(
    orders: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    real, synthetic = orders
    result = table_fidelity(real, synthetic, kinds=KINDS)
    contingency = [p for p in result["pairs"] if p["metric"] == "ContingencySimilarity"]
    # Every numeric/datetime column meets every discrete one, and the discrete ones meet each
    # other: 5 * 6 + 15 pairs, among them the 700-SKU column with every partner.
    assert len(contingency) == 45
    for pair in contingency:
        assert pair["error"] is None, pair
        score, association_v = _reference_pair(real, synthetic, *pair["columns"])
        assert pair["score"] == pytest.approx(score, abs=1e-12), pair["columns"]
        assert pair["real_association"] == pytest.approx(association_v, abs=1e-9), pair


def test_block_path_equals_the_pair_by_pair_path(
    orders: tuple[pd.DataFrame, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    real, synthetic = orders
    blocked = table_fidelity(real, synthetic, kinds=KINDS)
    # No blocks: every pair is counted on its own, as before blocks existed.
    monkeypatch.setattr(pair_metrics, "plan_blocks", lambda sizes, pairs: ([], {}))
    alone = table_fidelity(real, synthetic, kinds=KINDS)
    assert blocked["pairs"] == alone["pairs"]  # bit for bit: integer counts, same arithmetic
    assert blocked["column_pair_trends"] == alone["column_pair_trends"]


@pytest.mark.parametrize(
    "sizes",
    [
        pytest.param([11, 10, 10, 3, 8, 31, 500, 12, 5, 2, 2, 4, 5], id="bench-like"),
        pytest.param([2] * 14, id="many-flags"),
        pytest.param([4096, 2, 1, 700, 65], id="one-column-fills-a-block"),
        pytest.param([1, 1, 3], id="constant-columns"),
    ],
)
def test_block_plan_covers_every_pair_that_fits_once(sizes: list[int]) -> None:
    pairs = list(itertools.combinations(range(len(sizes)), 2))
    blocks, block_of = plan_blocks(sizes, pairs)
    fits = {p for p in pairs if sizes[p[0]] * sizes[p[1]] <= CELL_LIMIT}
    assert set(block_of) == fits
    for (first, second), index in block_of.items():
        assert first in blocks[index] and second in blocks[index]
    for block in blocks:
        assert list(block) == sorted(set(block))
        assert int(np.prod([sizes[k] for k in block])) <= CELL_LIMIT
    assert plan_blocks(sizes, reversed(pairs)) == (blocks, block_of)  # order-free, repeatable
    if len(fits) > len(sizes):
        assert len(blocks) < len(fits)  # blocks share passes, or they would buy nothing


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(0, id="no-rows"),
        pytest.param(1, id="one-row"),
        pytest.param(70_001, id="chunk-boundary"),
    ],
)
def test_block_counts_equal_pandas_counts_and_marginals(rows: int) -> None:
    rng = np.random.default_rng(rows)
    sizes = [7, 3, 300, 2]
    columns = [
        rng.integers(0, 7, rows).astype(np.uint8),
        rng.integers(0, 3, rows).astype(np.uint8),
        rng.integers(0, 300, rows).astype(np.uint16),  # a wider code beside narrow ones
        rng.integers(0, 2, rows).astype(np.int64),
    ]
    counts = block_counts(columns, sizes)
    assert counts.shape == tuple(sizes) and counts.sum() == rows
    frame = pd.DataFrame({str(k): c for k, c in enumerate(columns)})
    members = (0, 1, 2, 3)
    for first, second in itertools.combinations(members, 2):
        table = pair_table(counts, members, first, second)
        expected = np.zeros((sizes[first], sizes[second]), dtype=np.int64)
        for (a, b), n in frame.value_counts([str(first), str(second)]).items():
            expected[a, b] = n
        np.testing.assert_array_equal(table, expected)


@pytest.mark.parametrize(
    ("real", "synthetic"),
    [
        pytest.param([1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 2.0, 4.0], id="ties-across-sides"),
        pytest.param([5, 5, 5, 5], [1.0, 5.0, 5.0, 9.0], id="int-side-meets-float-side"),
        pytest.param([0.1, 0.2, 0.3], [0.30000000000000004, 0.1], id="rounding-makes-ties"),
        pytest.param([1.0, 2.0], [1.0, 2.0, 1.0, 2.0], id="equal-distributions"),
        pytest.param([3.0, 4.0], [1.0, 2.0], id="disjoint"),
    ],
)
def test_ks_from_one_merge_equals_scipy(real: list[Any], synthetic: list[Any]) -> None:
    rounded = [np.round(np.asarray(v, dtype=np.float64), 14) for v in (real, synthetic)]
    expected = 1.0 - ks_2samp(*rounded).statistic
    assert ks_complement(real, synthetic) == pytest.approx(expected, abs=1e-15)


def test_ks_on_heavily_tied_columns_equals_scipy() -> None:
    rng = np.random.default_rng(21)
    for trial in range(200):
        n, m = (int(v) for v in rng.integers(1, 300, 2))
        levels = int(rng.integers(1, 25))
        real = rng.integers(0, levels, n) / 4
        synthetic = rng.integers(0, levels, m) / 4
        real[rng.random(n) < 0.1] = np.nan
        present = [real[~np.isnan(real)], synthetic]
        if present[0].size == 0:
            continue
        expected = 1.0 - ks_2samp(*present).statistic
        assert ks_complement(real, synthetic) == pytest.approx(expected, abs=1e-15), trial


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 64])
def test_ks_walked_in_pieces_equals_scipy(monkeypatch: pytest.MonkeyPatch, piece: int) -> None:
    # Pieces far smaller than the columns: runs of equal values and the other side's equal
    # values fall across piece boundaries, and a piece can meet many or none of the other
    # side's values.
    monkeypatch.setattr(fidelity_columns, "_KS_PIECE", piece)
    rng = np.random.default_rng(piece)
    for trial in range(60):
        n, m = (int(v) for v in rng.integers(1, 400, 2))
        levels = int(rng.integers(1, 12))
        real = np.sort(rng.integers(0, levels, n) / 2)
        synthetic = np.sort(rng.integers(0, levels + int(rng.integers(0, 6)), m) / 2 - 1.0)
        if trial % 3 == 0:
            synthetic = np.sort(rng.normal(levels / 4, 1.0, m))  # no ties with the real side
        expected = ks_2samp(real, synthetic).statistic
        assert ks_statistic(real, synthetic) == pytest.approx(expected, abs=1e-15), trial
        assert ks_statistic(synthetic, real) == pytest.approx(expected, abs=1e-15), trial


@pytest.mark.parametrize(
    "bins", [pytest.param(10, id="edge-comparisons"), pytest.param(40, id="binary-search")]
)
def test_both_binning_paths_cut_as_digitize(bins: int) -> None:
    rng = np.random.default_rng(bins)
    real = rng.gamma(2.0, 3.0, 6_000)
    edges = np.histogram_bin_edges(real, bins=bins)
    synthetic = np.concatenate([rng.gamma(2.0, 3.3, 5_990), edges[:5], [np.inf, -np.inf]])
    synthetic[::61] = np.nan
    real_group = rng.choice(["a", "b", "c", "d"], real.size)
    synthetic_group = rng.choice(["a", "b", "c", "d"], synthetic.size)

    def cut(values: np.ndarray) -> pd.Series:
        codes = np.clip(np.digitize(values, edges) - 1, 0, bins - 1).astype(object)
        codes[np.isnan(values)] = None
        return pd.Series(codes)

    def shares(codes: pd.Series, group: np.ndarray) -> pd.Series:
        frame = pd.DataFrame({"a": _labels(codes), "b": _labels(group)})
        return frame.value_counts(normalize=True)

    gap = shares(cut(real), real_group).sub(shares(cut(synthetic), synthetic_group), fill_value=0.0)
    ours = contingency_similarity(
        real, real_group, synthetic, synthetic_group, continuous_a=True, bins=bins
    )
    assert ours == pytest.approx(1.0 - 0.5 * float(gap.abs().sum()), abs=1e-12)


@pytest.mark.parametrize("block", [64, 1 << 14])
def test_correlations_over_many_blocks_match_pandas(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    # Moments summed over many blocks (and pieces of blocks) of a table with gaps in different
    # rows per column: every pairwise-complete r as pandas gives it, each column's own r exactly 1.
    monkeypatch.setattr(pair_metrics, "_MOMENT_BLOCK", block)
    monkeypatch.setattr(pair_metrics, "_FILL_ROWS", 48)
    frame = _orders(5_000, seed=8, shift=0.0)
    names = [n for n in frame.columns if pd.api.types.is_float_dtype(frame[n].dtype)]
    assert len(names) >= 2 and frame[names].isna().any().any()
    arrays = [frame[n].to_numpy(dtype=np.float64) for n in names]
    matrix = pair_metrics._pearson_matrix(arrays)
    np.testing.assert_allclose(matrix, frame[names].corr().to_numpy(), rtol=0, atol=1e-13)
    assert np.all(np.diag(matrix) == 1.0)


def _messy_category_sides() -> list[tuple[pd.Series, pd.Series]]:
    rng = np.random.default_rng(5)
    n = 400
    flags = pd.Series(pd.array(rng.random(n) < 0.5, dtype="boolean")).where(rng.random(n) < 0.9)
    return [
        (pd.Series(rng.choice(["EU", "US", None], n)), pd.Series(rng.choice(["US", "APAC"], n))),
        (pd.Series(rng.integers(0, 4, n)), pd.Series(rng.integers(0, 6, n).astype(float))),
        (
            pd.Series(rng.choice(np.array([1, "1", True, None, 2.0], dtype=object), n)),
            pd.Series(rng.choice(np.array([1.0, False, "x", None], dtype=object), n)),
        ),
        (flags, pd.Series(rng.random(n) < 0.4)),
        (pd.Series(pd.Categorical(rng.choice(["x", "y"], n))), pd.Series(["y", "z", None] * 3)),
        (pd.Series(["a", "b", None], dtype="string"), pd.Series(["b", None], dtype="string")),
        (pd.Series(pd.array([1, 2, None], dtype="Int64")), pd.Series([2.0, 3.0, np.nan])),
    ]


@pytest.mark.parametrize("case", range(7))
def test_category_codes_are_one_factorisation_of_both_sides(case: int) -> None:
    # Each side is factorised on its own; the codes must be those of factorising the two
    # columns end to end, with one code for missing values after the others.
    real, synthetic = _messy_category_sides()[case]
    column = fidelity_columns.prepare_discrete(real, synthetic, kind="categorical", name="c")
    both = pd.concat(
        [fidelity_columns.plain_object(real), fidelity_columns.plain_object(synthetic)],
        ignore_index=True,
    )
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    expected_na = len(uniques) if (codes < 0).any() else None
    codes[codes < 0] = len(uniques)
    assert column.categories == list(uniques)
    assert column.na_code == expected_na
    assert column.n_codes == len(uniques) + (expected_na is not None)
    np.testing.assert_array_equal(column.real, codes[: len(real)])
    np.testing.assert_array_equal(column.synthetic, codes[len(real) :])
