"""Numeric families: maximum likelihood, sampling and densities against numpy/scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

from synthloom.collapse.numeric import fit_gaussian, fit_gmm
from synthloom.errors import ConfigError


def test_gaussian_is_the_maximum_likelihood_fit() -> None:
    x = np.random.default_rng(0).normal([1.0, -2.0], [1.0, 3.0], size=(500, 2))
    model = fit_gaussian(x)
    np.testing.assert_allclose(model.mean, x.mean(axis=0))
    np.testing.assert_allclose(model.covariance, np.cov(x, rowvar=False, bias=True))
    points = x[:5]
    expected = multivariate_normal(model.mean, model.covariance).logpdf(points)
    np.testing.assert_allclose(model.log_density(points), expected, rtol=1e-6)


def test_gaussian_samples_have_the_model_moments() -> None:
    model = fit_gaussian(np.random.default_rng(1).normal(size=(300, 1)) * 2 + 5)
    draws = model.sample(200_000, np.random.default_rng(2))
    assert draws.mean() == pytest.approx(model.mean[0], abs=0.02)
    assert draws.var() == pytest.approx(model.covariance[0, 0], rel=0.02)


def test_gmm_density_and_moments_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(-3, 0.5, size=(300, 1)), rng.normal(2, 1.0, size=(200, 1))])
    model = fit_gmm(x, components=2, seed=0)
    reference = GaussianMixture(2, covariance_type="full", init_params="k-means++", random_state=0)
    reference.fit(x)
    points = np.linspace(-5, 5, 11)[:, None]
    np.testing.assert_allclose(
        model.log_density(points), reference.score_samples(points), rtol=1e-6
    )
    draws = model.sample(200_000, np.random.default_rng(4))
    assert draws.mean() == pytest.approx(model.mean[0], abs=0.02)
    assert draws.var() == pytest.approx(model.covariance[0, 0], rel=0.02)
    assert model.covariance[0, 0] == pytest.approx(x.var(), rel=0.05)


def test_too_few_samples_for_the_family() -> None:
    with pytest.raises(ConfigError, match="at least 2 samples"):
        fit_gaussian(np.zeros((1, 1)))
    with pytest.raises(ConfigError, match="3-component mixture"):
        fit_gmm(np.zeros((3, 1)), components=3, seed=0)
