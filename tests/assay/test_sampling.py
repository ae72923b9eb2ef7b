"""Sampling of the costly instruction metrics: intervals that cover the full-data value, runs
reproducible from --seed, no sampling below the sample size, and bad flags refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthloom.assay import AssayOptions, run_assay
from synthloom.assay.embedding_fidelity import embedding_fidelity
from synthloom.assay.instruction_assay import sampled_paths
from synthloom.assay.report import render_report
from synthloom.assay.sampling import Bootstrap, draw_sample
from synthloom.assay.schema import schema_matcher
from synthloom.cli import main
from synthloom.embed import embed_texts
from synthloom.text import record_text
from tests.assay.realistic import instruction_records


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _numbers(node: Any, prefix: str = "", *, lists: bool = True) -> dict[str, float]:
    """Every number of a metrics.json but the timings and the creation time (``lists``: those
    inside lists too, which no gate path reaches)."""
    found: dict[str, float] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("seconds", "created"):
                continue
            found.update(_numbers(value, f"{prefix}{key}.", lists=lists))
    elif isinstance(node, list) and lists:
        for i, value in enumerate(node):
            found.update(_numbers(value, f"{prefix}{i}."))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        found[prefix.rstrip(".")] = float(node)
    return found


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    # One TF-IDF space fitted on every text: the property tested (does a sample's interval
    # hold the full-data value?) does not depend on the model, only on fixed vectors per text.
    ref = [record_text(r) for r in instruction_records(600, seed=11)]
    syn = [record_text(r) for r in instruction_records(600, seed=12)]
    vectors, _ = embed_texts(ref + syn, method="tfidf")
    return vectors[:600].astype(np.float64), vectors[600:].astype(np.float64)


@pytest.mark.slow
def test_sampled_intervals_cover_the_full_data_value(
    corpus: tuple[np.ndarray, np.ndarray],
) -> None:
    real, synthetic = corpus
    full = embedding_fidelity(real, synthetic, max_samples=None)
    covered: dict[str, int] = {"frechet_distance": 0, "classifier_auc": 0}
    for seed in range(5):
        ref_sample = draw_sample(600, 300, seed=seed, side="reference")
        syn_sample = draw_sample(600, 300, seed=seed, side="synthetic")
        assert ref_sample.indices is not None and syn_sample.indices is not None
        sampled = embedding_fidelity(
            real[ref_sample.indices],
            synthetic[syn_sample.indices],
            seed=seed,
            max_samples=None,
            bootstrap=Bootstrap(seed=seed, resamples=100),
            samples=(ref_sample, syn_sample),
        )
        for name in covered:
            shown = sampled[f"{name}_interval"]
            assert shown["low"] < shown["high"]
            assert (shown["n_real"], shown["n_synthetic"]) == (300, 300)
            covered[name] += shown["low"] <= full[name] <= shown["high"]
        # The distance of 300 vs 300 is biased upwards (about 1/n); the estimate takes it out.
        estimate = sampled["frechet_distance_interval"]["estimate"]
        assert abs(estimate - full["frechet_distance"]) < abs(
            sampled["frechet_distance"] - full["frechet_distance"]
        )
    # A 95% interval misses 5 draws in 5 with probability 0.05**5; 4 of 5 leaves room for one.
    assert covered == {name: covered[name] for name in covered if covered[name] >= 4}, covered


def test_a_sample_is_uniform_seeded_and_per_side() -> None:
    first = draw_sample(1000, 100, seed=7, side="synthetic")
    again = draw_sample(1000, 100, seed=7, side="synthetic")
    other_side = draw_sample(1000, 100, seed=7, side="reference")
    assert first.indices is not None and again.indices is not None
    assert other_side.indices is not None
    assert np.array_equal(first.indices, again.indices)
    assert not np.array_equal(first.indices, other_side.indices)
    assert len(set(first.indices.tolist())) == 100
    assert list(first.indices) == sorted(first.indices)
    # Uniform: over many seeds every record is drawn about size/rows of the time.
    counts = np.zeros(1000)
    for seed in range(200):
        drawn = draw_sample(1000, 100, seed=seed, side="synthetic").indices
        assert drawn is not None
        counts[drawn] += 1
    assert counts.min() > 5 and counts.max() < 40  # expected 20 each
    assert not draw_sample(100, 100, seed=0, side="synthetic").sampled
    assert not draw_sample(100, None, seed=0, side="synthetic").sampled


def test_bootstrap_of_a_mean_matches_its_standard_error() -> None:
    rng = np.random.default_rng(3)
    values = rng.binomial(1, 0.3, size=2000).astype(float)
    low, high = Bootstrap(seed=1, resamples=400).mean(values)
    assert low is not None and high is not None
    spread = 1.96 * values.std() / np.sqrt(values.size)
    assert high - low == pytest.approx(2 * spread, rel=0.2)
    assert low < values.mean() < high


@pytest.fixture(scope="module")
def small_sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("sets")
    ref = _write(where / "ref.jsonl", instruction_records(150, seed=21))
    syn = _write(where / "syn.jsonl", instruction_records(150, seed=22))
    return syn, ref


def _assay(small_sets: tuple[Path, Path], out: Path, **options: Any) -> dict[str, Any]:
    syn, ref = small_sets
    settings = AssayOptions(embedder="tfidf", ner="off", write_report=False, **options)
    return run_assay(syn, ref, out, settings).metrics


def test_a_sampled_run_is_reproducible_and_says_what_it_sampled(
    small_sets: tuple[Path, Path], tmp_path: Path
) -> None:
    first = _assay(small_sets, tmp_path / "a", sample=60, seed=5, bootstrap_resamples=50)
    again = _assay(small_sets, tmp_path / "b", sample=60, seed=5, bootstrap_resamples=50)
    other = _assay(small_sets, tmp_path / "c", sample=60, seed=6, bootstrap_resamples=50)
    assert _numbers(first) == _numbers(again)
    assert _numbers(first) != _numbers(other)
    sampling = first["sampling"]
    assert sampling["size"] == 60 and sampling["seed"] == 5
    assert sampling["synthetic"] == {"rows": 150, "n": 60, "sampled": True}
    assert first["fidelity"]["embedding"]["n_real"] == 60
    for path in ("fidelity.embedding.frechet_distance", "diversity.synthetic.vendi_score"):
        assert path in sampling["sampled"]
    # Exact metrics stay on every record.
    assert first["diversity"]["synthetic"]["n"] == 150
    assert "distinct_2_interval" not in first["diversity"]["synthetic"]
    shown = first["fidelity"]["embedding"]["frechet_distance_interval"]
    assert shown["value"] == first["fidelity"]["embedding"]["frechet_distance"]
    assert shown["low"] <= shown["estimate"] <= shown["high"]
    # Every number it wrote is a path a gate may name.
    schema = schema_matcher("instruction", list(first["dataset"]["column_kinds"]))
    paths = _numbers(first, lists=False)
    unmatched = [p for p in paths if not schema.match(p) and "longest_example" not in p]
    assert unmatched == []
    # The report says it too, with the intervals.
    html = render_report(first, {})
    assert "Sampled, seed 5 (60 of 150 reference and 60 of 150 synthetic records" in html
    assert "frechet_distance_interval" not in html and "diversity.synthetic.vendi_score" in html
    assert sampled_paths({"a": {"x_interval": {"low": 1}, "y_interval": {"P": {"low": 1}}}}) == [
        "a.x",
        "a.y.P",
    ]


def test_sets_no_larger_than_the_sample_are_measured_whole(
    small_sets: tuple[Path, Path], tmp_path: Path
) -> None:
    whole = _assay(small_sets, tmp_path / "full", sample=None)
    under = _assay(small_sets, tmp_path / "under", sample=150)
    assert _numbers(whole) == pytest.approx(
        {k: v for k, v in _numbers(under).items() if not k.startswith("sampling.")}
        | {k: v for k, v in _numbers(whole).items() if k.startswith("sampling.")}
    )
    # Self-BLEU scores all 150 texts (fewer than its 200): nothing is a sample.
    assert under["sampling"]["sampled"] == []
    assert "frechet_distance_interval" not in under["fidelity"]["embedding"]
    assert whole["sampling"]["full"] is True and whole["sampling"]["size"] is None


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(["--full", "--sample", "100"], id="full-and-sample"),
        pytest.param(["--sample", "0"], id="zero"),
        pytest.param(["--sample", "-5"], id="negative"),
        pytest.param(["--sample", "lots"], id="not-a-number"),
        pytest.param(["--sample", "2.5"], id="fraction"),
    ],
)
def test_bad_sampling_flags_are_one_line_and_exit_2(
    flags: list[str],
    small_sets: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    syn, ref = small_sets
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("{}", encoding="utf-8")
    code = main(["assay", str(syn), "-r", str(ref), "-o", str(out), "-q", *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert "--sample" in err or "--full" in err
    assert "Traceback" not in err
    assert (out / "metrics.json").read_text(encoding="utf-8") == "{}"


@pytest.mark.slow
def test_ner_on_a_sample_keeps_the_patterns_exact_and_covers_the_full_counts() -> None:
    from synthloom.assay import privacy
    from synthloom.assay.instruction_assay import sampled_pii_summary
    from synthloom.messages import message_text
    from synthloom.pii import PiiScanner

    records = instruction_records(120, seed=4)
    records[3]["messages"][-1]["content"] += (
        " Write to maren.okafor@example.org or call +44 20 7946 0958 after six."
    )
    texts, locations, record_of = [], [], []
    for i, record in enumerate(records):
        for j, message in enumerate(record["messages"]):
            texts.append(message_text(message))
            locations.append(f"record {i + 1}, message {j + 1}")
            record_of.append(i)
    scanner = PiiScanner(ner="on")
    full = privacy.pii_summary(texts, scanner=scanner, locations=locations)
    assert full["by_type"]["PERSON"] > 5  # the generator writes names: something to estimate
    for seed in range(3):
        sample = draw_sample(len(records), 60, seed=seed, side="synthetic")
        hits: list[dict[str, Any]] = []
        found = sampled_pii_summary(
            texts, locations, record_of, sample, scanner, Bootstrap(seed=seed), all_hits=hits
        )
        for kind in ("EMAIL", "PHONE", "URL"):
            assert found["by_type"][kind] == full["by_type"][kind]
        seen = found["ner_sample"]["by_type"]
        assert found["ner_sample"]["records"] == 60 and found["ner_sample"]["of"] == 120
        for kind in ("PERSON", "LOCATION"):
            assert found["by_type"][kind] == round(seen[kind] * 120 / 60)
        shown = found["total_interval"]
        assert shown["low"] <= full["total"] <= shown["high"]
        # Every hit kept and unmasked for --show-pii: the exact patterns and the sample's NER.
        assert {h["type"] for h in hits} >= {"EMAIL", "PHONE"}
        assert all(
            record_of[h["index"]] in set(sample.indices.tolist())
            for h in hits
            if h["type"] in ("PERSON", "LOCATION")
        )  # type: ignore[union-attr]
