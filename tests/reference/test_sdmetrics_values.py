"""The stored SDMetrics numbers are what SDMetrics says today (runs in ``.venv-ref`` only).

``python -m pytest -m reference`` in the reference environment; the users' environment
deselects these tests (they need SDMetrics, which needs pandas < 3) and compares synthloom with
the stored numbers instead (tests/assay/test_fidelity.py, tests/assay/test_privacy.py).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.reference.sdmetrics_values import compute, load

pytestmark = pytest.mark.reference


def _differences(stored: Any, fresh: Any, path: str = "") -> list[str]:
    if isinstance(stored, dict) and isinstance(fresh, dict):
        out = [f"{path}.{k}: only one side" for k in set(stored) ^ set(fresh)]
        for key in sorted(set(stored) & set(fresh)):
            out += _differences(stored[key], fresh[key], f"{path}.{key}")
        return out
    if isinstance(stored, list) and isinstance(fresh, list):
        if len(stored) != len(fresh):
            return [f"{path}: {len(stored)} items stored, {len(fresh)} now"]
        out = []
        for i, (a, b) in enumerate(zip(stored, fresh, strict=True)):
            out += _differences(a, b, f"{path}[{i}]")
        return out
    if isinstance(stored, float) and isinstance(fresh, float | int):
        return (
            []
            if math.isclose(stored, fresh, rel_tol=0, abs_tol=1e-12)
            else [f"{path}: stored {stored!r}, now {fresh!r}"]
        )
    return [] if stored == fresh else [f"{path}: stored {stored!r}, now {fresh!r}"]


def test_stored_values_are_what_sdmetrics_computes() -> None:
    fresh = compute()
    stored = load()
    assert stored["versions"]["sdmetrics"] == fresh["versions"]["sdmetrics"]
    fresh["versions"] = stored["versions"]  # pandas/numpy patch versions may move
    differences = _differences(stored, fresh)
    assert not differences, "\n".join(differences[:20])


def test_the_comparison_notices_a_changed_number() -> None:
    stored = load()
    changed = load()
    changed["fidelity"]["shifted"]["columns"]["amount"]["KSComplement"] += 1e-14
    assert _differences(stored, changed) == []  # within the 1e-12 tolerance
    changed["fidelity"]["shifted"]["columns"]["amount"]["KSComplement"] += 1e-6
    assert len(_differences(stored, changed)) == 1
