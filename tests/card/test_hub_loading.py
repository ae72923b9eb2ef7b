"""``datasets.load_dataset`` reads the folders the commands export, through the configs of the
card they wrote (the README.md's YAML ``configs``), as a user of the Hub would."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import datasets
import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from tests.card.cards import front_matter
from tests.card.runs import KEY, KEY_ENV, lab_run, lines, nemotron_run


def _load(folder: Path, name: str | None, tmp_path: Path) -> datasets.Dataset:
    loaded = datasets.load_dataset(
        str(folder), name, split="train", cache_dir=str(tmp_path / "hf-cache")
    )
    assert isinstance(loaded, datasets.Dataset)
    return loaded


def _check_every_config(folder: Path, tmp_path: Path) -> dict[str, datasets.Dataset]:
    loaded = {}
    for config in front_matter(folder / "README.md")["configs"]:
        name = config["config_name"]
        data = _load(folder, name, tmp_path)
        path = folder / config["data_files"][0]["path"]
        assert data.num_rows == len(lines(path))
        assert data[0] == lines(path)[0]
        loaded[name] = data
    return loaded


@pytest.mark.slow
def test_datasets_loads_a_nemotron_export_and_run_folder_by_the_cards_configs(
    tmp_path: Path, make_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    made = nemotron_run(tmp_path, make_server)
    loaded = _check_every_config(made.export, tmp_path)
    assert loaded["dpo"].column_names == ["prompt", "chosen", "rejected"]
    assert loaded["sft"].column_names == ["messages"]
    # The default config is the SFT data: no name needed.
    assert _load(made.export, None, tmp_path).num_rows == loaded["sft"].num_rows
    # A card of the whole run folder points into export/.
    assert main(["card", str(made.run), "--out", str(made.run / "README.md")]) == 0
    assert _load(made.run, "dpo", tmp_path).num_rows == loaded["dpo"].num_rows


@pytest.mark.slow
def test_datasets_loads_a_lab_export_by_the_cards_configs(
    tmp_path: Path, make_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    made = lab_run(tmp_path, make_server)
    loaded = _check_every_config(made.export, tmp_path)
    assert set(loaded) == {"knowledge", "skills"}
    assert all(d.column_names == ["messages"] for d in loaded.values())


def test_datasets_loads_complete_curate_and_mix_folders(
    tmp_path: Path, make_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    server = make_server(api_key=KEY)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        "".join(
            json.dumps(
                {"prompt": f"Explain, in two sentences, why tide tables differ by port ({i})."}
            )
            + "\n"
            for i in range(12)
        ),
        encoding="utf-8",
    )
    run = tmp_path / "runs" / "distil"
    args = ["complete", str(prompts), "--base-url", server.url, "--model", "fake-teacher"]
    assert main([*args, "--api-key-env", KEY_ENV, "--n", "2", "--quiet", "--out", str(run)]) == 0
    complete = _load(run / "complete", None, tmp_path)
    assert complete.num_rows == 24 and "messages" in complete.column_names
    curated = tmp_path / "curated"
    assert main(["curate", str(run / "complete"), "--out", str(curated), "--quiet"]) == 0
    kept = json.loads((curated / "run.json").read_text())["records_out"]
    assert _load(curated, None, tmp_path).num_rows == kept
    mix = tmp_path / "mix.yaml"
    mix.write_text(
        "seed: 3\noutputs:\n"
        "  - name: train\n    sources:\n      - {file: curated/data.parquet, count: 5}\n"
        "  - name: holdout\n    sources:\n      - {file: curated/data.parquet, count: 2}\n",
        encoding="utf-8",
    )
    assert main(["mix", str(mix), "--out", str(tmp_path / "train")]) == 0
    loaded = _check_every_config(tmp_path / "train", tmp_path)
    assert {name: d.num_rows for name, d in loaded.items()} == {"train": 5, "holdout": 2}
