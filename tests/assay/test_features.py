from __future__ import annotations

import math

from synthloom.assay.features import BASE_FEATURES, flatten_meta, record_features
from synthloom.records import make_record


def test_features_count_turns_lengths_and_richness() -> None:
    rec = make_record(
        [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "two words"},
            {"role": "assistant", "content": "a a b"},
        ],
        {"score": 3.5, "topic": "x", "nested": {"k": 1}, "tags": ["ignored"]},
    )
    frame = record_features([rec])
    row = frame.iloc[0]
    assert row["turns"] == 2
    assert row["has_system"]
    assert row["prompt_chars"] == len("be brief\ntwo words")
    assert row["response_words"] == 3
    assert row["response_ttr"] == 2 / 3
    assert math.isclose(row["response_root_ttr"], 2 / math.sqrt(3))
    assert row["meta.score"] == 3.5 and row["meta.topic"] == "x" and row["meta.nested.k"] == 1
    assert "meta.tags" not in frame.columns
    assert list(frame.columns[: len(BASE_FEATURES)]) == list(BASE_FEATURES)


def test_meta_columns_are_aligned_and_mixed_types_become_text() -> None:
    a = make_record([{"role": "user", "content": "q"}], {"level": 1})
    b = make_record([{"role": "user", "content": "r"}], {"level": "hard"})
    c = make_record([{"role": "user", "content": "s"}], {})
    frame = record_features([a, b, c], meta_columns=["meta.level", "meta.absent"])
    assert frame["meta.level"].tolist()[:2] == ["1", "hard"]
    assert frame["meta.absent"].isna().all()


def test_flatten_meta_paths() -> None:
    assert flatten_meta({"a": {"b": {"c": 2}}, "d": None}) == {"meta.a.b.c": 2}


def test_tool_results_are_prompt_text_and_tool_calls_response_text() -> None:
    from synthloom.text import prompt_text, record_text, response_text

    rec = make_record(
        [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "content": "snow, -4 C", "tool_call_id": "c1"},
            {"role": "assistant", "content": "It is snowing in Oslo."},
        ]
    )
    assert prompt_text(rec) == "Weather in Oslo?\nsnow, -4 C"
    assert response_text(rec) == 'get_weather({"city": "Oslo"})\nIt is snowing in Oslo.'
    assert "snow, -4 C" in record_text(rec) and "get_weather(" in record_text(rec)
    row = record_features([rec]).iloc[0]
    assert row["turns"] == 3  # user, call, answer: the tool result is not a turn
    assert row["prompt_chars"] == len("Weather in Oslo?\nsnow, -4 C")
    assert row["response_words"] == len(response_text(rec).split())
