"""The Nemotron-4 340B synthetic-data recipe on the teacher engine.

    PipelineConfig (YAML) ──PromptGenerator──▶ prompts ──k responses──▶ RewardModel.score
        ──▶ thresholds / best-of-k ──▶ sft/, export/sft.jsonl
        ──▶ highest vs lowest (margin) ──▶ pairs/, export/dpo.jsonl

Families: open QA, writing, closed QA over documents, math, coding, a user's own prompts file;
augmentations: instruction-following constraints (``meta.constraints``), two-turn prompts and
multi-turn dialogues with the teacher playing the user. Lists the teacher returns are parsed by
``parse_list`` without a second call. Prompts are our own Jinja templates in ``templates/``.
"""

from __future__ import annotations

from synthloom.recipes.nemotron.config import PipelineConfig, load_pipeline
from synthloom.recipes.nemotron.constraints import augment, check, check_all, describe
from synthloom.recipes.nemotron.lists import ListParseError, parse_list
from synthloom.recipes.nemotron.pipeline import (
    STAGE,
    make_reward_model,
    run_pipeline,
    run_pipeline_sync,
)
from synthloom.recipes.nemotron.prompts import PromptGenerator, render

__all__ = [
    "STAGE",
    "ListParseError",
    "PipelineConfig",
    "PromptGenerator",
    "augment",
    "check",
    "check_all",
    "describe",
    "load_pipeline",
    "make_reward_model",
    "parse_list",
    "render",
    "run_pipeline",
    "run_pipeline_sync",
]
