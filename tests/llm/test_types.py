from __future__ import annotations

import pytest

from synthloom.llm import Completion, Request, SamplingParams, Usage, cache_key


def test_payload_carries_only_set_parameters() -> None:
    params = SamplingParams(
        temperature=0.7,
        top_p=0.9,
        max_tokens=64,
        n=3,
        stop=("\n\n",),
        seed=5,
        response_format={"type": "json_object"},
    )
    body = Request(model="m", messages=[{"role": "user", "content": "hi"}], params=params).payload()
    assert body == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 64,
        "n": 3,
        "stop": ["\n\n"],
        "seed": 5,
        "response_format": {"type": "json_object"},
    }
    assert Request(model="m", prompt="x").payload() == {"model": "m", "prompt": "x"}


def test_request_needs_exactly_one_input() -> None:
    with pytest.raises(ValueError):
        Request(model="m")
    with pytest.raises(ValueError):
        Request(model="m", prompt="a", messages=[{"role": "user", "content": "a"}])


def test_cache_key_covers_what_defines_an_answer_and_nothing_else() -> None:
    base = Request(model="m", messages=[{"role": "user", "content": "hi"}])
    key = cache_key(base)
    variants = [
        Request(model="m2", messages=base.messages),
        Request(model="m", messages=[{"role": "user", "content": "hi!"}]),
        Request(model="m", messages=base.messages, params=SamplingParams(temperature=1.0)),
        Request(model="m", messages=base.messages, sample=1),
        Request(model="m", prompt="hi"),
    ]
    keys = {cache_key(v) for v in variants} | {cache_key(base, attempt=1)}
    assert key not in keys and len(keys) == 6
    assert cache_key(Request(model="m", messages=base.messages, metadata={"leaf": 3})) == key


def test_completion_round_trips_through_its_cache_form() -> None:
    done = Completion(
        texts=("a", "b"), finish_reasons=("stop", "length"), usage=Usage(3, 4), model="m"
    )
    back = Completion.from_json(done.to_json())
    assert back.texts == done.texts and back.finish_reasons == done.finish_reasons
    assert back.usage == done.usage and back.cached and not done.cached
    assert back.usage.total_tokens == 7
