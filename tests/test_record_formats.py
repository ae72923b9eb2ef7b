"""The record formats people publish, read without losing anything.

Each sample below is written in the shape of a published one: FastChat's ShareGPT samples (a
JSON array of ``{"id", "conversations"}``), axolotl / LLaMA-Factory ShareGPT (top-level
``system`` and ``tools``, ``function_call`` and ``observation`` turns), Stanford Alpaca (a JSON
array, ``input`` empty or missing), LLaMA-Factory Alpaca (``system``, ``history``), and
OpenAI's chat fine-tuning files (``weight``), function calling (``tools``, ``tool_calls``,
``tool`` turns) and its legacy form (``functions``, ``function_call``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthloom.errors import DataFormatError
from synthloom.records import (
    make_record,
    normalize_record,
    read_records,
    write_jsonl,
    write_parquet,
)

FASTCHAT_SHAREGPT = """[
  {
    "id": "identity_0",
    "conversations": [
      {"from": "human", "value": "Who are you?"},
      {"from": "gpt", "value": "I am Vicuna, a language model trained by researchers from \
Large Model Systems Organization (LMSYS)."},
      {"from": "human", "value": "Have a nice day!"},
      {"from": "gpt", "value": "You too!"}
    ]
  },
  {
    "id": "identity_1",
    "conversations": [
      {"from": "human", "value": "What's your name?"},
      {"from": "gpt", "value": "My name is Vicuna, and I'm a language model developed by \
LMSYS."}
    ]
  },
  {
    "id": "sharegpt_Xq9pZ1r_0",
    "conversations": [
      {"from": "human", "value": "can u explain the diffrence between TCP and UDP in simple \
words"},
      {"from": "chatgpt", "value": "Sure! TCP is like a phone call: a connection is set up \
first and every word arrives, in order. UDP is like shouting across a room: faster, but \
nobody checks whether the message got there."},
      {"from": "human", "value": "so which one does video streaming use?"},
      {"from": "bard", "value": "Mostly UDP-based protocols for live video, because a late \
frame is worse than a lost one; recorded video often goes over TCP (HTTP)."}
    ]
  }
]
"""

AXOLOTL_SHAREGPT = [
    {
        "system": "You are a patient maths tutor. Explain each step before giving the answer.",
        "conversations": [
            {"from": "human", "value": "A train leaves at 9:40 and arrives at 13:05. How long?"},
            {
                "from": "gpt",
                "value": "From 9:40 to 12:40 is 3 hours; 12:40 to 13:05 is 25 "
                "minutes. So the trip takes 3 hours 25 minutes.",
            },
        ],
        "source": "tutor-v2",
        "category": "arithmetic",
    },
    {
        "conversations": [
            {"from": "system", "value": "Answer in French."},
            {"from": "user", "value": "What is the capital of Canada?"},
            {"from": "assistant", "value": "La capitale du Canada est Ottawa."},
        ],
        "system": "Answer in French.",
        "lang": "fr",
    },
    {
        "system": "You can look up the weather with the tools you are given.",
        "tools": json.dumps(
            [
                {
                    "name": "get_weather",
                    "description": "Current weather for a city",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    },
                }
            ]
        ),
        "conversations": [
            {"from": "human", "value": "Do I need an umbrella in Lisbon this afternoon?"},
            {
                "from": "function_call",
                "value": '{"name": "get_weather", "arguments": {"city": "Lisbon"}}',
            },
            {"from": "observation", "value": '{"temp_c": 17, "rain_probability": 0.8}'},
            {"from": "gpt", "value": "Yes: there is an 80% chance of rain in Lisbon, take one."},
        ],
    },
]

ALPACA = """[
    {
        "instruction": "Give three tips for staying healthy.",
        "input": "",
        "output": "1. Eat a balanced diet with plenty of fruit and vegetables.\\n2. Exercise \
regularly.\\n3. Get enough sleep."
    },
    {
        "instruction": "Translate the following sentence into Spanish.",
        "input": "The library opens at nine o'clock.",
        "output": "La biblioteca abre a las nueve."
    },
    {
        "instruction": "Name the largest planet in our solar system.",
        "output": "Jupiter is the largest planet in our solar system."
    },
    {
        "instruction": "Now do the same for the smallest one.",
        "input": "",
        "output": "Mercury is the smallest planet.",
        "system": "Answer in one sentence.",
        "history": [["Name the largest planet in our solar system.", "Jupiter."]]
    }
]
"""

OPENAI_CHAT = [
    {
        "messages": [
            {"role": "system", "content": "Marv is a factual chatbot that is also sarcastic."},
            {"role": "user", "content": "What's the capital of France?"},
            {"role": "assistant", "content": "Paris", "weight": 0},
            {"role": "user", "content": "Can you be more sarcastic?"},
            {
                "role": "assistant",
                "content": "Paris, as if everyone doesn't know that already.",
                "weight": 1,
            },
        ]
    },
    {
        "messages": [
            {"role": "user", "content": "Who wrote 'Romeo and Juliet'?"},
            {"role": "assistant", "content": "Oh, just some guy named William Shakespeare."},
        ],
        "category": "literature",
    },
]

_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and country"},
                "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location", "format"],
        },
    },
}

OPENAI_TOOLS = [
    {
        "messages": [
            {"role": "user", "content": "What is the weather in San Francisco?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_8kQm",
                        "type": "function",
                        "function": {
                            "name": "get_current_weather",
                            "arguments": '{"location": "San Francisco, USA", "format": "celsius"}',
                        },
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "call_8kQm",
                "name": "get_current_weather",
                "content": '{"temperature": 14, "sky": "fog"}',
            },
            {"role": "assistant", "content": "It is 14 °C and foggy in San Francisco."},
        ],
        "tools": [_WEATHER_TOOL],
    },
    {
        # No content key at all, as OpenAI's own example writes it; two calls in one turn.
        "messages": [
            {"role": "user", "content": "Compare Oslo and Rome right now, in fahrenheit."},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_a1",
                        "type": "function",
                        "function": {
                            "name": "get_current_weather",
                            "arguments": '{"location": "Oslo, Norway", "format": "fahrenheit"}',
                        },
                    },
                    {
                        "id": "call_a2",
                        "type": "function",
                        "function": {
                            "name": "get_current_weather",
                            "arguments": '{"location": "Rome, Italy", "format": "fahrenheit"}',
                        },
                    },
                ],
            },
        ],
        "tools": [_WEATHER_TOOL],
        "parallel_tool_calls": True,
    },
]

OPENAI_LEGACY_FUNCTIONS = [
    {
        "messages": [
            {"role": "user", "content": "What is the weather in San Francisco?"},
            {
                "role": "assistant",
                "function_call": {
                    "name": "get_current_weather",
                    "arguments": '{"location": "San Francisco, USA", "format": "celsius"}',
                },
            },
            {"role": "function", "name": "get_current_weather", "content": "21 degrees"},
            {"role": "assistant", "content": "It's 21 degrees in San Francisco."},
        ],
        "functions": [_WEATHER_TOOL["function"]],
    }
]


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _sample(tmp_path: Path, name: str) -> Path:
    if name == "fastchat":
        path = tmp_path / "dummy_conversation.json"
        path.write_text(FASTCHAT_SHAREGPT, encoding="utf-8")
        return path
    if name == "alpaca":
        path = tmp_path / "alpaca_data.json"
        path.write_text(ALPACA, encoding="utf-8")
        return path
    rows = {
        "axolotl": AXOLOTL_SHAREGPT,
        "openai-chat": OPENAI_CHAT,
        "openai-tools": OPENAI_TOOLS,
        "openai-functions": OPENAI_LEGACY_FUNCTIONS,
    }[name]
    return _jsonl(tmp_path / f"{name}.jsonl", rows)


SAMPLES = ["fastchat", "axolotl", "alpaca", "openai-chat", "openai-tools", "openai-functions"]


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize(
    "suffix", [pytest.param(".jsonl", id="jsonl"), pytest.param(".parquet", id="parquet")]
)
def test_read_write_read_is_identity(tmp_path: Path, sample: str, suffix: str) -> None:
    first = list(read_records(_sample(tmp_path, sample)))
    out = tmp_path / f"out{suffix}"
    (write_jsonl if suffix == ".jsonl" else write_parquet)(first, out)
    second = list(read_records(out))
    assert second == first
    # And once more: writing what was read back gives the same file content.
    again = tmp_path / f"again{suffix}"
    (write_jsonl if suffix == ".jsonl" else write_parquet)(second, again)
    assert list(read_records(again)) == first


def test_fastchat_sharegpt_keeps_ids_and_maps_every_speaker(tmp_path: Path) -> None:
    records = list(read_records(_sample(tmp_path, "fastchat")))
    assert [r["id"] for r in records] == ["identity_0", "identity_1", "sharegpt_Xq9pZ1r_0"]
    assert [m["role"] for m in records[2]["messages"]] == ["user", "assistant"] * 2
    assert records[2]["messages"][3]["content"].startswith("Mostly UDP-based")


def test_top_level_system_becomes_the_first_turn_once(tmp_path: Path) -> None:
    tutor, french, weather = read_records(_sample(tmp_path, "axolotl"))
    assert tutor["messages"][0] == {"role": "system", "content": AXOLOTL_SHAREGPT[0]["system"]}
    assert [m["role"] for m in tutor["messages"]] == ["system", "user", "assistant"]
    # The conversation already opens with that system turn: it is not doubled.
    assert [m["role"] for m in french["messages"]] == ["system", "user", "assistant"]
    assert weather["messages"][0]["role"] == "system"


def test_sharegpt_function_call_and_observation_become_tool_turns(tmp_path: Path) -> None:
    weather = list(read_records(_sample(tmp_path, "axolotl")))[2]
    roles = [m["role"] for m in weather["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    call = weather["messages"][2]
    assert call["content"] == ""
    assert call["tool_calls"][0]["function"]["name"] == "get_weather"
    assert json.loads(call["tool_calls"][0]["function"]["arguments"]) == {"city": "Lisbon"}
    assert weather["messages"][3]["content"].startswith('{"temp_c": 17')
    # LLaMA-Factory's tools are JSON text of bare functions; they come out in OpenAI's shape.
    assert weather["tools"][0]["type"] == "function"
    assert weather["tools"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize(
    ("speaker", "role"),
    [
        pytest.param(name, role, id=name)
        for name, role in [
            ("human", "user"),
            ("user", "user"),
            ("Human", "user"),
            ("gpt", "assistant"),
            ("assistant", "assistant"),
            ("chatgpt", "assistant"),
            ("bing", "assistant"),
            ("bard", "assistant"),
            ("system", "system"),
            ("tool", "tool"),
            ("observation", "tool"),
        ]
    ],
)
def test_sharegpt_speaker_names(speaker: str, role: str) -> None:
    rec = normalize_record({"conversations": [{"from": speaker, "value": "text"}]})
    assert rec["messages"] == [{"role": role, "content": "text"}]


def test_unknown_speaker_is_a_one_line_error_naming_line_and_field(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "chat.jsonl",
        [
            {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]},
            {
                "conversations": [
                    {"from": "human", "value": "hi"},
                    {"from": "narrator", "value": "?"},
                ]
            },
        ],
    )
    with pytest.raises(DataFormatError) as err:
        list(read_records(path))
    message = str(err.value)
    assert "\n" not in message
    assert f"{path}:2" in message
    assert "conversations[1].from" in message
    assert "'narrator'" in message and "human" in message and "gpt" in message


def test_alpaca_with_empty_missing_input_system_and_history(tmp_path: Path) -> None:
    tips, spanish, planet, follow_up = read_records(_sample(tmp_path, "alpaca"))
    assert tips["messages"][0]["content"] == "Give three tips for staying healthy."
    assert spanish["messages"][0]["content"].endswith("\n\nThe library opens at nine o'clock.")
    assert planet["messages"][0]["content"] == "Name the largest planet in our solar system."
    assert [m["role"] for m in follow_up["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert follow_up["messages"][2]["content"] == "Jupiter."


def test_openai_tool_calls_tool_turns_names_and_ids_are_kept(tmp_path: Path) -> None:
    one, two = read_records(_sample(tmp_path, "openai-tools"))
    call = one["messages"][1]
    assert call["role"] == "assistant" and call["content"] == ""
    assert call["tool_calls"] == OPENAI_TOOLS[0]["messages"][1]["tool_calls"]
    assert one["messages"][2] == {
        "role": "tool",
        "content": '{"temperature": 14, "sky": "fog"}',
        "name": "get_current_weather",
        "tool_call_id": "call_8kQm",
    }
    assert one["tools"] == [_WEATHER_TOOL]
    assert [c["id"] for c in two["messages"][1]["tool_calls"]] == ["call_a1", "call_a2"]
    assert two["meta"] == {"parallel_tool_calls": True}


def test_legacy_function_calling_becomes_tool_calls(tmp_path: Path) -> None:
    (rec,) = read_records(_sample(tmp_path, "openai-functions"))
    call, result = rec["messages"][1], rec["messages"][2]
    assert call["tool_calls"] == [
        {
            "type": "function",
            "function": OPENAI_LEGACY_FUNCTIONS[0]["messages"][1]["function_call"],
        }
    ]
    assert result == {"role": "tool", "content": "21 degrees", "name": "get_current_weather"}
    assert rec["tools"] == [_WEATHER_TOOL]


def test_weights_and_unknown_fields_survive(tmp_path: Path) -> None:
    marv, shakespeare = read_records(_sample(tmp_path, "openai-chat"))
    assert [m.get("weight") for m in marv["messages"]] == [None, None, 0, None, 1]
    assert shakespeare["meta"] == {"category": "literature"}
    tutor = next(read_records(_sample(tmp_path, "axolotl")))
    assert tutor["meta"] == {"source": "tutor-v2", "category": "arithmetic"}


def test_an_unknown_field_that_meta_contradicts_is_an_error() -> None:
    rec = normalize_record({"prompt": "p", "response": "r", "lang": "de", "meta": {"lang": "de"}})
    assert rec["meta"] == {"lang": "de"}
    with pytest.raises(DataFormatError, match=r"field 'lang'.*also in meta"):
        normalize_record({"prompt": "p", "response": "r", "lang": "de", "meta": {"lang": "en"}})


def test_numeric_source_ids_are_kept_in_meta() -> None:
    rec = normalize_record({"id": 1207, "instruction": "Say hi", "output": "hi"})
    assert rec["meta"] == {"source_id": 1207}
    assert len(rec["id"]) == 24


def _old_hash(messages: list[dict[str, Any]], extra: Any = None) -> str:
    # The id formula records were written with before turns had tool fields.
    payload = json.dumps([messages, extra], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def test_plain_ids_are_unchanged_and_tool_fields_are_part_of_the_id(tmp_path: Path) -> None:
    plain = normalize_record({"prompt": "What is 2+2?", "response": "4"})
    assert plain["id"] == _old_hash(plain["messages"])
    # Through Parquet, where every turn has null tool columns, the id and turns stay plain.
    write_parquet([plain], tmp_path / "p.parquet")
    (back,) = read_records(tmp_path / "p.parquet")
    assert back == plain and set(back["messages"][0]) == {"role", "content"}

    def with_city(city: str) -> dict[str, Any]:
        obj = json.loads(json.dumps(OPENAI_TOOLS[0]))
        obj["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps(
            {"location": city, "format": "celsius"}
        )
        return normalize_record(obj)

    assert with_city("Paris")["id"] != with_city("Lyon")["id"]
    no_tools = normalize_record({**OPENAI_TOOLS[0], "tools": None})
    assert no_tools["id"] != normalize_record(OPENAI_TOOLS[0])["id"]


def test_parquet_written_before_tool_fields_still_reads(tmp_path: Path) -> None:
    old_messages = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    schema = pa.schema(
        [
            pa.field("id", pa.string()),
            pa.field("messages", old_messages),
            pa.field("meta", pa.string()),
        ]
    )
    plain = make_record(
        [{"role": "user", "content": "Name a prime."}, {"role": "assistant", "content": "7"}],
        {"leaf": "math/primes"},
    )
    table = pa.Table.from_pydict(
        {"id": [plain["id"]], "messages": [plain["messages"]], "meta": [json.dumps(plain["meta"])]},
        schema=schema,
    )
    pq.write_table(table, tmp_path / "old.parquet")
    assert list(read_records(tmp_path / "old.parquet")) == [plain]


def test_parquet_of_tool_records_has_typed_tool_columns(tmp_path: Path) -> None:
    write_parquet(list(read_records(_sample(tmp_path, "openai-tools"))), tmp_path / "t.parquet")
    table = pq.read_table(tmp_path / "t.parquet")
    row = table.to_pylist()[0]
    call = row["messages"][1]["tool_calls"][0]
    assert call["function"]["name"] == "get_current_weather"
    assert json.loads(row["tools"]) == [_WEATHER_TOOL]


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        pytest.param(
            {"messages": [{"role": "assistant", "content": None}]},
            "messages[0].content",
            id="null-content-without-tool-calls",
        ),
        pytest.param(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": "x",
                        "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}],
                    }
                ]
            },
            "messages[0].tool_calls",
            id="user-calls-a-tool",
        ),
        pytest.param(
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": 3}}],
                    }
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
            id="arguments-a-number",
        ),
        pytest.param(
            {"messages": [{"role": "assistant", "tool_calls": []}]},
            "messages[0].tool_calls",
            id="empty-tool-calls",
        ),
        pytest.param(
            {"conversations": [{"from": "function_call", "value": "get_weather(Lisbon)"}]},
            "conversations[0].value",
            id="sharegpt-call-not-json",
        ),
        pytest.param(
            {"messages": [{"role": "user", "content": "x"}], "tools": "[{"},
            "tools",
            id="tools-not-json",
        ),
        pytest.param(
            {"messages": [{"role": "assistant", "content": "x", "weight": 2}]},
            "messages[0].weight",
            id="weight-two",
        ),
        pytest.param(
            {"conversations": [{"from": "human", "value": "x"}], "system": 5},
            "system",
            id="system-not-text",
        ),
    ],
)
def test_bad_tool_shapes_name_the_field(obj: dict[str, Any], field: str) -> None:
    with pytest.raises(DataFormatError) as err:
        normalize_record(obj, "data.jsonl:3")
    message = str(err.value)
    assert message.startswith(f"data.jsonl:3, field '{field}'")
    assert "\n" not in message


def test_tools_and_legacy_functions_in_one_record_are_both_kept() -> None:
    lookup = {"name": "lookup_stock", "parameters": {"type": "object", "properties": {}}}
    rec = normalize_record(
        {
            "messages": [{"role": "user", "content": "Is the blue kettle in stock?"}],
            "tools": [_WEATHER_TOOL],
            "functions": [lookup],
        }
    )
    assert rec["tools"] == [_WEATHER_TOOL, {"type": "function", "function": lookup}]
