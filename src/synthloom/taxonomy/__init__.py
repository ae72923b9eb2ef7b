"""LAB taxonomies: load and validate InstructLab ``qna.yaml`` trees, choose leaves, read the
documents of knowledge leaves.

    load_taxonomy(root, subtree=..., changed_since=..., leaves=[globs], documents=...)
        -> Taxonomy(leaves, issues, found, chosen)       require_valid(taxonomy)
    select_leaves(taxonomy, subtree=..., changed_since=...)
    read_documents(leaf.document, leaf.file, DocumentOptions(documents_dir, cache_dir))
"""

from __future__ import annotations

from synthloom.taxonomy import model
from synthloom.taxonomy.documents import (
    Document,
    DocumentOptions,
    list_documents,
    read_documents,
    user_cache_dir,
)
from synthloom.taxonomy.load import (
    MIN_SEED_EXAMPLES,
    leaf_files,
    load_leaf,
    load_taxonomy,
    require_valid,
)

# The value types, all of them: model.__all__ lists them once (as asyncio's __init__ does).
from synthloom.taxonomy.model import *  # noqa: F403
from synthloom.taxonomy.plan import changed_paths, choose_paths, select_leaves

__all__ = [
    "MIN_SEED_EXAMPLES",
    "Document",
    "DocumentOptions",
    "changed_paths",
    "choose_paths",
    "leaf_files",
    "list_documents",
    "load_leaf",
    "load_taxonomy",
    "read_documents",
    "require_valid",
    "select_leaves",
    "user_cache_dir",
]
__all__ += model.__all__
