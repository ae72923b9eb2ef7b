"""The ``lstm`` family: a tiny word-level LSTM language model trained on the CPU with PyTorch.

Optional: torch comes with the ``embed`` extra. The model is deliberately small (one LSTM layer,
64-dimensional embeddings and state, a few epochs) so a generation trains in seconds; it is here
to show that collapse is not an artefact of count-based models. It shares the n-gram family's
vocabulary ids (``<s>`` = 0, ``</s>`` = 1, ``<unk>`` = 2), so its metrics are computed by the
same code. Its probabilities condition on the whole sentence prefix, not on n-1 words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from synthloom.collapse.ngram import BOS, EOS, UNK
from synthloom.errors import MissingDependencyError

__all__ = ["LSTMModel", "fit_lstm", "require_torch"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_EMBED = 64
_HIDDEN = 64
_BATCH = 32
_LEARNING_RATE = 5e-3
_IGNORE = -100


def require_torch() -> Any:
    """torch, or the one-line error naming the extra that brings it."""
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError("the 'lstm' family", "embed", "torch") from exc
    return torch


def _network(vocab_size: int) -> Any:
    torch = require_torch()
    nn = torch.nn

    class _Net(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, _EMBED)
            self.lstm = nn.LSTM(_EMBED, _HIDDEN, batch_first=True)
            self.head = nn.Linear(_HIDDEN, vocab_size)

        def forward(self, ids: Any, state: Any = None) -> tuple[Any, Any]:
            hidden, state = self.lstm(self.embed(ids), state)
            return self.head(hidden), state

    return _Net()


def _batch(sentences: Sequence[IntArray], max_length: int) -> tuple[Any, Any]:
    """Inputs ``<s> w1 .. wm`` and targets ``w1 .. wm </s>``, padded with an ignored index."""
    torch = require_torch()
    cut = [s[:max_length] for s in sentences]
    width = max(len(s) for s in cut) + 1
    inputs = np.full((len(cut), width), EOS, dtype=np.int64)
    targets = np.full((len(cut), width), _IGNORE, dtype=np.int64)
    for i, s in enumerate(cut):
        inputs[i, 0] = BOS
        inputs[i, 1 : len(s) + 1] = s
        targets[i, : len(s)] = s
        targets[i, len(s)] = EOS
    return torch.from_numpy(inputs), torch.from_numpy(targets)


@dataclass
class LSTMModel:
    """A trained network and the vocabulary size it predicts over."""

    network: Any
    vocab_size: int
    max_length: int

    def token_log_probs(self, sentences: Sequence[IntArray]) -> FloatArray:
        """Natural-log probability of every word and every ``</s>``, in sentence order."""
        torch = require_torch()
        out: list[FloatArray] = []
        self.network.eval()
        with torch.no_grad():
            for start in range(0, len(sentences), 256):
                chunk = sentences[start : start + 256]
                inputs, targets = _batch(chunk, self.max_length)
                logits, _ = self.network(inputs)
                logp = torch.log_softmax(logits, dim=-1)
                mask = targets != _IGNORE
                picked = logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
                out.append(picked[mask].double().numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float64)

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        *,
        temperature: float = 1.0,
        max_length: int = 64,
    ) -> list[IntArray]:
        """Draw ``n`` sentences of word ids; ``<s>`` and ``<unk>`` are never drawn."""
        torch = require_torch()
        self.network.eval()
        words = np.full((n, max_length), -1, dtype=np.int64)
        lengths = np.full(n, max_length, dtype=np.int64)
        with torch.no_grad():
            current = torch.full((n, 1), BOS, dtype=torch.long)
            state = None
            alive = np.ones(n, dtype=bool)
            for step in range(max_length):
                logits, state = self.network(current, state)
                logits = logits[:, -1, :].double() / temperature
                logits[:, BOS] = -float("inf")
                logits[:, UNK] = -float("inf")
                probs = torch.softmax(logits, dim=-1).numpy()
                # Draw with numpy so the run's seed alone decides the samples.
                cdf = np.cumsum(probs, axis=1)
                draw = rng.random(n) * cdf[:, -1]
                choice = np.minimum((cdf < draw[:, None]).sum(axis=1), self.vocab_size - 1)
                ended = alive & (choice == EOS)
                lengths[ended] = step
                words[alive, step] = choice[alive]
                alive &= choice != EOS
                if not alive.any():
                    break
                current = torch.from_numpy(choice.astype(np.int64)).unsqueeze(1)
        return [words[i, : lengths[i]].copy() for i in range(n)]


def fit_lstm(
    sentences: Sequence[IntArray],
    *,
    vocab_size: int,
    seed: int,
    epochs: int = 3,
    max_length: int = 64,
) -> LSTMModel:
    """Train a fresh network on id-encoded sentences (Adam, cross-entropy, seeded shuffles)."""
    torch = require_torch()
    torch.manual_seed(seed)
    network = _network(vocab_size)
    optimiser = torch.optim.Adam(network.parameters(), lr=_LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=_IGNORE)
    rng = np.random.default_rng(seed)
    data = [s for s in sentences if len(s) > 0]
    network.train()
    for _ in range(epochs):
        order = rng.permutation(len(data))
        for start in range(0, len(order), _BATCH):
            inputs, targets = _batch([data[i] for i in order[start : start + _BATCH]], max_length)
            logits, _ = network(inputs)
            loss = loss_fn(logits.reshape(-1, vocab_size), targets.reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return LSTMModel(network=network, vocab_size=vocab_size, max_length=max_length)
