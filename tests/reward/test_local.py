"""The local reward model, with a tiny randomly initialised classifier built on the fly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="the local reward model needs the 'embed' extra")
transformers = pytest.importorskip("transformers")

from synthloom.errors import ConfigError  # noqa: E402
from synthloom.reward import ATTRIBUTES, LocalClassifierReward  # noqa: E402

_WORDS = (
    *("the", "sky", "is", "blue", "because", "of", "rayleigh", "scattering", "water"),
    *("why", "what", "user", "assistant", ":", "."),
)


def _save_tiny_model(folder: Path, num_labels: int = 5, named: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *_WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    tokenizer.save_pretrained(folder)
    labels = {}
    if named:
        # Outputs stored in reverse order, named: the loader must follow the names.
        labels = {"id2label": dict(enumerate(reversed(ATTRIBUTES)))}
        labels["label2id"] = {v: k for k, v in labels["id2label"].items()}
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=num_labels,
        **labels,
    )
    torch.manual_seed(0)
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def _convs(n: int) -> list[list[dict[str, str]]]:
    answers = ["the sky is blue", "rayleigh scattering", "water", "why is the sky blue . blue"]
    return [
        [
            {"role": "user", "content": "why is the sky blue"},
            {"role": "assistant", "content": answers[i % len(answers)] * (1 + i % 3)},
        ]
        for i in range(n)
    ]


def test_scores_match_a_direct_forward_pass(tmp_path: Path) -> None:
    folder = _save_tiny_model(tmp_path / "rm")
    reward = LocalClassifierReward(folder, batch_size=3)
    convs = _convs(7)
    results = asyncio.run(reward.score(convs))
    assert len(results) == 7 and all(r.ok for r in results)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    for conv, result in zip(convs, results, strict=True):
        text = "\n".join(f"{m['role']}: {m['content']}" for m in conv)
        with torch.no_grad():
            logits = model(**tokenizer(text, return_tensors="pt")).logits[0]
        assert [result.attributes[a] for a in ATTRIBUTES] == pytest.approx(
            logits.tolist(), abs=1e-5
        )


def test_batch_size_does_not_change_scores(tmp_path: Path) -> None:
    folder = _save_tiny_model(tmp_path / "rm")
    convs = _convs(6)
    one = LocalClassifierReward(folder, batch_size=1).score_sync(convs)
    many = LocalClassifierReward(folder, batch_size=6).score_sync(convs)
    for a, b in zip(one, many, strict=True):
        assert [a.attributes[k] for k in ATTRIBUTES] == pytest.approx(
            [b.attributes[k] for k in ATTRIBUTES], abs=1e-5
        )


def test_named_labels_pick_their_outputs(tmp_path: Path) -> None:
    plain = _save_tiny_model(tmp_path / "plain")
    named = _save_tiny_model(tmp_path / "named", named=True)
    conv = _convs(1)
    p = LocalClassifierReward(plain).score_sync(conv)[0].attributes
    n = LocalClassifierReward(named).score_sync(conv)[0].attributes
    # Same weights (same seed), so output k of one model is output k of the other.
    assert n["helpfulness"] == pytest.approx(p["verbosity"], abs=1e-5)
    assert n["verbosity"] == pytest.approx(p["helpfulness"], abs=1e-5)


def test_wrong_number_of_outputs_is_a_config_error(tmp_path: Path) -> None:
    folder = _save_tiny_model(tmp_path / "rm3", num_labels=3)
    with pytest.raises(ConfigError, match="3 outputs"):
        LocalClassifierReward(folder)


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"reward\.path"):
        LocalClassifierReward(tmp_path / "nowhere")


def test_long_conversations_are_cut_to_the_models_positions(tmp_path: Path) -> None:
    # The tokenizer was saved without model_max_length; the model has 64 positions.
    folder = _save_tiny_model(tmp_path / "rm")
    long_conv = [
        {"role": "user", "content": "why is the sky blue " * 30},
        {"role": "assistant", "content": "rayleigh scattering " * 30},
    ]
    result = asyncio.run(LocalClassifierReward(folder, batch_size=2).score([long_conv]))[0]
    assert result.ok, result.error
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    text = "\n".join(f"{m['role']}: {m['content']}" for m in long_conv)
    batch = tokenizer(text, return_tensors="pt", truncation=True, max_length=64)
    with torch.no_grad():
        logits = model(**batch).logits[0]
    assert [result.attributes[a] for a in ATTRIBUTES] == pytest.approx(logits.tolist(), abs=1e-5)
