"""Token, request and cost accounting for a stage: what was sent, what came from the cache."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["Accounting"]


@dataclass(slots=True)
class Accounting:
    """Counters one client (or one stage) accumulates; ``to_dict`` is what run.json stores.

    Tokens come from the servers' ``usage``; ``prompt_tokens``/``completion_tokens`` count
    answers received from the server in this run, the ``cached_*`` ones answers replayed from
    the cache (which cost nothing now). Cost is only computed when a price is given.
    """

    requests: int = 0  # HTTP requests sent, retries included
    responses: int = 0  # usable answers received from the server
    retries: int = 0
    cache_hits: int = 0
    ok: int = 0  # items that produced a result
    failures: int = 0  # items given up after retries / refused by the server
    rejects: int = 0  # items whose answers never passed the parse hook
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0

    def cost(
        self, price_per_1k_prompt: float | None, price_per_1k_completion: float | None
    ) -> float | None:
        """Estimated spend for the tokens received from the server (None without prices)."""
        if price_per_1k_prompt is None and price_per_1k_completion is None:
            return None
        return (
            self.prompt_tokens * (price_per_1k_prompt or 0.0)
            + self.completion_tokens * (price_per_1k_completion or 0.0)
        ) / 1000.0

    def add(self, other: Accounting) -> Accounting:
        """A new Accounting with both sets of counters summed."""
        return Accounting(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    def to_dict(
        self,
        price_per_1k_prompt: float | None = None,
        price_per_1k_completion: float | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = asdict(self)
        out["total_tokens"] = self.prompt_tokens + self.completion_tokens
        out["cost"] = self.cost(price_per_1k_prompt, price_per_1k_completion)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Accounting:
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in data.items() if k in names})
