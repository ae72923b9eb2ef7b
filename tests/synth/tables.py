"""Tables for the synthesis tests, written the way a clinic's export looks.

:func:`clinic_visits` is a visit log: a patient code (``P-004213``), the visit date, age,
blood pressure, a cholesterol reading that is often not taken, a BMI with one decimal, a
smoker flag written ``yes``/``no``, a clinic site, a triage level 1-3, the number of
prescriptions, and a free-text note. Blood pressure rises with age, cholesterol with BMI,
smokers are younger on average; the note is short prose with many distinct values (an
identifier-like column). Everything depends only on the seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SITES = ["Northgate", "Riverside", "Old Town", "Harbour", "Westfield Annex"]
NOTES = [
    "follow-up in 3 months",
    "pt reports dizziness when standing",
    "refill lisinopril, bp ok",
    "referred to dietitian",
    "no complaints today",
    "bloods taken, await results",
    "missed last appt - rebooked",
    "knee pain L side, advised ice",
]


def clinic_visits(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = np.clip(np.round(rng.normal(52, 16, rows)), 18, 97).astype(int)
    bmi = np.round(np.clip(rng.lognormal(np.log(27), 0.16, rows), 15, 60), 1)
    systolic = np.round(95 + 0.55 * age + 0.6 * (bmi - 27) + rng.normal(0, 11, rows)).astype(int)
    cholesterol = np.round(3.6 + 0.07 * (bmi - 27) + 0.012 * age + rng.normal(0, 0.7, rows), 2)
    cholesterol[rng.random(rows) < 0.22] = np.nan  # not every visit draws blood
    smoker = np.where(rng.random(rows) < 0.45 - 0.004 * age, "yes", "no")
    site = rng.choice(SITES, rows, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    triage = np.clip(1 + (systolic > 150) + (rng.random(rows) < 0.2), 1, 3)
    prescriptions = rng.poisson(0.4 + age / 30)
    day = rng.integers(0, 730, rows)
    visit = (pd.Timestamp("2023-01-02") + pd.to_timedelta(day, unit="D")).strftime("%Y-%m-%d")
    note = [f"{NOTES[i % len(NOTES)]} ({k})" for k, i in enumerate(rng.integers(0, 8, rows))]
    table = pd.DataFrame(
        {
            "patient": [f"P-{i:06d}" for i in rng.permutation(rows) + 1000],
            "visit_date": visit,
            "age": age,
            "systolic_bp": systolic,
            "cholesterol": cholesterol,
            "bmi": bmi,
            "smoker": smoker,
            "site": site,
            "triage": triage,
            "prescriptions": prescriptions,
            "note": note,
        }
    )
    table.loc[rng.random(rows) < 0.04, "smoker"] = None  # not asked
    return table


def correlated_normals(rows: int, rho: float, seed: int = 0) -> pd.DataFrame:
    """Three continuous columns with known correlations (x-y: rho, x-z: -rho/2)."""
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, rho, -rho / 2], [rho, 1.0, -rho / 4], [-rho / 2, -rho / 4, 1.0]])
    values = rng.multivariate_normal(np.zeros(3), cov, rows)
    return pd.DataFrame({"x": values[:, 0], "y": 3 + 2 * values[:, 1], "z": np.exp(values[:, 2])})
