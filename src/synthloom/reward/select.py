"""Choosing among scored responses: thresholds, best-of-k, and preference pairs.

All three look only at ``meta.reward``-shaped mappings (the five attributes and ``scalar``), so
they work the same whichever backend scored the responses. Ties are decided by position (the
earliest sample wins) so that a run and its replay choose the same responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from synthloom.errors import ConfigError
from synthloom.reward.base import ATTRIBUTES

__all__ = ["PairChoice", "Thresholds", "best_of_k", "preference_pair"]


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """Lowest (and highest) allowed values of the scalar and of each attribute."""

    min_scalar: float | None = None
    min_attributes: Mapping[str, float] = field(default_factory=dict)
    max_attributes: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, bounds in (
            ("min_attributes", self.min_attributes),
            ("max_attributes", self.max_attributes),
        ):
            unknown = sorted(set(bounds) - set(ATTRIBUTES))
            if unknown:
                raise ConfigError(
                    f"unknown attribute(s) {unknown}; valid: {', '.join(ATTRIBUTES)}",
                    field=f"filter.{name}",
                )

    def failure(self, reward: Mapping[str, float]) -> str | None:
        """Why ``reward`` fails the thresholds, or None if it passes."""
        if self.min_scalar is not None and reward["scalar"] < self.min_scalar:
            return f"scalar {reward['scalar']:.3f} < {self.min_scalar:g}"
        for name, low in self.min_attributes.items():
            if reward[name] < low:
                return f"{name} {reward[name]:.3f} < {low:g}"
        for name, high in self.max_attributes.items():
            if reward[name] > high:
                return f"{name} {reward[name]:.3f} > {high:g}"
        return None


def best_of_k(scalars: Sequence[float]) -> int | None:
    """Index of the highest scalar (the earliest on a tie); None for no candidates."""
    if not scalars:
        return None
    best = 0
    for i, value in enumerate(scalars):
        if value > scalars[best]:
            best = i
    return best


@dataclass(frozen=True, slots=True)
class PairChoice:
    """The chosen (highest) and rejected (lowest) response of a prompt, or why there is none."""

    chosen: int | None
    rejected: int | None
    margin: float
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def preference_pair(scalars: Sequence[float], *, min_margin: float = 0.0) -> PairChoice:
    """Highest vs lowest scalar, kept only when they differ by at least ``min_margin``.

    A zero difference is never a pair (a tie teaches the trainer nothing), whatever the margin.
    Among equal highest scores the earliest is chosen; among equal lowest, the earliest.
    """
    if len(scalars) < 2:
        return PairChoice(None, None, 0.0, f"needs at least 2 scored responses, has {len(scalars)}")
    chosen = best_of_k(scalars)
    assert chosen is not None
    rejected = 0
    for i, value in enumerate(scalars):
        if value < scalars[rejected]:
            rejected = i
    margin = float(scalars[chosen] - scalars[rejected])
    if margin <= 0.0:
        return PairChoice(None, None, 0.0, "all responses tie")
    if margin < min_margin:
        return PairChoice(
            None, None, margin, f"margin {margin:.3f} below the minimum {min_margin:g}"
        )
    return PairChoice(chosen, rejected, margin)
