"""The settings of a run that change its data, flattened into rows a card can list.

Every key of a recipe's configuration is shown unless it is known to change nothing in the
records (how the server is reached, retries, rate limits, executors, file layout): a setting
added to a recipe later appears on its cards without anyone remembering to list it here.
Values that are places go through :mod:`synthloom.card.places`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from synthloom.card.places import describe_endpoint, is_local_path, shown_path

__all__ = ["SAMPLING_KEYS", "setting_rows", "shown_value"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")

#: Keys that decide how requests travel, never what comes back.
NOT_DATA = frozenset(
    {
        "api_key_env",
        "base_url",
        "base_delay",
        "base_dir",
        "batch_size",
        "connect_timeout",
        "executor",
        "flush_seconds",
        "max_attempts",
        "max_delay",
        "max_in_flight",
        "max_request_time",
        "pii_salt_env",
        "price_per_1k_completion",
        "price_per_1k_prompt",
        "ray_address",
        "actors",
        "requests_per_minute",
        "retry_base_delay",
        "retry_max_delay",
        "rpm",
        "shard_rows",
        "stage",
        "timeout",
        "tokens_per_minute",
        "tpm",
        "use_cache",
    }
)

#: Sampling settings: left unset they still decide the data (the server's default is used),
#: so an unset one is listed as such rather than left out.
SAMPLING_KEYS = frozenset({"temperature", "top_p", "max_tokens", "seed", "stop", "n"})


def _is_place(value: str) -> bool:
    """Whether a setting's value is a path or a URL as a whole, not prose that mentions one."""
    return "\n" not in value and (is_local_path(value) or bool(_URL.match(value)))


def shown_value(value: Any, inside: Path | None = None) -> str:
    """One value as the card prints it; strings that are paths or URLs are made safe."""
    if value is None:
        return "not set (server default)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if _is_place(value) and (is_local_path(value) or value.startswith("file://")):
            return shown_path(value, inside)
        if _is_place(value) and "://" in value:
            return describe_endpoint(value)
        return value  # prose (a system prompt) is shown whole, URLs in it included
    if isinstance(value, (list, tuple)) and all(
        isinstance(v, (str, int, float, bool)) for v in value
    ):
        return ", ".join(shown_value(v, inside) for v in value) if value else "none"
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(_safe(value, inside), ensure_ascii=False, sort_keys=True)
    return str(value)


def _safe(value: Any, inside: Path | None) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): _safe(v, inside)
            for k, v in value.items()
            if v is not None and str(k) not in NOT_DATA
        }
    if isinstance(value, (list, tuple)):
        return [_safe(v, inside) for v in value]
    if isinstance(value, str) and _is_place(value):
        return shown_value(value, inside)
    return value


def _rows(prefix: str, value: Any, inside: Path | None) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping) and value:
        for key in sorted(value, key=str):
            if str(key) in NOT_DATA:
                continue
            yield from _rows(f"{prefix}.{key}" if prefix else str(key), value[key], inside)
        return
    last = prefix.rsplit(".", 1)[-1]
    if value is None and last not in SAMPLING_KEYS:
        return  # an optional part the run did not use
    if isinstance(value, Mapping):
        return  # an empty section
    yield prefix, shown_value(value, inside)


def setting_rows(
    config: Mapping[str, Any], *, skip: frozenset[str] = frozenset(), inside: Path | None = None
) -> list[tuple[str, str]]:
    """``(dotted.name, value)`` for every setting of ``config`` that changes the data;
    ``skip`` names top-level sections shown elsewhere on the card (the teacher)."""
    return list(_rows("", {k: v for k, v in config.items() if k not in skip}, inside))
