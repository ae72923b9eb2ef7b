"""The reward-model contract: five HelpSteer2 attributes per response, and the weighted scalar.

Every backend (a NIM-style reward endpoint, a local sequence-classification model, an LLM judge)
implements one method, ``score(conversations) -> list[RewardResult]``: a conversation is the
prompt turns followed by the assistant response being scored. A backend never raises for one bad
item; the item's result carries the reason instead, so one odd response cannot stop a run.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from synthloom.errors import ConfigError
from synthloom.llm.client import TeacherClient
from synthloom.llm.types import Completion, Request

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_WEIGHTS",
    "ClientReward",
    "Conversation",
    "RewardModel",
    "RewardResult",
    "RewardWeights",
]

#: The HelpSteer2 attributes, in the order Nemotron-4-340B-Reward emits them.
ATTRIBUTES: tuple[str, ...] = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")
#: The published weights for a single scalar from Nemotron-4-340B-Reward's five attributes.
DEFAULT_WEIGHTS: tuple[float, ...] = (0.3, 0.74, 0.46, 0.47, -0.33)

Conversation = Sequence[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class RewardWeights:
    """Weights of the five attributes in the scalar (``DEFAULT_WEIGHTS`` unless given)."""

    weights: tuple[float, ...] = DEFAULT_WEIGHTS

    @classmethod
    def from_value(
        cls, value: Sequence[float] | Mapping[str, float] | None, *, field: str = "weights"
    ) -> RewardWeights:
        """Weights from a list of five numbers or a mapping by attribute name (missing = 0)."""
        if value is None:
            return cls()
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(ATTRIBUTES))
            if unknown:
                raise ConfigError(
                    f"unknown attribute(s) {unknown}; valid: {', '.join(ATTRIBUTES)}", field=field
                )
            return cls(tuple(float(value.get(a, 0.0)) for a in ATTRIBUTES))
        values = tuple(float(v) for v in value)
        if len(values) != len(ATTRIBUTES):
            raise ConfigError(
                f"needs {len(ATTRIBUTES)} weights ({', '.join(ATTRIBUTES)}), got {len(values)}",
                field=field,
            )
        return cls(values)

    def scalar(self, attributes: Mapping[str, float]) -> float:
        """The weighted sum of the attributes."""
        pairs = zip(self.weights, ATTRIBUTES, strict=True)
        return float(sum(w * float(attributes[a]) for w, a in pairs))

    def as_dict(self) -> dict[str, float]:
        return dict(zip(ATTRIBUTES, self.weights, strict=True))


@dataclass(frozen=True, slots=True)
class RewardResult:
    """The scores of one response, or why there are none."""

    attributes: Mapping[str, float] | None = None
    error: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.attributes is not None

    def as_meta(self, weights: RewardWeights) -> dict[str, float]:
        """``{"helpfulness": ..., ..., "verbosity": ..., "scalar": ...}`` for ``meta.reward``."""
        if self.attributes is None:
            raise ValueError(f"no scores: {self.error}")
        out = {a: round(float(self.attributes[a]), 6) for a in ATTRIBUTES}
        out["scalar"] = round(weights.scalar(self.attributes), 6)
        return out


class RewardModel(ABC):
    """Scores responses on the five HelpSteer2 attributes."""

    #: Short name recorded in each record's meta.
    name: str = "reward"

    @abstractmethod
    async def score(self, conversations: Sequence[Conversation]) -> list[RewardResult]:
        """One result per conversation (prompt turns + the assistant response), in order."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or models."""

    def describe(self) -> dict[str, str]:
        """What run.json records about the backend (never secrets)."""
        return {"backend": self.name}


class ClientReward(RewardModel):
    """A reward model reached through a teacher client (a reward endpoint, an LLM judge): one
    request per conversation, its answer parsed into the five attributes, so the client's cache,
    retries, rate limits and accounting apply to scoring as to generation.

    A subclass says how a conversation becomes a request (:meth:`request`) and how an answer
    becomes scores (:meth:`parse_scores`, raising ValueError for an answer to ask again).
    """

    def __init__(self, client: TeacherClient, *, model: str, max_parse_attempts: int = 1) -> None:
        self.client = client
        self.model = model
        self.max_parse_attempts = max_parse_attempts

    @abstractmethod
    def request(self, conversation: Conversation) -> Request:
        """The request that scores ``conversation``."""

    @abstractmethod
    def parse_scores(self, completion: Completion, request: Request) -> dict[str, float]:
        """The five attributes in ``completion``; ValueError says what is wrong with it."""

    async def score(self, conversations: Sequence[Conversation]) -> list[RewardResult]:
        async def one(conversation: Conversation) -> RewardResult:
            result = await self.client.run(
                self.request(conversation),
                parse=self.parse_scores,
                max_parse_attempts=self.max_parse_attempts,
            )
            if result.status != "ok" or result.parsed is None:
                return RewardResult(error=result.error or "no scores")
            assert result.completion is not None
            return RewardResult(attributes=result.parsed, cached=result.completion.cached)

        return list(await asyncio.gather(*(one(c) for c in conversations)))

    async def aclose(self) -> None:
        await self.client.aclose()

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model}
