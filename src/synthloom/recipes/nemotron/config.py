"""The Nemotron pipeline YAML, validated with pydantic; errors name the file, line and field.

``teacher`` is the shared ``synthloom.llm.settings.TeacherSettings`` (the same keys as LAB's and
the ``complete`` flags); how the teacher samples while writing prompts is ``prompt_sampling``
(older files set it inside ``teacher``, which is still read). Every section is optional except
``teacher``, ``families`` and ``reward``; a family section that is present is
switched on, and its topic lists default to the ones in ``defaults.yaml`` beside this module
(written by us). Topic lists may also come from a file (``topics_file``: one per line, or a YAML
list), resolved against the pipeline file's folder.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from synthloom.errors import ConfigError, yaml_syntax_error
from synthloom.llm.settings import SeededSampling, TeacherSettings
from synthloom.recipes.executor import ShardedExecutorSettings
from synthloom.recipes.nemotron.constraints import CONSTRAINT_TYPES
from synthloom.reward.base import ATTRIBUTES, RewardWeights

#: The pipeline's name in run.json and in the run folder's ``rejects/``.
STAGE = "nemotron"

__all__ = [
    "STAGE",
    "PipelineConfig",
    "PromptSampling",
    "ResponsesSection",
    "default_topics",
    "load_pipeline",
    "read_topic_file",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: Keys of the prompts' sampling that older pipelines wrote inside ``teacher:``.
_SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "seed")


class PromptSampling(SeededSampling):
    """How the teacher samples while it writes the prompts (families and augmentations)."""

    temperature: Annotated[float | None, Field(ge=0)] = 0.7


class OpenQASection(_Strict):
    macro_topics: list[str] | None = None
    topics_file: str | None = None
    n_subtopics: Annotated[int, Field(ge=1)] = 3
    n_questions: Annotated[int, Field(ge=1)] = 3
    revise: bool = True


class WritingSection(_Strict):
    topics: list[str] | None = None
    topics_file: str | None = None
    material_types: list[str] | None = None
    n_tasks: Annotated[int, Field(ge=1)] = 2
    revise: bool = True


class ClosedQASection(_Strict):
    documents: list[str] = Field(min_length=1)
    n_questions: Annotated[int, Field(ge=1)] = 2
    max_document_chars: Annotated[int, Field(ge=100)] = 6000


class MathSection(_Strict):
    #: school level -> macro topics
    levels: dict[str, list[str]] | None = None
    n_subtopics: Annotated[int, Field(ge=1)] = 2
    n_problems: Annotated[int, Field(ge=1)] = 2


class CodingSection(_Strict):
    topics: list[str] | None = None
    topics_file: str | None = None
    levels: list[Literal["beginner", "intermediate", "advanced"]] = [
        "beginner",
        "intermediate",
        "advanced",
    ]
    n_problems: Annotated[int, Field(ge=1)] = 2


class PromptsFileSection(_Strict):
    """Prompts the user already has (any record shape ``synthloom.records`` reads)."""

    path: str


class FamiliesSection(_Strict):
    open_qa: OpenQASection | None = None
    writing: WritingSection | None = None
    closed_qa: ClosedQASection | None = None
    math: MathSection | None = None
    coding: CodingSection | None = None
    prompts_file: PromptsFileSection | None = None


class InstructionFollowingSection(_Strict):
    fraction: Annotated[float, Field(ge=0, le=1)] = 0.3
    max_constraints: Annotated[int, Field(ge=1, le=4)] = 2
    types: list[str] = list(CONSTRAINT_TYPES)

    @model_validator(mode="after")
    def _known_types(self) -> InstructionFollowingSection:
        unknown = [t for t in self.types if t not in CONSTRAINT_TYPES]
        if unknown:
            raise ValueError(
                f"unknown constraint type(s) {unknown}; valid: {', '.join(CONSTRAINT_TYPES)}"
            )
        return self


class TwoTurnSection(_Strict):
    fraction: Annotated[float, Field(ge=0, le=1)] = 0.2


class DialogueSection(_Strict):
    count: Annotated[int, Field(ge=1)] = 5
    #: user turns in the dialogue (the last one is what the responses answer)
    turns: Annotated[int, Field(ge=2, le=10)] = 3


class ResponsesSection(SeededSampling):
    """The k responses to each prompt and how they are sampled (draw s is sent ``seed + s``)."""

    k: Annotated[int, Field(ge=1)] = 4
    temperature: Annotated[float | None, Field(ge=0)] = 0.8


class RewardSection(_Strict):
    backend: Literal["nim", "local", "judge"]
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    path: str | None = None
    batch_size: Annotated[int, Field(ge=1)] = 16
    weights: list[float] | dict[str, float] | None = None

    @model_validator(mode="after")
    def _needs(self) -> RewardSection:
        if self.backend == "nim" and not self.model:
            raise ValueError("the nim backend needs 'model' (and 'base_url' unless the teacher's)")
        if self.backend == "local" and not self.path:
            raise ValueError("the local backend needs 'path', a folder holding the model")
        return self

    @field_validator("weights")
    @classmethod
    def _weights(
        cls, value: list[float] | dict[str, float] | None
    ) -> list[float] | dict[str, float] | None:
        if value is not None:
            try:
                RewardWeights.from_value(value)
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("field 'weights': ")) from None
        return value


class FilterSection(_Strict):
    min_scalar: float | None = None
    min_attributes: dict[str, float] = {}
    max_attributes: dict[str, float] = {}
    #: drop responses that break their prompt's instruction-following constraints
    require_constraints: bool = True

    @model_validator(mode="after")
    def _known(self) -> FilterSection:
        unknown = sorted((set(self.min_attributes) | set(self.max_attributes)) - set(ATTRIBUTES))
        if unknown:
            raise ValueError(f"unknown attribute(s) {unknown}; valid: {', '.join(ATTRIBUTES)}")
        return self


class PreferenceSection(_Strict):
    enabled: bool = True
    min_margin: Annotated[float, Field(ge=0)] = 0.0


class PipelineConfig(_Strict):
    teacher: TeacherSettings
    #: The teacher's sampling while it writes prompts (older files: inside ``teacher:``).
    prompt_sampling: PromptSampling = PromptSampling()
    families: FamiliesSection
    reward: RewardSection
    instruction_following: InstructionFollowingSection | None = None
    two_turn: TwoTurnSection | None = None
    dialogue: DialogueSection | None = None
    responses: ResponsesSection = ResponsesSection()
    filter: FilterSection = FilterSection()
    preference: PreferenceSection = PreferenceSection()
    shard_rows: Annotated[int, Field(ge=1)] = 10_000
    #: Where responses and rewards run: ``local`` (default) or ``ray`` (shards of prompts).
    executor: ShardedExecutorSettings = ShardedExecutorSettings()
    #: folder relative paths are resolved against (the pipeline file's folder)
    base_dir: str = "."

    @model_validator(mode="before")
    @classmethod
    def _sampling_out_of_teacher(cls, value: Any) -> Any:
        """Older files give the prompts' sampling inside ``teacher:``; it moves to its own
        section, so that ``teacher:`` means the same in every pipeline."""
        if not isinstance(value, dict) or not isinstance(value.get("teacher"), dict):
            return value
        moved = {k: v for k, v in value["teacher"].items() if k in _SAMPLING_KEYS}
        if not moved:
            return value
        given = value.get("prompt_sampling")
        if given is not None:
            raise ValueError(
                f"teacher.{next(iter(moved))} and prompt_sampling both set the prompts' "
                "sampling; keep prompt_sampling and remove it from teacher"
            )
        teacher = {k: v for k, v in value["teacher"].items() if k not in _SAMPLING_KEYS}
        return {**value, "teacher": teacher, "prompt_sampling": moved}

    @model_validator(mode="after")
    def _cross_checks(self) -> PipelineConfig:
        if self.preference.enabled and self.responses.k < 2:
            raise ValueError(
                "preference pairs need responses.k >= 2; raise k or set preference.enabled: false"
            )
        families = self.families
        if not any(getattr(families, name) is not None for name in FamiliesSection.model_fields):
            raise ValueError("families: switch on at least one prompt family")
        return self

    def resolve(self, path: str) -> Path:
        candidate = Path(path)
        return candidate if candidate.is_absolute() else Path(self.base_dir) / candidate


def default_topics() -> dict[str, Any]:
    """The project's default topic lists (``defaults.yaml``)."""
    text = (resources.files("synthloom.recipes.nemotron") / "defaults.yaml").read_text("utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _read_text(path: Path, *, field: str | None = None) -> str:
    """The text of a UTF-8 file; a leading byte-order mark (Windows editors) is dropped."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"is not UTF-8 text (byte {exc.start}); re-encode the file as UTF-8",
            path=path,
            field=field,
        ) from None


def read_topic_file(path: Path, *, field: str) -> list[str]:
    """Topics from a text file (one per line, ``#`` comments) or a YAML list."""
    if not path.is_file():
        raise ConfigError("topic file not found; check the path", path=path, field=field)
    text = _read_text(path, field=field)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"is not valid YAML ({exc})", path=path, field=field) from exc
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError("must hold a list of strings", path=path, field=field)
        topics = [v.strip() for v in value if v.strip()]
    else:
        topics = [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    if not topics:
        raise ConfigError("holds no topics", path=path, field=field)
    return topics


# ------------------------------------------------------------------------------------------
# Loading with line numbers


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of the deepest ancestor found)."""
    line = None if node is None else node.start_mark.line + 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    node = v
                    line = k.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline YAML; every error is one ConfigError line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("pipeline file not found; check the path", path=path)
    text = _read_text(path)
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise yaml_syntax_error(exc, path, "is not valid YAML ({problem})") from exc
    if not isinstance(data, dict):
        raise ConfigError("must be a YAML mapping of sections (teacher, families, ...)", path=path)
    data.setdefault("base_dir", str(path.parent))
    try:
        config = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p[:1].isupper()))
        loc = _where_written(data, loc)
        # Literal/union branches add type names to loc; keep the user's field names only.
        loc = tuple(p for p in loc if p not in ("list[float]", "dict[str,float]"))
        field = ".".join(str(p) for p in loc) or None
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field; check the spelling against the documented sections"
        raise ConfigError(message, path=path, line=_line_of(node, loc), field=field) from None
    _check_files(config, path, node)
    return config


def _where_written(data: dict[str, Any], loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """``loc`` as the file wrote it: an older file's ``teacher.temperature`` is checked as
    ``prompt_sampling.temperature`` but must be reported where the user can find it."""
    teacher = data.get("teacher")
    if (
        len(loc) >= 2
        and loc[0] == "prompt_sampling"
        and "prompt_sampling" not in data
        and isinstance(teacher, dict)
        and loc[1] in teacher
    ):
        return ("teacher", *loc[1:])
    return loc


def _check_files(config: PipelineConfig, path: Path, node: yaml.Node | None) -> None:
    """Files named in the config must exist: say which field names a missing one."""
    fam = config.families
    named: list[tuple[tuple[int | str, ...], str]] = []
    for name in ("open_qa", "writing", "coding"):
        section = getattr(fam, name)
        if section is not None and section.topics_file:
            named.append((("families", name, "topics_file"), section.topics_file))
    if fam.closed_qa is not None:
        for i, doc in enumerate(fam.closed_qa.documents):
            named.append((("families", "closed_qa", "documents", i), doc))
    if fam.prompts_file is not None:
        named.append((("families", "prompts_file", "path"), fam.prompts_file.path))
    if config.reward.path:
        named.append((("reward", "path"), config.reward.path))
    for loc, value in named:
        if not config.resolve(value).exists():
            raise ConfigError(
                f"{value!r} not found (relative paths are read from the pipeline file's folder)",
                path=path,
                line=_line_of(node, loc),
                field=".".join(str(p) for p in loc),
            )
