"""List parsing on the messy shapes models answer in."""

from __future__ import annotations

import pytest

from synthloom.recipes.nemotron.lists import ListParseError, parse_list

EXPECTED = ["Photosynthesis", "Plate tectonics", "Black holes"]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("1. Photosynthesis\n2. Plate tectonics\n3. Black holes", id="numbered-dot"),
        pytest.param("1) Photosynthesis\n2) Plate tectonics\n3) Black holes", id="numbered-paren"),
        pytest.param("(1) Photosynthesis\n(2) Plate tectonics\n(3) Black holes", id="paren-both"),
        pytest.param(
            "Sure! Here are three topics:\n\n1. **Photosynthesis**\n2. **Plate tectonics**\n"
            "3. **Black holes**\n\nLet me know if you want more!",
            id="numbered-preamble-bold-outro",
        ),
        pytest.param("- Photosynthesis\n- Plate tectonics\n- Black holes", id="dash"),
        pytest.param("* Photosynthesis\n* Plate tectonics\n* Black holes", id="star"),
        pytest.param("• Photosynthesis\n• Plate tectonics\n• Black holes", id="unicode-bullet"),
        pytest.param('["Photosynthesis", "Plate tectonics", "Black holes"]', id="json"),
        pytest.param(
            'Here you go:\n```json\n["Photosynthesis", "Plate tectonics", "Black holes"]\n```',
            id="json-fenced",
        ),
        pytest.param(
            '{"topics": ["Photosynthesis", "Plate tectonics", "Black holes"]}', id="json-object"
        ),
        pytest.param(
            '[{"topic": "Photosynthesis"}, {"topic": "Plate tectonics"}, {"topic": "Black holes"}]',
            id="json-list-of-objects",
        ),
        pytest.param(
            "topics:\n  - Photosynthesis\n  - Plate tectonics\n  - Black holes", id="yaml-mapping"
        ),
        pytest.param(
            "```yaml\n- Photosynthesis\n- 'Plate tectonics'\n- Black holes\n```", id="yaml-fenced"
        ),
        pytest.param(
            "Topic 1: Photosynthesis\nTopic 2: Plate tectonics\nTopic 3: Black holes",
            id="labelled",
        ),
        pytest.param(
            '1. "Photosynthesis"\n\n2. "Plate tectonics"\n\n3. "Black holes"', id="quoted-spaced"
        ),
    ],
)
def test_parse_list_reads_every_common_shape(text: str) -> None:
    assert parse_list(text) == EXPECTED


def test_multi_line_items_are_joined() -> None:
    text = "1. What is the\n   capital of France?\n2. Why is the sky blue?"
    assert parse_list(text) == ["What is the capital of France?", "Why is the sky blue?"]


def test_duplicates_dropped_and_max_items_truncates() -> None:
    text = "- a\n- b\n- A\n- c\n- d"
    assert parse_list(text) == ["a", "b", "c", "d"]
    assert parse_list(text, max_items=2) == ["a", "b"]


def test_numbers_inside_items_are_not_markers() -> None:
    text = "1. Why is 3.14 close to pi?\n2. What is 2 + 2?"
    assert parse_list(text) == ["Why is 3.14 close to pi?", "What is 2 + 2?"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("I cannot help with that request.", "no numbered", id="prose"),
        pytest.param('["unterminated", "json', "no numbered", id="broken-json"),
    ],
)
def test_unparseable_answers_raise_with_reason(text: str, reason: str) -> None:
    with pytest.raises(ListParseError, match=reason):
        parse_list(text)


def test_too_few_items_is_an_error() -> None:
    with pytest.raises(ListParseError, match="expected at least 3"):
        parse_list("1. one\n2. two", min_items=3)
