"""The weighted scalar and the weights' validation."""

from __future__ import annotations

import numpy as np
import pytest

from synthloom.errors import ConfigError
from synthloom.reward import ATTRIBUTES, DEFAULT_WEIGHTS, RewardResult, RewardWeights


def test_default_weights_are_the_published_ones() -> None:
    assert RewardWeights().as_dict() == {
        "helpfulness": 0.3,
        "correctness": 0.74,
        "coherence": 0.46,
        "complexity": 0.47,
        "verbosity": -0.33,
    }


def test_scalar_is_the_dot_product_with_the_weights() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        values = rng.uniform(0, 4, size=5)
        attrs = dict(zip(ATTRIBUTES, values.tolist(), strict=True))
        assert RewardWeights().scalar(attrs) == pytest.approx(float(values @ DEFAULT_WEIGHTS))


def test_weights_from_mapping_fill_missing_with_zero() -> None:
    weights = RewardWeights.from_value({"helpfulness": 1.0, "verbosity": -1.0})
    attrs = {a: 2.0 for a in ATTRIBUTES}
    assert weights.scalar(attrs) == pytest.approx(0.0)
    assert weights.weights == (1.0, 0.0, 0.0, 0.0, -1.0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param([1.0, 2.0, 3.0], "needs 5 weights", id="too-few"),
        pytest.param([0.1] * 6, "got 6", id="too-many"),
        pytest.param({"helpful": 1.0}, "unknown attribute", id="unknown-name"),
    ],
)
def test_bad_weights_raise_config_error(value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RewardWeights.from_value(value)  # type: ignore[arg-type]


def test_as_meta_has_five_attributes_and_scalar() -> None:
    result = RewardResult(attributes={a: 1.0 for a in ATTRIBUTES})
    meta = result.as_meta(RewardWeights())
    assert list(meta) == [*ATTRIBUTES, "scalar"]
    assert meta["scalar"] == pytest.approx(sum(DEFAULT_WEIGHTS))
    with pytest.raises(ValueError, match="no scores"):
        RewardResult(error="boom").as_meta(RewardWeights())
