"""Reading preference data: TRL's preference formats and synthloom's Nemotron pairs folder.

Every shape becomes a :class:`PreferencePair`: the prompt turns, the chosen and the rejected
completion (each a list of canonical turns), and the reward scores when the data carries them.
The shapes read (TRL's dataset-formats guide names the first four):

* ``conversational``: ``{"prompt": [turns], "chosen": [turns], "rejected": [turns]}``
  (what ``synthloom nemotron`` writes to ``export/dpo.jsonl``);
* ``standard``: ``{"prompt": str, "chosen": str, "rejected": str}``;
* ``implicit conversational``: ``{"chosen": [turns], "rejected": [turns]}``, two whole
  conversations whose shared leading turns are the prompt;
* ``implicit standard``: ``{"chosen": str, "rejected": str}``, two whole texts whose shared
  beginning is the prompt (cut after the last ``Assistant:`` in it, as in Anthropic's HH-RLHF,
  else at a word boundary);
* ``synthloom pairs``: the Parquet parts of a Nemotron run's ``pairs/`` folder (``messages`` =
  the prompt, ``chosen``, ``rejected``, ``meta.margin`` and ``meta.chosen_reward`` /
  ``meta.rejected_reward`` with their ``scalar``); the run folder itself may be given.

A prompt given as a string with whole conversations as chosen / rejected (UltraFeedback's
binarized sets) has the shared leading turns taken off both sides. Scores are looked for in the
record and in its ``meta`` (:data:`SCORE_FIELDS`). A record that lacks ``chosen`` or
``rejected``, or holds something else than text or turns there, is a ``DataFormatError`` naming
the file and line (or row) and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthloom.errors import DataFormatError
from synthloom.messages import check_messages, message_text
from synthloom.records import read_objects, record_parts

__all__ = [
    "SCORE_FIELDS",
    "PreferencePair",
    "PreferenceSet",
    "answer_text",
    "is_preference_data",
    "pairs_source",
    "read_pairs",
]

#: (chosen field, rejected field) pairs holding each side's score, looked for in this order in
#: the record and then in its ``meta``; a value may be a number or a mapping with ``scalar``
#: (synthloom's reward record: the five HelpSteer2 attributes and their weighted scalar).
SCORE_FIELDS = (
    ("chosen_reward", "rejected_reward"),
    ("score_chosen", "score_rejected"),
    ("chosen_score", "rejected_score"),
    ("chosen_rating", "rejected_rating"),
)
_MARKER = "Assistant:"


@dataclass(frozen=True)
class PreferencePair:
    """One preference record: prompt turns, the two completions, and the scores if any."""

    where: str
    prompt: list[dict[str, Any]]
    chosen: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    chosen_score: float | None = None
    rejected_score: float | None = None
    margin: float | None = None


@dataclass
class PreferenceSet:
    """The pairs of one dataset, where they came from and which shape they had."""

    path: Path
    format: str
    pairs: list[PreferencePair]
    score_field: str | None

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def kind(self) -> str:
        return "preference"


def answer_text(turns: list[dict[str, Any]]) -> str:
    """The text of one side's completion (every turn of it, tool calls written out)."""
    return "\n".join(message_text(m) for m in turns)


def pairs_source(path: Path) -> Path:
    """The folder or file holding the pairs: a Nemotron run folder's ``pairs/``, else ``path``."""
    if path.is_dir() and (path / "pairs").is_dir():
        return path / "pairs"
    return path


def is_preference_data(path: str | Path) -> bool:
    """Whether the first record of a dataset (file, folder of parts, Nemotron run folder) has a
    ``chosen`` or ``rejected`` field. Tables (CSV/TSV) are never preference data."""
    source = pairs_source(Path(path))
    if source.suffix.lower() in (".csv", ".tsv"):
        return False
    if source.is_dir():
        record_parts(source)  # the one-line error for a folder without data files
    try:
        for _, obj in read_objects(source):
            return isinstance(obj, Mapping) and ("chosen" in obj or "rejected" in obj)
    except DataFormatError:
        return False  # not records at all: the table or instruction reader says why
    return False


def _meta_of(obj: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    meta = obj.get("meta")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta) if meta else {}
        except json.JSONDecodeError as exc:
            raise DataFormatError("meta is not valid JSON", path=where, field="meta") from exc
    return meta if isinstance(meta, Mapping) else {}


def _number(value: Any, where: str, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("scalar")
        field = f"{field}.scalar"
        if value is None:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataFormatError(
            "must be a finite number (a reward score); remove it or fix the value",
            path=where,
            field=field,
        )
    return float(value)


def _scores(
    obj: Mapping[str, Any], where: str
) -> tuple[float | None, float | None, float | None, str | None]:
    """(chosen score, rejected score, margin, where they were found)."""
    meta = _meta_of(obj, where)
    for source, prefix in ((obj, ""), (meta, "meta.")):
        for chosen_key, rejected_key in SCORE_FIELDS:
            if chosen_key in source and rejected_key in source:
                chosen = _number(source[chosen_key], where, prefix + chosen_key)
                rejected = _number(source[rejected_key], where, prefix + rejected_key)
                if chosen is not None and rejected is not None:
                    label = f"{prefix}{chosen_key} - {prefix}{rejected_key}"
                    return chosen, rejected, chosen - rejected, label
    for source, prefix in ((obj, ""), (meta, "meta.")):
        if "margin" in source:
            margin = _number(source["margin"], where, prefix + "margin")
            if margin is not None:
                return None, None, margin, prefix + "margin"
    return None, None, None, None


def _side(obj: Mapping[str, Any], name: str, where: str) -> list[dict[str, Any]] | str:
    if obj.get(name) is None:
        present = ", ".join(sorted(map(str, obj.keys()))) or "none"
        raise DataFormatError(
            f"lacks '{name}'; a preference record needs 'chosen' and 'rejected' "
            f"(TRL's prompt/chosen/rejected format; keys found: {present})",
            path=where,
            field=name,
        )
    value = obj[name]
    if isinstance(value, str):
        return value
    return check_messages(list(value) if isinstance(value, tuple) else value, where, name)


def _shared_turns(chosen: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> int:
    """How many leading turns both conversations share, leaving each at least its last turn."""
    limit = min(len(chosen), len(rejected)) - 1
    shared = 0
    while shared < limit and chosen[shared] == rejected[shared]:
        shared += 1
    return shared


def _shared_text(chosen: str, rejected: str) -> int:
    """Where the prompt of two whole texts ends: after the last ``Assistant:`` of their common
    beginning (HH-RLHF's dialogue format), else at the last word boundary in it."""
    common = 0
    limit = min(len(chosen), len(rejected))
    while common < limit and chosen[common] == rejected[common]:
        common += 1
    if common == limit and len(chosen) == len(rejected):
        # Identical texts: only a dialogue marker can tell the prompt from the answer.
        cut = chosen.rfind(_MARKER)
        return cut + len(_MARKER) if cut >= 0 else 0
    cut = chosen.rfind(_MARKER, 0, common)
    if cut >= 0:
        return cut + len(_MARKER)
    while common > 0 and not chosen[common - 1].isspace():
        common -= 1
    return common


def _user_turn(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}] if text else []


def _assistant_turn(text: str) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": text}]


def _pair(obj: Any, where: str) -> tuple[PreferencePair, str, str | None]:
    if not isinstance(obj, Mapping):
        raise DataFormatError(f"expected a JSON object, got {type(obj).__name__}", path=where)
    chosen = _side(obj, "chosen", where)
    rejected = _side(obj, "rejected", where)
    if isinstance(chosen, str) != isinstance(rejected, str):
        raise DataFormatError(
            "'chosen' and 'rejected' must both be text or both be lists of turns",
            path=where,
            field="rejected",
        )
    # synthloom's own records hold the prompt as ``messages``; TRL's as ``prompt``.
    prompt_key = "prompt" if obj.get("prompt") is not None else None
    if prompt_key is None and obj.get("messages") is not None:
        prompt_key = "messages"
    prompt: list[dict[str, Any]]
    if prompt_key is None:
        if isinstance(chosen, str) and isinstance(rejected, str):
            cut = _shared_text(chosen, rejected)
            prompt = _user_turn(chosen[:cut].strip())
            chosen_turns, rejected_turns = (
                _assistant_turn(chosen[cut:]),
                _assistant_turn(rejected[cut:]),
            )
            shape = "implicit standard"
        else:
            assert isinstance(chosen, list) and isinstance(rejected, list)
            shared = _shared_turns(chosen, rejected)
            prompt, chosen_turns, rejected_turns = (
                chosen[:shared],
                chosen[shared:],
                rejected[shared:],
            )
            shape = "implicit conversational"
    else:
        raw_prompt = obj[prompt_key]
        if isinstance(raw_prompt, str):
            prompt = _user_turn(raw_prompt)
        else:
            prompt = check_messages(raw_prompt, where, prompt_key)
        if isinstance(chosen, str) and isinstance(rejected, str):
            chosen_turns, rejected_turns = _assistant_turn(chosen), _assistant_turn(rejected)
            shape = "standard"
        else:
            assert isinstance(chosen, list) and isinstance(rejected, list)
            # Whole conversations under a prompt (UltraFeedback binarized): drop the prompt's
            # turns they repeat, so only the completions are compared.
            shared = _shared_turns(chosen, rejected)
            chosen_turns, rejected_turns = chosen[shared:], rejected[shared:]
            shape = "synthloom pairs" if prompt_key == "messages" else "conversational"
    *scores, score_field = _scores(obj, where)  # chosen score, rejected score, margin
    return PreferencePair(where, prompt, chosen_turns, rejected_turns, *scores), shape, score_field


def _iter_pairs(path: Path) -> Iterator[tuple[PreferencePair, str, str | None]]:
    for where, obj in read_objects(path):
        yield _pair(obj, where)


def read_pairs(path: str | Path) -> PreferenceSet:
    """Every pair of a preference dataset (a file, a folder of parts, a Nemotron run folder).

    Raises ``DataFormatError`` (naming file and line or row) for a record that is not a pair,
    and for an empty dataset."""
    given = Path(path)
    source = pairs_source(given)
    pairs: list[PreferencePair] = []
    shapes: dict[str, int] = {}
    fields: dict[str, int] = {}
    for pair, shape, score_field in _iter_pairs(source):
        pairs.append(pair)
        shapes[shape] = shapes.get(shape, 0) + 1
        if score_field is not None:
            fields[score_field] = fields.get(score_field, 0) + 1
    if not pairs:
        raise DataFormatError("the dataset is empty; it needs at least one pair", path=given)
    # Mixed shapes are legal (a merged set); the most common one names the dataset.
    shape = max(shapes, key=lambda s: shapes[s])
    score_field = max(fields, key=lambda f: fields[f]) if fields else None
    return PreferenceSet(path=given, format=shape, pairs=pairs, score_field=score_field)
