"""Preference data in the assay: reading pairs, and what to measure on them.

* ``pairs``    TRL's preference formats and synthloom's Nemotron pairs folder ->
  :class:`PreferenceSet`
* ``markers``  empty answers, refusals, markdown format markers
* ``measures`` the per-pair phase (token counts, chosen/rejected similarity, answer checks,
  markers), run locally or as Ray tasks over shards of pairs
* ``metrics``  length bias, margins, near-identical pairs, answer checks, format preference,
  prompt coverage
* ``report``   the report page of a preference assay

:mod:`synthloom.assay.preference_assay` runs them for both sides of an assay.
"""

from __future__ import annotations

from synthloom.assay.preference.pairs import (
    PreferencePair,
    PreferenceSet,
    is_preference_data,
    read_pairs,
)

__all__ = ["PreferencePair", "PreferenceSet", "is_preference_data", "read_pairs"]
