"""Usage mistakes on every command: one line naming the command and the option, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from tests.cli.usage_inputs import (
    CHAT_ROWS,
    EXAMPLES,
    Workspace,
    good_runs,
    prepare_inputs,
    snapshot,
    write_chat,
    write_table,
)

COMMANDS = ["assay", "complete", "curate", "collapse", "plan", "generate", "mix", "nemotron"]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_option_is_one_line_and_exit_2(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([command, "--no-such-option"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"synthloom {command}: error: ")
    assert "--no-such-option" in lines[0] and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["curate", "in.jsonl"], "--out"),
        (["complete", "p.jsonl", "--model", "m", "--out", "o"], "--base-url"),
        (["assay", "s.csv", "--out", "o"], "--reference"),
        (["plan"], "argument 'TAXONOMY'"),  # named as the usage line shows it
        (["complete", "p", "--base-url", "u", "--model", "m", "-o", "o", "--n", "two"], "--n"),
    ],
)
def test_a_missing_or_bad_option_is_named(
    argv: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and names in err


def test_the_installed_entry_point_behaves_the_same() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "synthloom", "curate", "in.jsonl"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "synthloom curate: error: Missing option '--out' / '-o'. (see 'synthloom curate --help')"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["curate", "examples/chat/synthetic.jsonl", "--out", "s3://bucket/cur"],
        [
            "assay",
            "examples/chat/synthetic.jsonl",
            "--reference",
            "examples/chat/reference.jsonl",
            "--out",
            "gs://bucket/assay",
        ],
        ["nemotron", "examples/nemotron_pipeline.yaml", "--out", "s3://bucket/nem"],
        ["complete", "p.jsonl", "--base-url", "u", "--model", "m", "--out", "s3://bucket/c"],
    ],
)
def test_an_object_store_out_where_only_paths_work_is_refused(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(tmp_path)
    argv = [str(root / a) if a.startswith("examples/") else a for a in argv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    url = argv[-1]
    assert url in err and "--executor ray" in err
    assert list(tmp_path.iterdir()) == []  # no "s3:" folder was made


# --------------------------------------------------------------------------------------------
# A table of bad inputs across every command. Each runs in a folder that already holds the
# results of good runs (runs/...); after the bad command that folder must be byte-for-byte as
# it was, nothing new may appear beside it, and the teacher must not have been asked anything.


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("usage")
    server = FakeServer().start()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        prepare_inputs(root, server.url)
        good_runs(server.url)
        yield Workspace(root, server)
    finally:
        os.chdir(cwd)
        server.stop()


def _complete(
    *extra: str, prompts: str = "data/prompts.jsonl", out: str = "runs/complete"
) -> list[str]:
    return ["complete", prompts, "--base-url", "{url}", "--model", "m", "--out", out, *extra]


def _assay(
    *extra: str, syn: str = "data/syn.csv", ref: str = "data/ref.csv", out: str = "runs/assay"
) -> list[str]:
    return ["assay", syn, "--reference", ref, "--ner", "off", "--out", out, *extra]


def _chat_assay(
    *extra: str, syn: str = "data/chat.jsonl", ref: str = "data/ref.jsonl"
) -> list[str]:
    return _assay("--embedder", "tfidf", *extra, syn=syn, ref=ref)


def _curate(*extra: str, source: str = "data/chat.jsonl", out: str = "runs/curate") -> list[str]:
    return ["curate", source, "--out", out, *extra]


def _collapse(*extra: str, out: str = "runs/collapse") -> list[str]:
    return ["collapse", "--family", "gaussian", "-g", "2", "-n", "200", "--out", out, *extra]


def _mix(config: str = "data/mix.yaml", out: str = "runs/mix") -> list[str]:
    return ["mix", config, "--out", out]


def _generate(
    *extra: str, pipeline: str = "data/lab.yaml", out: str = "runs/complete"
) -> list[str]:
    return ["generate", str(EXAMPLES / "taxonomy"), "--pipeline", pipeline, "--out", out, *extra]


def _nemotron(
    *extra: str, pipeline: str = "data/nemotron.yaml", out: str = "runs/complete"
) -> list[str]:
    return ["nemotron", pipeline, "--out", out, *extra]


def _plan(*extra: str, taxonomy: str = str(EXAMPLES / "taxonomy")) -> list[str]:
    return ["plan", taxonomy, *extra]


FINITE = "Input should be a finite number"
UNKNOWN_PATH = "has no such number"

OUT_PLACES = {
    "proc": "/proc/synthloom-out",
    "proc-deep": "/proc/self/synthloom/out",
    "sys": "/sys/synthloom-out",
    "existing-file": "bad/a_file",
    "under-a-file": "bad/a_file/out",
    "dev-null": "/dev/null",
}
OUT_BUILDERS = {
    "complete": lambda out: _complete(out=out),
    "generate": lambda out: _generate(out=out),
    "nemotron": lambda out: _nemotron(out=out),
    "curate": lambda out: _curate(out=out),
    "assay": lambda out: _assay(out=out),
    "mix": lambda out: _mix(out=out),
    "collapse": lambda out: _collapse(out=out),
}
OUT_CASES = [
    pytest.param(build(place), "--out", id=f"{command}-out-{name}")
    for command, build in OUT_BUILDERS.items()
    for name, place in OUT_PLACES.items()
]

NUMBER_CASES = (
    [
        pytest.param(_complete(option, value), option, id=f"complete{option}={value}")
        for option, value in [
            ("--rpm", "-10"),
            ("--rpm", "0"),
            ("--rpm", "nan"),
            ("--tpm", "-1"),
            ("--tpm", "0"),
            ("--tpm", "inf"),
            ("--retry-base-delay", "-1"),
            ("--retry-base-delay", "nan"),
            ("--retry-max-delay", "-0.5"),
            ("--temperature", "nan"),
            ("--temperature", "inf"),
            ("--temperature", "-0.1"),
            ("--top-p", "nan"),
            ("--top-p", "1.5"),
            ("--top-p", "-inf"),
            ("--n", "0"),
            ("--n", "-3"),
            ("--max-in-flight", "0"),
            ("--max-attempts", "0"),
            ("--max-parse-attempts", "-1"),
            ("--max-tokens", "0"),
            ("--shard-rows", "0"),
            ("--price-per-1k-prompt", "-0.01"),
            ("--price-per-1k-completion", "nan"),
            ("--actors", "0"),
            ("--per-actor-in-flight", "-2"),
            ("--shard-size", "0"),
            ("--rpm", "ten"),
        ]
    ]
    + [
        pytest.param(_curate(option, value), option, id=f"curate{option}={value}")
        for option, value in [
            ("--threshold", "0"),
            ("--threshold", "1.5"),
            ("--threshold", "nan"),
            ("--semantic-threshold", "inf"),
            ("--num-perm", "0"),
            ("--shingle-size", "-1"),
            ("--ngram", "0"),
            ("--actors", "0"),
        ]
    ]
    + [
        pytest.param(_collapse(option, value), option, id=f"collapse{option}={value}")
        for option, value in [
            ("--temperature", "nan"),
            ("--temperature", "0"),
            ("--samples", "0"),
            ("--generations", "-1"),
            ("--order", "0"),
            ("--components", "0"),
            ("--seed", "-1"),
        ]
    ]
    + [
        pytest.param(_generate(option, value), option, id=f"generate{option}={value}")
        for option, value in [("--actors", "0"), ("--per-actor-in-flight", "-1")]
    ]
    + [
        pytest.param(_nemotron(option, value), option, id=f"nemotron{option}={value}")
        for option, value in [("--actors", "-1"), ("--shard-size", "0")]
    ]
)

FILE_CASES = [
    # prompts of complete
    *[
        pytest.param(_complete(prompts=f"bad/{name}"), name, id=f"complete-prompts-{name}")
        for name in (
            "empty.jsonl",
            "garbage.jsonl",
            "utf16.jsonl",
            "huge.jsonl",
            "array_lines.jsonl",
            "messages_str.jsonl",
            "folder.jsonl",
            "missing.jsonl",
            "garbage.parquet",
            "string.json",
        )
    ],
    # input of curate
    *[
        pytest.param(_curate(source=f"bad/{name}"), name, id=f"curate-in-{name}")
        for name in (
            "empty.jsonl",
            "garbage.jsonl",
            "utf16.jsonl",
            "huge.jsonl",
            "array_lines.jsonl",
            "messages_str.jsonl",
            "folder.jsonl",
            "missing.jsonl",
            "number.json",
            "garbage.parquet",
        )
    ],
    # datasets of assay
    *[
        pytest.param(_assay(syn=f"bad/{name}"), name, id=f"assay-synthetic-{name}")
        for name in (
            "empty.csv",
            "garbage.csv",
            "utf16.csv",
            "huge.csv",
            "empty.jsonl",
            "utf16.jsonl",
            "folder.jsonl",
            "missing.csv",
            "string.json",
        )
    ],
    *[
        pytest.param(_assay(ref=f"bad/{name}"), name, id=f"assay-reference-{name}")
        for name in ("empty.csv", "garbage.csv", "utf16.csv", "missing.csv")
    ],
    pytest.param(_assay(ref="data/ref.jsonl"), "ref.jsonl", id="assay-kinds-differ"),
    *[
        pytest.param(_assay("--gate", f"bad/{name}"), name, id=f"assay-gate-{name}")
        for name in (
            "empty.yaml",
            "garbage.yaml",
            "utf16.yaml",
            "scalar.yaml",
            "gate_section.yaml",
            "folder.jsonl",
            "missing.yaml",
        )
    ],
    pytest.param(_assay("--gate", "bad/gate_nan.yaml"), "finite number", id="assay-gate-nan"),
    *[
        pytest.param(_assay("--gate", f"bad/{name}"), UNKNOWN_PATH, id=f"assay-gate-{name}")
        for name in ("gate_unknown.yaml", "gate_column.yaml")
    ],
    *[
        pytest.param(_chat_assay("--gate", f"bad/{name}"), UNKNOWN_PATH, id=f"chat-gate-{name}")
        for name in ("gate_meta.yaml", "gate_table_on_chat.yaml", "gate_column.yaml")
    ],
    *[
        pytest.param(_chat_assay("--private", f"bad/{name}"), name, id=f"assay-private-{name}")
        for name in ("utf16.txt", "missing.txt", "garbage.jsonl")
    ],
    pytest.param(_assay("--lexicon", "bad/list.yaml"), "list.yaml", id="assay-lexicon-list"),
    pytest.param(_assay("--sensitive", "salary"), "salary", id="assay-unknown-sensitive"),
    # data of collapse
    *[
        pytest.param(_collapse("--data", f"bad/{name}"), name, id=f"collapse-data-{name}")
        for name in ("empty.txt", "utf16.txt", "garbage.jsonl", "folder.jsonl", "missing.txt")
    ],
    # configurations of mix, generate, nemotron, plan
    *[
        pytest.param(_mix(config=f"bad/{name}"), name, id=f"mix-config-{name}")
        for name in (
            "empty.yaml",
            "garbage.yaml",
            "utf16.yaml",
            "list.yaml",
            "missing.yaml",
        )
    ],
    *[
        pytest.param(_nemotron(pipeline=f"bad/{name}"), name, id=f"nemotron-pipeline-{name}")
        for name in ("empty.yaml", "garbage.yaml", "utf16.yaml", "scalar.yaml", "missing.yaml")
    ],
    *[
        pytest.param(_generate(pipeline=f"bad/{name}"), name, id=f"generate-pipeline-{name}")
        for name in ("empty.yaml", "garbage.yaml", "list.yaml", "missing.yaml")
    ],
    # Non-finite numbers in YAML: the message must say why, not only where.
    *[
        pytest.param(_nemotron(pipeline=f"bad/{name}"), FINITE, id=f"nemotron-pipeline-{name}")
        for name in (
            "nemotron_prompt_sampling_temperature_nan.yaml",
            "nemotron_prompt_sampling_temperature_inf.yaml",
            "nemotron_prompt_sampling_top_p_nan.yaml",
            "nemotron_responses_temperature_inf.yaml",
        )
    ],
    *[
        pytest.param(_generate(pipeline=f"bad/{name}"), FINITE, id=f"generate-pipeline-{name}")
        for name in (
            "lab_freeform_skill_generate_temperature_nan.yaml",
            "lab_freeform_skill_generate_top_p_nan.yaml",
            "lab_teacher_rpm_inf.yaml",
        )
    ],
    pytest.param(_mix(config="bad/mix_ratio_inf.yaml"), FINITE, id="mix-config-ratio-inf"),
    pytest.param(_plan(taxonomy="bad/a_file"), "a_file", id="plan-taxonomy-is-a-file"),
    pytest.param(_plan(taxonomy="bad/missing"), "missing", id="plan-taxonomy-missing"),
    pytest.param(_plan("--pipeline", "bad/garbage.yaml"), "garbage.yaml", id="plan-pipeline-bad"),
    pytest.param(
        _plan("--pipeline", "bad/lab_freeform_skill_generate_top_p_nan.yaml"),
        FINITE,
        id="plan-top-p-nan",
    ),
]


def test_the_table_holds_at_least_a_hundred_bad_inputs() -> None:
    assert len(OUT_CASES) + len(NUMBER_CASES) + len(FILE_CASES) >= 100


@pytest.mark.parametrize(("argv", "named"), OUT_CASES + NUMBER_CASES + FILE_CASES)
def test_a_bad_input_is_one_line_exit_2_and_earlier_results_stay(
    argv: list[str],
    named: str,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(workspace.root)
    argv = [a.replace("{url}", workspace.server.url) for a in argv]
    before = snapshot(workspace.root)
    requests = workspace.server.requests
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert named.split("/")[-1] in err or named in err, err
    assert snapshot(workspace.root) == before
    assert workspace.server.requests == requests


def test_an_unknown_gate_path_is_found_before_any_metric(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace.root)
    code = main(_assay("--gate", "bad/gate_column.yaml"))
    err = capsys.readouterr().err
    # The schema's message, not the one evaluate_gate gives after the whole assay.
    assert code == 2 and "an assay of table data has no such number" in err, err
    assert "bad/gate_column.yaml:1" in err


def _numeric_paths(node: object, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _numeric_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield prefix


@pytest.mark.parametrize("kind", ["table", "instruction"])
def test_every_number_an_assay_writes_is_a_valid_gate_path(
    kind: str, workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from synthloom.assay.gate import lookup
    from synthloom.assay.schema import schema_matcher

    data = workspace.root / "data"
    if kind == "table":
        argv = ["assay", str(data / "syn.csv"), "-r", str(data / "ref.csv"), "--sensitive"]
        argv += ["region"]
    else:
        argv = ["assay", str(data / "chat.jsonl"), "-r", str(data / "ref.jsonl")]
        argv += ["--embedder", "tfidf", "--private", str(EXAMPLES / "chat" / "private")]
    assert main([*argv, "--ner", "off", "-q", "--out", str(tmp_path / "a")]) == 0
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text(encoding="utf-8"))
    columns = list(metrics["dataset"]["column_kinds"])
    schema = schema_matcher(kind, columns, ["region"] if kind == "table" else [])
    paths = list(_numeric_paths(metrics))
    assert len(paths) > 100
    # Bookkeeping numbers (indices of the longest shared span, the embedder's cache flag) are
    # not metrics; everything else must be gateable, and reachable by the gate's lookup.
    unmatched = [p for p in paths if not schema.match(p) and "longest_example" not in p]
    assert unmatched == [], "\n".join(unmatched)
    for path in paths:
        assert lookup(metrics, path) is not None or path.startswith("fidelity.columns")
    assert not schema.match("fidelity.columns.no_such_column.score")
    if kind == "instruction":
        # A meta field's column name holds a dot; gates and lookup both follow it.
        assert schema.match("fidelity.columns.meta.topic.score")
        assert lookup(metrics, "fidelity.columns.meta.topic.score") == pytest.approx(
            metrics["fidelity"]["columns"]["meta.topic"]["score"]
        )
        gate = tmp_path / "gate.yaml"
        gate.write_text("- fidelity.columns.meta.topic.score >= 0\n", encoding="utf-8")
        code = main([*argv, "--ner", "off", "-q", "--gate", str(gate), "-o", str(tmp_path / "g")])
        assert code == 0, capsys.readouterr().err


ASSAY_QUIET = ["assay", "--ner", "off", "-q"]


def test_a_byte_order_mark_is_accepted_in_every_kind_of_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    chat = write_chat(tmp_path / "chat.jsonl", CHAT_ROWS, bom=True)
    ref = write_chat(tmp_path / "ref.jsonl", CHAT_ROWS[:8], bom=True)
    records = [json.loads(line) for line in chat.read_text(encoding="utf-8-sig").splitlines()]
    (tmp_path / "chat.json").write_text(
        "\ufeff" + json.dumps(records, ensure_ascii=False), encoding="utf-8"
    )
    syn_csv = write_table(tmp_path / "syn.csv", 40, 1, bom=True)
    ref_csv = write_table(tmp_path / "ref.csv", 40, 2, bom=True)
    (tmp_path / "gate.yaml").write_text("\ufeff- fidelity.overall >= 0\n", encoding="utf-8")
    (tmp_path / "mix.yaml").write_text(
        "\ufeffseed: 1\noutputs:\n  - name: t\n    sources:\n"
        "      - {file: chat.jsonl, count: 3}\n",
        encoding="utf-8",
    )
    for argv in (
        ["curate", str(chat), "-o", "c1", "-q"],
        ["curate", "chat.json", "-o", "c2", "-q"],
        [*ASSAY_QUIET, str(syn_csv), "-r", str(ref_csv), "--gate", "gate.yaml", "-o", "a1"],
        [*ASSAY_QUIET, str(chat), "-r", str(ref), "--embedder", "tfidf", "-o", "a2"],
        ["mix", "mix.yaml", "-o", "m"],
        [*_complete("--dry-run", prompts=str(chat), out="r")],
    ):
        argv = [a.replace("{url}", "http://127.0.0.1:9/v1") for a in argv]
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    # The column name is 'age', not '\ufeffage'.
    metrics = json.loads((tmp_path / "a1" / "metrics.json").read_text(encoding="utf-8"))
    assert "age" in metrics["dataset"]["column_kinds"]
    assert len(pd.read_parquet(tmp_path / "c1" / "data.parquet")) == len(CHAT_ROWS)
    assert len(pd.read_parquet(tmp_path / "c2" / "data.parquet")) == len(CHAT_ROWS)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["complete", "p.jsonl", "--base-url", "u", "--model", "m", "-o", "o", "--rpm", "-10"],
            "Invalid value for '--rpm': '-10' is not a finite number > 0",
            id="rpm",
        ),
        pytest.param(
            _complete("--temperature", "nan", prompts="p.jsonl", out="o"),
            "Invalid value for '--temperature': 'nan' is not a finite number >= 0",
            id="temperature-nan",
        ),
        pytest.param(
            ["curate", "in.jsonl", "-o", "/proc/synthloom-out"],
            "cannot write /proc/synthloom-out",
            id="out-under-proc",
        ),
        pytest.param(["mix", "mix.yaml", "-o", "a_file"], "a_file is a file", id="mix-out-file"),
    ],
)
def test_no_traceback_reaches_the_terminal(argv: list[str], expected: str, tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("keep me\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "synthloom", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert expected in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
    assert (tmp_path / "a_file").read_text(encoding="utf-8") == "keep me\n"
