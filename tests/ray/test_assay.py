"""Assay features and embeddings on Ray equal the local functions."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthloom.assay.features import record_features, record_features_ray
from synthloom.embed import embed_texts
from synthloom.engine.ray import embed_texts_ray
from synthloom.engine.ray_executor import RayOptions
from synthloom.errors import ConfigError

pytestmark = pytest.mark.slow


def _records(count: int) -> list[dict[str, Any]]:
    rng = random.Random(4)
    out = []
    for i in range(count):
        meta: dict[str, Any] = {"leaf": f"leaf-{i % 3}", "scores": {"h": rng.random()}}
        # A field numeric in early records and text in a late one: the whole column turns text,
        # which only the whole dataset (not one shard) can decide.
        meta["grade"] = "high" if i == count - 1 else i % 5
        messages = [{"role": "user", "content": f"question {i} " * rng.randint(1, 4)}]
        if i % 4 == 0:
            messages.insert(0, {"role": "system", "content": "be kind"})
        messages.append({"role": "assistant", "content": " ".join(["word"] * rng.randint(1, 30))})
        out.append({"id": str(i), "messages": messages, "meta": meta})
    return out


def test_features_on_ray_equal_local(ray_session: Any) -> None:
    records = _records(230)
    local = record_features(records)
    remote = record_features_ray(records, shard_records=50, options=RayOptions())
    assert "meta.grade" in local.columns and local["meta.grade"].map(type).eq(str).all()
    pd.testing.assert_frame_equal(remote, local)
    cols = ["meta.leaf"]
    pd.testing.assert_frame_equal(
        record_features_ray(records, meta_columns=cols, shard_records=50),
        record_features(records, meta_columns=cols),
    )


def test_minilm_embeddings_on_ray_equal_local(ray_session: Any) -> None:
    texts = [
        f"sentence number {i} about {'cats' if i % 2 else 'the stock market'}" for i in range(40)
    ]
    local, local_info = embed_texts(texts, method="minilm", batch_size=16)
    remote, info = embed_texts_ray(texts, method="minilm", batch_size=16, shard_texts=15)
    assert info["method"] == local_info["method"] and remote.shape == local.shape == (40, 384)
    np.testing.assert_allclose(remote, local, atol=1e-5)


def test_tfidf_runs_on_the_driver_and_bad_method_is_refused() -> None:
    texts = ["a b c", "b c d", "x y z"]
    vectors, info = embed_texts_ray(texts, method="tfidf")
    np.testing.assert_array_equal(vectors, embed_texts(texts, method="tfidf")[0])
    assert info["method"] == "tfidf-svd"
    with pytest.raises(ConfigError, match="unknown embedding method"):
        embed_texts_ray(texts, method="bert")


@pytest.mark.parametrize(
    "sampling",
    [
        pytest.param([], id="whole-sets"),
        # The sample is drawn on the driver by index before anything is shipped.
        pytest.param(["--sample", "150"], id="sampled"),
    ],
)
def test_the_assay_command_on_ray_gives_the_local_numbers(
    sampling: list[str], ray_session: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from pathlib import Path

    from synthloom.cli import main

    examples = Path(__file__).resolve().parents[2] / "examples" / "chat"
    outs = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        code = main(
            [
                "assay",
                str(examples / "synthetic.jsonl"),
                "-r",
                str(examples / "reference.jsonl"),
                "-o",
                str(out),
                "--embedder",
                "tfidf",
                "--ner",
                "off",
                "--executor",
                executor,
                "-q",
                *sampling,
            ]
        )
        assert code == 0, capsys.readouterr().err
        metrics = json.loads((out / "metrics.json").read_text())
        for volatile in ("created", "seconds"):
            metrics.pop(volatile)
        outs[executor] = metrics
    assert outs["ray"] == outs["local"]
    assert outs["ray"]["sampling"]["synthetic"]["sampled"] == bool(sampling)
    assert (
        main(
            ["assay", "a.jsonl", "-r", "b.jsonl", "-o", str(tmp_path / "x"), "--executor", "spark"]
        )
        == 2
    )
    assert "--executor" in capsys.readouterr().err


def test_assay_embeddings_on_ray_use_the_dataset_cache(ray_session: Any, tmp_path: Any) -> None:
    from synthloom.assay.instruction_assay import embed_both
    from synthloom.assay.options import AssayOptions

    ref = [f"reference text number {i} about tides" for i in range(12)]
    syn = [f"synthetic text number {i} about waves" for i in range(9)]
    options = AssayOptions(executor="ray", embedder="minilm")
    first_ref, first_syn, info = embed_both(ref, syn, options, tmp_path / "cache")
    assert info["method"] == "all-MiniLM-L6-v2" and not info["cached"]
    assert first_ref.shape == (12, 384) and first_syn.shape == (9, 384)
    assert len(list((tmp_path / "cache").glob("minilm-*.npy"))) == 2
    again_ref, again_syn, again = embed_both(ref, syn, options, tmp_path / "cache")
    assert again["cached"]
    assert np.array_equal(again_ref, first_ref) and np.array_equal(again_syn, first_syn)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        pytest.param(
            lambda: record_features_ray([{"messages": []}], shard_records=0),
            "shard_records",
            id="features",
        ),
        pytest.param(
            lambda: embed_texts_ray(["one text"], method="minilm", shard_texts=0),
            "shard_texts",
            id="embeddings",
        ),
    ],
)
def test_a_shard_size_below_one_is_refused_naming_its_option(call: Any, field: str) -> None:
    # Checked before Ray starts: no cluster is needed to refuse it.
    with pytest.raises(ConfigError, match="must be >= 1, got 0") as caught:
        call()
    assert caught.value.field == field
