"""``synthloom card`` and the cards ``complete`` and ``curate`` write: provenance through a
chain of runs, rejects by reason, the assay's verdict, and bad input as one line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from tests.card.cards import front_matter, settings, table
from tests.card.runs import EXAMPLES, KEY, KEY_ENV

_QUESTIONS = [
    "Why do tide tables differ between two harbours only 30 km apart?",
    "Explain spring and neap tides to a sailing club newsletter.",
    "what's a tidal bore and where can I see one in the UK",
    "Draft a short note to the harbour master asking about the new mooring fees.",
    "Summarise the lease terms: rent due on the 1st, 3-month notice, deposit held in escrow.",
    "How do I read the 'HW' and 'LW' columns in Admiralty tide tables?",
]


def _prompts(path: Path) -> Path:
    rows = [{"prompt": q, "source": "club-faq"} for q in _QUESTIONS]
    rows.append({"prompt": _QUESTIONS[0], "source": "forum"})  # asked again: a duplicate
    rows.append({"instruction": "Translate to French", "input": "High water is at noon."})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _complete(tmp_path: Path, server: FakeServer, *extra: str, name: str = "distil") -> Path:
    run = tmp_path / "runs" / name
    args = ["complete", str(_prompts(tmp_path / "prompts.jsonl")), "--base-url", server.url]
    args += ["--model", "fake-teacher", "--api-key-env", KEY_ENV, "--quiet", "--out", str(run)]
    assert main([*args, *extra]) == 0
    return run


@pytest.fixture()
def keyed(monkeypatch: pytest.MonkeyPatch, make_server: Callable[..., FakeServer]) -> FakeServer:
    monkeypatch.setenv(KEY_ENV, KEY)
    return make_server(api_key=KEY)


def test_a_curate_card_describes_its_steps_and_the_complete_run_it_came_from(
    tmp_path: Path, keyed: FakeServer
) -> None:
    sampling = ["--n", "2", "--temperature", "0.3", "--top-p", "0.8", "--max-tokens", "64"]
    run = _complete(tmp_path, keyed, *sampling, "--seed", "9", "--stop", "END")
    curated = tmp_path / "curated"
    assert main(["curate", str(run / "complete"), "--out", str(curated), "--quiet"]) == 0
    card = curated / "README.md"
    record = json.loads((curated / "run.json").read_text())

    assert front_matter(card)["configs"] == [
        {"config_name": "default", "data_files": [{"split": "train", "path": "data.parquet"}]}
    ]
    own = settings(card)
    assert own["dedup"] == "exact, minhash" and own["threshold"] == "0.8"
    steps = table(card, "Steps")
    assert [(r[0], r[1], r[2], r[3]) for r in steps] == [
        (s["stage"], str(s["records_in"]), str(s["kept"]), str(s["dropped"]))
        for s in record["stages"]
    ]
    dropped = {r[0]: int(r[1]) for r in table(card, "Rejected, by reason")}
    assert dropped == {"exact: exact duplicate": record["stages"][0]["dropped"]}
    assert record["stages"][0]["dropped"] > 0
    # The run it was made from: the teacher's sampling, the prompts file and its digest.
    upstream = settings(card, 1)
    assert {
        k: upstream[k] for k in ("temperature", "top_p", "max_tokens", "seed", "n", "stop")
    } == {
        "temperature": "0.3",
        "top_p": "0.8",
        "max_tokens": "64",
        "seed": "9",
        "n": "2",
        "stop": "END",
    }
    assert "endpoint" in upstream and "api_key_env" not in upstream
    sources = {r[0]: r[1] for r in table(card, "Sources", 1)}
    assert sources["prompts"].startswith("prompts.jsonl (sha256 ")
    text = card.read_text(encoding="utf-8")
    assert str(tmp_path) not in text and KEY not in text and KEY_ENV not in text
    # The run it came from lost its record: the card says less, and is still written.
    (run / "run.json").write_text("{", encoding="utf-8")
    assert main(["card", str(curated), "--out", str(card)]) == 0
    assert "Made from" not in card.read_text(encoding="utf-8")
    assert settings(card) == own


def test_rejected_answers_are_counted_by_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_server: Callable[..., FakeServer]
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)

    def some_json(body: dict[str, Any], endpoint: str) -> dict[str, Any] | None:
        # Tide questions get the server's JSON answer; the others chatter in plain text.
        text = body["messages"][-1]["content"]
        return None if "tide" in text.lower() else {"content": "Sure! Here you go: " + text}

    server = make_server(responder=some_json, api_key=KEY)
    run = _complete(tmp_path, server, "--json", "--max-parse-attempts", "1")
    entry = json.loads((run / "run.json").read_text())["stages"]["complete"]
    rejected = table(run / "complete" / "README.md", "Rejected, by reason")
    assert entry["accounting"]["rejects"] > 0
    assert sum(int(n) for _, n in rejected) == entry["accounting"]["rejects"]
    assert [reason for reason, _ in rejected] == [
        "rejected answer: parse hook refused the answer: Expecting value"
    ]
    assert settings(run / "complete" / "README.md")["json_mode"] == "yes"


def test_a_rewritten_card_keeps_the_license_and_language_the_user_set(
    tmp_path: Path, keyed: FakeServer
) -> None:
    run = _complete(tmp_path, keyed)
    card = run / "complete" / "README.md"
    assert front_matter(card)["license"] == "unknown"
    assert "FILL IN" in card.read_text(encoding="utf-8")
    args = ["card", str(run / "complete"), "--out", str(card), "--license", "cc-by-4.0"]
    assert main([*args, "--language", "en", "--language", "fr"]) == 0
    # The next run of the same command rewrites the card: what the user set stays.
    _complete(tmp_path, keyed)
    meta = front_matter(card)
    assert meta["license"] == "cc-by-4.0" and meta["language"] == ["en", "fr"]
    assert "FILL IN" not in card.read_text(encoding="utf-8")


def test_an_export_never_replaces_a_readme_the_user_wrote(
    tmp_path: Path, keyed: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _complete(tmp_path, keyed)
    curated = tmp_path / "curated"
    curated.mkdir()
    mine = "# Our tide FAQ answers\n\nHand-written notes; do not overwrite.\n"
    (curated / "README.md").write_text(mine, encoding="utf-8")
    assert main(["curate", str(run / "complete"), "--out", str(curated), "--quiet"]) == 0
    assert (curated / "README.md").read_text(encoding="utf-8") == mine
    assert "was not written by synthloom" in capsys.readouterr().err


def _bad(tmp_path: Path, run: Path, case: str) -> tuple[list[str], str]:
    good = run / "complete"
    if case == "missing":
        return ["card", str(tmp_path / "nope"), "--out", str(tmp_path / "c.md")], "nope"
    if case == "not-data":
        (tmp_path / "notes.txt").write_text("tides\n", encoding="utf-8")
        return ["card", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "c.md")], "notes.txt"
    if case == "out-is-folder":
        return ["card", str(good), "--out", str(good)], "--out"
    if case == "out-under-file":
        return ["card", str(good), "--out", str(tmp_path / "prompts.jsonl" / "README.md")], "--out"
    if case == "out-is-the-data":
        part = next((run / "complete").glob("part-*.parquet"))
        return ["card", str(good), "--out", str(part)], "--out"
    if case == "broken-run-json":
        broken = tmp_path / "broken"
        shutil.copytree(run, broken)
        (broken / "run.json").write_text('{"stages": {', encoding="utf-8")
        return ["card", str(broken), "--out", str(tmp_path / "c.md")], "run.json"
    if case == "assay-without-metrics":
        (tmp_path / "assay").mkdir()
        args = ["card", str(good), "--out", str(good / "README.md"), "--assay"]
        return [*args, str(tmp_path / "assay")], "metrics.json"
    if case == "bad-license":
        return [
            "card",
            str(good),
            "--out",
            str(good / "README.md"),
            "--license",
            "Apache 2",
        ], "--license"
    assert case == "bad-language"
    return [
        "card",
        str(good),
        "--out",
        str(good / "README.md"),
        "--language",
        "English",
    ], "--language"


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c)
        for c in (
            "missing",
            "not-data",
            "out-is-folder",
            "out-under-file",
            "out-is-the-data",
            "broken-run-json",
            "assay-without-metrics",
            "bad-license",
            "bad-language",
        )
    ],
)
def test_bad_input_is_one_line_and_exit_2_leaving_the_card(
    tmp_path: Path, keyed: FakeServer, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    run = _complete(tmp_path, keyed)
    card = run / "complete" / "README.md"
    before = {p.name: p.read_bytes() for p in (run / "complete").iterdir()}
    capsys.readouterr()
    args, named = _bad(tmp_path, run, case)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err, err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in (run / "complete").iterdir()} == before
    assert card.name in before


@pytest.mark.slow
def test_the_card_quotes_the_assay_of_its_data_and_its_gate(
    tmp_path: Path, keyed: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _complete(tmp_path, keyed, "--n", "2")
    curated = tmp_path / "curated"
    assert main(["curate", str(run / "complete"), "--out", str(curated), "--quiet"]) == 0
    reference = tmp_path / "reference.jsonl"
    real = (EXAMPLES / "chat" / "reference.jsonl").read_text(encoding="utf-8").splitlines()
    reference.write_text("\n".join(real[:60]) + "\n", encoding="utf-8")
    gate = tmp_path / "gate.yaml"
    gate.write_text("- privacy.pii.total == 0\n- diversity.synthetic.distinct_2 >= 0.999\n")
    assay = ["assay", str(curated / "data.parquet"), "--reference", str(reference)]
    assay += ["--embedder", "tfidf", "--ner", "off", "--gate", str(gate)]
    # The gate is not met (exit 1); its verdict goes on the card all the same.
    assert main([*assay, "--out", str(curated / "assay")]) == 1
    metrics = json.loads((curated / "assay" / "metrics.json").read_text())
    assert main(["card", str(curated), "--out", str(curated / "README.md")]) == 0
    text = (curated / "README.md").read_text(encoding="utf-8")
    assert "**Gate: NOT passed.**" in text
    rules = {r[0]: r[1:] for r in table(curated / "README.md", "Assay")[:2]}
    for rule in metrics["gate"]["rules"]:
        assert rules[rule["rule"]] == [rule["shown"], "yes" if rule["passed"] else "no"]
    headline = {r[0]: r[1] for r in table(curated / "README.md", "Assay")[2:]}
    assert headline["PII found"] == str(metrics["privacy"]["pii"]["total"])
    # An assay of other data, named with --assay, is quoted with a warning; found by looking,
    # it would not be used at all.
    other = tmp_path / "other-assay"
    assay[1] = str(reference)
    assert main([*assay[:-2], "--out", str(other)]) == 0
    assert (
        main(["card", str(curated), "--out", str(curated / "README.md"), "--assay", str(other)])
        == 0
    )
    text = (curated / "README.md").read_text(encoding="utf-8")
    assert "not the files of this card" in text and "Gate: none was given" in text
    shutil.rmtree(curated / "assay")
    shutil.move(str(other), str(curated / "assay"))
    assert main(["card", str(curated), "--out", str(curated / "README.md")]) == 0
    assert "No assay was found" in (curated / "README.md").read_text(encoding="utf-8")
