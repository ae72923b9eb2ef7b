"""Every shape of instruction record people have, normalised into the canonical record.

See :mod:`synthloom.records` for the record and :mod:`synthloom.messages` for its turns.
What a reader does not understand it keeps: unknown top-level fields go to ``meta``, a
top-level ``system`` becomes the first turn, tool definitions become ``tools``.

Prompts to answer (``synthloom complete``) may also be a prompt alone: with
``prompt_only=True`` a record of ``{"prompt": ...}`` (a string, or a list of chat turns as in
TRL's prompt-only datasets), ``{"instruction": ..., "input": ...}`` or ``{"text": ...}`` with
no answer is a conversation of one user turn. Everywhere else a record needs both sides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from synthloom.errors import DataFormatError
from synthloom.messages import check_messages, check_tools, sharegpt_messages

__all__ = [
    "PROMPT_KEYS",
    "PROMPT_ONLY_KEYS",
    "RESPONSE_KEYS",
    "make_record",
    "normalize_record",
    "record_id",
]

PROMPT_KEYS = ("prompt", "question", "query")
RESPONSE_KEYS = ("response", "completion", "answer", "output")
#: The fields of a record holding a prompt alone (``prompt_only=True``), in order of preference.
PROMPT_ONLY_KEYS = (*PROMPT_KEYS, "instruction", "text")


def record_id(messages: list[dict[str, Any]], extra: Any = None) -> str:
    """A stable content hash of a conversation (and optionally anything else that defines it)."""
    payload = json.dumps([messages, extra], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def make_record(
    messages: list[dict[str, Any]], meta: Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """Build a canonical record; its id is a hash of its messages (tool calls included) and of
    ``extra`` (chosen/rejected, tools), so a plain conversation keeps the id it always had."""
    rec: dict[str, Any] = {
        "id": record_id(messages, extra or None),
        "messages": messages,
        "meta": dict(meta or {}),
    }
    rec.update(extra)
    return rec


# --------------------------------------------------------------------------------------------
# Normalisation of the shapes people have


def _as_meta(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw else {}
        except json.JSONDecodeError as exc:
            raise DataFormatError("meta is not valid JSON", path=where, field="meta") from exc
    if not isinstance(raw, Mapping):
        raise DataFormatError("meta must be an object", path=where, field="meta")
    return dict(raw)


def _json_safe(value: Any) -> Any:
    # Columns of someone else's Parquet file may hold dates or decimals; meta is stored as JSON.
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _alpaca(obj: Mapping[str, Any], where: str, used: set[str]) -> list[dict[str, Any]]:
    used.update(("instruction", "input", "output"))
    instruction, inp, output = obj["instruction"], obj.get("input") or "", obj["output"]
    for name, value in (("instruction", instruction), ("input", inp), ("output", output)):
        if not isinstance(value, str):
            raise DataFormatError("must be a string", path=where, field=name)
    messages: list[dict[str, Any]] = []
    # LLaMA-Factory's Alpaca adds earlier exchanges as [[instruction, answer], ...].
    history = obj.get("history")
    if history is not None:
        used.add("history")
        if not isinstance(history, list):
            raise DataFormatError("must be a list of [prompt, answer]", path=where, field="history")
        for i, pair in enumerate(history):
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)
            ):
                raise DataFormatError(
                    "must be [prompt, answer], two strings", path=where, field=f"history[{i}]"
                )
            messages += [
                {"role": "user", "content": pair[0]},
                {"role": "assistant", "content": pair[1]},
            ]
    prompt = f"{instruction}\n\n{inp}" if inp else instruction
    return [
        *messages,
        {"role": "user", "content": prompt},
        {"role": "assistant", "content": output},
    ]


def _pair(obj: Mapping[str, Any], where: str, used: set[str]) -> list[dict[str, Any]]:
    pkey = next((k for k in PROMPT_KEYS if k in obj), None)
    rkey = next((k for k in RESPONSE_KEYS if k in obj), None)
    if pkey is None or rkey is None:
        keys = ", ".join(sorted(map(str, obj.keys()))) or "none"
        raise DataFormatError(
            "not an instruction record: expected 'messages', 'conversations', "
            f"'instruction'+'output' or 'prompt'+'response' (keys found: {keys})",
            path=where,
        )
    used.update((pkey, rkey))
    for name in (pkey, rkey):
        if not isinstance(obj[name], str):
            raise DataFormatError("must be a string", path=where, field=name)
    return [{"role": "user", "content": obj[pkey]}, {"role": "assistant", "content": obj[rkey]}]


def _prompt_alone(obj: Mapping[str, Any], where: str, used: set[str]) -> list[dict[str, Any]]:
    """The one user turn of a record that holds a prompt and no answer."""
    key = next((k for k in PROMPT_ONLY_KEYS if k in obj), None)
    if key is None:
        keys = ", ".join(sorted(map(str, obj.keys()))) or "none"
        raise DataFormatError(
            "not a prompt record: expected 'messages', 'conversations', 'prompt', "
            f"'instruction' or 'text' (keys found: {keys})",
            path=where,
        )
    used.add(key)
    value = obj[key]
    if key == "prompt" and isinstance(value, list):
        return check_messages(value, where, key)
    if not isinstance(value, str):
        raise DataFormatError("must be a string", path=where, field=key)
    if key == "instruction" and obj.get("input") is not None:
        used.add("input")
        if not isinstance(obj["input"], str):
            raise DataFormatError("must be a string", path=where, field="input")
        if obj["input"]:
            value = f"{value}\n\n{obj['input']}"  # as an Alpaca record's prompt
    return [{"role": "user", "content": value}]


def _messages(
    obj: Mapping[str, Any], where: str, used: set[str], prompt_only: bool = False
) -> list[dict[str, Any]]:
    if "messages" in obj:
        used.add("messages")
        return check_messages(obj["messages"], where, "messages")
    if "conversations" in obj:
        used.add("conversations")
        return sharegpt_messages(obj["conversations"], where)
    if "instruction" in obj and "output" in obj:
        return _alpaca(obj, where, used)
    if "prompt" in obj and ("chosen" in obj or "rejected" in obj):
        used.add("prompt")
        prompt = obj["prompt"]
        if isinstance(prompt, str):
            return [{"role": "user", "content": prompt}]
        return check_messages(prompt, where, "prompt")
    if prompt_only and not any(k in obj for k in RESPONSE_KEYS):
        return _prompt_alone(obj, where, used)
    return _pair(obj, where, used)


def _with_system(
    obj: Mapping[str, Any], messages: list[dict[str, Any]], where: str, used: set[str]
) -> list[dict[str, Any]]:
    """A top-level ``system`` (FastChat / axolotl ShareGPT, LLaMA-Factory Alpaca) as the first
    turn, unless the conversation already opens with that same system turn."""
    system = obj.get("system")
    if system is None:
        return messages
    used.add("system")
    if not isinstance(system, str):
        raise DataFormatError("must be a string", path=where, field="system")
    if not system.strip():
        return messages
    first = messages[0]
    if first["role"] == "system" and first["content"] == system:
        return messages
    return [{"role": "system", "content": system}, *messages]


def normalize_record(
    obj: Any, where: str = "<record>", *, prompt_only: bool = False
) -> dict[str, Any]:
    """Turn any supported shape into a canonical record (raises DataFormatError naming `where`).

    Top-level fields no shape uses are kept in ``meta`` under their own name. With
    ``prompt_only`` a record may also hold a prompt alone (see the module docstring)."""
    if not isinstance(obj, Mapping):
        raise DataFormatError(f"expected a JSON object, got {type(obj).__name__}", path=where)
    meta = _as_meta(obj.get("meta"), where)
    used = {"id", "meta"}
    messages = _with_system(obj, _messages(obj, where, used, prompt_only), where, used)
    extra: dict[str, Any] = {}
    # Legacy ``functions`` and current ``tools`` both describe what the model may call.
    tools = [
        tool
        for key in ("tools", "functions")
        if obj.get(key) is not None
        for tool in check_tools(obj[key], where, key)
    ]
    if tools:
        extra["tools"] = tools
    used.update(("tools", "functions"))
    for pref in ("chosen", "rejected"):
        used.add(pref)
        if pref in obj and obj[pref] is not None:
            value = obj[pref]
            if isinstance(value, str):
                value = [{"role": "assistant", "content": value}]
            extra[pref] = check_messages(value, where, pref)
    for key in sorted(set(map(str, obj.keys())) - used):
        value = _json_safe(obj[key])
        if key in meta and meta[key] != value:
            raise DataFormatError(
                "is also in meta with another value; rename one of them", path=where, field=key
            )
        meta[key] = value
    rid = obj.get("id")
    rec = make_record(messages, meta, **extra)
    if isinstance(rid, str) and rid:
        rec["id"] = rid
    elif rid is not None and not isinstance(rid, str):
        # A numeric id is the source's row number or key: kept, but not as our content hash.
        rec["meta"].setdefault("source_id", _json_safe(rid))
    return rec
