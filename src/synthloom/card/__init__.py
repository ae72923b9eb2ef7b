"""Hugging Face dataset cards for what synthloom writes.

``write_card(RUN_OR_DATA, OUT)`` reads a run folder (or an export folder, a curate folder, a
data file), its run.json and audit files, and an assay's metrics.json, and writes a README.md
the Hub and ``datasets.load_dataset`` read: a YAML header with ``configs`` (the data files),
``license`` (a placeholder to fill), task categories, tags and the size bucket, and a body with
how the data was made: models and where they were reached (never a key or a private address),
every setting that changes the data, sources with their commits and digests, steps with counts,
rejects by reason, and the assay's headline numbers and gate verdict.

    locate   what RUN_OR_DATA is: its data configs and the runs that made it
    generation / derived   provenance of complete, LAB, Nemotron / curate, mix
    places   endpoints and paths as a public card may show them
    render   the card's text
    write    writing it atomically; the hooks of the exporting commands
"""

from synthloom.card.model import AssaySummary, DataConfig, Endpoint, Provenance, Step
from synthloom.card.render import size_category
from synthloom.card.write import CardResult, export_card, mix_card, write_card

__all__ = [
    "AssaySummary",
    "CardResult",
    "DataConfig",
    "Endpoint",
    "Provenance",
    "Step",
    "export_card",
    "mix_card",
    "size_category",
    "write_card",
]
