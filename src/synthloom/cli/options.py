"""Checked option types and the output-folder check shared by every command.

A number option is declared with one of the parsers below (``parser=positive_int(),
metavar="INTEGER"``), so a bad value (``--rpm -10``, ``--temperature nan``) is a usage error:
one line naming the command and the option, exit 2, before the command does anything.
Every float must be finite: ``nan`` and ``inf`` parse as floats in Python but are never a
meaningful setting, and a NaN would be written into request bodies as invalid JSON.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = [
    "Number",
    "finite_float",
    "fraction",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "unit_interval",
]


class Number:
    """Parses an int or a finite float within optional bounds (open or closed at each end).

    A ``ValueError`` from the parser becomes typer's "Invalid value for '--OPTION'" error.
    """

    def __init__(
        self,
        kind: type[int] | type[float],
        *,
        low: float | None = None,
        low_open: bool = False,
        high: float | None = None,
        high_open: bool = False,
    ) -> None:
        self.kind = kind
        self.low, self.low_open, self.high, self.high_open = low, low_open, high, high_open

    def describe(self) -> str:
        """The accepted range in words, for messages and help."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        finite = "a finite number" if self.kind is float else "a whole number"
        return finite + (f" {' and '.join(parts)}" if parts else "")

    def __call__(self, value: Any) -> int | float:
        if isinstance(value, self.kind) and not isinstance(value, bool):
            number: int | float = value
        else:
            try:
                number = self.kind(str(value).strip())
            except ValueError:
                raise ValueError(f"{value!r} is not {self.describe()}") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{value!r} is not {self.describe()}")
        too_low = self.low is not None and (
            number <= self.low if self.low_open else number < self.low
        )
        too_high = self.high is not None and (
            number >= self.high if self.high_open else number > self.high
        )
        if too_low or too_high:
            raise ValueError(f"{value!r} is not {self.describe()}")
        return number


def positive_int() -> Number:
    """1, 2, 3, ...: counts, sizes, attempts."""
    return Number(int, low=1)


def non_negative_int() -> Number:
    """0, 1, 2, ...: seeds and counts where none is meaningful."""
    return Number(int, low=0)


def finite_float() -> Number:
    """Any finite float."""
    return Number(float)


def positive_float() -> Number:
    """A finite float > 0: rates and limits, where 0 would mean nothing can run."""
    return Number(float, low=0, low_open=True)


def non_negative_float() -> Number:
    """A finite float >= 0: delays and prices, where 0 is meaningful."""
    return Number(float, low=0)


def unit_interval() -> Number:
    """A finite float in [0, 1]: top-p."""
    return Number(float, low=0, high=1)


def fraction() -> Number:
    """A finite float in (0, 1]: similarity thresholds."""
    return Number(float, low=0, low_open=True, high=1)
