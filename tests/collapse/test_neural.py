"""The optional LSTM family: it learns, samples reproducibly, and says which extra it needs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from synthloom.collapse import CollapseOptions, run_collapse
from synthloom.collapse.ngram import EOS, Vocabulary
from synthloom.errors import MissingDependencyError

SENTENCES = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat saw the dog",
    "a dog saw the cat",
] * 10


@pytest.mark.slow
def test_lstm_learns_and_samples_reproducibly() -> None:
    pytest.importorskip("torch", reason="the lstm family needs the 'embed' extra")
    from synthloom.collapse.neural import fit_lstm

    vocab = Vocabulary.from_sentences([s.split() for s in SENTENCES])
    data = [vocab.encode(s.split()) for s in SENTENCES]
    untrained = fit_lstm(data, vocab_size=len(vocab), seed=0, epochs=0)
    trained = fit_lstm(data, vocab_size=len(vocab), seed=0, epochs=15)
    assert trained.token_log_probs(data).mean() > untrained.token_log_probs(data).mean() + 1.0
    a = trained.sample(20, np.random.default_rng(1), max_length=10)
    b = trained.sample(20, np.random.default_rng(1), max_length=10)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(len(s) <= 10 and EOS not in s for s in a)
    seen = {w for s in a for w in vocab.decode(s)}
    assert seen <= set(" ".join(SENTENCES).split())


def test_lstm_family_without_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(MissingDependencyError, match=r"synthloom\[embed\]"):
        run_collapse(CollapseOptions(family="lstm"))
