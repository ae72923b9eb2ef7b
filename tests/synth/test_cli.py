"""``synthloom synthesize`` end to end through the real entry point, bad input included."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synthloom.cli import main

from .tables import clinic_visits


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def real_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("real") / "visits.csv"
    clinic_visits(1500, seed=21).to_csv(path, index=False)
    return path


def test_copula_run_writes_table_run_json_and_assay(
    real_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = _run(
        ["synthesize", str(real_csv), "--out", str(out), "--rows", "800", "--ner", "off"], capsys
    )
    assert code == 0, stderr
    assert "800 rows (copula)" in stdout and "fidelity.overall" in stdout
    assert "exact copies of real rows" in stdout and "membership inference AUC 0." in stdout
    synthetic = pd.read_csv(out / "synthetic.csv")
    real = pd.read_csv(real_csv)
    assert list(synthetic.columns) == list(real.columns) and len(synthetic) == 800
    run = json.loads((out / "run.json").read_text())
    assert run["method"] == "copula" and run["epsilon"] is None
    assert isinstance(run["seed"], int)  # drawn and recorded, so the run can be repeated
    assert run["column_kinds"]["patient"] == "id"
    metrics = json.loads((out / "assay" / "metrics.json").read_text())
    assert (out / "assay" / "report.html").is_file()
    assert run["assay"]["status"] == "done"
    assert run["assay"]["fidelity"]["overall"] == metrics["fidelity"]["overall"] > 0.8
    assert run["assay"]["privacy"]["exact_copies"] == metrics["privacy"]["exact_copies"]["count"]
    assert metrics["dataset"]["synthetic"]["path"] == str(out / "synthetic.csv")
    # The recorded seed reproduces the table.
    again = tmp_path / "again"
    code, _, stderr = _run(
        ["synthesize", str(real_csv), "-o", str(again), "-n", "800", "--seed", str(run["seed"]),
         "--no-assay"],
        capsys,
    )  # fmt: skip
    assert code == 0, stderr
    assert (again / "synthetic.csv").read_bytes() == (out / "synthetic.csv").read_bytes()


def test_dp_run_on_parquet_records_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "visits.parquet"
    clinic_visits(1200, seed=5).to_parquet(real)
    bounds = tmp_path / "bounds.yaml"
    bounds.write_text(
        "# public ranges from the clinic's data dictionary\n"
        "age: [18, 100]\n"
        "visit_date: ['2023-01-01', '2024-12-31']\n"
        "site: {categories: [Northgate, Riverside, Old Town, Harbour, Westfield Annex]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "dp"
    argv = ["synthesize", str(real), "--out", str(out), "--epsilon", "1", "--bounds", str(bounds)]
    code, stdout, stderr = _run([*argv, "--no-assay"], capsys)
    assert code == 0, stderr
    assert "dp-copula, ε=1, δ=1e-09" in stdout
    synthetic = pd.read_parquet(out / "synthetic.parquet")
    real_table = pd.read_parquet(real)
    assert synthetic["age"].dtype == real_table["age"].dtype
    assert synthetic["age"].between(18, 100).all()
    run = json.loads((out / "run.json").read_text())
    assert run["method"] == "dp-copula" and run["seed"] is None
    budget = run["model"]["privacy"]
    assert budget["spent_epsilon"] == pytest.approx(1.0)
    assert budget["spent_delta"] == pytest.approx(1e-9)
    assert run["model"]["bounds"]["age"] == "--bounds (public)"
    assert run["model"]["bounds"]["bmi"].startswith("data")
    assert "record-level" in run["guarantee"]["protected"]
    assert not (out / "assay").exists()


def test_a_new_run_replaces_the_old_results(
    real_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert (
        _run(["synthesize", str(real_csv), "-o", str(out), "-n", "50", "--no-assay"], capsys)[0]
        == 0
    )
    assert (
        _run(["synthesize", str(real_csv), "-o", str(out), "-n", "60", "--no-assay"], capsys)[0]
        == 0
    )
    assert len(pd.read_csv(out / "synthetic.csv")) == 60
    assert (out / "notes.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


BAD = [
    pytest.param(["--epsilon", "1", "--method", "copula"], "private method", id="epsilon-copula"),
    pytest.param(["--method", "dp-copula"], "needs --epsilon", id="dp-without-epsilon"),
    pytest.param(["--epsilon", "0"], "--epsilon", id="epsilon-zero"),
    pytest.param(["--epsilon", "nan"], "--epsilon", id="epsilon-nan"),
    pytest.param(["--epsilon", "1", "--delta", "1"], "delta must be in", id="delta-one"),
    pytest.param(["--rows", "0"], "--rows", id="rows-zero"),
    pytest.param(["--method", "mst"], "--method", id="unknown-method"),
    pytest.param(["--bounds", "BOUNDS"], "only applies to a DP", id="bounds-without-dp"),
    pytest.param(["--sensitive", "religion"], "'religion' does not exist", id="sensitive"),
    pytest.param(["--kinds", "KINDS"], "which the data does not have", id="kinds-column"),
]


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_bad_input_is_one_line_exit_2_and_keeps_earlier_results(
    extra: list[str],
    message: str,
    real_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    assert (
        _run(["synthesize", str(real_csv), "-o", str(out), "-n", "40", "--no-assay"], capsys)[0]
        == 0
    )
    before = (out / "synthetic.csv").read_bytes()
    bounds = tmp_path / "bounds.yaml"
    bounds.write_text("age: [18, 100]\n", encoding="utf-8")
    kinds = tmp_path / "kinds.yaml"
    kinds.write_text("postcode: categorical\n", encoding="utf-8")
    extra = [str(bounds) if a == "BOUNDS" else str(kinds) if a == "KINDS" else a for a in extra]
    code, _, stderr = _run(["synthesize", str(real_csv), "-o", str(out), *extra], capsys)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], stderr
    assert "Traceback" not in stderr
    assert (out / "synthetic.csv").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        pytest.param(None, "missing.csv", "not found", id="missing-file"),
        pytest.param("", "empty.csv", "empty", id="empty-file"),
        pytest.param(
            '{"messages": [{"role": "user", "content": "hi"}, '
            '{"role": "assistant", "content": "hello"}]}\n',
            "chat.jsonl",
            "not a table",
            id="instruction-data",
        ),
    ],
)
def test_unreadable_real_table_is_one_line(
    content: str | None,
    name: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    real = tmp_path / name
    if content is not None:
        real.write_text(content, encoding="utf-8")
    code, _, stderr = _run(["synthesize", str(real), "-o", str(tmp_path / "out")], capsys)
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1 and message in stderr, stderr
    assert str(real) in stderr
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_refused(
    real_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    code, _, stderr = _run(["synthesize", str(real_csv), "-o", str(target)], capsys)
    assert code == 2 and "is a file" in stderr
