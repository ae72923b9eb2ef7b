"""The assay: prove a dataset fit to train on.

``run_assay(synthetic, reference, out, AssayOptions(...))`` measures fidelity, diversity,
privacy, bias / representation and tail coverage, writes ``report.html`` and ``metrics.json``,
and checks an optional quality gate. The sections live in their own modules:

* ``fidelity``            table metrics with SDMetrics' definitions (a package)
* ``kinds``               each column's kind, which picks the metric that scores it
* ``features``            instruction records -> per-record feature table
* ``embedding_fidelity``  Fréchet distance, precision / recall / density / coverage, C2ST AUC
* ``diversity``           distinct-n, compression ratio, self-BLEU, near-duplicates, Vendi
* ``privacy``             exact copies, verbatim overlap, PII, DCR, membership inference
* ``bias``                demographic representation from a documented lexicon
* ``tails``               coverage of the reference's rare content
* ``gate``                thresholds on metrics.json paths
* ``report``              the self-contained HTML report
* ``options``, ``inputs``, ``table_assay``, ``instruction_assay``, ``run``  the run itself

Sentence embeddings come from the kernel :mod:`synthloom.embed` (shared with curate).
"""

from __future__ import annotations

from synthloom.assay.options import ProgressEvent
from synthloom.assay.run import AssayOptions, AssayResult, run_assay

__all__ = ["AssayOptions", "AssayResult", "ProgressEvent", "run_assay"]
