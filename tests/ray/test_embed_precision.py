"""The bfloat16 MiniLM path on Ray: the shards run at the precision the method names."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from synthloom.embed import embed_texts
from synthloom.engine.ray import embed_texts_ray

pytestmark = pytest.mark.slow


def test_bf16_on_ray_matches_bf16_locally_and_says_so(ray_session: Any) -> None:
    texts = [
        "Can you explain what a context manager does in Python?",
        "ok thanks",
        "The invoice from March is still unpaid; please send a reminder to accounts.",
        "¿Dónde está la estación de tren más cercana?",
        "for row in rows:\n    total += row.amount",
    ] * 4
    local, local_info = embed_texts(texts, method="minilm-bf16", batch_size=4)
    remote, info = embed_texts_ray(texts, method="minilm-bf16", batch_size=4, shard_texts=7)
    assert info["precision"] == local_info["precision"] == "bfloat16"
    assert info["max_tokens"] == 256
    # Shards pad differently from one local run; in bfloat16 that moves vectors a little.
    cosines = (local * remote).sum(axis=1)
    assert cosines.min() >= 0.999
    float_remote, float_info = embed_texts_ray(texts, method="minilm", shard_texts=7)
    assert float_info["precision"] == "float32"
    assert not np.allclose(float_remote, remote, atol=1e-6)
