"""The card of a ``complete`` run on the Ray executor counts what its shards wrote: records in
the data folder, and the rejects every shard set aside."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from tests.card.cards import front_matter, settings, table
from tests.card.runs import KEY, KEY_ENV


@pytest.mark.slow
def test_a_ray_run_gets_the_same_card_as_a_local_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_server: Callable[..., FakeServer]
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)

    def half_json(body: dict[str, Any], endpoint: str) -> dict[str, Any] | None:
        text = body["messages"][-1]["content"]
        return None if int(text.rsplit("#", 1)[1]) % 2 else {"content": "Sure, here: " + text}

    server = make_server(responder=half_json, api_key=KEY)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "".join(
            json.dumps({"prompt": f"List three safety checks before launching a dinghy #{i}"})
            + "\n"
            for i in range(30)
        ),
        encoding="utf-8",
    )
    args = ["complete", str(prompts), "--base-url", server.url, "--model", "fake-teacher"]
    args += ["--api-key-env", KEY_ENV, "--json", "--max-parse-attempts", "1", "--quiet"]
    cards = {}
    for executor in ("local", "ray"):
        run = tmp_path / executor
        extra = (
            ["--executor", "ray", "--shard-size", "8", "--actors", "2"] if executor == "ray" else []
        )
        assert main([*args, "--out", str(run), *extra]) == 0
        card = run / "complete" / "README.md"
        entry = json.loads((run / "run.json").read_text())["stages"]["complete"]
        meta = front_matter(card)
        rejected = table(card, "Rejected, by reason")
        assert sum(int(n) for _, n in rejected) == 15
        assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "part-*.parquet"}]
        cards[executor] = (rejected, settings(card), entry["records"])
        assert KEY not in card.read_text(encoding="utf-8")
    assert cards["local"] == cards["ray"]
    assert cards["ray"][2] == 15
