"""Differential-privacy mechanisms and the budget ledger of a DP synthesis.

Neighbouring tables differ by one row added or removed (record-level, unbounded DP). Two
mechanisms, both textbook:

* **Laplace** (pure ε-DP): noise ``Laplace(0, b)`` with ``b = Δ₁ / ε`` for a query whose L1
  sensitivity is ``Δ₁`` (Dwork, McSherry, Nissim, Smith 2006).
* **Gaussian, analytic** ((ε, δ)-DP for every ε > 0): the smallest ``σ`` with
  ``Φ(Δ₂/2σ − εσ/Δ₂) − e^ε Φ(−Δ₂/2σ − εσ/Δ₂) ≤ δ`` for L2 sensitivity ``Δ₂`` (Balle & Wang,
  ICML 2018, Theorem 8); unlike the classic ``σ = Δ₂√(2 ln(1.25/δ))/ε`` it holds for ε ≥ 1.

Budgets compose by basic sequential composition: the steps' ε and δ add up to the run's. The
:class:`Ledger` records each step (what, mechanism, ε, δ, sensitivity, noise scale) for run.json
and refuses to spend more than it was given.

Noise is drawn with numpy's ``Generator`` in floating point. That is the usual research-grade
implementation, not a hardened one: floating-point Laplace and Gaussian samplers are open to the
attacks of Mironov (CCS 2012) on the low bits of the output. The generator is seeded from the
operating system's entropy unless the caller passes a seed; a seed that is published or
guessable lets anyone subtract the noise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

__all__ = [
    "BudgetStep",
    "Ledger",
    "analytic_gaussian_sigma",
    "gaussian_noise",
    "laplace_noise",
]

FloatArray = npt.NDArray[np.float64]

# The budget may be split into shares whose float sum misses the total by a rounding error.
_TOLERANCE = 1e-9


def laplace_noise(
    rng: np.random.Generator, shape: int | tuple[int, ...], *, sensitivity: float, epsilon: float
) -> tuple[FloatArray, float]:
    """Laplace noise for an L1 sensitivity at ε, and its scale ``b = sensitivity / epsilon``."""
    if epsilon <= 0 or sensitivity <= 0:
        raise ValueError("epsilon and sensitivity must be positive")
    scale = sensitivity / epsilon
    return rng.laplace(0.0, scale, size=shape), scale


def analytic_gaussian_sigma(*, sensitivity: float, epsilon: float, delta: float) -> float:
    """The smallest σ for which ``N(0, σ²)`` noise on an L2-sensitivity-Δ query is (ε, δ)-DP.

    Balle & Wang (2018), Theorem 8: the mechanism is (ε, δ)-DP iff
    ``Φ(Δ/2σ − εσ/Δ) − e^ε Φ(−Δ/2σ − εσ/Δ) ≤ δ``; the left side falls as σ grows, so the
    bound is found by root finding.
    """
    if epsilon <= 0 or sensitivity <= 0 or not 0 < delta < 1:
        raise ValueError("epsilon and sensitivity must be positive and delta in (0, 1)")

    def excess(sigma: float) -> float:
        a = sensitivity / (2.0 * sigma)
        b = epsilon * sigma / sensitivity
        # e^ε Φ(−a−b) through log-space: e^ε overflows for large ε long before the product does.
        tail = math.exp(epsilon + float(stats.norm.logcdf(-a - b)))
        return float(stats.norm.cdf(a - b)) - tail - delta

    low, high = 1e-6 * sensitivity, sensitivity
    while excess(high) > 0:
        high *= 2.0
    while excess(low) < 0 and low > 1e-300:
        low /= 2.0
    return float(optimize.brentq(excess, low, high, xtol=1e-12 * sensitivity, rtol=1e-12))


def gaussian_noise(
    rng: np.random.Generator,
    shape: int | tuple[int, ...],
    *,
    sensitivity: float,
    epsilon: float,
    delta: float,
) -> tuple[FloatArray, float]:
    """Analytic-Gaussian noise for an L2 sensitivity at (ε, δ), and its σ."""
    sigma = analytic_gaussian_sigma(sensitivity=sensitivity, epsilon=epsilon, delta=delta)
    return rng.normal(0.0, sigma, size=shape), sigma


@dataclass(frozen=True)
class BudgetStep:
    """One measurement of the private table and what it cost."""

    step: str
    mechanism: str
    epsilon: float
    delta: float
    sensitivity: float
    noise_scale: float
    detail: str = ""


@dataclass
class Ledger:
    """The budget of a run and the steps that spent it (basic sequential composition)."""

    epsilon: float
    delta: float
    steps: list[BudgetStep] = field(default_factory=list)

    @property
    def spent_epsilon(self) -> float:
        return math.fsum(s.epsilon for s in self.steps)

    @property
    def spent_delta(self) -> float:
        return math.fsum(s.delta for s in self.steps)

    def measure(
        self,
        rng: np.random.Generator,
        values: FloatArray,
        *,
        step: str,
        sensitivity: float,
        epsilon: float,
        delta: float = 0.0,
        detail: str = "",
    ) -> FloatArray:
        """``values`` plus noise at (``epsilon``, ``delta``), recorded as ``step``: Laplace for
        an L1 ``sensitivity`` when ``delta`` is 0, else analytic Gaussian for an L2 one."""
        self._reserve(epsilon, delta, step)
        if delta > 0:
            mechanism = "gaussian (analytic)"
            noise, scale = gaussian_noise(
                rng, values.shape, sensitivity=sensitivity, epsilon=epsilon, delta=delta
            )
        else:
            mechanism = "laplace"
            noise, scale = laplace_noise(
                rng, values.shape, sensitivity=sensitivity, epsilon=epsilon
            )
        self.steps.append(BudgetStep(step, mechanism, epsilon, delta, sensitivity, scale, detail))
        return np.asarray(values + noise, dtype=np.float64)

    def _reserve(self, epsilon: float, delta: float, step: str) -> None:
        if self.spent_epsilon + epsilon > self.epsilon * (1 + _TOLERANCE) + _TOLERANCE:
            raise ValueError(f"step {step!r} would spend more than epsilon={self.epsilon}")
        if self.spent_delta + delta > self.delta * (1 + _TOLERANCE) + _TOLERANCE:
            raise ValueError(f"step {step!r} would spend more than delta={self.delta}")

    def to_json(self) -> dict[str, Any]:
        """The budget as run.json holds it: totals, what was spent, and each step."""
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "spent_epsilon": self.spent_epsilon,
            "spent_delta": self.spent_delta,
            "composition": "basic sequential (the steps' epsilons and deltas add up)",
            "neighbouring": "tables differing by one row added or removed",
            "steps": [asdict(s) for s in self.steps],
        }
