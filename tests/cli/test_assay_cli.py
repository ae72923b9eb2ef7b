"""End-to-end tests of ``synthloom assay`` through the real command line entry point."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthloom.cli import main
from synthloom.minhash import near_duplicate_clusters

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "x": x + shift,
            "y": 2 * x + rng.normal(0, 0.3, n),
            "group": rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1]),
            "flag": rng.random(n) < 0.4,
        }
    )


def _chat(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for prompt, response in rows:
            fh.write(json.dumps({"prompt": prompt, "response": response}) + "\n")
    return path


@pytest.mark.slow
def test_example_table_assay_catches_planted_flaws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code, stdout, _ = _run(
        [
            "assay",
            str(EXAMPLES / "table" / "synthetic.csv"),
            "--reference",
            str(EXAMPLES / "table" / "reference.csv"),
            "--sensitive",
            "gender",
            "--gate",
            str(EXAMPLES / "gate.yaml"),
            "--out",
            str(out),
        ],
        capsys,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert code == 1  # the gate is not met: a leaked email and copied rows
    assert "gate not met" in stdout
    assert metrics["privacy"]["pii"]["by_type"].get("EMAIL") == 1
    assert metrics["privacy"]["exact_copies"]["count"] == 2
    columns = metrics["fidelity"]["columns"]
    # the shifted income scores below the untouched plan column
    assert columns["income"]["score"] < columns["employed"]["score"]
    assert "female" in metrics["bias"]["sensitive"]["gender"]["flagged"]
    age_tail = metrics["tails"]["numeric"]["columns"]["age"]["coverage"]
    assert age_tail < 0.2
    html = (out / "report.html").read_text()
    assert "maria.keller@example.org" in html or "EMAIL" in html


@pytest.mark.slow
def test_example_chat_assay_catches_planted_flaws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code, _, _ = _run(
        [
            "assay",
            str(EXAMPLES / "chat" / "synthetic.jsonl"),
            "--reference",
            str(EXAMPLES / "chat" / "reference.jsonl"),
            "--private",
            str(EXAMPLES / "chat" / "private"),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["errors"] == {}
    assert m["dataset"]["embedder"]["method"] == "all-MiniLM-L6-v2"
    assert m["privacy"]["pii"]["by_type"]["EMAIL"] == 1
    assert m["privacy"]["pii"]["by_type"]["PHONE"] == 1
    assert m["privacy"]["verbatim"]["records_sharing_span"] == 1
    assert m["privacy"]["verbatim"]["longest_shared_span"] >= 100
    # answers are shorter: the response length column scores poorly
    assert m["fidelity"]["columns"]["response_words"]["score"] < 0.7
    # the rare topics are gone
    assert m["tails"]["ngrams"]["coverage"] < m["tails"]["ngrams"]["common_coverage"]
    flagged = {(f["axis"], f["group"]) for f in m["bias"]["flagged"]}
    assert ("age", "older_adult") in flagged
    assert ("gender", "female") in flagged
    # seven planted near-copies of one record
    assert m["diversity"]["synthetic"]["near_duplicate_rate"] >= 7 / 400
    lines = (EXAMPLES / "chat" / "synthetic.jsonl").read_text(encoding="utf-8").splitlines()
    answers = [json.loads(line)["messages"][1]["content"] for line in lines]
    labels = near_duplicate_clusters(answers).labels
    assert set(labels[29:36].tolist()) == {labels[29]}
    # the rare topics are gone: no synthetic text lands in the rare embedding clusters
    assert m["tails"]["clusters"]["coverage"] < 0.5
    for path in ("fidelity.column_shapes", "fidelity.column_pair_trends", "fidelity.overall"):
        section, key = path.split(".")
        assert isinstance(m[section][key], float)


def test_gate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real, syn = tmp_path / "real.csv", tmp_path / "syn.csv"
    _table(400, 1).to_csv(real, index=False)
    _table(400, 2).to_csv(syn, index=False)
    easy, hard = tmp_path / "easy.yaml", tmp_path / "hard.yaml"
    easy.write_text("- fidelity.overall >= 0.5\n- privacy.pii.total == 0\n", encoding="utf-8")
    hard.write_text("- fidelity.overall >= 0.9999\n", encoding="utf-8")
    assert (
        _run(
            [
                "assay",
                str(syn),
                "-r",
                str(real),
                "--gate",
                str(easy),
                "-o",
                str(tmp_path / "a"),
                "-q",
            ],
            capsys,
        )[0]
        == 0
    )
    code, out, _ = _run(
        ["assay", str(syn), "-r", str(real), "--gate", str(hard), "-o", str(tmp_path / "b")], capsys
    )
    assert code == 1
    assert "fidelity.overall >= 0.9999" in out
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert metrics["gate"]["passed"] is False


def test_report_is_self_contained_and_escapes_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = "<script>alert('x')</script>"
    rows = [
        (f"Question {i} about {script} and cooking", f"Answer {i}: {script} stir well.")
        for i in range(30)
    ]
    real = _chat(tmp_path / "real.jsonl", rows)
    syn = _chat(
        tmp_path / "syn.jsonl",
        [*rows[::-1][:20], ("hi <b>bold</b>", "contact me at evil@example.com")],
    )
    bad_table = tmp_path / "t.csv"
    frame = _table(200, 3)
    frame[script] = frame["group"]
    frame.to_csv(bad_table, index=False)
    out_chat, out_table = tmp_path / "chat", tmp_path / "table"
    assert (
        _run(
            ["assay", str(syn), "-r", str(real), "-o", str(out_chat), "--embedder", "tfidf", "-q"],
            capsys,
        )[0]
        == 0
    )
    assert (
        _run(["assay", str(bad_table), "-r", str(bad_table), "-o", str(out_table), "-q"], capsys)[0]
        == 0
    )
    for out in (out_chat, out_table):
        html = (out / "report.html").read_text(encoding="utf-8")
        assert "<script" not in html.lower()
        assert 'src="data:image/png;base64,' in html
        # inline images are data: URIs; nothing else may point at a resource
        without_data = re.sub(r'"data:[^"]*"', '""', html)
        for pattern in (r"https?://", r"""(src|href)\s*=\s*["']?//""", r"@import", r"url\("):
            assert not re.search(pattern, without_data, re.IGNORECASE), pattern
    assert "&lt;script&gt;" in (out_table / "report.html").read_text(encoding="utf-8")


def test_one_odd_column_records_an_error_instead_of_failing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real, syn = tmp_path / "real.csv", tmp_path / "syn.csv"
    a, b = _table(300, 4), _table(300, 5)
    a["empty"] = np.nan
    b["empty"] = np.nan
    a.to_csv(real, index=False)
    b.to_csv(syn, index=False)
    code, _, _ = _run(["assay", str(syn), "-r", str(real), "-o", str(tmp_path / "o"), "-q"], capsys)
    assert code == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["fidelity"]["columns"]["empty"]["error"]
    assert m["fidelity"]["columns"]["x"]["score"] > 0.8
    assert "empty" in (tmp_path / "o" / "report.html").read_text()


def test_kinds_file_scores_an_id_like_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real, syn = tmp_path / "real.csv", tmp_path / "syn.csv"
    a, b = _table(300, 4), _table(300, 5)
    # Order numbers: text, almost all distinct, one missing; id-like, so left out by default.
    a["order"] = [f"ORD-{i:05d}" for i in range(300)]
    a.loc[17, "order"] = None
    b["order"] = [f"ORD-{i:05d}" for i in range(150, 450)]
    a.to_csv(real, index=False)
    b.to_csv(syn, index=False)
    code, _, _ = _run(["assay", str(syn), "-r", str(real), "-o", str(tmp_path / "o"), "-q"], capsys)
    assert code == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["dataset"]["column_kinds"]["order"] == "id"
    assert m["fidelity"]["left_out"] == ["order"]
    assert m["fidelity"]["columns"]["order"]["score"] is None
    assert "id-like: 299 distinct values over 299" in (tmp_path / "o" / "report.html").read_text()
    kinds = tmp_path / "kinds.yaml"
    kinds.write_text("order: categorical\n", encoding="utf-8")
    args = ["assay", str(syn), "-r", str(real), "-o", str(tmp_path / "k"), "-q"]
    code, _, _ = _run([*args, "--kinds", str(kinds)], capsys)
    assert code == 0
    m = json.loads((tmp_path / "k" / "metrics.json").read_text())
    assert m["dataset"]["column_kind_sources"]["order"] == "--kinds"
    assert m["fidelity"]["left_out"] == []
    # Half the order numbers are shared: TVComplement sees it.
    assert 0.3 < m["fidelity"]["columns"]["order"]["score"] < 0.7


def test_fidelity_binning_report_gives_the_quality_report_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.reference import cases
    from tests.reference.sdmetrics_values import load

    real, synthetic = cases.report_binning_case("orders")
    stored = load()["report_binning"]["orders"]
    real.to_csv(tmp_path / "real.csv", index=False)
    synthetic.to_csv(tmp_path / "syn.csv", index=False)
    base = ["assay", str(tmp_path / "syn.csv"), "-r", str(tmp_path / "real.csv"), "-q"]
    code, _, _ = _run([*base, "-o", str(tmp_path / "rep"), "--fidelity-binning", "report"], capsys)
    assert code == 0
    m = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert m["dataset"]["column_kinds"] == stored["kinds"]
    assert m["fidelity"]["binning"] == "report"
    for key in ("overall", "column_shapes", "column_pair_trends"):
        assert m["fidelity"][key] == pytest.approx(stored[key], abs=1e-9), key
    assert "each side's own edges" in (tmp_path / "rep" / "report.html").read_text()
    code, _, _ = _run([*base, "-o", str(tmp_path / "def")], capsys)
    assert json.loads((tmp_path / "def" / "metrics.json").read_text())["fidelity"]["binning"] == (
        "real"
    )


def _bad_input_cases(tmp: Path) -> list[tuple[str, list[str], str]]:
    real = tmp / "real.csv"
    _table(100, 1).to_csv(real, index=False)
    chat = _chat(tmp / "chat.jsonl", [("q", "a"), ("q2", "a2")])
    other_cols = tmp / "other.csv"
    _table(100, 2).rename(columns={"y": "z"}).to_csv(other_cols, index=False)
    empty = tmp / "empty.csv"
    empty.write_text("x,y,group,flag\n", encoding="utf-8")
    latin = tmp / "latin.csv"
    latin.write_bytes("x,y,group,flag\n1,2,caf\xe9,True\n".encode("latin-1"))
    bad_json = tmp / "bad.jsonl"
    bad_json.write_text('{"prompt": "q", "response": "a"}\n{"prompt": \n', encoding="utf-8")
    # What a tool that cut a string between the two halves of an emoji's escape writes.
    half_emoji = tmp / "half.jsonl"
    half_emoji.write_text(
        '{"prompt": "Fun fact? \\ud83d\\ude00", "response": "Yes."}\n'
        '{"prompt": "Another one", "response": "Sure \\ud83d"}\n',
        encoding="utf-8",
    )
    gate_bad = tmp / "gate.yaml"
    gate_bad.write_text("- fidelity.overal >= 0.8\n", encoding="utf-8")
    odd = tmp / "data.xlsx"
    odd.write_bytes(b"PK\x03\x04")
    kinds_column = tmp / "kinds.yaml"
    kinds_column.write_text("group: categorical\nwieght: numerical\n", encoding="utf-8")
    kinds_kind = tmp / "kinds.json"
    kinds_kind.write_text('{"group": "nominal"}', encoding="utf-8")
    return [
        ("missing-file", [str(tmp / "nope.csv"), "-r", str(real)], "nope.csv: file not found"),
        ("unknown-format", [str(odd), "-r", str(real)], "data.xlsx: unknown format"),
        ("empty", [str(empty), "-r", str(real)], "empty.csv: the dataset is empty"),
        ("columns-differ", [str(other_cols), "-r", str(real)], "other.csv: lacks column(s) y"),
        ("kinds-differ", [str(chat), "-r", str(real)], "chat.jsonl: is instruction data"),
        ("non-utf8", [str(latin), "-r", str(real)], "latin.csv:2: not UTF-8"),
        ("bad-json-line", [str(bad_json), "-r", str(chat)], "bad.jsonl:2: invalid JSON"),
        (
            "lone-surrogate",
            [str(half_emoji), "-r", str(chat)],
            "half.jsonl:2, field 'response': holds a lone surrogate (\\ud83d)",
        ),
        (
            "gate-unknown-path",
            [str(real), "-r", str(real), "--gate", str(gate_bad)],
            "gate.yaml:1: unknown metric path",
        ),
        (
            "sensitive-unknown",
            [str(real), "-r", str(real), "--sensitive", "age"],
            "--sensitive column 'age' does not exist",
        ),
        (
            "private-missing",
            [str(chat), "-r", str(chat), "--private", str(tmp / "secret")],
            "secret: private source not found",
        ),
        (
            "kinds-unknown-column",
            [str(real), "-r", str(real), "--kinds", str(kinds_column)],
            "kinds.yaml, field 'wieght': --kinds names column 'wieght'",
        ),
        (
            "kinds-unknown-kind",
            [str(real), "-r", str(real), "--kinds", str(kinds_kind)],
            "unknown kind 'nominal' for column 'group'",
        ),
        (
            "bad-binning",
            [str(real), "-r", str(real), "--fidelity-binning", "sdmetrics"],
            "unknown fidelity binning 'sdmetrics'; choose real or report",
        ),
        (
            "bad-embedder",
            [str(chat), "-r", str(chat), "--embedder", "bert"],
            "unknown embedder 'bert'",
        ),
    ]


@pytest.mark.parametrize(
    "case",
    [
        "missing-file",
        "unknown-format",
        "empty",
        "columns-differ",
        "kinds-differ",
        "non-utf8",
        "bad-json-line",
        "lone-surrogate",
        "gate-unknown-path",
        "sensitive-unknown",
        "private-missing",
        "kinds-unknown-column",
        "kinds-unknown-kind",
        "bad-binning",
        "bad-embedder",
    ],
)
def test_bad_input_is_one_line_exit_2_and_keeps_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    cases = {name: (args, msg) for name, args, msg in _bad_input_cases(tmp_path)}
    args, message = cases[case]
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text('{"earlier": true}', encoding="utf-8")
    code, stdout, stderr = _run(["assay", *args, "--out", str(out)], capsys)
    assert code == 2
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert message in lines[0]
    assert "Traceback" not in stderr + stdout
    assert (out / "metrics.json").read_text() == '{"earlier": true}'
    assert not (out / "report.html").exists()


def test_python_dash_m_runs_the_same_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthloom",
            "assay",
            str(tmp_path / "missing.csv"),
            "-r",
            "x.csv",
            "-o",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("synthloom: error:")
    assert "Traceback" not in proc.stderr
    version = subprocess.run(
        [sys.executable, "-m", "synthloom", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert version.returncode == 0 and "synthloom 0.1.0" in version.stdout


def test_tool_use_data_is_assayed_with_tool_calls_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OpenAI function-calling data against a ShareGPT reference with top-level system and
    function_call / observation turns: once refused, now measured, tool calls included."""
    cities = ["Lisbon", "Oslo", "Quito", "Hanoi", "Perth", "Accra", "Riga", "Cusco", "Sapporo"]
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    synthetic, reference = [], []
    for i in range(36):
        city = cities[i % len(cities)]
        args = {"city": city}
        if i == 5:
            args["notify"] = "lena.berg@weather-mail.org"  # personal data only in an argument
        synthetic.append(
            {
                "messages": [
                    {"role": "user", "content": f"Is it warm in {city} today? Trip number {i}."},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"call_{i}",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": json.dumps(args)},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": f"call_{i}", "content": f"{12 + i % 15} C"},
                    {"role": "assistant", "content": f"It is {12 + i % 15} degrees in {city}."},
                ],
                "tools": [tool],
            }
        )
        reference.append(
            {
                "system": "You check the weather before answering.",
                "tools": json.dumps([tool["function"]]),
                "conversations": [
                    {
                        "from": "human",
                        "value": f"How warm is {city} right now? Asking for trip {i}.",
                    },
                    {
                        "from": "function_call",
                        "value": json.dumps({"name": "get_weather", "arguments": {"city": city}}),
                    },
                    {"from": "observation", "value": f"{10 + i % 17} C"},
                    {"from": "gpt", "value": f"Right now {city} has {10 + i % 17} degrees."},
                ],
                "category": "weather",
            }
        )
    syn = tmp_path / "syn.jsonl"
    syn.write_text("".join(json.dumps(r) + "\n" for r in synthetic), encoding="utf-8")
    ref = tmp_path / "ref.jsonl"
    ref.write_text("".join(json.dumps(r) + "\n" for r in reference), encoding="utf-8")
    out = tmp_path / "assay"
    code, _, err = _run(
        ["assay", str(syn), "-r", str(ref), "-o", str(out), "--embedder", "tfidf", "-q"], capsys
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"]["synthetic"]["rows"] == 36
    assert metrics["dataset"]["reference"]["rows"] == 36
    assert metrics["privacy"]["pii"]["by_type"]["EMAIL"] == 1
    # Both sides have three turns (user, call, answer): tool results are not turns.
    turns = metrics["fidelity"]["summary"]["turns"]
    assert turns["real"]["top"] == {"3": 1.0} and turns["synthetic"]["top"] == {"3": 1.0}
