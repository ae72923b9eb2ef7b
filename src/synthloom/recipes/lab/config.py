"""The pipeline YAML of ``synthloom generate`` and the mixing YAML of ``synthloom mix``, as
pydantic models. Errors name the file, the line and the field.

A pipeline names the teacher (the shared ``synthloom.llm.settings.TeacherSettings``, and
optionally a different judge model), the settings of each recipe (counts, sampling, judge
thresholds), per-leaf overrides (a glob over leaf paths mapped to recipe settings), the phase
outputs, and optionally a mix to write the training files.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthloom.errors import ConfigError
from synthloom.llm.settings import Sampling
from synthloom.llm.settings import TeacherSettings as SharedTeacherSettings
from synthloom.recipes.executor import ExecutorSettings
from synthloom.taxonomy.model import Leaf, LeafKind
from synthloom.taxonomy.yamlio import field_name, line_at, load_yaml

__all__ = [
    "FreeformSettings",
    "GroundedSettings",
    "KnowledgeSettings",
    "LabTeacherSettings",
    "MixConfig",
    "MixOutput",
    "MixSource",
    "OutputSettings",
    "PipelineConfig",
    "Sampling",
    "TeacherSettings",
    "load_mix",
    "load_pipeline",
    "settings_for",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class LabTeacherSettings(SharedTeacherSettings):
    """The LAB pipeline's ``teacher:`` section: the shared teacher settings and a judge."""

    #: Model for the judge steps (the teacher's when unset).
    judge_model: str | None = None


#: The name code written before the teacher settings were shared imports.
TeacherSettings = LabTeacherSettings


_GEN = Sampling(temperature=1.0, max_tokens=1024)
_ANSWER = Sampling(temperature=0.7, max_tokens=1024)
_JUDGE = Sampling(temperature=0.0, max_tokens=256)


class _SkillSettings(_Model):
    """What both skill recipes share: seeds per prompt, sampling of each step, the judges'
    thresholds (the question 0-1, the pair 1-3)."""

    seeds_per_prompt: int = Field(default=3, ge=1)
    generate: Sampling = _GEN
    answer: Sampling = _ANSWER
    judge: Sampling = _JUDGE
    question_threshold: int = Field(default=1, ge=0, le=1)
    pair_threshold: int = Field(default=2, ge=1, le=3)


class FreeformSettings(_SkillSettings):
    questions: int = Field(default=20, ge=1, description="questions generated per leaf")
    questions_per_request: int = Field(default=5, ge=1)


class GroundedSettings(_SkillSettings):
    contexts: int = Field(default=5, ge=1, description="contexts generated per leaf")
    questions_per_context: int = Field(default=3, ge=1)


class KnowledgeSettings(_Model):
    chunk_tokens: int = Field(default=400, ge=16)
    seed_sets_per_chunk: int = Field(
        default=1, ge=1, description="requests per chunk, each one seed set"
    )
    pairs_per_request: int = Field(default=3, ge=1)
    generate: Sampling = _GEN
    judge: Sampling = _JUDGE
    faithfulness_threshold: int = Field(default=1, ge=0, le=1)
    relevancy_threshold: int = Field(default=2, ge=0, le=2)
    question_threshold: int = Field(default=1, ge=0, le=1)


class OutputSettings(_Model):
    #: Distractor chunks added to each knowledge sample in the ``knowledge_distractors`` phase.
    distractors: int = Field(default=2, ge=0)
    #: Probability that the gold chunk is among the documents shown.
    gold_probability: float = Field(default=0.8, ge=0, le=1)


class MixSource(_Model):
    """One input of a mixed file: exactly one of ``dataset``, ``seeds`` or ``file``."""

    #: A phase (``knowledge``, ``knowledge_distractors``, ``skills``) or a leaf path of a run.
    dataset: str | None = None
    #: The run directory holding ``dataset`` (relative to the YAML); the current run if unset.
    run: str | None = None
    #: Replay the human seed examples of a taxonomy (relative path); ``leaves`` is a glob.
    seeds: str | None = None
    leaves: str = "*"
    #: A real dataset the user supplies (JSONL / Parquet records of any shape synthloom reads).
    file: str | None = None
    count: int | None = Field(default=None, ge=0)
    ratio: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_input(self) -> MixSource:
        given = [n for n in ("dataset", "seeds", "file") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of dataset, seeds, file")
        if (self.count is None) == (self.ratio is None):
            raise ValueError("give exactly one of count, ratio")
        return self


class MixOutput(_Model):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    sources: list[MixSource] = Field(..., min_length=1)
    shuffle: bool = True


class MixConfig(_Model):
    seed: int = 0
    system_prompt: str | None = None
    outputs: list[MixOutput] = Field(..., min_length=1)


class PipelineConfig(_Model):
    teacher: LabTeacherSettings
    seed: int = 0
    freeform_skill: FreeformSettings = FreeformSettings()
    grounded_skill: GroundedSettings = GroundedSettings()
    knowledge: KnowledgeSettings = KnowledgeSettings()
    #: Leaf-path glob -> settings of that leaf's recipe that differ (first match wins).
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    outputs: OutputSettings = OutputSettings()
    mix: MixConfig | None = None
    #: Where the leaves run: ``local`` (default) or ``ray`` (one leaf per actor at a time).
    executor: ExecutorSettings = ExecutorSettings()
    #: Leaf-path globs choosing the leaves to generate (every leaf when unset); chosen before
    #: any leaf is read, so a broken leaf outside them never stops the run.
    leaves: list[str] | None = Field(default=None, min_length=1)
    #: A folder of local clones (or bare repositories) of the knowledge leaves' document
    #: repositories, each named after its URL's last part (relative to this file).
    documents_dir: str | None = None


RecipeSettings = FreeformSettings | GroundedSettings | KnowledgeSettings
_BY_KIND: dict[LeafKind, str] = {
    "freeform_skill": "freeform_skill",
    "grounded_skill": "grounded_skill",
    "knowledge": "knowledge",
}


def settings_for(config: PipelineConfig, leaf: Leaf, *, source: str = "pipeline") -> Any:
    """The recipe settings for one leaf, with the first matching override applied."""
    base: RecipeSettings = getattr(config, _BY_KIND[leaf.kind])
    for pattern, changes in config.overrides.items():
        if fnmatch.fnmatch(leaf.path, pattern):
            merged = {**base.model_dump(), **changes}
            try:
                return type(base).model_validate(merged)
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ConfigError(
                    f"{err['msg']} (for {leaf.kind} leaf {leaf.path})",
                    path=source,
                    field=f"overrides.{pattern}.{field_name(err['loc'])}",
                ) from exc
    return base


def _validated(model: type[BaseModel], path: Path) -> Any:
    document = load_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError("must be a YAML mapping", path=path)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        more = f" (and {exc.error_count() - 1} more errors)" if exc.error_count() > 1 else ""
        raise ConfigError(
            f"{err['msg'].removeprefix('Value error, ')}{more}",
            path=path,
            line=line_at(document, loc),
            field=field_name(loc) or None,
        ) from exc


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and check a pipeline YAML (ConfigError naming file, line and field)."""
    config: PipelineConfig = _validated(PipelineConfig, Path(path))
    return config


def load_mix(path: str | Path) -> MixConfig:
    """Read and check a mixing YAML (ConfigError naming file, line and field)."""
    config: MixConfig = _validated(MixConfig, Path(path))
    return config
