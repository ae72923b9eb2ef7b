"""Checked value parsers for the options of every command.

A number option is declared with one of the parsers below (``parser=positive_int(),
metavar="INTEGER"``), so a bad value (``--rpm -10``, ``--temperature nan``) is a usage error:
one line naming the command and the option, exit 2, before the command does anything.
Every float must be finite: ``nan`` and ``inf`` parse as floats in Python but are never a
meaningful setting, and a NaN would be written into request bodies as invalid JSON.
A closed set of words (``--executor local|ray``) is declared with :class:`Choice`.

Below the parsers, the options more than one command takes (or that a teacher takes), each
defined once as an ``Annotated`` type with its name, help text, metavar and validation, so
that ``--executor`` or ``--seed`` read and behave the same in every command. A command gives
the default in its signature (``quiet: Quiet = False``); an option whose default comes from a
pipeline YAML defaults to None (not given) and says so in its help.

Lists are given by repeating the flag (``--private a.txt --private b.txt``); options that
took a comma list before (``--dedup exact,minhash``, ``--mode replace,accumulate``) take one
still, in each value (:func:`split_list`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = [
    "Actors",
    "ApiKeyEnv",
    "Backend",
    "BaseUrl",
    "BaseUrlOverride",
    "Choice",
    "ConnectTimeout",
    "Embedder",
    "Executor",
    "ExecutorFlags",
    "Kinds",
    "MaxAttempts",
    "MaxInFlight",
    "MaxRequestTime",
    "MaxTokens",
    "Model",
    "ModelOverride",
    "Ner",
    "Number",
    "Out",
    "PerActorInFlight",
    "Quiet",
    "RayAddress",
    "RetryBaseDelay",
    "RetryMaxDelay",
    "Rpm",
    "RunOut",
    "SampleSeed",
    "Seed",
    "Sensitive",
    "ShardSize",
    "Stop",
    "Temperature",
    "Timeout",
    "TopP",
    "Tpm",
    "finite_float",
    "fraction",
    "non_negative_float",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "split_list",
    "unit_interval",
]


class Choice:
    """Parses one of a few words (``local | ray``); anything else is a usage error.

    ``metavar`` is how help shows the choices: ``[local|ray]``.
    """

    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.metavar = "[" + "|".join(choices) + "]"

    def __call__(self, value: Any) -> str:
        text = str(value).strip()
        if text not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(self.choices)}")
        return text


class Number:
    """Parses an int or a finite float within optional bounds (open or closed at each end).

    A ``ValueError`` from the parser becomes typer's "Invalid value for '--OPTION'" error.
    """

    def __init__(
        self,
        kind: type[int] | type[float],
        *,
        low: float | None = None,
        low_open: bool = False,
        high: float | None = None,
        high_open: bool = False,
    ) -> None:
        self.kind = kind
        self.low, self.low_open, self.high, self.high_open = low, low_open, high, high_open

    def describe(self) -> str:
        """The accepted range in words, for messages and help."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        finite = "a finite number" if self.kind is float else "a whole number"
        return finite + (f" {' and '.join(parts)}" if parts else "")

    def __call__(self, value: Any) -> int | float:
        if isinstance(value, self.kind) and not isinstance(value, bool):
            number: int | float = value
        else:
            try:
                number = self.kind(str(value).strip())
            except ValueError:
                raise ValueError(f"{value!r} is not {self.describe()}") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"{value!r} is not {self.describe()}")
        too_low = self.low is not None and (
            number <= self.low if self.low_open else number < self.low
        )
        too_high = self.high is not None and (
            number >= self.high if self.high_open else number > self.high
        )
        if too_low or too_high:
            raise ValueError(f"{value!r} is not {self.describe()}")
        return number


def positive_int() -> Number:
    """1, 2, 3, ...: counts, sizes, attempts."""
    return Number(int, low=1)


def non_negative_int() -> Number:
    """0, 1, 2, ...: seeds and counts where none is meaningful."""
    return Number(int, low=0)


def finite_float() -> Number:
    """Any finite float."""
    return Number(float)


def positive_float() -> Number:
    """A finite float > 0: rates and limits, where 0 would mean nothing can run."""
    return Number(float, low=0, low_open=True)


def non_negative_float() -> Number:
    """A finite float >= 0: delays and prices, where 0 is meaningful."""
    return Number(float, low=0)


def unit_interval() -> Number:
    """A finite float in [0, 1]: top-p."""
    return Number(float, low=0, high=1)


def fraction() -> Number:
    """A finite float in (0, 1]: similarity thresholds."""
    return Number(float, low=0, low_open=True, high=1)


def split_list(values: list[str] | None) -> list[str]:
    """The values of a repeatable option, each of which may also be a comma list."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _number(kind: Number, name: str, help: str, *decls: str) -> Any:
    """A typer option parsed and checked by ``kind`` (INTEGER or FLOAT in help)."""
    metavar = "FLOAT" if kind.kind is float else "INTEGER"
    return typer.Option(name, *decls, parser=kind, metavar=metavar, help=help)


def _choice(name: str, choice: Choice, help: str) -> Any:
    return typer.Option(name, parser=choice, metavar=choice.metavar, help=help)


# -- where the results go ----------------------------------------------------------------------

#: A local output folder (assay, curate, mix, collapse).
Out = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        metavar="DIR",
        help="Output folder (created if missing; refused if it is a file).",
    ),
]
#: A run directory, which may be an object store on Ray (complete, generate, nemotron).
RunOut = Annotated[
    str,
    typer.Option(
        "--out",
        "-o",
        metavar="DIR",
        help="Run directory (run the same command again to resume); with --executor ray "
        "also an object store through fsspec, such as s3://bucket/runs/x.",
    ),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print only errors and the command's result (no progress bar, table or Ray "
        "info lines).",
    ),
]

# -- where the work runs -----------------------------------------------------------------------

Executor = Annotated[
    str | None,
    _choice(
        "--executor",
        Choice("local", "ray"),
        "Where the work runs: local (this process) or ray (a Ray cluster; see docs/ray.md). "
        "Default: the pipeline's executor, else local.",
    ),
]
RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        metavar="ADDRESS",
        help="Ray cluster to join, e.g. head:6379 (default: the pipeline's, else "
        "RAY_ADDRESS, else a local Ray).",
    ),
]
Actors = Annotated[
    int | None,
    _number(
        positive_int(),
        "--actors",
        "Ray: actors, or parallel tasks per step (default: the pipeline's, else 2).",
    ),
]
PerActorInFlight = Annotated[
    int | None,
    _number(
        positive_int(),
        "--per-actor-in-flight",
        "Ray: requests in flight per actor (default: the pipeline's, else 16).",
    ),
]
ShardSize = Annotated[
    int | None,
    _number(
        positive_int(),
        "--shard-size",
        "Ray: prompts per shard, the unit of retry and resume (default: the pipeline's, "
        "else 100; complete: 1000).",
    ),
]


@dataclass(frozen=True)
class ExecutorFlags:
    """The executor options as given on the command line (None: not given)."""

    executor: str | None = None
    ray_address: str | None = None
    actors: int | None = None
    per_actor_in_flight: int | None = None
    shard_size: int | None = None

    @property
    def on_ray(self) -> bool:
        return self.executor == "ray"

    def over(self, settings: Any) -> Any:
        """``settings`` (a pipeline's ``ExecutorSettings``) with the flags that were given."""
        # Imported here: pydantic's models cost a third of a second, which --help need not pay.
        from synthloom.recipes.executor import apply_executor_flags

        return apply_executor_flags(
            settings,
            executor=self.executor,
            ray_address=self.ray_address,
            actors=self.actors,
            per_actor_in_flight=self.per_actor_in_flight,
            shard_size=self.shard_size,
        )


# -- models that run here ---------------------------------------------------------------------

# Checked by the library, whose messages name the value and the choices.
Embedder = Annotated[
    str,
    typer.Option(
        "--embedder",
        help="auto | minilm | tfidf: the sentence-embedding model (auto: MiniLM when "
        "installed, else TF-IDF).",
    ),
]
Ner = Annotated[
    str,
    typer.Option(
        "--ner",
        help="auto | on | off: find person names and locations with an NER model "
        "(Presidio, the pii extra; auto: when installed).",
    ),
]

# -- the real table's columns (assay, synthesize) -----------------------------------------------

Kinds = Annotated[
    Path | None,
    typer.Option(
        "--kinds",
        help="YAML/JSON mapping column -> kind (numerical, datetime, categorical, "
        "boolean, id) to override the kinds detected from the real (reference) table.",
    ),
]
Sensitive = Annotated[
    list[str] | None,
    typer.Option(
        "--sensitive",
        metavar="COLUMN",
        help="Table column whose categories must be represented; repeat the flag for several.",
    ),
]

# -- seeds and sampling ------------------------------------------------------------------------

_SEED_HELP = "Seed: the same seed and input give the same result."
#: The seed of every random step of a command that samples locally.
Seed = Annotated[int, _number(non_negative_int(), "--seed", _SEED_HELP)]
#: The seed sent to a teacher; left out, none is sent.
SampleSeed = Annotated[
    int | None,
    _number(
        non_negative_int(),
        "--seed",
        _SEED_HELP + " Sample k of a prompt is sent seed + k (default: none sent).",
    ),
]
Temperature = Annotated[
    float | None,
    _number(
        non_negative_float(),
        "--temperature",
        "Sampling temperature: 0 always takes the likeliest token, higher varies more "
        "(default: the server's).",
    ),
]
TopP = Annotated[
    float | None,
    _number(
        unit_interval(),
        "--top-p",
        "Nucleus sampling: draw from the likeliest tokens that together hold this share "
        "of the probability, 0 to 1 (default: the server's).",
    ),
]
MaxTokens = Annotated[
    int | None,
    _number(positive_int(), "--max-tokens", "Most tokens in one answer (default: the server's)."),
]
Stop = Annotated[
    list[str] | None,
    typer.Option("--stop", help="Stop sequence; repeat the flag for several."),
]

# -- the teacher -------------------------------------------------------------------------------

_BASE_URL_HELP = "OpenAI-compatible API root, e.g. http://localhost:8000/v1."
_MODEL_HELP = "Model name the server knows."
#: Required where no pipeline gives it (complete).
BaseUrl = Annotated[str, typer.Option("--base-url", metavar="URL", help=_BASE_URL_HELP)]
Model = Annotated[str, typer.Option("--model", help=_MODEL_HELP)]
#: Overrides of a pipeline's ``teacher:`` section (generate).
BaseUrlOverride = Annotated[
    str | None,
    typer.Option("--base-url", metavar="URL", help=_BASE_URL_HELP + " Overrides the pipeline's."),
]
ModelOverride = Annotated[
    str | None, typer.Option("--model", help=_MODEL_HELP + " Overrides the pipeline's.")
]
ApiKeyEnv = Annotated[
    str,
    typer.Option(
        "--api-key-env",
        metavar="NAME",
        help="Environment variable holding the API key (the key itself is never written).",
    ),
]
Backend = Annotated[
    str,
    _choice(
        "--backend",
        Choice("http", "openai"),
        "Client: http (aiohttp, built in) or openai (the official client).",
    ),
]
MaxInFlight = Annotated[
    int, _number(positive_int(), "--max-in-flight", "Most requests in flight at once.")
]
Rpm = Annotated[
    float | None,
    _number(positive_float(), "--rpm", "Requests-per-minute limit (default: no limit)."),
]
Tpm = Annotated[
    float | None,
    _number(positive_float(), "--tpm", "Tokens-per-minute limit (default: no limit)."),
]
ConnectTimeout = Annotated[
    float, _number(positive_float(), "--connect-timeout", "Seconds to open a connection.")
]
Timeout = Annotated[
    float,
    _number(positive_float(), "--timeout", "Seconds of silence before one send is given up."),
]
MaxRequestTime = Annotated[
    float,
    _number(
        positive_float(),
        "--max-request-time",
        "Seconds one request may take, all sends and waits together.",
    ),
]
MaxAttempts = Annotated[
    int, _number(positive_int(), "--max-attempts", "Sends per request before it fails.")
]
RetryBaseDelay = Annotated[
    float,
    _number(
        non_negative_float(),
        "--retry-base-delay",
        "Seconds: the ceiling of the first backoff wait.",
    ),
]
RetryMaxDelay = Annotated[
    float,
    _number(non_negative_float(), "--retry-max-delay", "Seconds: the longest backoff."),
]
