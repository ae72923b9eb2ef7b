"""Reading preference pairs in the shapes published sets use: TRL's guide's own examples,
UltraFeedback-binarized rows (a prompt string over whole conversations, scores beside them),
HH-RLHF dialogues, and argilla-style ratings kept in meta."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthloom.assay.preference import is_preference_data, read_pairs
from synthloom.errors import DataFormatError


def _one(tmp_path: Path, row: dict[str, Any]) -> Any:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    data = read_pairs(path)
    assert len(data) == 1
    return data, data.pairs[0]


def _texts(turns: list[dict[str, Any]]) -> list[str]:
    return [t["content"] for t in turns]


def test_trl_standard_implicit_prompt_is_the_shared_beginning(tmp_path: Path) -> None:
    data, pair = _one(tmp_path, {"chosen": "The sky is blue.", "rejected": "The sky is green."})
    assert data.format == "implicit standard"
    assert _texts(pair.prompt) == ["The sky is"]
    assert (_texts(pair.chosen), _texts(pair.rejected)) == (["blue."], ["green."])


def test_hh_rlhf_dialogue_is_cut_after_the_last_assistant_marker(tmp_path: Path) -> None:
    head = (
        "\n\nHuman: What's a good way to keep basil alive indoors?\n\nAssistant: Give it sun."
        "\n\nHuman: How much sun?\n\nAssistant:"
    )
    _, pair = _one(
        tmp_path,
        {
            "chosen": head + " Six to eight hours; a south-facing window works well.",
            "rejected": head + " Six hours is fine, I think.",
        },
    )
    assert pair.prompt[0]["content"].endswith("How much sun?\n\nAssistant:")
    assert _texts(pair.chosen) == [" Six to eight hours; a south-facing window works well."]
    assert _texts(pair.rejected) == [" Six hours is fine, I think."]


def test_ultrafeedback_binarized_rows_keep_only_the_completions(tmp_path: Path) -> None:
    prompt = "Write a haiku about autumn rain"
    row = {
        "prompt": prompt,
        "prompt_id": "3f1c9a",
        "chosen": [
            {"role": "user", "content": prompt},
            {
                "role": "assistant",
                "content": "Cold rain on the roof\nmaple leaves cling to the glass\n"
                "the kettle whistles",
            },
        ],
        "rejected": [
            {"role": "user", "content": prompt},
            {
                "role": "assistant",
                "content": "Rain falls in autumn. It is wet. Leaves are falling.",
            },
        ],
        "score_chosen": 8.5,
        "score_rejected": 4.0,
    }
    data, pair = _one(tmp_path, row)
    assert data.format == "conversational"
    assert _texts(pair.prompt) == [prompt]
    assert [t["role"] for t in pair.chosen] == ["assistant"]
    assert (pair.chosen_score, pair.rejected_score, pair.margin) == (8.5, 4.0, 4.5)
    assert data.score_field == "score_chosen - score_rejected"


def test_scores_in_meta_and_an_explicit_margin(tmp_path: Path) -> None:
    row = {
        "prompt": "Summarise the tenancy notice rules.",
        "chosen": "Landlords must give two months' written notice.",
        "rejected": "Notice is needed.",
        "meta": json.dumps({"chosen_rating": 5, "rejected_rating": 2}),
    }
    data, pair = _one(tmp_path, row)
    assert pair.margin == 3.0 and data.score_field == "meta.chosen_rating - meta.rejected_rating"
    _, only_margin = _one(tmp_path, {**row, "meta": {"margin": 0.25}})
    assert only_margin.margin == 0.25 and only_margin.chosen_score is None


def test_identical_conversations_keep_their_last_turn_as_the_answer(tmp_path: Path) -> None:
    chat = [
        {"role": "user", "content": "Is 17 prime?"},
        {"role": "assistant", "content": "Yes, 17 is prime."},
    ]
    data, pair = _one(tmp_path, {"chosen": chat, "rejected": chat})
    assert data.format == "implicit conversational"
    assert _texts(pair.prompt) == ["Is 17 prime?"]
    assert pair.chosen == pair.rejected == [chat[1]]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param('{"chosen": "a", "rejected": "b"}\n', True, id="pairs"),
        pytest.param('{"rejected": "b", "prompt": "q"}\n', True, id="missing-chosen-still-pairs"),
        pytest.param('{"prompt": "q", "response": "a"}\n', False, id="instruction"),
        pytest.param('{"messages": [{"role": "user", "content": "hi"}]}\n', False, id="chat"),
    ],
)
def test_detection_from_the_first_record(tmp_path: Path, content: str, expected: bool) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(content, encoding="utf-8")
    assert is_preference_data(path) is expected


def test_a_csv_is_never_preference_data(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("chosen,rejected\na,b\n", encoding="utf-8")
    assert not is_preference_data(path)


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="empty"):
        read_pairs(path)
