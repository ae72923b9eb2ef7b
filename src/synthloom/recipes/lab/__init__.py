"""LAB (Large-scale Alignment for chatBots): taxonomy-guided synthetic data generation.

    load_pipeline(path) -> PipelineConfig          plan_leaf(leaf, config, chunks=...)
    generate(taxonomy, config, out) / generate_sync(...)   -> run.json entry of stage "lab"
    load_mix(path) -> MixConfig                     mix(config, out_dir, base_dir=..., run=...)

Recipes (freeform skill, grounded skill, knowledge) live in ``recipes.py``; their prompts are the
Jinja templates in ``prompts/``; documents are chunked by ``chunking.py``.
"""

from __future__ import annotations

from synthloom.recipes.lab.chunking import Chunk, chunk_markdown, document_text
from synthloom.recipes.lab.config import (
    MixConfig,
    PipelineConfig,
    load_mix,
    load_pipeline,
    settings_for,
)
from synthloom.recipes.lab.generate import STAGE, generate, generate_sync, leaf_chunks
from synthloom.recipes.lab.mix import PHASES, dataset_path, mix, seed_records
from synthloom.recipes.lab.plan import plan_leaf

__all__ = [
    "PHASES",
    "STAGE",
    "Chunk",
    "MixConfig",
    "PipelineConfig",
    "chunk_markdown",
    "dataset_path",
    "document_text",
    "generate",
    "generate_sync",
    "leaf_chunks",
    "load_mix",
    "load_pipeline",
    "mix",
    "plan_leaf",
    "seed_records",
    "settings_for",
]
