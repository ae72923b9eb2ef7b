"""LAB taxonomies: load and validate InstructLab ``qna.yaml`` trees, choose leaves, read the
documents of knowledge leaves.

    load_taxonomy(root) -> Taxonomy(leaves, issues)     require_valid(taxonomy)
    select_leaves(taxonomy, subtree=..., changed_since=...)
    read_documents(leaf.document, leaf.file)
"""

from __future__ import annotations

from synthloom.taxonomy.documents import Document, list_documents, read_documents
from synthloom.taxonomy.load import MIN_SEED_EXAMPLES, load_leaf, load_taxonomy, require_valid
from synthloom.taxonomy.model import (
    DocumentRef,
    Issue,
    KnowledgeSeed,
    Leaf,
    LeafKind,
    SeedExample,
    Taxonomy,
)
from synthloom.taxonomy.plan import changed_paths, select_leaves

__all__ = [
    "MIN_SEED_EXAMPLES",
    "Document",
    "DocumentRef",
    "Issue",
    "KnowledgeSeed",
    "Leaf",
    "LeafKind",
    "SeedExample",
    "Taxonomy",
    "changed_paths",
    "list_documents",
    "load_leaf",
    "load_taxonomy",
    "read_documents",
    "require_valid",
    "select_leaves",
]
