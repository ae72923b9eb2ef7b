"""Ray versions of CPU-bound steps (the ``complete`` stage's Ray executor is
:mod:`synthloom.engine.ray_executor`). Nothing here imports ray until a function is called."""

from __future__ import annotations

from synthloom.engine.ray.assay import embed_texts_ray, map_shards_ray
from synthloom.engine.ray.dedup import near_duplicate_clusters_ray

__all__ = ["embed_texts_ray", "map_shards_ray", "near_duplicate_clusters_ray"]
