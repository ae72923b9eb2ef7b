"""An LLM judge as a reward model: a rubric prompt, five attributes back as JSON.

Any chat model behind the teacher client can judge; its answer must be one JSON object with the
five HelpSteer2 attributes as numbers from 0 to 4. An answer that is not (no JSON, a missing
attribute, a value out of range) is asked again through the client's parse-retry loop, then
becomes a result with the reason. The rubric is our own Jinja template beside this module; a
user can pass another.
"""

from __future__ import annotations

import json
import re
from importlib import resources

import jinja2

from synthloom.llm.client import TeacherClient
from synthloom.llm.types import Completion, Request, SamplingParams
from synthloom.messages import message_text
from synthloom.reward.base import ATTRIBUTES, ClientReward, Conversation

__all__ = ["JudgeReward", "parse_judge_answer"]

_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_judge_answer(text: str) -> dict[str, float]:
    """The five attributes from a judge's JSON answer; ValueError says what is wrong."""
    match = _OBJECT.search(text)
    if match is None:
        raise ValueError("the judge's answer holds no JSON object")
    try:
        obj = json.loads(match.group(0))
    except ValueError as exc:
        raise ValueError(f"the judge's JSON does not parse ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError("the judge's JSON is not an object")
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    scores: dict[str, float] = {}
    for name in ATTRIBUTES:
        value = lowered.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"the judge gave no number for {name!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"the judge gave {value!r} for {name!r}, not a number") from None
        if not 0.0 <= number <= 4.0:
            raise ValueError(f"the judge gave {number:g} for {name!r}, outside 0-4")
        scores[name] = number
    return scores


def _default_template() -> str:
    return (resources.files("synthloom.reward") / "templates" / "judge.j2").read_text("utf-8")


class JudgeReward(ClientReward):
    """Scores responses by asking a chat model to grade them with a rubric."""

    name = "judge"

    def __init__(
        self,
        client: TeacherClient,
        *,
        model: str,
        template: str | None = None,
        temperature: float | None = 0.0,
        max_tokens: int | None = 200,
        json_mode: bool = False,
        max_parse_attempts: int = 3,
    ) -> None:
        super().__init__(client, model=model, max_parse_attempts=max_parse_attempts)
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
        self.template = env.from_string(template or _default_template())
        self.params = SamplingParams(
            temperature=temperature,
            max_tokens=max_tokens,
            response_format={"type": "json_object"} if json_mode else None,
        )

    def render(self, conversation: Conversation) -> str:
        """The judge prompt for one conversation (its last turn is the response)."""
        context = [dict(m) for m in conversation[:-1]]
        # A response that calls tools is judged on its calls, written name(arguments).
        return self.template.render(context=context, response=message_text(conversation[-1]))

    def request(self, conversation: Conversation) -> Request:
        return Request(
            model=self.model,
            messages=[{"role": "user", "content": self.render(conversation)}],
            params=self.params,
        )

    def parse_scores(self, completion: Completion, request: Request) -> dict[str, float]:
        return parse_judge_answer(completion.text)
