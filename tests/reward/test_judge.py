"""The LLM judge against the fake server, scripted to grade like a judge."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from fakeserver import FakeServer
from synthloom.llm import RetryPolicy, TeacherClient
from synthloom.llm.backends import OpenAIHTTPBackend
from synthloom.reward import ATTRIBUTES, JudgeReward, parse_judge_answer

_GRADE = re.compile(r"<response>\n(.*?)\n</response>", re.DOTALL)


def _grader(body: dict[str, Any], endpoint: str) -> str | None:
    """Grades by a number in the response: 'score 3' -> all attributes 3; 'bad' -> prose."""
    prompt = body["messages"][-1]["content"]
    response = _GRADE.search(prompt)
    if response is None:
        return None
    text = response.group(1)
    if "bad" in text:
        return "I think this response is pretty good overall."
    if "range" in text:
        return json.dumps({a: 9 for a in ATTRIBUTES})
    value = int(re.search(r"score (\d)", text).group(1))  # type: ignore[union-attr]
    return "Here is my grade:\n" + json.dumps({a.capitalize(): value for a in ATTRIBUTES})


def _judge(server: FakeServer, convs: list[list[dict[str, str]]]) -> list[Any]:
    async def go() -> list[Any]:
        client = TeacherClient(
            OpenAIHTTPBackend(server.url, api_key_env=None),
            retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
        )
        judge = JudgeReward(client, model="fake-teacher", max_parse_attempts=2)
        try:
            return await judge.score(convs)
        finally:
            await judge.aclose()

    return asyncio.run(go())


def _conv(response: str) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": "Explain tides."},
        {"role": "assistant", "content": response},
    ]


def test_judge_scores_each_response(tmp_path: Any) -> None:
    with FakeServer(responder=_grader) as server:
        results = _judge(server, [_conv("score 3 answer"), _conv("score 1 answer")])
        prompt = server.log[0]["messages"][0]["content"]
    assert [r.attributes["correctness"] for r in results] == [3.0, 1.0]
    assert all(set(r.attributes) == set(ATTRIBUTES) for r in results)
    # The rubric carries the prompt as context and the response to grade.
    assert "Explain tides." in prompt and "helpfulness" in prompt


def test_unusable_judge_answers_are_asked_again_then_rejected() -> None:
    with FakeServer(responder=_grader) as server:
        results = _judge(server, [_conv("score 2"), _conv("bad one"), _conv("out of range")])
        requests = server.requests
    assert results[0].ok
    assert not results[1].ok and "no JSON object" in results[1].error
    assert not results[2].ok and "outside 0-4" in results[2].error
    assert requests == 1 + 2 + 2  # two answers for each refused item


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('{"helpfulness": 3}', "no number for 'correctness'", id="missing"),
        pytest.param('{"helpfulness": "x", "correctness": 1}', "not a number", id="text"),
        pytest.param("[1, 2, 3, 4, 5]", "no JSON object", id="array"),
    ],
)
def test_parse_judge_answer_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_judge_answer(text)


def test_a_response_that_calls_a_tool_is_judged_on_its_call() -> None:
    conv: list[dict[str, Any]] = [
        {"role": "user", "content": "Book me a table for two at 8, score 4 if you can."},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "book_table",
                        "arguments": '{"people": 2, "note": "score 4"}',
                    },
                }
            ],
        },
    ]
    with FakeServer(responder=_grader) as server:
        (result,) = _judge(server, [conv])
        prompt = server.log[0]["messages"][0]["content"]
    assert 'book_table({"people": 2, "note": "score 4"})' in _GRADE.search(prompt).group(1)  # type: ignore[union-attr]
    assert result.attributes is not None and result.attributes["helpfulness"] == 4.0
