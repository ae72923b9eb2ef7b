"""The numeric model families: ``gaussian`` (maximum likelihood) and ``gmm`` (Gaussian mixture).

Both work on data already standardised by the real training data's mean and standard deviation
(the loop does that), so a covariance floor of ``1e-9`` means the same thing on every data set.
Each model can sample with a numpy ``Generator`` (so a run is reproducible from its seed alone),
give log densities, and report its mean and covariance (for a mixture: the mixture's overall
moments).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from synthloom.errors import ConfigError

__all__ = ["GaussianMixtureModel", "GaussianModel", "NumericModel", "fit_gaussian", "fit_gmm"]

FloatArray = npt.NDArray[np.float64]

# Keeps a covariance positive definite when a generation collapses to (nearly) one point.
_COV_FLOOR = 1e-9
_LOG_2PI = float(np.log(2.0 * np.pi))


class NumericModel(Protocol):
    """What the loop and the metrics need from a numeric model."""

    @property
    def mean(self) -> FloatArray: ...

    @property
    def covariance(self) -> FloatArray: ...

    def sample(self, n: int, rng: np.random.Generator) -> FloatArray: ...

    def log_density(self, x: FloatArray) -> FloatArray: ...


def _gaussian_log_density(x: FloatArray, mean: FloatArray, chol: FloatArray) -> FloatArray:
    """log N(x; mean, L L^T) for each row of x, through the Cholesky factor L."""
    # L is d x d with d a handful of features: its inverse is exact enough (the covariance is
    # floored), and one small product skips the checks of scipy's triangular solve.
    z = np.linalg.inv(chol) @ (x - mean).T
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    d = x.shape[1]
    return np.asarray(-0.5 * ((z * z).sum(axis=0) + log_det + d * _LOG_2PI), dtype=np.float64)


def _floored_cholesky(cov: FloatArray) -> FloatArray:
    d = cov.shape[0]
    return np.asarray(np.linalg.cholesky(cov + _COV_FLOOR * np.eye(d)), dtype=np.float64)


@dataclass(frozen=True)
class GaussianModel:
    """A single (multivariate) Gaussian."""

    mean: FloatArray
    covariance: FloatArray

    def sample(self, n: int, rng: np.random.Generator) -> FloatArray:
        chol = _floored_cholesky(self.covariance)
        noise = rng.standard_normal((n, self.mean.shape[0]))
        return np.asarray(self.mean + noise @ chol.T, dtype=np.float64)

    def log_density(self, x: FloatArray) -> FloatArray:
        return _gaussian_log_density(x, self.mean, _floored_cholesky(self.covariance))


def fit_gaussian(x: FloatArray) -> GaussianModel:
    """Maximum-likelihood Gaussian: sample mean and the 1/n (not 1/(n-1)) covariance.

    The 1/n estimator is the MLE, and its downward bias is one of the two forces (with the
    random walk of the estimates) that make the variance shrink over generations.
    """
    if x.shape[0] < 2:
        raise ConfigError(
            f"a Gaussian needs at least 2 samples per generation, got {x.shape[0]}",
            field="samples",
        )
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / x.shape[0]
    return GaussianModel(mean=mean, covariance=np.atleast_2d(cov))


@dataclass(frozen=True)
class GaussianMixtureModel:
    """A Gaussian mixture with full covariances (weights, means, covariances of each component)."""

    weights: FloatArray
    means: FloatArray
    covariances: FloatArray

    @property
    def mean(self) -> FloatArray:
        return np.asarray(self.weights @ self.means, dtype=np.float64)

    @property
    def covariance(self) -> FloatArray:
        # Law of total variance: within-component plus between-component spread.
        overall = self.mean
        within = np.einsum("k,kij->ij", self.weights, self.covariances)
        spread = self.means - overall
        between = np.einsum("k,ki,kj->ij", self.weights, spread, spread)
        return np.asarray(within + between, dtype=np.float64)

    def sample(self, n: int, rng: np.random.Generator) -> FloatArray:
        k, d = self.means.shape
        component = rng.choice(k, size=n, p=self.weights / self.weights.sum())
        noise = rng.standard_normal((n, d))
        out = np.empty((n, d), dtype=np.float64)
        for j in range(k):
            rows = component == j
            chol = _floored_cholesky(self.covariances[j])
            out[rows] = self.means[j] + noise[rows] @ chol.T
        return out

    def log_density(self, x: FloatArray) -> FloatArray:
        from scipy.special import logsumexp

        parts = np.stack(
            [
                np.log(self.weights[j])
                + _gaussian_log_density(x, self.means[j], _floored_cholesky(self.covariances[j]))
                for j in range(self.weights.shape[0])
            ],
            axis=1,
        )
        return np.asarray(logsumexp(parts, axis=1), dtype=np.float64)


def fit_gmm(x: FloatArray, *, components: int, seed: int) -> GaussianMixtureModel:
    """Fit a full-covariance Gaussian mixture with scikit-learn (EM from k-means++ seeds).

    k-means++ seeding rather than scikit-learn's default full k-means run: the same quality for
    this purpose and about ten times faster, which matters when a run fits hundreds of models.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    if components < 1:
        raise ConfigError(f"--components must be at least 1, got {components}", field="components")
    if x.shape[0] < components + 1:
        raise ConfigError(
            f"a {components}-component mixture needs at least {components + 1} samples per "
            f"generation, got {x.shape[0]}; raise --samples or lower --components",
            field="samples",
        )
    mixture = GaussianMixture(
        n_components=components,
        covariance_type="full",
        init_params="k-means++",
        random_state=seed,
        max_iter=200,
    )
    with warnings.catch_warnings():
        # A generation that has collapsed may not converge; its fit is still the one to study.
        warnings.simplefilter("ignore", ConvergenceWarning)
        mixture.fit(x)
    return GaussianMixtureModel(
        weights=np.asarray(mixture.weights_, dtype=np.float64),
        means=np.asarray(mixture.means_, dtype=np.float64),
        covariances=np.asarray(mixture.covariances_, dtype=np.float64),
    )
