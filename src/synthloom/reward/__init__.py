"""Reward models: five HelpSteer2 attributes (0-4) per response and a weighted scalar.

    RewardModel.score(conversations) -> [RewardResult]      one contract, three backends
    ├── NIMReward             a reward endpoint in NVIDIA NIM's format (scores as logprobs)
    ├── LocalClassifierReward a transformers sequence-classification model from a folder
    └── JudgeReward           an LLM judge with a rubric, answering JSON

``RewardWeights`` turns the attributes into one scalar (Nemotron-4-340B-Reward's published
weights by default). Filtering, best-of-k and preference pairs live in ``synthloom.reward.select``.
"""

from __future__ import annotations

from synthloom.reward.base import (
    ATTRIBUTES,
    DEFAULT_WEIGHTS,
    ClientReward,
    Conversation,
    RewardModel,
    RewardResult,
    RewardWeights,
)
from synthloom.reward.judge import JudgeReward, parse_judge_answer
from synthloom.reward.local import LocalClassifierReward
from synthloom.reward.nim import (
    NIMReward,
    NIMRewardBackend,
    parse_attribute_text,
    scores_from_nim_body,
)

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_WEIGHTS",
    "ClientReward",
    "Conversation",
    "JudgeReward",
    "LocalClassifierReward",
    "NIMReward",
    "NIMRewardBackend",
    "RewardModel",
    "RewardResult",
    "RewardWeights",
    "parse_attribute_text",
    "parse_judge_answer",
    "scores_from_nim_body",
]
