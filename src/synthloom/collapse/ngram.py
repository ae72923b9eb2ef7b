"""Word-level n-gram language model with interpolated modified Kneser-Ney smoothing.

The estimator follows Chen & Goodman (1998, "An empirical study of smoothing techniques for
language modeling"), section 3.5, with three discounts per order (for counts 1, 2 and 3+):

    P_k(w | h) = max(c_k(h w) - D_k(c_k(h w)), 0) / c_k(h)  +  gamma_k(h) * P_{k-1}(w | h')
    gamma_k(h) = (D_k1 N1(h .) + D_k2 N2(h .) + D_k3+ N3+(h .)) / c_k(h)

where ``h'`` drops the oldest word of ``h``; ``c_k`` is the raw count at the highest order and
the continuation count (the number of distinct words seen before ``h w``) at lower orders,
except for n-grams that start with ``<s>``, which cannot be extended to the left and keep raw
counts (as KenLM does). The unigram level interpolates with the uniform distribution over the
vocabulary, so every word of the fixed vocabulary keeps a non-zero probability; a context never
seen falls through to the next lower order.

Everything is vectorised with numpy: an n-gram is an int64 key ``sum(id_j * B**(k-1-j))``
(``B`` = vocabulary size), each order keeps its sorted keys, and look-ups are ``searchsorted``.
Sampling draws every sentence of a batch at once from the dense next-word distribution, which
makes temperature exact.

The vocabulary is fixed by the real training text (generation 0) so that the perplexities of
every generation are over the same event space and can be compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from synthloom.errors import ConfigError

__all__ = ["BOS", "EOS", "UNK", "KneserNeyModel", "Vocabulary", "fit_kneser_ney"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

BOS, EOS, UNK = 0, 1, 2
_SPECIALS = ("<s>", "</s>", "<unk>")
_SAMPLE_BATCH = 512
_MIN_DISCOUNT = 0.1


class Vocabulary:
    """Word <-> id mapping; ids 0, 1, 2 are ``<s>``, ``</s>`` and ``<unk>``."""

    def __init__(self, words: Sequence[str]) -> None:
        self.words: list[str] = list(_SPECIALS) + [w for w in words if w not in _SPECIALS]
        self.index: dict[str, int] = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_sentences(
        cls, sentences: Sequence[Sequence[str]], *, min_count: int = 1
    ) -> Vocabulary:
        """Every word seen at least ``min_count`` times, most frequent first (ties by spelling)."""
        from collections import Counter

        counts = Counter(w for s in sentences for w in s)
        kept = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(kept)

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str]) -> IntArray:
        return np.fromiter(
            (self.index.get(t, UNK) for t in tokens), dtype=np.int64, count=len(tokens)
        )

    def decode(self, ids: Sequence[int] | IntArray) -> list[str]:
        return [self.words[int(i)] for i in ids]


def _padded_positions(sentences: Sequence[IntArray], order: int) -> tuple[IntArray, IntArray]:
    """Concatenate ``<s>``*(order-1) + ids + ``</s>`` per sentence; return tokens and the
    positions of the predicted tokens (every token after the padding)."""
    pad = order - 1
    lengths = np.fromiter((len(s) + 1 for s in sentences), dtype=np.int64, count=len(sentences))
    total = int((lengths + pad).sum())
    tokens = np.full(total, BOS, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths + pad)[:-1])) + pad
    for start, sent in zip(starts, sentences, strict=True):
        tokens[start : start + len(sent)] = sent
        tokens[start + len(sent)] = EOS
    positions = np.repeat(starts, lengths) + (
        np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    return tokens, positions


def _gram_keys(tokens: IntArray, positions: IntArray, k: int, base: int) -> IntArray:
    """Keys of the k-grams that end at each position."""
    keys = np.zeros(positions.shape[0], dtype=np.int64)
    for j in range(k - 1, -1, -1):
        keys = keys * base + tokens[positions - j]
    return keys


def _discounts(counts: IntArray) -> FloatArray:
    """Modified Kneser-Ney discounts D1, D2, D3+ from the count-of-counts n1..n4.

    When the counts are too degenerate for the estimate (a collapsed generation may have no
    n-gram seen twice), fall back to the single absolute discount n1 / (n1 + 2 n2), or 0.5. Each
    discount is clipped to [0.1, c]: at most c so that no count goes negative, and at least 0.1
    so that every seen context keeps some mass for unseen words (a zero D3+ would make every word
    unseen after a context of frequent n-grams impossible, and perplexity infinite).
    """
    n1, n2, n3, n4 = (int(np.count_nonzero(counts == c)) for c in (1, 2, 3, 4))
    if n1 > 0 and n2 > 0 and n3 > 0 and n4 > 0:
        y = n1 / (n1 + 2 * n2)
        raw = np.array([1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3])
    else:
        single = n1 / (n1 + 2 * n2) if n1 > 0 else 0.5
        raw = np.full(3, single)
    return np.asarray(np.clip(raw, _MIN_DISCOUNT, [1.0, 2.0, 3.0]), dtype=np.float64)


@dataclass(frozen=True)
class _Order:
    """One order k >= 2: sorted gram keys with their discounted mass, and per-context weights."""

    keys: IntArray  # sorted k-gram keys
    alpha: FloatArray  # max(c - D(c), 0) / c(h) for each gram
    contexts: IntArray  # sorted unique context keys (key // B)
    gamma: FloatArray  # back-off weight of each context
    first: IntArray  # index of each context's first gram in `keys`, plus len(keys) at the end
    cumulative: FloatArray  # running sum of alpha, for drawing a gram inside a context


def _build_order(keys: IntArray, adjusted: IntArray, base: int) -> _Order:
    discounts = _discounts(adjusted)
    contexts, first = np.unique(keys // base, return_index=True)
    totals = np.add.reduceat(adjusted, first).astype(np.float64)
    which = np.minimum(adjusted, 3) - 1
    discount = discounts[which]
    removed = np.add.reduceat(discount, first)
    context_of = np.repeat(np.arange(contexts.shape[0]), np.diff(np.append(first, keys.shape[0])))
    alpha = np.maximum(adjusted - discount, 0.0) / totals[context_of]
    return _Order(
        keys=keys,
        alpha=alpha,
        contexts=contexts,
        gamma=removed / totals,
        first=np.append(first, keys.shape[0]).astype(np.int64),
        cumulative=np.cumsum(alpha),
    )


@dataclass(frozen=True)
class KneserNeyModel:
    """A fitted interpolated modified Kneser-Ney model over a fixed vocabulary."""

    order: int
    vocab_size: int
    unigram: FloatArray  # P_1(w) for every id; 0 for <s>
    unigram_explicit: FloatArray  # the discounted-count part of P_1 (without the uniform share)
    unigram_backoff: float  # the uniform share's weight gamma_1
    higher: tuple[_Order, ...]  # orders 2..n

    def _log_prob_keys(self, tokens: IntArray, positions: IntArray) -> FloatArray:
        base = self.vocab_size
        prob = self.unigram[tokens[positions]]
        for k, level in enumerate(self.higher, start=2):
            keys = _gram_keys(tokens, positions, k, base)
            ctx = keys // base
            ci = np.searchsorted(level.contexts, ctx)
            ci_ok = ci < level.contexts.shape[0]
            found = ci_ok & (level.contexts[np.minimum(ci, level.contexts.shape[0] - 1)] == ctx)
            gamma = np.where(found, level.gamma[np.minimum(ci, level.contexts.shape[0] - 1)], 1.0)
            gi = np.minimum(np.searchsorted(level.keys, keys), level.keys.shape[0] - 1)
            alpha = np.where(level.keys[gi] == keys, level.alpha[gi], 0.0)
            prob = alpha + gamma * prob
        return np.asarray(np.log(prob), dtype=np.float64)

    def token_log_probs(self, sentences: Sequence[IntArray]) -> FloatArray:
        """Natural-log probability of every predicted token (each word and each ``</s>``)."""
        tokens, positions = _padded_positions(sentences, self.order)
        return self._log_prob_keys(tokens, positions)

    def next_word_distribution(self, histories: IntArray) -> FloatArray:
        """Dense P(w | history) for each row of ``histories`` (rows x (order-1) ids)."""
        base = self.vocab_size
        rows = histories.shape[0]
        dist = np.tile(self.unigram, (rows, 1))
        for k, level in enumerate(self.higher, start=2):
            ctx = np.zeros(rows, dtype=np.int64)
            for j in range(k - 1):
                ctx = ctx * base + histories[:, histories.shape[1] - (k - 1) + j]
            ci = np.minimum(np.searchsorted(level.contexts, ctx), level.contexts.shape[0] - 1)
            found = level.contexts[ci] == ctx
            dist *= np.where(found, level.gamma[ci], 1.0)[:, None]
            lo = np.searchsorted(level.keys, ctx * base)
            hi = np.searchsorted(level.keys, (ctx + 1) * base)
            lengths = np.where(found, hi - lo, 0)
            if lengths.sum() == 0:
                continue
            row_of = np.repeat(np.arange(rows), lengths)
            offsets = np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
            gram = offsets + np.arange(int(lengths.sum()))
            dist[row_of, level.keys[gram] % base] += level.alpha[gram]
        return dist

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        *,
        temperature: float = 1.0,
        max_length: int = 64,
    ) -> list[IntArray]:
        """Draw ``n`` sentences (word ids, without ``<s>``/``</s>``).

        ``<unk>`` is never drawn (it stands for no word in particular). A sentence that reaches
        ``max_length`` words is cut there.
        """
        out: list[IntArray] = []
        for start in range(0, n, _SAMPLE_BATCH):
            out.extend(
                self._sample_batch(min(_SAMPLE_BATCH, n - start), rng, temperature, max_length)
            )
        return out

    def _draw_next(self, histories: IntArray, rng: np.random.Generator) -> IntArray:
        """One next word per history, exactly from P(w | h) without building it.

        The interpolated distribution is a mixture: with probability 1 - gamma_k(h) the word
        comes from the order-k grams of context h (in proportion to their discounted counts),
        else from the order below; at the bottom, from the unigram counts or the uniform
        distribution. Walking down that mixture costs a few look-ups per row instead of a pass
        over the vocabulary. ``<unk>`` draws are redrawn, which conditions on "not <unk>".
        """
        base = self.vocab_size
        rows = histories.shape[0]
        choice = np.full(rows, -1, dtype=np.int64)
        pending = np.arange(rows)
        while pending.size:
            u = rng.random((pending.size, 2 * len(self.higher) + 2))
            picked = np.full(pending.size, -1, dtype=np.int64)
            for level_index in range(len(self.higher) - 1, -1, -1):
                level = self.higher[level_index]
                k = level_index + 2
                open_rows = np.flatnonzero(picked < 0)
                ctx = np.zeros(open_rows.size, dtype=np.int64)
                for j in range(k - 1):
                    ctx = (
                        ctx * base + histories[pending[open_rows], histories.shape[1] - (k - 1) + j]
                    )
                ci = np.minimum(np.searchsorted(level.contexts, ctx), level.contexts.shape[0] - 1)
                found = level.contexts[ci] == ctx
                take = found & (u[open_rows, 2 * level_index] >= level.gamma[ci])
                rows_here, ci = open_rows[take], ci[take]
                gram = _within(
                    level.cumulative,
                    level.first[ci],
                    level.first[ci + 1],
                    u[rows_here, 2 * level_index + 1],
                )
                picked[rows_here] = level.keys[gram] % base
            open_rows = np.flatnonzero(picked < 0)
            explicit = u[open_rows, -2] >= self.unigram_backoff
            cumulative = np.cumsum(self.unigram_explicit)
            rows_explicit = open_rows[explicit]
            picked[rows_explicit] = _within(
                cumulative,
                np.zeros(rows_explicit.size, dtype=np.int64),
                np.full(rows_explicit.size, base, dtype=np.int64),
                u[rows_explicit, -1],
            )
            rows_uniform = open_rows[~explicit]
            # Uniform over every predictable id (1 .. B-1).
            picked[rows_uniform] = 1 + np.minimum(
                (u[rows_uniform, -1] * (base - 1)).astype(np.int64), base - 2
            )
            good = picked != UNK
            choice[pending[good]] = picked[good]
            pending = pending[~good]
        return choice

    def _draw_next_tempered(
        self, histories: IntArray, rng: np.random.Generator, temperature: float
    ) -> IntArray:
        """One next word per history from P(w | h)^(1/T), renormalised (dense, exact)."""
        dist = self.next_word_distribution(histories)
        dist[:, BOS] = 0.0
        dist[:, UNK] = 0.0
        # Scale in log space so that low temperatures do not underflow to all zeros.
        logits = np.log(np.maximum(dist, 1e-300)) / temperature
        logits -= logits.max(axis=1, keepdims=True)
        dist = np.where(dist > 0, np.exp(logits), 0.0)
        cdf = np.cumsum(dist, axis=1)
        draw = rng.random(histories.shape[0]) * cdf[:, -1]
        choice = np.minimum((cdf < draw[:, None]).sum(axis=1), self.vocab_size - 1)
        return np.asarray(choice, dtype=np.int64)

    def _sample_batch(
        self, rows: int, rng: np.random.Generator, temperature: float, max_length: int
    ) -> list[IntArray]:
        history = np.full((rows, max(self.order - 1, 1)), BOS, dtype=np.int64)
        words = np.full((rows, max_length), -1, dtype=np.int64)
        lengths = np.full(rows, max_length, dtype=np.int64)
        active = np.arange(rows)
        for step in range(max_length):
            if active.size == 0:
                break
            if temperature == 1.0:
                choice = self._draw_next(history[active], rng)
            else:
                choice = self._draw_next_tempered(history[active], rng, temperature)
            ended = choice == EOS
            lengths[active[ended]] = step
            words[active, step] = choice
            history[active] = np.concatenate([history[active, 1:], choice[:, None]], axis=1)
            active = active[~ended]
        return [words[i, : lengths[i]].copy() for i in range(rows)]


def _within(cumulative: FloatArray, lo: IntArray, hi: IntArray, u: FloatArray) -> IntArray:
    """Index in [lo, hi) drawn in proportion to the weights whose running sum is ``cumulative``."""
    before = np.where(lo > 0, cumulative[np.maximum(lo - 1, 0)], 0.0)
    target = before + u * (cumulative[hi - 1] - before)
    return np.clip(np.searchsorted(cumulative, target, side="right"), lo, hi - 1)


def fit_kneser_ney(sentences: Sequence[IntArray], *, order: int, vocab_size: int) -> KneserNeyModel:
    """Fit an interpolated modified Kneser-Ney model of ``order`` on id-encoded sentences."""
    if order < 1:
        raise ConfigError(f"--order must be at least 1, got {order}", field="order")
    if float(vocab_size) ** order >= 2.0**62:
        raise ConfigError(
            f"--order {order} is too high for a vocabulary of {vocab_size} words", field="order"
        )
    nonempty = [s for s in sentences if len(s) > 0]
    if not nonempty:
        raise ConfigError("no non-empty sentence to train on", field="samples")
    base = vocab_size
    tokens, positions = _padded_positions(nonempty, order)
    keys_by_order = [
        np.unique(_gram_keys(tokens, positions, k, base), return_counts=True)
        for k in range(1, order + 1)
    ]
    adjusted: list[IntArray] = []
    for k in range(1, order + 1):
        keys, raw = keys_by_order[k - 1]
        if k == order:
            adjusted.append(raw.astype(np.int64))
            continue
        # Continuation count: distinct words seen before the k-gram, from the (k+1)-gram types.
        suffixes, continuation = np.unique(keys_by_order[k][0] % base**k, return_counts=True)
        cont = np.zeros(keys.shape[0], dtype=np.int64)
        cont[np.searchsorted(keys, suffixes)] = continuation
        starts_with_bos = (keys // base ** (k - 1)) == BOS
        adjusted.append(np.where(starts_with_bos, raw, cont).astype(np.int64))

    uni_keys, uni_counts = keys_by_order[0][0], adjusted[0]
    d = _discounts(uni_counts)
    disc = d[np.minimum(uni_counts, 3) - 1]
    total = float(uni_counts.sum())
    explicit = np.zeros(vocab_size, dtype=np.float64)
    explicit[uni_keys] = np.maximum(uni_counts - disc, 0.0) / total
    backoff = float(disc.sum() / total)
    # The discounted mass goes to the uniform distribution over every predictable id.
    unigram = explicit.copy()
    unigram[1:] += backoff / (vocab_size - 1)
    higher = tuple(
        _build_order(keys_by_order[k - 1][0], adjusted[k - 1], base) for k in range(2, order + 1)
    )
    return KneserNeyModel(
        order=order,
        vocab_size=vocab_size,
        unigram=unigram,
        unigram_explicit=explicit,
        unigram_backoff=backoff,
        higher=higher,
    )
