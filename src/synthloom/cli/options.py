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

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

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
    "choice_option",
    "executor_options",
    "finite_float",
    "fraction",
    "non_negative_float",
    "non_negative_int",
    "number_option",
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


def number_option(kind: Number, name: str, help: str, *decls: str) -> Any:
    """A typer option parsed and checked by ``kind`` (INTEGER or FLOAT in help); ``decls``:
    more names for it (``-n``)."""
    metavar = "FLOAT" if kind.kind is float else "INTEGER"
    return typer.Option(name, *decls, parser=kind, metavar=metavar, help=help)


def choice_option(name: str, choice: Choice, help: str) -> Any:
    """A typer option that takes one of ``choice``'s words (``[chat|completions]`` in help)."""
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
    choice_option(
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
    number_option(
        positive_int(),
        "--actors",
        "Ray: actors, or parallel tasks per step (default: the pipeline's, else 2).",
    ),
]
PerActorInFlight = Annotated[
    int | None,
    number_option(
        positive_int(),
        "--per-actor-in-flight",
        "Ray: requests in flight per actor (default: the pipeline's, else 16).",
    ),
]
ShardSize = Annotated[
    int | None,
    number_option(
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

        # The fields are the function's keyword arguments, name for name.
        return apply_executor_flags(settings, **asdict(self))


_R = TypeVar("_R")
# The option each field of ExecutorFlags is given by, declared once above.
_EXECUTOR_OPTIONS: dict[str, Any] = {
    "executor": Executor,
    "ray_address": RayAddress,
    "actors": Actors,
    "per_actor_in_flight": PerActorInFlight,
    "shard_size": ShardSize,
}


def executor_options(*extra: str) -> Callable[[Callable[..., _R]], Callable[..., _R]]:
    """Gives a command the executor options, where its ``flags: ExecutorFlags`` parameter
    stands: ``--executor`` and ``--ray-address`` always, and the ``extra`` ones it takes
    (``"actors"``, ``"per_actor_in_flight"``, ``"shard_size"``); the command gets them as one
    :class:`ExecutorFlags`, so no command declares them or gathers them again.
    """
    names = ("executor", "ray_address", *extra)
    unknown = sorted(set(extra) - set(_EXECUTOR_OPTIONS))
    if unknown:
        raise ValueError(f"no executor option {unknown}; choose from {sorted(_EXECUTOR_OPTIONS)}")

    def decorate(command: Callable[..., _R]) -> Callable[..., _R]:
        shown = inspect.signature(command, eval_str=True)
        if "flags" not in shown.parameters:
            raise TypeError(f"{command.__name__} takes no 'flags: ExecutorFlags' parameter")
        params: list[inspect.Parameter] = []
        for param in shown.parameters.values():
            if param.name != "flags":
                params.append(param)
                continue
            params += [
                inspect.Parameter(
                    name, param.kind, default=None, annotation=_EXECUTOR_OPTIONS[name]
                )
                for name in names
            ]

        @functools.wraps(command)
        def with_flags(*args: Any, **kwargs: Any) -> _R:
            given = {name: kwargs.pop(name, None) for name in names}
            return command(*args, flags=ExecutorFlags(**given), **kwargs)

        # typer reads a command's options from its signature: show it the options, not flags.
        with_flags.__signature__ = shown.replace(parameters=params)  # type: ignore[attr-defined]
        with_flags.__annotations__ = {p.name: p.annotation for p in params}
        return with_flags

    return decorate


# -- models that run here ---------------------------------------------------------------------

# Checked by the library, whose messages name the value and the choices.
Embedder = Annotated[
    str,
    typer.Option(
        "--embedder",
        help="auto | minilm | minilm-bf16 | tfidf: the sentence-embedding model (minilm: "
        "all-MiniLM-L6-v2 in float32; minilm-bf16: the same in bfloat16, faster on CPUs with "
        "native bfloat16; auto: minilm-bf16 on such CPUs, else minilm, else TF-IDF).",
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
Seed = Annotated[int, number_option(non_negative_int(), "--seed", _SEED_HELP)]
#: The seed sent to a teacher; left out, none is sent.
SampleSeed = Annotated[
    int | None,
    number_option(
        non_negative_int(),
        "--seed",
        _SEED_HELP + " Sample k of a prompt is sent seed + k (default: none sent).",
    ),
]
Temperature = Annotated[
    float | None,
    number_option(
        non_negative_float(),
        "--temperature",
        "Sampling temperature: 0 always takes the likeliest token, higher varies more "
        "(default: the server's).",
    ),
]
TopP = Annotated[
    float | None,
    number_option(
        unit_interval(),
        "--top-p",
        "Nucleus sampling: draw from the likeliest tokens that together hold this share "
        "of the probability, 0 to 1 (default: the server's).",
    ),
]
MaxTokens = Annotated[
    int | None,
    number_option(
        positive_int(), "--max-tokens", "Most tokens in one answer (default: the server's)."
    ),
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
    choice_option(
        "--backend",
        Choice("http", "openai"),
        "Client: http (aiohttp, built in) or openai (the official client).",
    ),
]
MaxInFlight = Annotated[
    int, number_option(positive_int(), "--max-in-flight", "Most requests in flight at once.")
]
Rpm = Annotated[
    float | None,
    number_option(positive_float(), "--rpm", "Requests-per-minute limit (default: no limit)."),
]
Tpm = Annotated[
    float | None,
    number_option(positive_float(), "--tpm", "Tokens-per-minute limit (default: no limit)."),
]
ConnectTimeout = Annotated[
    float, number_option(positive_float(), "--connect-timeout", "Seconds to open a connection.")
]
Timeout = Annotated[
    float,
    number_option(positive_float(), "--timeout", "Seconds of silence before one send is given up."),
]
MaxRequestTime = Annotated[
    float,
    number_option(
        positive_float(),
        "--max-request-time",
        "Seconds one request may take, all sends and waits together.",
    ),
]
MaxAttempts = Annotated[
    int, number_option(positive_int(), "--max-attempts", "Sends per request before it fails.")
]
RetryBaseDelay = Annotated[
    float,
    number_option(
        non_negative_float(),
        "--retry-base-delay",
        "Seconds: the ceiling of the first backoff wait.",
    ),
]
RetryMaxDelay = Annotated[
    float,
    number_option(non_negative_float(), "--retry-max-delay", "Seconds: the longest backoff."),
]
