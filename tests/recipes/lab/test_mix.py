"""The mixing recipe on real data the user supplies: tool-use examples stay whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthloom.recipes.lab.config import MixConfig, MixOutput, MixSource
from synthloom.recipes.lab.mix import mix
from synthloom.records import read_records

TOOL = {
    "type": "function",
    "function": {
        "name": "convert_currency",
        "description": "Convert an amount between two currencies at today's rate",
        "parameters": {
            "type": "object",
            "properties": {
                "amount": {"type": "number"},
                "from": {"type": "string"},
                "to": {"type": "string"},
            },
        },
    },
}


def _rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i, (amount, src, dst, result) in enumerate(
        [(120, "EUR", "JPY", "19,450"), (75.5, "GBP", "USD", "95.80"), (9, "CHF", "EUR", "9.60")]
    ):
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You help travellers with money questions."},
                    {"role": "user", "content": f"How much is {amount} {src} in {dst}?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"call_{i}",
                                "type": "function",
                                "function": {
                                    "name": "convert_currency",
                                    "arguments": json.dumps(
                                        {"amount": amount, "from": src, "to": dst}
                                    ),
                                },
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": f"call_{i}", "content": result},
                    {"role": "assistant", "content": f"{amount} {src} is about {result} {dst}."},
                ],
                "tools": [TOOL],
            }
        )
    return rows


def test_mix_keeps_tool_calls_tool_turns_and_tools(tmp_path: Path) -> None:
    rows = _rows()
    (tmp_path / "travel.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    config = MixConfig(
        seed=3,
        system_prompt="You are a careful travel assistant.",
        outputs=[MixOutput(name="train", sources=[MixSource(file="travel.jsonl", count=3)])],
    )
    summary = mix(config, tmp_path / "out", base_dir=tmp_path)
    lines = [
        json.loads(line)
        for line in Path(summary["outputs"]["train"]["path"]).read_text().splitlines()
    ]
    assert len(lines) == 3
    by_call = {line["messages"][2]["tool_calls"][0]["id"]: line for line in lines}
    assert sorted(by_call) == ["call_0", "call_1", "call_2"]
    for i, row in enumerate(rows):
        line = by_call[f"call_{i}"]
        assert line["tools"] == [TOOL]
        assert line["messages"][0] == {
            "role": "system",
            "content": "You are a careful travel assistant.",
        }
        assert line["messages"][2]["tool_calls"] == row["messages"][2]["tool_calls"]
        assert line["messages"][3] == {
            "role": "tool",
            "content": row["messages"][3]["content"],
            "tool_call_id": f"call_{i}",
        }
    # The mixed file reads back as the same conversations.
    mixed = list(read_records(Path(summary["outputs"]["train"]["path"])))
    assert all(r["tools"] == [TOOL] for r in mixed)


def test_without_a_mix_system_prompt_each_record_keeps_its_own(tmp_path: Path) -> None:
    # axolotl-style ShareGPT: the system prompt is a top-level field.
    rows = [
        {
            "system": f"You answer as a {role}.",
            "conversations": [
                {"from": "human", "value": "Should I fix the leaking tap myself?"},
                {"from": "gpt", "value": f"As a {role}: turn off the water first."},
            ],
        }
        for role in ("plumber", "landlord")
    ]
    (tmp_path / "roles.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8"
    )
    source = [MixSource(file="roles.jsonl", count=2)]
    summary = mix(
        MixConfig(outputs=[MixOutput(name="keep", sources=source, shuffle=False)]),
        tmp_path / "out",
        base_dir=tmp_path,
    )
    lines = Path(summary["outputs"]["keep"]["path"]).read_text().splitlines()
    systems = sorted(json.loads(line)["messages"][0]["content"] for line in lines)
    assert systems == ["You answer as a landlord.", "You answer as a plumber."]
    summary = mix(
        MixConfig(
            system_prompt="Be concise.",
            outputs=[MixOutput(name="replace", sources=source, shuffle=False)],
        ),
        tmp_path / "out",
        base_dir=tmp_path,
    )
    for line in Path(summary["outputs"]["replace"]["path"]).read_text().splitlines():
        roles = [m["role"] for m in json.loads(line)["messages"]]
        assert roles == ["system", "user", "assistant"]
        assert json.loads(line)["messages"][0]["content"] == "Be concise."
