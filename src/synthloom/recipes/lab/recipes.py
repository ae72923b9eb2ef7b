"""The three LAB recipes, one leaf at a time, on the teacher engine.

    freeform skill   questions (seeds sampled within the leaf) -> judge question (keep passes)
                     -> answer -> judge the pair (1-3, keep >= threshold)
    grounded skill   contexts -> questions per context -> the same judge / answer / judge
    knowledge        chunks x seed sets -> question / answer pairs grounded in the chunk
                     -> judge faithfulness, relevancy and question quality -> keep passes

Each recipe runs stage by stage and orders every stage's results by work index before the next
stage, and duplicates are dropped in that order: so a run is a pure function of the taxonomy,
the settings and the teacher's answers, and a re-run replays the same requests from the cache.
Every dropped item is reported with the step and the reason.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from synthloom.engine.executor import bounded_map
from synthloom.engine.rejects import Reject
from synthloom.llm.client import ParseHook, Result, TeacherClient
from synthloom.llm.types import Completion, Request
from synthloom.recipes.lab.chunking import Chunk
from synthloom.recipes.lab.config import (
    FreeformSettings,
    GroundedSettings,
    KnowledgeSettings,
    Sampling,
    TeacherSettings,
)
from synthloom.recipes.lab.prompts import (
    parse_answer,
    parse_contexts,
    parse_pairs,
    parse_questions,
    parse_score,
    render,
)
from synthloom.records import make_record
from synthloom.taxonomy.model import KnowledgeSeed, Leaf, SeedExample

__all__ = ["LeafOutput", "Teacher", "run_freeform", "run_grounded", "run_knowledge", "with_context"]

T = TypeVar("T")
R = TypeVar("R")
_SPACE = re.compile(r"\s+")


def with_context(context: str | None, question: str) -> str:
    """The user turn of a grounded sample: the context, a blank line, the question."""
    return f"{context}\n\n{question}" if context else question


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower())


@dataclass(slots=True)
class LeafOutput:
    """What one leaf produced: records (in work order), rejects, and failed requests."""

    records: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    failures: int = 0


class Teacher:
    """Sends the recipes' prompts through one ``TeacherClient`` with a global in-flight bound.

    Until the server has answered once, requests go one at a time, so a wrong URL costs one
    request's retries, not a burst of them.
    """

    def __init__(self, client: TeacherClient, settings: TeacherSettings, seed: int) -> None:
        self.client = client
        self.settings = settings
        self.seed = seed
        self.slots = asyncio.Semaphore(settings.max_in_flight)
        self._probe = asyncio.Lock()

    @property
    def judge_model(self) -> str:
        return self.settings.judge_model or self.settings.model

    async def ask(
        self,
        prompt: str,
        sampling: Sampling,
        parse: ParseHook,
        *,
        judge: bool = False,
        sample: int = 0,
    ) -> Result[Any]:
        # Generation draws get their own seed per sample; judges are deterministic questions
        # and share one cache entry for identical prompts.
        seed = None if judge else (self.seed * 1_000_003 + sample) % 2**31
        request = Request(
            model=self.judge_model if judge else self.settings.model,
            messages=[{"role": "user", "content": prompt}],
            params=sampling.params(seed),
            sample=0 if judge else sample,
        )
        async with self.slots:
            if not self.client.server_answered:
                async with self._probe:
                    return await self._run(request, parse)
            return await self._run(request, parse)

    async def judge(
        self, template: str, sampling: Sampling, parse: ParseHook, **fields: Any
    ) -> Result[Any]:
        """Ask the judge prompt ``template`` (rendered with ``fields``) on the judge model."""
        return await self.ask(render(template, **fields), sampling, parse, judge=True)

    async def _run(self, request: Request, parse: ParseHook) -> Result[Any]:
        return await self.client.run(
            request, parse=parse, max_parse_attempts=self.settings.max_parse_attempts
        )

    async def map(self, items: Sequence[T], fn: Callable[[int, T], Awaitable[R]]) -> list[R]:
        """``fn(index, item)`` over items, bounded, results back in item order."""

        async def indexed(pair: tuple[int, T]) -> tuple[int, R]:
            return pair[0], await fn(pair[0], pair[1])

        out: list[tuple[int, R]] = [
            r
            async for r in bounded_map(
                list(enumerate(items)), indexed, max_in_flight=self.settings.max_in_flight
            )
        ]
        out.sort(key=lambda pair: pair[0])
        return [value for _, value in out]


def _got(result: Result[Any]) -> Any:
    """The parsed value of an ok result."""
    return result.parsed


def _text_parser(fn: Callable[[str], Any]) -> ParseHook:
    def parse(completion: Completion, request: Request) -> Any:
        return fn(completion.text)

    return parse


def _score_parser(low: int, high: int) -> ParseHook:
    def parse(completion: Completion, request: Request) -> Any:
        return parse_score(completion.text, low=low, high=high)

    return parse


_QUESTIONS = _text_parser(parse_questions)
_CONTEXTS = _text_parser(parse_contexts)
_PAIRS = _text_parser(parse_pairs)
_ANSWER = _text_parser(parse_answer)
_BINARY = _score_parser(0, 1)
_PAIR_SCORE = _score_parser(1, 3)
_RELEVANCY = _score_parser(0, 2)


class _Leaf:
    """Bookkeeping shared by the recipes for one leaf."""

    def __init__(self, leaf: Leaf, teacher: Teacher) -> None:
        self.leaf = leaf
        self.teacher = teacher
        self.out = LeafOutput()
        self.seen = {_norm(s.question) for s in leaf.seeds}

    def rng(self, *parts: object) -> random.Random:
        return random.Random("|".join(map(str, (self.teacher.seed, self.leaf.path, *parts))))

    def reject(self, step: str, reason: str, item: dict[str, Any], raw: str | None = None) -> None:
        self.out.rejects.append(Reject("lab", step, reason, item, raw, {"leaf": self.leaf.path}))

    def failed(self, step: str, result: Result[Any], item: dict[str, Any]) -> bool:
        """Record a result that is not ok; True when the item must stop here."""
        if result.ok:
            return False
        if result.status == "failed":
            self.out.failures += 1
            self.reject(step, f"request failed: {result.error}", item)
        else:
            self.reject(step, f"unusable answer: {result.error}", item, result.raw)
        return True

    def passes(self, step: str, result: Result[Any], threshold: int, item: dict[str, Any]) -> bool:
        """True for a judge's score of at least ``threshold``; else the item is rejected at
        ``step`` (a failed request, an unusable answer, or the score and its rationale)."""
        if self.failed(step, result, item):
            return False
        score = _got(result)
        if score.value < threshold:
            self.reject(step, f"score {score.value} < {threshold}: {score.rationale}", item)
            return False
        return True

    def fresh(self, step: str, text: str, item: dict[str, Any]) -> bool:
        key = _norm(text)
        if key in self.seen:
            self.reject(step, "duplicate of a seed or an earlier item", item)
            return False
        self.seen.add(key)
        return True

    def emit(self, user: str, answer: str, meta: dict[str, Any]) -> None:
        messages = [
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        ]
        base = {
            "recipe": "lab",
            "leaf": self.leaf.path,
            "kind": self.leaf.kind,
            "teacher": self.teacher.settings.model,
        }
        self.out.records.append(make_record(messages, {**base, **meta}))


def _sample_seeds(rng: random.Random, seeds: Sequence[SeedExample], k: int) -> list[SeedExample]:
    return rng.sample(list(seeds), min(k, len(seeds)))


async def _judge_answer_judge(
    state: _Leaf,
    settings: FreeformSettings | GroundedSettings,
    question: str,
    context: str | None,
    order: list[int],
) -> None:
    """Judge the question, answer it, judge the pair; emit or reject."""
    leaf, teacher = state.leaf, state.teacher
    item: dict[str, Any] = {"question": question, "context": context, "order": order}
    # What every prompt of the item shows: the leaf's task, the context, the question.
    shown = {"task_description": leaf.task_description, "context": context, "question": question}
    verdict = await teacher.judge("judge_question", settings.judge, _BINARY, **shown)
    if not state.passes("judge_question", verdict, settings.question_threshold, item):
        return
    examples = _sample_seeds(state.rng("answer", *order), leaf.seeds, 3)
    answered = await teacher.ask(
        render("skill_answer", examples=examples, **shown),
        settings.answer,
        _ANSWER,
        sample=hash_order(order),
    )
    if state.failed("answer", answered, item):
        return
    answer: str = _got(answered)
    item["answer"] = answer
    graded = await teacher.judge("judge_pair", settings.judge, _PAIR_SCORE, **shown, answer=answer)
    if not state.passes("judge_pair", graded, settings.pair_threshold, item):
        return
    state.emit(
        with_context(context, question),
        answer,
        {
            "question": question,
            "answer": answer,
            "context": context,
            "order": order,
            "scores": {"question": _got(verdict).value, "pair": _got(graded).value},
        },
    )


def hash_order(order: Sequence[int]) -> int:
    """A sample index for a work item: distinct items get distinct cache entries and seeds."""
    value = 0
    for part in order:
        value = value * 1_000_003 + part + 1
    return value % 2**31


async def _questions(
    state: _Leaf,
    units: int,
    per_request: int,
    settings: FreeformSettings | GroundedSettings,
    context_for: Callable[[int], str | None],
) -> list[tuple[list[int], str, str | None]]:
    """Generate questions for every unit; (order, question, context) in work order, deduped."""
    leaf, teacher = state.leaf, state.teacher

    async def one(unit: int, _: None) -> Result[Any]:
        context = context_for(unit)
        pool = leaf.seeds
        examples = _sample_seeds(state.rng("questions", unit), pool, settings.seeds_per_prompt)
        prompt = render(
            "skill_questions",
            task_description=leaf.task_description,
            context=context,
            examples=examples,
            count=per_request,
        )
        return await teacher.ask(prompt, settings.generate, _QUESTIONS, sample=unit)

    results = await teacher.map([None] * units, one)
    out: list[tuple[list[int], str, str | None]] = []
    for unit, result in enumerate(results):
        context = context_for(unit)
        if state.failed("generate_questions", result, {"unit": unit, "context": context}):
            continue
        for k, question in enumerate(_got(result)[:per_request]):
            item = {"question": question, "context": context, "order": [unit, k]}
            if state.fresh("generate_questions", question, item):
                out.append(([unit, k], question, context))
    return out


async def run_freeform(leaf: Leaf, settings: FreeformSettings, teacher: Teacher) -> LeafOutput:
    """The freeform-skill recipe for one leaf."""
    state = _Leaf(leaf, teacher)
    units = math.ceil(settings.questions / settings.questions_per_request)
    questions = await _questions(
        state, units, settings.questions_per_request, settings, lambda _: None
    )
    questions = questions[: settings.questions]

    async def finish(_: int, q: tuple[list[int], str, str | None]) -> None:
        await _judge_answer_judge(state, settings, q[1], q[2], q[0])

    await teacher.map(questions, finish)
    state.out.records.sort(key=lambda r: r["meta"]["order"])
    return state.out


async def run_grounded(leaf: Leaf, settings: GroundedSettings, teacher: Teacher) -> LeafOutput:
    """The grounded-skill recipe for one leaf: contexts first, then questions per context."""
    state = _Leaf(leaf, teacher)

    async def make_context(unit: int, _: None) -> Result[Any]:
        examples = _sample_seeds(state.rng("context", unit), leaf.seeds, settings.seeds_per_prompt)
        prompt = render(
            "grounded_context", task_description=leaf.task_description, examples=examples
        )
        return await teacher.ask(prompt, settings.generate, _CONTEXTS, sample=unit)

    contexts: list[str] = []
    seen_contexts = {_norm(s.context or "") for s in leaf.seeds}
    for unit, result in enumerate(await teacher.map([None] * settings.contexts, make_context)):
        if state.failed("generate_context", result, {"unit": unit}):
            continue
        context: str = _got(result)[0]
        if _norm(context) in seen_contexts:
            state.reject("generate_context", "duplicate of a seed or an earlier context", {})
            continue
        seen_contexts.add(_norm(context))
        contexts.append(context)
    questions = await _questions(
        state, len(contexts), settings.questions_per_context, settings, lambda u: contexts[u]
    )

    async def finish(_: int, q: tuple[list[int], str, str | None]) -> None:
        await _judge_answer_judge(state, settings, q[1], q[2], q[0])

    await teacher.map(questions, finish)
    state.out.records.sort(key=lambda r: r["meta"]["order"])
    return state.out


async def run_knowledge(
    leaf: Leaf, settings: KnowledgeSettings, teacher: Teacher, chunks: Sequence[Chunk]
) -> LeafOutput:
    """The knowledge recipe for one leaf over its document chunks."""
    state = _Leaf(leaf, teacher)
    seed_sets: list[KnowledgeSeed] = list(leaf.knowledge_seeds)
    units = [(c, j) for c in range(len(chunks)) for j in range(settings.seed_sets_per_chunk)]

    async def generate(index: int, unit: tuple[int, int]) -> Result[Any]:
        chunk = chunks[unit[0]]
        rng = state.rng("knowledge", *unit)
        seed = seed_sets[(rng.randrange(len(seed_sets)) + unit[1]) % len(seed_sets)]
        prompt = render(
            "knowledge_qa",
            domain=leaf.domain,
            document_outline=leaf.document_outline,
            seed=seed,
            chunk=chunk.text,
            count=settings.pairs_per_request,
        )
        return await teacher.ask(prompt, settings.generate, _PAIRS, sample=index)

    pairs: list[tuple[list[int], Chunk, str, str]] = []
    for index, result in enumerate(await teacher.map(units, generate)):
        chunk = chunks[units[index][0]]
        item = {"chunk": chunk.index, "document": chunk.document, "order": [index]}
        if state.failed("generate_pairs", result, item):
            continue
        for k, (question, answer) in enumerate(_got(result)[: settings.pairs_per_request]):
            pair_item = {**item, "question": question, "answer": answer, "order": [index, k]}
            if state.fresh("generate_pairs", question, pair_item):
                pairs.append(([index, k], chunk, question, answer))

    async def judge(_: int, pair: tuple[list[int], Chunk, str, str]) -> None:
        order, chunk, question, answer = pair
        item = {
            "question": question,
            "answer": answer,
            "chunk": chunk.index,
            "document": chunk.document,
            "order": order,
        }
        sampling, text = settings.judge, chunk.text
        faithful, relevant, quality = await asyncio.gather(
            teacher.judge(
                "judge_faithfulness",
                sampling,
                _BINARY,
                chunk=text,
                question=question,
                answer=answer,
            ),
            teacher.judge(
                "judge_relevancy", sampling, _RELEVANCY, question=question, answer=answer
            ),
            teacher.judge(
                "judge_knowledge_question",
                sampling,
                _BINARY,
                domain=leaf.domain,
                chunk=text,
                question=question,
            ),
        )
        checks = (
            ("judge_faithfulness", faithful, settings.faithfulness_threshold),
            ("judge_relevancy", relevant, settings.relevancy_threshold),
            ("judge_question", quality, settings.question_threshold),
        )
        scores: dict[str, int] = {}
        for step, result, threshold in checks:
            if not state.passes(step, result, threshold, item):
                return
            scores[step.removeprefix("judge_")] = _got(result).value
        state.emit(
            with_context(chunk.text, question),
            answer,
            {
                "question": question,
                "answer": answer,
                "context": chunk.text,
                "document": chunk.document,
                "chunk": chunk.index,
                "order": order,
                "scores": scores,
            },
        )

    await teacher.map(pairs, judge)
    state.out.records.sort(key=lambda r: r["meta"]["order"])
    return state.out
