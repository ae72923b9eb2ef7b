"""Prompt generation: the topic trees of each family, then the augmentations.

Each tree level is one batch of teacher requests run through the bounded executor; a level that
asks for a list is parsed by ``parse_list`` in the parse hook (an unreadable list is asked again,
then recorded as a reject with its reason). Every prompt record carries ``meta.nemotron`` (family
and the path through its tree) and, when augmented, ``meta.constraints``. Requests are pure
functions of the config, so a rerun is answered by the cache.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from synthloom.engine.executor import run_requests
from synthloom.engine.rejects import Reject, RejectWriter, rejects_dir
from synthloom.errors import DataFormatError
from synthloom.llm.client import TeacherClient
from synthloom.llm.types import Completion, Request, SamplingParams
from synthloom.recipes.nemotron.config import (
    STAGE,
    PipelineConfig,
    default_topics,
    read_topic_file,
)
from synthloom.recipes.nemotron.constraints import augment
from synthloom.recipes.nemotron.lists import parse_list
from synthloom.records import make_record, read_records, write_parquet

__all__ = [
    "MadePrompts",
    "PromptGenerator",
    "check_inputs",
    "make_prompts",
    "render",
    "save_prompts",
]

_ENV = jinja2.Environment(
    loader=jinja2.FunctionLoader(
        lambda name: (resources.files("synthloom.recipes.nemotron") / "templates" / name).read_text(
            "utf-8"
        )
    ),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
)


def render(template: str, **values: Any) -> str:
    """One of our prompt templates (``templates/<template>.j2``), rendered."""
    return _ENV.get_template(f"{template}.j2").render(**values).strip()


def _fraction_hit(key: str, salt: str, fraction: float) -> bool:
    """A stable coin flip per prompt: the same prompts are augmented on every run."""
    digest = hashlib.sha256(f"{salt}|{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _document_text(config: PipelineConfig, doc: str, max_chars: int) -> str:
    path = config.resolve(doc)
    try:
        return path.read_text(encoding="utf-8")[:max_chars]
    except FileNotFoundError:
        raise DataFormatError(
            "document not found; check families.closed_qa.documents", path=path
        ) from None
    except IsADirectoryError:
        raise DataFormatError("is a folder; name document files", path=path) from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"is not UTF-8 text (byte {exc.start}); re-encode the file as UTF-8", path=path
        ) from None


def check_inputs(config: PipelineConfig) -> None:
    """Read every file the pipeline names (topic lists, documents, prompts) before anything is
    asked, so a missing document or a broken line costs no request."""
    fam = config.families
    for name in ("open_qa", "writing", "math", "coding"):
        section = getattr(fam, name)
        if section is not None and getattr(section, "topics_file", None):
            read_topic_file(config.resolve(section.topics_file), field=f"{name}.topics_file")
    if fam.closed_qa is not None:
        for doc in fam.closed_qa.documents:
            _document_text(config, doc, fam.closed_qa.max_document_chars)
    if fam.prompts_file is not None:
        for _ in read_records(config.resolve(fam.prompts_file.path)):
            pass


@dataclass
class _Node:
    """One prompt-tree node waiting for its children."""

    prompt: str
    meta: dict[str, Any]


@dataclass
class PromptGenerator:
    """Runs the families and augmentations of a pipeline with one teacher client."""

    config: PipelineConfig
    client: TeacherClient
    rejects: list[Reject] = field(default_factory=list)

    # -- one tree level -------------------------------------------------------------------

    def _params(self, salt: int = 0) -> SamplingParams:
        t = self.config.prompt_sampling
        return SamplingParams(
            temperature=t.temperature,
            top_p=t.top_p,
            max_tokens=t.max_tokens,
            seed=None if t.seed is None else t.seed + salt,
        )

    async def _ask(
        self,
        nodes: list[_Node],
        *,
        as_list: int | None,
    ) -> list[tuple[_Node, Any]]:
        """Ask every node's prompt; list levels parse the answer into at most ``as_list`` items."""
        teacher = self.config.teacher

        def requests() -> Iterator[Request]:
            for node in nodes:
                yield Request(
                    model=teacher.model,
                    messages=[{"role": "user", "content": node.prompt}],
                    params=self._params(),
                    metadata={"node": node},
                )

        parse: Callable[[Completion, Request], Any]
        if as_list is not None:
            limit = as_list

            def parse(completion: Completion, request: Request) -> Any:
                return parse_list(completion.text, max_items=limit)
        else:

            def parse(completion: Completion, request: Request) -> Any:
                text = completion.text.strip()
                if not text:
                    raise ValueError("the answer is empty")
                return text

        out: list[tuple[_Node, Any]] = []
        async for result in run_requests(
            requests(),
            self.client,
            max_in_flight=teacher.max_in_flight,
            parse=parse,
            max_parse_attempts=teacher.max_parse_attempts,
        ):
            node = result.request.metadata["node"]
            if result.ok:
                out.append((node, result.parsed))
            else:
                item = {"prompt": node.prompt, "meta": node.meta}
                status = {"status": result.status}
                self.rejects.append(
                    Reject(STAGE, "prompts", str(result.error), item, result.raw, status)
                )
        # Completion order varies run to run; the tree order must not.
        order = {id(n): i for i, n in enumerate(nodes)}
        out.sort(key=lambda pair: order[id(pair[0])])
        return out

    async def _expand(
        self, nodes: list[_Node], n: int, child: Callable[[_Node, str], _Node]
    ) -> list[_Node]:
        return [
            child(node, item) for node, items in await self._ask(nodes, as_list=n) for item in items
        ]

    async def _revise(self, nodes: list[_Node], template: str, key: str) -> list[_Node]:
        asks = [_Node(render(template, **{key: n.prompt}), n.meta) for n in nodes]
        by_id = {id(a): n for a, n in zip(asks, nodes, strict=True)}
        out = []
        for ask, text in await self._ask(asks, as_list=None):
            original = by_id[id(ask)]
            out.append(_Node(text, {**original.meta, "original": original.prompt}))
        return out

    # -- families -------------------------------------------------------------------------

    def _family(self, name: str) -> Any:
        """The section of a family the pipeline has (the caller runs only those)."""
        section = getattr(self.config.families, name)
        assert section is not None, name
        return section

    def _topics(self, section: Any, attr: str, default: list[str], field: str) -> list[str]:
        if getattr(section, "topics_file", None):
            return read_topic_file(self.config.resolve(section.topics_file), field=field)
        value = getattr(section, attr)
        return list(value) if value else default

    async def open_qa(self) -> list[_Node]:
        section = self._family("open_qa")
        topics = self._topics(
            section,
            "macro_topics",
            default_topics()["open_qa"]["macro_topics"],
            "families.open_qa.topics_file",
        )
        roots = [
            _Node(
                render("subtopics", n=section.n_subtopics, topic=t, level=None),
                {"family": "open_qa", "topic": t},
            )
            for t in topics
        ]
        subtopics = await self._expand(
            roots,
            section.n_subtopics,
            lambda node, s: _Node(
                render("questions", n=section.n_questions, subtopic=s, topic=node.meta["topic"]),
                {**node.meta, "subtopic": s},
            ),
        )
        questions = await self._expand(
            subtopics, section.n_questions, lambda node, q: _Node(q, node.meta)
        )
        if section.revise:
            questions = await self._revise(questions, "revise_question", "question")
        return questions

    async def writing(self) -> list[_Node]:
        section = self._family("writing")
        defaults = default_topics()["writing"]
        topics = self._topics(section, "topics", defaults["topics"], "families.writing.topics_file")
        materials = section.material_types or defaults["material_types"]
        roots = [
            _Node(
                render("writing_tasks", n=section.n_tasks, material=m, topic=t),
                {"family": "writing", "topic": t, "material": m},
            )
            for t in topics
            for m in materials
        ]
        tasks = await self._expand(roots, section.n_tasks, lambda node, q: _Node(q, node.meta))
        if section.revise:
            tasks = await self._revise(tasks, "revise_writing", "task")
        return tasks

    async def closed_qa(self) -> list[_Node]:
        section = self._family("closed_qa")
        roots = []
        for doc in section.documents:
            text = _document_text(self.config, doc, section.max_document_chars)
            roots.append(
                _Node(
                    render("document_questions", n=section.n_questions, document=text),
                    {"family": "closed_qa", "document": doc, "_text": text},
                )
            )
        out = []
        for node, items in await self._ask(roots, as_list=section.n_questions):
            meta = {k: v for k, v in node.meta.items() if k != "_text"}
            for question in items:
                prompt = render("closed_qa_prompt", document=node.meta["_text"], question=question)
                out.append(_Node(prompt, {**meta, "question": question}))
        return out

    async def math(self) -> list[_Node]:
        section = self._family("math")
        levels = section.levels or default_topics()["math"]["levels"]
        roots = [
            _Node(
                render("subtopics", n=section.n_subtopics, topic=t, level=level),
                {"family": "math", "level": level, "topic": t},
            )
            for level, topics in levels.items()
            for t in topics
        ]
        subtopics = await self._expand(
            roots,
            section.n_subtopics,
            lambda node, s: _Node(
                render(
                    "math_problems",
                    n=section.n_problems,
                    subtopic=s,
                    topic=node.meta["topic"],
                    level=node.meta["level"],
                ),
                {**node.meta, "subtopic": s},
            ),
        )
        return await self._expand(
            subtopics, section.n_problems, lambda node, p: _Node(p, node.meta)
        )

    async def coding(self) -> list[_Node]:
        section = self._family("coding")
        topics = self._topics(
            section, "topics", default_topics()["coding"]["topics"], "families.coding.topics_file"
        )
        roots = [
            _Node(
                render("coding_problems", n=section.n_problems, topic=t, level=level),
                {"family": "coding", "topic": t, "level": level},
            )
            for t in topics
            for level in section.levels
        ]
        return await self._expand(roots, section.n_problems, lambda node, p: _Node(p, node.meta))

    def prompts_file(self) -> list[dict[str, Any]]:
        section = self._family("prompts_file")
        out = []
        for record in read_records(self.config.resolve(section.path)):
            messages = list(record["messages"])
            while messages and messages[-1]["role"] == "assistant":
                messages.pop()
            if messages and messages[-1]["role"] == "user":
                meta = {**record.get("meta", {}), "nemotron": {"family": "prompts_file"}}
                out.append(make_record(messages, meta))
        return out

    # -- augmentations --------------------------------------------------------------------

    def _constraints(self, records: list[dict[str, Any]]) -> None:
        section = self.config.instruction_following
        if section is None:
            return
        for rec in records:
            if len(rec["messages"]) != 1 or not _fraction_hit(rec["id"], "if", section.fraction):
                continue
            rng = random.Random(int(rec["id"][:12], 16))
            count = rng.randint(1, section.max_constraints)
            text, constraints = augment(
                rec["messages"][0]["content"], rng, count=count, types=section.types
            )
            rec["messages"] = [{"role": "user", "content": text}]
            rec["meta"]["constraints"] = constraints

    async def _turn(
        self, current: list[list[dict[str, str]] | None], role: str, round_: int
    ) -> None:
        """Append one ``role`` turn to every live conversation (None: given up)."""
        teacher = self.config.teacher

        def requests() -> Iterator[Request]:
            for i, conv in enumerate(current):
                if conv is None:
                    continue
                if role == "assistant":
                    messages = conv
                else:
                    # The teacher plays the user: it sees the dialogue, writes the next message.
                    messages = [{"role": "user", "content": render("user_turn", messages=conv)}]
                yield Request(
                    model=teacher.model,
                    messages=messages,
                    params=self._params(salt=round_),
                    metadata={"i": i},
                )

        async for result in run_requests(
            requests(), self.client, max_in_flight=teacher.max_in_flight
        ):
            i = result.request.metadata["i"]
            conv = current[i]
            assert conv is not None
            text = result.completion.text.strip() if result.completion is not None else ""
            if result.ok and text:
                conv.append({"role": role, "content": text})
                continue
            reason = result.error or "empty answer"
            item = {"prompt": conv[-1]["content"], "meta": {}}
            status = {"status": result.status}
            self.rejects.append(Reject(STAGE, f"{role}_turn", reason, item, None, status))
            current[i] = None

    async def _continue(
        self, conversations: list[list[dict[str, str]]], rounds: int
    ) -> list[list[dict[str, str]] | None]:
        """Each conversation (ending in a user turn) gets ``rounds`` assistant + user turns."""
        current: list[list[dict[str, str]] | None] = [list(c) for c in conversations]
        for round_ in range(rounds):
            await self._turn(current, "assistant", round_)
            await self._turn(current, "user", round_)
        return current

    async def _multi_turn(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Two-turn prompts replace some one-turn ones; dialogues are added beside them."""
        singles = [r for r in records if len(r["messages"]) == 1 and "constraints" not in r["meta"]]
        extra: list[dict[str, Any]] = []
        two_turn = self.config.two_turn
        if two_turn is not None:
            chosen = [r for r in singles if _fraction_hit(r["id"], "two_turn", two_turn.fraction)]
            convs = await self._continue([r["messages"] for r in chosen], rounds=1)
            for rec, conv in zip(chosen, convs, strict=True):
                if conv is not None:
                    meta = {**rec["meta"], "nemotron": {**rec["meta"]["nemotron"], "turns": 2}}
                    extra.append(make_record(conv, meta))
        dialogue = self.config.dialogue
        if dialogue is not None:
            ranked = sorted(
                singles, key=lambda r: hashlib.sha256(f"dlg|{r['id']}".encode()).hexdigest()
            )
            chosen = ranked[: dialogue.count]
            convs = await self._continue([r["messages"] for r in chosen], rounds=dialogue.turns - 1)
            for rec, conv in zip(chosen, convs, strict=True):
                if conv is not None:
                    nem = {**rec["meta"]["nemotron"], "turns": dialogue.turns, "dialogue": True}
                    extra.append(make_record(conv, {**rec["meta"], "nemotron": nem}))
        return records + extra

    async def generate(self) -> list[dict[str, Any]]:
        """Every prompt record of the pipeline, augmented; rejects land in ``self.rejects``."""
        fam = self.config.families
        nodes: list[_Node] = []
        for name in ("open_qa", "writing", "closed_qa", "math", "coding"):
            if getattr(fam, name) is not None:
                nodes.extend(await getattr(self, name)())
        records = [
            make_record([{"role": "user", "content": n.prompt}], {"nemotron": n.meta})
            for n in nodes
        ]
        if fam.prompts_file is not None:
            records.extend(self.prompts_file())
        # One record per distinct prompt: trees can repeat a question under two subtopics.
        unique: dict[str, dict[str, Any]] = {}
        for rec in records:
            unique.setdefault(rec["id"], rec)
        records = list(unique.values())
        self._constraints(records)
        for rec in records:
            # Augmented prompts have new text, so a new id.
            rec["id"] = make_record(rec["messages"])["id"]
        return await self._multi_turn(records)


@dataclass(frozen=True)
class MadePrompts:
    """The run's prompt records, the seconds making them took, and its rejects by step."""

    records: list[dict[str, Any]]
    seconds: float
    rejects_by_step: dict[str, int]


async def make_prompts(config: PipelineConfig, client: TeacherClient, out: Path) -> MadePrompts:
    """Make every prompt of the pipeline with ``client`` and save them, and the rejects, in the
    run folder ``out`` (:func:`save_prompts`)."""
    generator = PromptGenerator(config, client)
    started = time.monotonic()
    records = await generator.generate()
    seconds = time.monotonic() - started
    return MadePrompts(records, seconds, save_prompts(out, records, generator.rejects))


def save_prompts(out: Path, prompts: list[dict[str, Any]], rejects: list[Reject]) -> dict[str, int]:
    """Write the run's prompts (``prompts/prompts.parquet``) and the rejects of making them
    (``rejects/nemotron/``, anew: a run before 2026-12 kept them in ``prompts/rejects.jsonl``,
    which goes); returns the rejects by step."""
    write_parquet(prompts, out / "prompts" / "prompts.parquet")
    older = (out / "prompts" / "rejects.jsonl",)
    folder = rejects_dir(out, STAGE)
    with RejectWriter(folder, STAGE, fresh=True, older=older) as writer:
        for reject in rejects:
            writer.write(reject)
    return dict(writer.by_step)
