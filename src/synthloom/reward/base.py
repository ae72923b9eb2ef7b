"""The reward-model contract: five HelpSteer2 attributes per response, and the weighted scalar.

Every backend (a NIM-style reward endpoint, a local sequence-classification model, an LLM judge)
implements one method, ``score(conversations) -> list[RewardResult]``: a conversation is the
prompt turns followed by the assistant response being scored. A backend never raises for one bad
item; the item's result carries the reason instead, so one odd response cannot stop a run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from synthloom.errors import ConfigError

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_WEIGHTS",
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
