"""The generational loop: train on real data, sample, train on samples, ... and measure each step.

Generation 0 is trained on the real training split. Generation g+1 is trained on data made from
generation g's samples, as the mode says:

* ``replace``: only the newest N samples (Shumailov et al., 2024);
* ``mix:<f>``: the newest N samples plus a fresh random f share of the real training data;
* ``accumulate``: all real training data plus every sample drawn so far (Gerstgrasser et al.,
  2024).

Generation 0 is the same for every mode, so it is trained once. Every random step draws from a
numpy ``Generator`` seeded with ``(seed, generation, purpose)``: a run is reproducible from its
seed, and all modes see the same random numbers at the same step, so their curves differ by the
mode and not by luck.

A run repeats all of that for ``seeds`` consecutive seeds (``seed``, ``seed + 1``, ...), each
with its own held-out split, so that seed ``s`` of a run is exactly the one-seed run ``--seed s
--seeds 1``; ``summary`` turns the seeds into a mean, a band and a verdict. Generations, samples
and seeds default per family (``FAMILY_DEFAULTS``) to sizes at which ``replace`` ends beyond
seed noise from ``accumulate`` on the default corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from synthloom.collapse.data import LoadedData, RealData, read_real_data
from synthloom.collapse.metrics import (
    DEFAULT_IMPOSSIBLE_BELOW,
    METRICS,
    MetricInfo,
    numeric_metrics,
    perplexity,
    reference_rare_ngrams,
    text_sample_metrics,
)
from synthloom.collapse.ngram import Vocabulary, fit_kneser_ney
from synthloom.collapse.numeric import NumericModel, fit_gaussian, fit_gmm
from synthloom.collapse.summary import BAND, Verdict, summarise, verdicts
from synthloom.errors import ConfigError, DataFormatError

__all__ = [
    "FAMILIES",
    "FAMILY_DEFAULTS",
    "CollapseOptions",
    "CollapseResult",
    "FamilyDefaults",
    "Mode",
    "Plan",
    "Progress",
    "parse_mode",
    "run_collapse",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: family name -> the kind of data it models.
FAMILIES: dict[str, Literal["text", "numeric"]] = {
    "gaussian": "numeric",
    "gmm": "numeric",
    "ngram": "text",
    "lstm": "text",
}


@dataclass(frozen=True)
class FamilyDefaults:
    """What a family runs when the user names no size (how each was chosen: docs/collapse.md)."""

    generations: int
    samples: int
    seeds: int


FAMILY_DEFAULTS: dict[str, FamilyDefaults] = {
    "gaussian": FamilyDefaults(generations=30, samples=10, seeds=5),
    "gmm": FamilyDefaults(generations=30, samples=10, seeds=5),
    "ngram": FamilyDefaults(generations=30, samples=1000, seeds=5),
    # A generation trains a network on the CPU: few of them, on few samples.
    "lstm": FamilyDefaults(generations=5, samples=500, seeds=3),
}
_MAX_SEEDS = 1000
_MODE_HELP = "use replace, mix:<fraction> (for example mix:0.1) or accumulate"
# Too little text for an order-n model: fewer training tokens than this many per order.
_MIN_TOKENS_PER_ORDER = 100
_MIN_NUMERIC_ROWS = 10
# Purposes of the per-step random streams.
_SAMPLE, _MIX, _EVAL, _FIT, _REFERENCE = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Mode:
    """A parsed mode: ``kind`` is replace / mix / accumulate; ``fraction`` is mix's real share."""

    name: str
    kind: Literal["replace", "mix", "accumulate"]
    fraction: float = 0.0


def parse_mode(text: str) -> Mode:
    """Parse ``replace``, ``accumulate`` or ``mix:<fraction>`` (0 < fraction <= 1)."""
    name = text.strip().lower()
    if name in ("replace", "accumulate"):
        return Mode(name=name, kind="replace" if name == "replace" else "accumulate")
    match = re.fullmatch(r"mix:([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)", name)
    if match:
        fraction = float(match.group(1))
        if not 0.0 < fraction <= 1.0:
            raise ConfigError(f"mix fraction must be in (0, 1], got {fraction:g}", field="mode")
        return Mode(name=f"mix:{fraction:g}", kind="mix", fraction=fraction)
    raise ConfigError(f"unknown mode '{text}'; {_MODE_HELP}", field="mode")


@dataclass(frozen=True, kw_only=True)
class CollapseOptions:
    """Everything that defines a collapse run (the CLI's options, one to one).

    ``generations``, ``samples`` and ``seeds`` left as None take the family's
    ``FAMILY_DEFAULTS``; :meth:`validate` gives the resolved plan.
    """

    data: Path | None = None
    family: str = "ngram"
    generations: int | None = None
    modes: tuple[str, ...] = ("replace", "accumulate")
    samples: int | None = None
    seed: int = 0
    seeds: int | None = None
    order: int = 3
    temperature: float = 1.0
    components: int = 3
    columns: tuple[str, ...] = ()
    text_column: str | None = None
    holdout: float = 0.1
    impossible_below: float = DEFAULT_IMPOSSIBLE_BELOW
    eval_samples: int = 5_000
    max_length: int = 64
    lstm_epochs: int = 3

    def validate(self) -> Plan:
        """Check the options a user can get wrong; return the resolved plan."""
        if self.family not in FAMILIES:
            raise ConfigError(
                f"unknown family '{self.family}'; use one of {', '.join(FAMILIES)}",
                field="family",
            )
        defaults = FAMILY_DEFAULTS[self.family]
        generations = defaults.generations if self.generations is None else self.generations
        samples = defaults.samples if self.samples is None else self.samples
        seeds = defaults.seeds if self.seeds is None else self.seeds
        if generations < 1:
            raise ConfigError(
                f"--generations must be at least 1, got {generations}", field="generations"
            )
        if self.seed < 0:
            raise ConfigError(f"--seed must be 0 or more, got {self.seed}", field="seed")
        if not 1 <= seeds <= _MAX_SEEDS:
            raise ConfigError(
                f"--seeds must be between 1 and {_MAX_SEEDS}, got {seeds}", field="seeds"
            )
        if samples < 1:
            raise ConfigError(f"--samples must be at least 1, got {samples}", field="samples")
        if not self.modes:
            raise ConfigError(f"give at least one --mode; {_MODE_HELP}", field="mode")
        modes = [parse_mode(m) for m in self.modes]
        names = [m.name for m in modes]
        if len(set(names)) != len(names):
            raise ConfigError(f"a mode is given twice: {', '.join(names)}", field="mode")
        if self.temperature <= 0:
            raise ConfigError(
                f"--temperature must be positive, got {self.temperature:g}", field="temperature"
            )
        if not 0.0 < self.holdout < 1.0:
            raise ConfigError(f"--holdout must be in (0, 1), got {self.holdout:g}", field="holdout")
        if self.order < 1 or self.order > 5:
            raise ConfigError(f"--order must be between 1 and 5, got {self.order}", field="order")
        if self.eval_samples < 100:
            raise ConfigError("eval_samples must be at least 100", field="eval_samples")
        if self.max_length < 1:
            raise ConfigError("max_length must be at least 1", field="max_length")
        return Plan(
            modes=tuple(modes),
            generations=generations,
            samples=samples,
            seeds=tuple(range(self.seed, self.seed + seeds)),
        )


@dataclass(frozen=True)
class Plan:
    """The options resolved: parsed modes, sizes with the family's defaults, the seeds to run."""

    modes: tuple[Mode, ...]
    generations: int
    samples: int
    seeds: tuple[int, ...]


#: One seed's curves: mode -> one row of metric values per generation.
Curves = dict[str, list[dict[str, float]]]


@dataclass
class CollapseResult:
    """The outcome of a run: per seed and mode, one dict of metric values per generation.

    ``runs[seed][mode][g]`` holds ``{"generation": g, "train_size": ..., <metric>: value, ...}``;
    ``curves[mode][g]`` holds, per metric, its mean, band (``low``, ``high``) and ``per_seed``
    values over the seeds (:func:`synthloom.collapse.summary.summarise`).
    """

    config: dict[str, Any]
    data: dict[str, Any]
    metrics: dict[str, MetricInfo]
    runs: dict[int, Curves]
    verdicts: list[Verdict]
    curves: dict[str, list[dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        self.curves = summarise(self.runs, list(self.metrics))

    @property
    def seeds(self) -> list[int]:
        return list(self.runs)

    def series(self, mode: str, metric: str) -> list[float]:
        """One metric's mean over the seeds, per generation of one mode."""
        return [float(row[metric]["mean"]) for row in self.curves[mode]]

    def band(self, mode: str, metric: str) -> tuple[list[float], list[float]]:
        """One metric's lowest and highest seed, per generation of one mode."""
        rows = self.curves[mode]
        return [float(r[metric]["low"]) for r in rows], [float(r[metric]["high"]) for r in rows]

    def seed_series(self, seed: int, mode: str, metric: str) -> list[float]:
        """One metric over the generations of one mode for one seed."""
        return [row[metric] for row in self.runs[seed][mode]]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document written to metrics.json."""
        return {
            "schema": "synthloom.collapse/2",
            "config": self.config,
            "data": self.data,
            "metrics": {name: asdict(info) for name, info in self.metrics.items()},
            "seeds": self.seeds,
            "band": BAND,
            "verdict": [asdict(v) for v in self.verdicts],
            "curves": self.curves,
        }


def _rng(seed: int, generation: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, generation, purpose])


def _config_dict(options: CollapseOptions, plan: Plan) -> dict[str, Any]:
    config = asdict(options)
    config["data"] = str(options.data) if options.data is not None else None
    config["modes"] = [m.name for m in plan.modes]
    config["columns"] = list(options.columns)
    config["generations"] = plan.generations
    config["samples"] = plan.samples
    config["seeds"] = len(plan.seeds)
    return config


@dataclass(frozen=True)
class _Step:
    """What one seed's loop needs besides the data: its seed and the resolved plan."""

    options: CollapseOptions
    plan: Plan
    seed: int
    on_generation: Callable[[int, str, int], None]

    def rng(self, generation: int, purpose: int) -> np.random.Generator:
        return _rng(self.seed, generation, purpose)

    def progress(self, mode: str, generation: int) -> None:
        self.on_generation(self.seed, mode, generation)


# ------------------------------------------------------------------------------ numeric families


def _run_numeric(step: _Step, real: RealData) -> Curves:
    options, plan = step.options, step.plan
    if real.train_values.shape[0] < _MIN_NUMERIC_ROWS or real.holdout_values.shape[0] < 2:
        raise DataFormatError(
            f"too little data: {real.train_values.shape[0]} training rows, need at least "
            f"{_MIN_NUMERIC_ROWS} (and 2 held out)",
            path=real.source,
        )
    # Standardise by the real training data, so drift and variance read in real SDs.
    centre = real.train_values.mean(axis=0)
    scale = real.train_values.std(axis=0)
    if np.any(scale == 0):
        constant = [n for n, s in zip(real.feature_names, scale, strict=True) if s == 0]
        raise DataFormatError(
            f"feature(s) {', '.join(constant)} are constant; keep only the others with --column",
            path=real.source,
        )
    train = (real.train_values - centre) / scale
    holdout = (real.holdout_values - centre) / scale
    all_real = np.concatenate([train, holdout])

    def fit(x: FloatArray, generation: int) -> NumericModel:
        if options.family == "gaussian":
            return fit_gaussian(x)
        fit_seed = int(step.rng(generation, _FIT).integers(2**31 - 1))
        return fit_gmm(x, components=options.components, seed=fit_seed)

    reference = fit(all_real, 0)
    reference_draws = reference.sample(options.eval_samples, step.rng(0, _REFERENCE))

    def measure(model: NumericModel, generation: int, train_size: int) -> dict[str, float]:
        row = {"generation": float(generation), "train_size": float(train_size)}
        eval_draws = model.sample(options.eval_samples, step.rng(generation, _EVAL))
        row.update(
            numeric_metrics(
                model,
                eval_samples=eval_draws,
                holdout=holdout,
                all_real=all_real,
                reference=reference,
                reference_draws=reference_draws,
            )
        )
        return row

    first = fit(train, 0)
    first_row = measure(first, 0, train.shape[0])
    first_samples = first.sample(plan.samples, step.rng(0, _SAMPLE))
    curves: Curves = {}
    for mode in plan.modes:
        rows = [first_row]
        step.progress(mode.name, 0)
        samples, pool = first_samples, [first_samples]
        for g in range(1, plan.generations + 1):
            if mode.kind == "replace":
                data = samples
            elif mode.kind == "mix":
                take = max(1, round(mode.fraction * train.shape[0]))
                pick = step.rng(g, _MIX).choice(train.shape[0], size=take, replace=False)
                data = np.concatenate([samples, train[pick]])
            else:
                data = np.concatenate([train, *pool])
            model = fit(data, g)
            rows.append(measure(model, g, data.shape[0]))
            step.progress(mode.name, g)
            samples = model.sample(plan.samples, step.rng(g, _SAMPLE))
            pool.append(samples)
        curves[mode.name] = rows
    return curves


# ------------------------------------------------------------------------------ language models


class _LanguageModel(Protocol):
    """What the loop needs from an n-gram or LSTM model."""

    def token_log_probs(self, sentences: Sequence[IntArray]) -> FloatArray: ...

    def sample(
        self, n: int, rng: np.random.Generator, *, temperature: float = 1.0, max_length: int = 64
    ) -> list[IntArray]: ...


def _run_text(step: _Step, real: RealData) -> Curves:
    options, plan = step.options, step.plan
    n = options.order
    train_tokens = sum(len(s) for s in real.train_sentences)
    need = _MIN_TOKENS_PER_ORDER * n
    if train_tokens < need or len(real.holdout_sentences) < 2:
        raise DataFormatError(
            f"too little text for n={n}: {train_tokens} training tokens and "
            f"{len(real.holdout_sentences)} held-out sentences, need at least {need} tokens and 2 "
            "sentences; give more text or a lower --order",
            path=real.source,
        )
    # The LSTM's softmax costs time per vocabulary word: words seen once become <unk> for it.
    vocab = Vocabulary.from_sentences(
        real.train_sentences, min_count=2 if options.family == "lstm" else 1
    )
    train = [vocab.encode(s) for s in real.train_sentences]
    holdout = [vocab.encode(s) for s in real.holdout_sentences]
    train_texts = [" ".join(s) for s in real.train_sentences]
    rare = reference_rare_ngrams(train_texts, n)
    log_floor = float(np.log(options.impossible_below))

    def fit(data: Sequence[IntArray], generation: int) -> _LanguageModel:
        if options.family == "ngram":
            return fit_kneser_ney(data, order=n, vocab_size=len(vocab))
        from synthloom.collapse.neural import fit_lstm

        fit_seed = int(step.rng(generation, _FIT).integers(2**31 - 1))
        return fit_lstm(
            data,
            vocab_size=len(vocab),
            seed=fit_seed,
            epochs=options.lstm_epochs,
            max_length=options.max_length,
        )

    def draw(model: _LanguageModel, generation: int) -> list[IntArray]:
        return model.sample(
            plan.samples,
            step.rng(generation, _SAMPLE),
            temperature=options.temperature,
            max_length=options.max_length,
        )

    def measure(
        model: _LanguageModel, samples: Sequence[IntArray], generation: int, train_size: int
    ) -> dict[str, float]:
        log_probs = model.token_log_probs(holdout)
        row = {
            "generation": float(generation),
            "train_size": float(train_size),
            "perplexity": perplexity(log_probs),
            "tail_loss": float(np.mean(log_probs < log_floor)),
        }
        row.update(text_sample_metrics([vocab.decode(s) for s in samples], rare, n))
        return row

    first = fit(train, 0)
    first_samples = draw(first, 0)
    first_row = measure(first, first_samples, 0, len(train))
    curves: Curves = {}
    for mode in plan.modes:
        rows = [first_row]
        step.progress(mode.name, 0)
        samples, pool = first_samples, list(first_samples)
        for g in range(1, plan.generations + 1):
            if mode.kind == "replace":
                data = list(samples)
            elif mode.kind == "mix":
                take = max(1, round(mode.fraction * len(train)))
                pick = step.rng(g, _MIX).choice(len(train), size=take, replace=False)
                data = list(samples) + [train[i] for i in pick]
            else:
                data = train + pool
            if not any(len(s) for s in data):
                raise DataFormatError(
                    f"generation {g} of mode {mode.name} sampled only empty sentences; "
                    "raise --samples or --temperature",
                    path=real.source,
                )
            model = fit(data, g)
            samples = draw(model, g)
            rows.append(measure(model, samples, g, len(data)))
            step.progress(mode.name, g)
            pool.extend(samples)
        curves[mode.name] = rows
    return curves


# ------------------------------------------------------------------------------ entry point

#: ``on_generation(seed, mode, g)``: called after each generation is measured.
Progress = Callable[[int, str, int], None]


def _no_progress(seed: int, mode: str, generation: int) -> None:
    return None


def run_collapse(
    options: CollapseOptions, *, on_generation: Progress | None = None
) -> CollapseResult:
    """Run every mode for every seed of the plan and collect the metrics, bands and verdicts.

    ``on_generation(seed, mode, g)`` is called after each generation is measured (for progress
    bars). Raises ``ConfigError`` for bad options and ``DataFormatError`` for unusable data.
    """
    plan = options.validate()
    kind = FAMILIES[options.family]
    if options.family == "lstm":
        from synthloom.collapse.neural import require_torch

        require_torch()  # fail before any work when the extra is missing
    loaded: LoadedData = read_real_data(
        options.data, kind, columns=options.columns, text_column=options.text_column
    )
    runs: dict[int, Curves] = {}
    described: dict[str, Any] = {}
    for seed in plan.seeds:
        real = loaded.split(holdout=options.holdout, seed=seed)
        # Every seed's split has the same sizes; the first describes them all.
        described = described or real.describe()
        step = _Step(options, plan, seed, on_generation or _no_progress)
        if kind == "numeric":
            # Hundreds of fits and densities over a few features: BLAS threads only wait for
            # each other there (on a busy 2-core machine one 2x2 triangular solve took up to
            # 14 ms with two threads, 0.02 ms alone).
            with threadpool_limits(limits=1):
                runs[seed] = _run_numeric(step, real)
        else:
            runs[seed] = _run_text(step, real)
    return CollapseResult(
        config=_config_dict(options, plan),
        data=described,
        metrics=dict(METRICS[kind]),
        runs=runs,
        verdicts=verdicts(runs, kind, [m.name for m in plan.modes]),
    )
