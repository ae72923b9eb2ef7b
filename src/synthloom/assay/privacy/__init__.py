"""The assay's privacy section: does the synthetic data copy or expose real data?

This package owns the privacy measurements of a dataset, one module each:

* ``copies``: exact copies of reference records (:func:`exact_copies`, with keys from
  :func:`record_key` for chat records: system turns dropped, whitespace and case normalised;
  :func:`row_keys` for table rows), naming which record copies which;
* ``verbatim``: verbatim overlap of synthetic text with private sources, character-level
  (:func:`verbatim_overlap`);
* ``personal``: personal data found in synthetic text (:func:`pii_summary`, detectors from
  :mod:`synthloom.pii`);
* ``distances``: for tables, distance to the closest record compared with a held-out real baseline
  (:func:`distance_to_closest_record`) and a distance-based membership-inference attack
  (:func:`membership_inference_auc`).

Every function returns plain numbers, lists and dicts, ready for ``metrics.json``.
"""

from __future__ import annotations

from synthloom.assay.privacy.copies import (
    content_text,
    exact_copies,
    record_key,
    row_keys,
    text_key,
)
from synthloom.assay.privacy.distances import (
    distance_to_closest_record,
    membership_inference_auc,
    split_holdout,
)
from synthloom.assay.privacy.personal import pii_summary
from synthloom.assay.privacy.verbatim import verbatim_overlap

__all__ = [
    "content_text",
    "distance_to_closest_record",
    "exact_copies",
    "membership_inference_auc",
    "pii_summary",
    "record_key",
    "row_keys",
    "split_holdout",
    "text_key",
    "verbatim_overlap",
]
