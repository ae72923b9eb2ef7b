"""Diversity of a text collection: is the data varied, or does it repeat itself?

This module owns the lexical, structural and semantic diversity measures of the assay:

* :func:`distinct_n` -- distinct n-grams / all n-grams over the whole collection (Li et al.
  2016); higher is more diverse. :func:`distinct_ns` gives several orders from one
  tokenization; n-grams are counted as 64-bit hashes (:mod:`synthloom.ngram_hashes`).
* :func:`compression_ratio` -- gzip size / raw size of the texts joined by newlines (streamed
  through one zlib stream, never joined whole). Repetitive
  data compresses well, so a **higher** ratio means **more** diverse (about 0.3-0.4 for varied
  English prose, towards 0 for copies of one text).
* :func:`self_bleu` -- each text of a fixed-size sample scored by sentence-level BLEU against
  every other text of the sample as references, averaged (Zhu et al. 2018, Texygen); in [0, 1],
  **lower** is more diverse. The BLEU is sacrebleu's ``sentence_bleu`` definition (up to
  4-grams, ``exp`` smoothing, effective order, closest reference length, clipped counts against
  the maximum over references) on :func:`synthloom.text.tokenize` tokens, divided by 100. It is
  implemented here rather than by calling sacrebleu because sacrebleu extracts every
  reference's n-grams again for every hypothesis (n^2 extractions); counting each text's
  n-grams once makes a 200-text sample take milliseconds, and sacrebleu stays a test-only
  dependency that checks the numbers.
* :func:`near_duplicate_rate` -- share of texts that have at least one other text with a Jaccard
  similarity of character 5-gram shingles at or above the threshold (MinHash + LSH candidates
  from :mod:`synthloom.minhash`, verified exactly); lower is more diverse.
* :func:`vendi_score` -- exp of the Shannon entropy of the eigenvalues of K/n, K the cosine
  similarity matrix of embeddings (Friedman & Dieng 2023): the effective number of distinct
  items, from 1 (all the same) to n (all orthogonal).
* :func:`diversity` -- all of them as one dict.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from synthloom.assay.sampling import Bootstrap, SideSample, interval
from synthloom.errors import DataFormatError
from synthloom.hashing import slices
from synthloom.minhash import NearDuplicateSettings, near_duplicated
from synthloom.ngram_hashes import HashTally, NgramTable, ngram_hash_batches
from synthloom.text import ngrams, tokenize

__all__ = [
    "compression_ratio",
    "distinct_n",
    "distinct_ns",
    "distinct_ns_with_table",
    "diversity",
    "near_duplicate_rate",
    "self_bleu",
    "self_bleu_scores",
    "text_measures",
    "text_measures_with_table",
    "vendi_score",
]

_BLEU_ORDER = 4
# Texts joined and compressed at a time by compression_ratio.
_COMPRESS_SLICE = 4096


def distinct_ns(texts: Sequence[str], orders: Sequence[int] = (1, 2, 3)) -> dict[int, float]:
    """:func:`distinct_n` of every order in ``orders`` from one tokenization of the texts.

    N-grams are counted as 64-bit hashes (:mod:`synthloom.ngram_hashes`), a batch of texts at a
    time, so memory is 8 bytes per distinct n-gram; exact up to hash collisions (expected
    about 3e-4 colliding pairs among 10**8 distinct n-grams).
    """
    return distinct_ns_with_table(texts, orders)[0]


def distinct_ns_with_table(
    texts: Sequence[str],
    orders: Sequence[int] = (1, 2, 3),
    *,
    table: int | None = None,
    counted: bool = False,
) -> tuple[dict[int, float], NgramTable | None]:
    """:func:`distinct_ns`, and from the same pass the :class:`NgramTable` of order ``table``
    (with each n-gram's count when ``counted``; None when ``table`` is None)."""
    asked = tuple(dict.fromkeys(orders))  # an order asked twice is counted once
    counted_orders = asked + ((table,) if table is not None and table not in asked else ())
    tallies = {n: HashTally(counts=counted and n == table) for n in counted_orders}
    totals = dict.fromkeys(counted_orders, 0)
    read = 0
    for batch in ngram_hash_batches(texts, counted_orders):
        read += batch.texts
        for n in counted_orders:
            tallies[n].add(batch.hashes[n])
            totals[n] += batch.hashes[n].size
    ratios = {n: tallies[n].distinct / totals[n] if totals[n] else 0.0 for n in asked}
    if table is None:
        return ratios, None
    kept = tallies.pop(table)
    return ratios, NgramTable(
        n=table,
        keys=kept.keys(),
        counts=kept.counts() if counted else None,
        total=totals[table],
        texts=read,
    )


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams / total n-grams over all texts (0.0 when there is no n-gram)."""
    return distinct_ns(texts, (n,))[n]


def compression_ratio(texts: Sequence[str]) -> float:
    """gzip-compressed size / raw UTF-8 size of the texts joined by newlines (0.0 if empty).

    Higher means less redundant, i.e. more diverse. Compression level 9 and a fixed header
    timestamp make the number reproducible. The joined text is fed to one zlib stream a slice
    of texts at a time, never built whole; deflate's output does not depend on how its input
    is cut, so the size is that of ``gzip.compress(joined, 9, mtime=0)``.
    """
    # wbits 31: a gzip header and trailer, as gzip.compress writes them with mtime=0.
    stream = zlib.compressobj(9, zlib.DEFLATED, 31)
    compressed = 0
    raw = 0
    separator = b""
    for piece in slices(texts, _COMPRESS_SLICE):
        data = separator + "\n".join(piece).encode("utf-8", errors="surrogatepass")
        separator = b"\n"
        raw += len(data)
        compressed += len(stream.compress(data))
    if not raw:
        return 0.0
    return (compressed + len(stream.flush())) / raw


def _ngram_counts(tokens: Sequence[str]) -> Counter[tuple[str, ...]]:
    counts: Counter[tuple[str, ...]] = Counter()
    for order in range(1, _BLEU_ORDER + 1):
        counts.update(ngrams(tokens, order))
    return counts


def _sentence_bleu(correct: list[int], total: list[int], sys_len: int, ref_len: int) -> float:
    """sacrebleu's BLEU.compute_bleu with smooth_method='exp' and effective_order=True."""
    if not any(correct):
        return 0.0
    brevity = 1.0
    if sys_len < ref_len:
        brevity = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    smooth = 1.0
    order = _BLEU_ORDER
    log_sum = 0.0
    for n in range(_BLEU_ORDER):
        if total[n] == 0:
            break
        order = n + 1
        if correct[n] == 0:
            # NIST / mteval smoothing: each order without a match halves the pseudo-count.
            smooth *= 2
            precision = 100.0 / (smooth * total[n])
        else:
            precision = 100.0 * correct[n] / total[n]
        log_sum += math.log(precision)
    return brevity * math.exp(log_sum / order)


def self_bleu(texts: Sequence[str], *, sample_size: int = 200, seed: int = 0) -> float:
    """Mean sentence BLEU (in [0, 1]) of each sampled text against all the other sampled texts.

    Up to ``sample_size`` texts are drawn without replacement with ``seed`` (all of them when
    there are fewer). Lower is more diverse. Needs at least 2 texts.
    """
    return _bleu_mean(_self_bleu_percent(texts, sample_size=sample_size, seed=seed))


def self_bleu_scores(
    texts: Sequence[str], *, sample_size: int = 200, seed: int = 0
) -> npt.NDArray[np.float64]:
    """Each sampled text's sentence BLEU (in [0, 1]) against the other sampled texts: the
    per-text contributions whose mean is :func:`self_bleu` (same draw, same arguments)."""
    return _self_bleu_percent(texts, sample_size=sample_size, seed=seed) / 100.0


def _bleu_mean(percent: npt.NDArray[np.float64]) -> float:
    # Mean first, then /100: the order self-BLEU has always been computed in (same digits).
    return float(np.mean(percent)) / 100.0


def _self_bleu_percent(
    texts: Sequence[str], *, sample_size: int, seed: int
) -> npt.NDArray[np.float64]:
    if len(texts) < 2:
        raise DataFormatError(f"self-BLEU needs at least 2 texts, got {len(texts)}")
    if sample_size < 2:
        raise DataFormatError(f"sample_size must be >= 2, got {sample_size}", field="sample_size")
    if len(texts) > sample_size:
        rng = np.random.default_rng(seed)
        picked = np.sort(rng.choice(len(texts), size=sample_size, replace=False))
        texts = [texts[int(i)] for i in picked]
    tokens = [tokenize(t) for t in texts]
    counts = [_ngram_counts(t) for t in tokens]
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)

    # For each n-gram, its largest count in any text and the text holding it, and the second
    # largest: the clipping count against "all texts but i" is then a lookup, not a scan.
    best: dict[tuple[str, ...], tuple[int, int, int]] = {}
    for doc, doc_counts in enumerate(counts):
        for gram, count in doc_counts.items():
            top, top_doc, second = best.get(gram, (0, -1, 0))
            if count > top:
                best[gram] = (count, doc, top)
            elif count > second:
                best[gram] = (top, top_doc, count)

    scores = []
    for doc, doc_counts in enumerate(counts):
        correct = [0] * _BLEU_ORDER
        total = [0] * _BLEU_ORDER
        for gram, count in doc_counts.items():
            top, top_doc, second = best[gram]
            ref_count = second if top_doc == doc else top
            total[len(gram) - 1] += count
            correct[len(gram) - 1] += min(count, ref_count)
        others = np.delete(lengths, doc)
        gaps = np.abs(others - lengths[doc])
        # The closest reference length; on a tie, the shorter one (as sacrebleu does).
        ref_len = int(others[gaps == gaps.min()].min())
        scores.append(_sentence_bleu(correct, total, int(lengths[doc]), ref_len))
    return np.asarray(scores, dtype=np.float64)


def near_duplicate_rate(
    texts: Sequence[str], *, threshold: float = 0.8, num_perm: int = 128, shingle: int = 5
) -> float:
    """Share of texts with at least one other text of character-``shingle``-gram Jaccard
    similarity >= ``threshold`` (MinHash + LSH candidates verified exactly; 0.0 if empty).

    Copies are collapsed first and only the pairs that can still change a text's flag are
    verified (:func:`synthloom.minhash.near_duplicated`): the flags of
    :func:`synthloom.minhash.near_duplicate_clusters`, in memory that does not grow with the
    candidate pairs."""
    if len(texts) == 0:
        return 0.0
    settings = NearDuplicateSettings(threshold=threshold, num_perm=num_perm, kind="char", n=shingle)
    return float(near_duplicated(texts, settings).mean())


def vendi_score(embeddings: npt.ArrayLike) -> float:
    """exp(entropy of the eigenvalues of K/n), K the cosine-similarity matrix of the rows.

    Rows are normalised here, so any embeddings work. The non-zero eigenvalues of K/n = X X^T/n
    are those of X^T X/n, so the smaller of the two Gram matrices is decomposed.
    """
    matrix = np.asarray(embeddings, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise DataFormatError(
            f"the Vendi score needs a non-empty 2-D array, got shape {matrix.shape}",
            field="embeddings",
        )
    norms = np.linalg.norm(matrix, axis=1)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        bad = int(np.flatnonzero(~np.isfinite(norms) | (norms == 0))[0])
        raise DataFormatError(
            f"row {bad} is zero or not finite; cosine similarity is undefined for it",
            field="embeddings",
        )
    unit = matrix / norms[:, None]
    n = unit.shape[0]
    gram = unit.T @ unit if unit.shape[1] < n else unit @ unit.T
    eigenvalues = np.clip(np.linalg.eigvalsh(gram / n), 0.0, None)
    positive = eigenvalues[eigenvalues > 0]
    return float(np.exp(-np.sum(positive * np.log(positive))))


def text_measures(texts: Sequence[str]) -> dict[str, float]:
    """The measures of :func:`diversity` that read every text and nothing else:
    ``distinct_1``..``distinct_3``, ``compression_ratio`` and ``near_duplicate_rate``."""
    return text_measures_with_table(texts)[0]


def text_measures_with_table(
    texts: Sequence[str], *, table: int | None = None, counted: bool = False
) -> tuple[dict[str, float], NgramTable | None]:
    """:func:`text_measures`, and the :class:`NgramTable` of order ``table`` kept from the
    distinct-n pass (see :func:`distinct_ns_with_table`)."""
    distinct, kept = distinct_ns_with_table(texts, (1, 2, 3), table=table, counted=counted)
    measures = {
        "distinct_1": distinct[1],
        "distinct_2": distinct[2],
        "distinct_3": distinct[3],
        "compression_ratio": compression_ratio(texts),
        "near_duplicate_rate": near_duplicate_rate(texts),
    }
    return measures, kept


def diversity(
    texts: Sequence[str],
    embeddings: np.ndarray | None,
    *,
    seed: int = 0,
    sample_size: int = 200,
    embedded: SideSample | None = None,
    bootstrap: Bootstrap | None = None,
    measures: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Every diversity measure of one collection.

    Keys: ``distinct_1``, ``distinct_2``, ``distinct_3``, ``compression_ratio``, ``self_bleu``
    (None with fewer than 2 texts), ``near_duplicate_rate``, ``vendi_score`` (None without
    embeddings), ``n`` (number of texts) and ``errors`` (``{metric: message}`` for each metric
    that could not be computed, its value None).

    ``embedded``: which of the texts the embeddings' rows are (default: all of them, in order).
    ``bootstrap``: add ``self_bleu_interval`` when self-BLEU scored a draw of the texts (the
    per-text scores resampled) and ``vendi_score_interval`` when ``embedded`` is a sample
    (half-samples of the embedding rows, with ``estimate``, the score expected on every text:
    see :meth:`synthloom.assay.sampling.Bootstrap.half_samples`): ``{value, low, high,
    confidence, n}``, ``n`` the texts the number was computed on. ``measures``: the
    :func:`text_measures` of ``texts`` when they were computed already (in another process).
    """
    measured = text_measures(texts) if measures is None else measures
    result: dict[str, Any] = {
        "distinct_1": measured["distinct_1"],
        "distinct_2": measured["distinct_2"],
        "distinct_3": measured["distinct_3"],
        "compression_ratio": measured["compression_ratio"],
        "self_bleu": None,
        "near_duplicate_rate": measured["near_duplicate_rate"],
        "vendi_score": None,
        "n": len(texts),
    }
    errors: dict[str, str] = {}
    try:
        percent = _self_bleu_percent(texts, sample_size=sample_size, seed=seed)
        bleu = percent / 100.0
        result["self_bleu"] = _bleu_mean(percent)
        # Only a draw from more texts than it scores is a sample with an interval.
        if bootstrap is not None and len(texts) > len(bleu):
            low, high = bootstrap.mean(bleu, stream=7)
            result["self_bleu_interval"] = interval(result["self_bleu"], low, high, n=len(bleu))
    except DataFormatError as exc:
        errors["self_bleu"] = str(exc)
    if embeddings is not None:
        try:
            rows = len(texts) if embedded is None else embedded.n
            if len(embeddings) != rows:
                raise DataFormatError(
                    f"{len(embeddings)} embedding rows for {rows} texts", field="embeddings"
                )
            result["vendi_score"] = vendi_score(embeddings)
            if bootstrap is not None and embedded is not None and embedded.sampled:
                matrix = np.asarray(embeddings, dtype=np.float64)
                low, high, estimate = bootstrap.half_samples(
                    lambda picked: vendi_score(matrix[picked]),
                    result["vendi_score"],
                    [embedded],
                    stream=8,
                )
                result["vendi_score_interval"] = interval(
                    result["vendi_score"], low, high, estimate=estimate, n=rows
                )
        except DataFormatError as exc:
            errors["vendi_score"] = str(exc)
    result["errors"] = errors
    return result
