"""What generating each leaf will cost, computed without calling a model.

Counts are upper bounds (every item passes every judge); prompt tokens are estimated by
rendering each step's prompt with the leaf's seeds standing in for generated text (about four
characters a token), completion tokens are the steps' ``max_tokens``.
"""

from __future__ import annotations

import math
from typing import Any

from synthloom.recipes.lab.chunking import Chunk
from synthloom.recipes.lab.config import PipelineConfig, Sampling, settings_for
from synthloom.recipes.lab.prompts import render
from synthloom.taxonomy.model import Leaf

__all__ = ["plan_leaf"]


def _tokens(prompt: str) -> int:
    return len(prompt) // 4 + 5


def _max(sampling: Sampling) -> int:
    return sampling.max_tokens or 0


def plan_leaf(
    leaf: Leaf,
    config: PipelineConfig,
    *,
    chunks: list[Chunk] | None = None,
    source: str = "pipeline",
) -> dict[str, Any]:
    """``{"leaf", "kind", "version", "seeds", "chunks", "planned_samples", "model_calls",
    "estimated_prompt_tokens", "max_completion_tokens"}`` for one leaf (knowledge leaves need
    their ``chunks``)."""
    s = settings_for(config, leaf, source=source)
    seed = leaf.seeds[0]
    task = leaf.task_description
    calls = prompt = completion = samples = 0
    if leaf.kind in ("freeform_skill", "grounded_skill"):
        context = seed.context
        if leaf.kind == "freeform_skill":
            units = math.ceil(s.questions / s.questions_per_request)
            samples = s.questions
            per_request = s.questions_per_request
        else:
            units = s.contexts
            samples = s.contexts * s.questions_per_context
            per_request = s.questions_per_context
            ctx = render("grounded_context", task_description=task, examples=leaf.seeds[:3])
            calls += units
            prompt += units * _tokens(ctx)
            completion += units * _max(s.generate)
        examples = list(leaf.seeds[: s.seeds_per_prompt])
        gen = render(
            "skill_questions",
            task_description=task,
            context=context,
            examples=examples,
            count=per_request,
        )
        calls += units + 3 * samples
        prompt += units * _tokens(gen)
        completion += units * _max(s.generate)
        values = {"task_description": task, "context": context, "question": seed.question}
        per_item = (
            _tokens(render("judge_question", **values))
            + _tokens(render("skill_answer", examples=leaf.seeds[:3], **values))
            + _tokens(render("judge_pair", answer=seed.answer, **values))
        )
        prompt += samples * per_item
        completion += samples * (2 * _max(s.judge) + _max(s.answer))
        n_chunks = None
    else:
        chunks = chunks or []
        n_chunks = len(chunks)
        units = n_chunks * s.seed_sets_per_chunk
        samples = units * s.pairs_per_request
        calls = units + 3 * samples
        for chunk in chunks:
            gen = render(
                "knowledge_qa",
                domain=leaf.domain,
                document_outline=leaf.document_outline,
                seed=leaf.knowledge_seeds[0],
                chunk=chunk.text,
                count=s.pairs_per_request,
            )
            values = {"chunk": chunk.text, "question": seed.question, "answer": seed.answer}
            judges = (
                _tokens(render("judge_faithfulness", **values))
                + _tokens(render("judge_relevancy", question=seed.question, answer=seed.answer))
                + _tokens(
                    render(
                        "judge_knowledge_question",
                        domain=leaf.domain,
                        chunk=chunk.text,
                        question=seed.question,
                    )
                )
            )
            prompt += s.seed_sets_per_chunk * (_tokens(gen) + s.pairs_per_request * judges)
        completion = units * _max(s.generate) + 3 * samples * _max(s.judge)
    return {
        "leaf": leaf.path,
        "kind": leaf.kind,
        "version": leaf.version,
        "seeds": len(leaf.seeds),
        "chunks": n_chunks,
        "planned_samples": samples,
        "model_calls": calls,
        "estimated_prompt_tokens": prompt,
        "max_completion_tokens": completion,
    }
