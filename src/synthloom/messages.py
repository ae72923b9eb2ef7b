"""Chat turns in the canonical shape, and how the shapes people have are turned into it.

A canonical turn is a ``dict``::

    {"role": "system"|"user"|"assistant"|"tool", "content": str,
     "name"?: str, "tool_calls"?: [tool call], "tool_call_id"?: str, "weight"?: int}

The optional keys are present only when they have a value, so a plain conversation is exactly
``{"role", "content"}`` per turn (and hashes as it always did). ``content`` is always a string:
an assistant turn that only calls tools (``content: null`` in OpenAI's format) has ``""``, so
every stage that reads text can keep reading ``message["content"]``.

A tool call is OpenAI's shape, ``{"id"?: str, "type": "function", "function": {"name": str,
"arguments": str}}``; ``arguments`` is the JSON text the model wrote (an object given instead
is written out as JSON). A record's ``tools`` are OpenAI's tool definitions,
``[{"type": "function", "function": {"name", "description"?, "parameters"?}}]``.

Accepted on the way in, besides OpenAI's current format: the legacy function-calling format
(assistant ``function_call``, ``function`` turns, top-level ``functions``) and ShareGPT
speakers (``human``, ``gpt``, ``function_call``, ``observation``... see ``SHAREGPT_ROLES``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from synthloom.errors import DataFormatError

__all__ = [
    "MESSAGE_KEYS",
    "ROLES",
    "SHAREGPT_ROLES",
    "check_messages",
    "check_tools",
    "message_text",
    "sharegpt_messages",
    "tool_call_text",
]

ROLES = frozenset({"system", "user", "assistant", "tool"})
MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id", "weight")

# Speaker names found in published ShareGPT-style data: FastChat (human/gpt/system),
# the ShareGPT crawl (chatgpt, bing, bard), axolotl/LLaMA-Factory (user/assistant,
# function_call, observation) and tool-use sets (tool, function_response).
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "system": "system",
    "function_call": "assistant",
    "tool": "tool",
    "observation": "tool",
    "function_response": "tool",
}
# Legacy OpenAI function calling: a "function" turn is the result of a call.
_ROLE_ALIASES = {"function": "tool"}


def _arguments(value: Any, where: str, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (Mapping, list)):
        # Some sets store the arguments as an object; OpenAI's format has them as JSON text.
        return json.dumps(value, ensure_ascii=False)
    raise DataFormatError(
        "arguments must be a JSON string or object", path=where, field=f"{field}.arguments"
    )


def _function(value: Any, where: str, field: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        raise DataFormatError(
            'must be an object {"name": str, "arguments": str}', path=where, field=field
        )
    return {
        "name": value["name"],
        "arguments": _arguments(value.get("arguments", "{}"), where, field),
    }


def _tool_calls(value: Any, where: str, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise DataFormatError(
            "must be a non-empty list of {id, type, function}", path=where, field=field
        )
    calls = []
    for i, call in enumerate(value):
        if not isinstance(call, Mapping):
            raise DataFormatError(
                "must be an object {id, type, function}", path=where, field=f"{field}[{i}]"
            )
        kind = call.get("type") or "function"
        if kind != "function":
            raise DataFormatError(
                f"type {kind!r} is not supported; only 'function' tool calls are",
                path=where,
                field=f"{field}[{i}].type",
            )
        out: dict[str, Any] = {}
        if call.get("id") is not None:
            if not isinstance(call["id"], str):
                raise DataFormatError("must be a string", path=where, field=f"{field}[{i}].id")
            out["id"] = call["id"]
        out["type"] = "function"
        out["function"] = _function(call.get("function"), where, f"{field}[{i}].function")
        calls.append(out)
    return calls


def check_tools(value: Any, where: str, field: str = "tools") -> list[dict[str, Any]]:
    """Tool definitions in OpenAI's shape. Accepts JSON text (LLaMA-Factory stores them so) and
    bare function definitions (legacy ``functions``), which are wrapped."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise DataFormatError(
                f"is not valid JSON ({exc.msg})", path=where, field=field
            ) from exc
    if not isinstance(value, list):
        raise DataFormatError("must be a list of tool definitions", path=where, field=field)
    tools = []
    for i, tool in enumerate(value):
        if not isinstance(tool, Mapping):
            raise DataFormatError(
                "must be an object {type, function}", path=where, field=f"{field}[{i}]"
            )
        if "function" not in tool and isinstance(tool.get("name"), str):
            tool = {"type": "function", "function": dict(tool)}
        if not isinstance(tool.get("function"), Mapping) or not isinstance(
            tool["function"].get("name"), str
        ):
            raise DataFormatError(
                "needs a function with a name", path=where, field=f"{field}[{i}].function"
            )
        tools.append(dict(tool))
    return tools


def _optional_str(msg: Mapping[str, Any], key: str, where: str, field: str) -> str | None:
    value = msg.get(key)
    if value is not None and not isinstance(value, str):
        raise DataFormatError(
            f"{key} must be a string, got {type(value).__name__}", path=where, field=field
        )
    return value


_OPTIONAL_KEYS = ("name", "tool_calls", "function_call", "tool_call_id", "weight")


def _one_message(msg: Any, where: str, field: str) -> dict[str, Any]:
    if not isinstance(msg, Mapping):
        raise DataFormatError("must be an object {role, content}", path=where, field=field)
    role, content = msg.get("role"), msg.get("content")
    # The common case first (a plain turn, also as Parquet gives it with null tool columns):
    # readers see millions of them.
    if (
        isinstance(content, str)
        and role in ROLES
        and (len(msg) == 2 or all(msg.get(k) is None for k in _OPTIONAL_KEYS))
    ):
        return {"role": role, "content": content}
    role = _ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
    if role not in ROLES:
        raise DataFormatError(
            f"role {msg.get('role')!r} is not one of system, user, assistant, tool",
            path=where,
            field=f"{field}.role",
        )
    calls = None
    if msg.get("tool_calls") is not None:
        calls = _tool_calls(msg["tool_calls"], where, f"{field}.tool_calls")
    elif msg.get("function_call") is not None:
        fn = _function(msg["function_call"], where, f"{field}.function_call")
        calls = [{"type": "function", "function": fn}]
    if calls is not None and role != "assistant":
        raise DataFormatError(
            f"only assistant turns call tools, this one is {role!r}",
            path=where,
            field=f"{field}.tool_calls",
        )
    if content is None and calls is not None:
        content = ""
    if not isinstance(content, str):
        raise DataFormatError(
            f"content must be a string, got {type(content).__name__}",
            path=where,
            field=f"{field}.content",
        )
    out: dict[str, Any] = {"role": role, "content": content}
    name = _optional_str(msg, "name", where, f"{field}.name")
    if name is not None:
        out["name"] = name
    if calls is not None:
        out["tool_calls"] = calls
    call_id = _optional_str(msg, "tool_call_id", where, f"{field}.tool_call_id")
    if call_id is not None:
        out["tool_call_id"] = call_id
    weight = msg.get("weight")
    if weight is not None:
        if weight not in (0, 1):
            raise DataFormatError("weight must be 0 or 1", path=where, field=f"{field}.weight")
        out["weight"] = int(weight)
    return out


def check_messages(messages: Any, where: str, field: str) -> list[dict[str, Any]]:
    """A list of turns in OpenAI's format, checked and in the canonical shape."""
    if not isinstance(messages, list) or not messages:
        raise DataFormatError(
            "must be a non-empty list of {role, content}", path=where, field=field
        )
    return [_one_message(msg, where, f"{field}[{i}]") for i, msg in enumerate(messages)]


def _sharegpt_call(value: str, where: str, field: str) -> list[dict[str, Any]]:
    # LLaMA-Factory's function_call turn holds {"name", "arguments"} as JSON text (or a list
    # of them for parallel calls).
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise DataFormatError(
            f'a function_call turn must hold JSON {{"name", "arguments"}} ({exc.msg})',
            path=where,
            field=field,
        ) from exc
    items = parsed if isinstance(parsed, list) else [parsed]
    return [{"type": "function", "function": _function(item, where, field)} for item in items]


def sharegpt_messages(turns: Any, where: str) -> list[dict[str, Any]]:
    """ShareGPT ``conversations`` (``{"from", "value"}`` turns) as canonical turns."""
    if not isinstance(turns, list) or not turns:
        raise DataFormatError(
            "must be a non-empty list of {from, value}", path=where, field="conversations"
        )
    out = []
    for i, turn in enumerate(turns):
        field = f"conversations[{i}]"
        if not isinstance(turn, Mapping):
            raise DataFormatError("must be an object {from, value}", path=where, field=field)
        speaker = turn.get("from")
        speaker_name = speaker.lower() if isinstance(speaker, str) else ""
        role = SHAREGPT_ROLES.get(speaker_name)
        if role is None:
            raise DataFormatError(
                f"speaker {speaker!r} is unknown; use one of {', '.join(SHAREGPT_ROLES)}",
                path=where,
                field=f"{field}.from",
            )
        value = turn.get("value")
        if not isinstance(value, str):
            raise DataFormatError("value must be a string", path=where, field=f"{field}.value")
        message: dict[str, Any] = {"role": role, "content": value}
        if speaker_name == "function_call":
            message = {
                "role": "assistant",
                "content": "",
                "tool_calls": _sharegpt_call(value, where, f"{field}.value"),
            }
        if isinstance(turn.get("name"), str):
            message["name"] = turn["name"]
        if turn.get("weight") in (0, 1):
            message["weight"] = int(turn["weight"])
        out.append(message)
    return out


def tool_call_text(call: Mapping[str, Any]) -> str:
    """A tool call as the text a model writes for it: ``name(arguments)``."""
    fn = call["function"]
    return f"{fn['name']}({fn['arguments']})"


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a turn: its content, then its tool calls one per line."""
    parts = [message["content"]] if message["content"] else []
    parts.extend(tool_call_text(c) for c in message.get("tool_calls") or ())
    return "\n".join(parts)
