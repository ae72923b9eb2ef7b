"""Which leaves a LAB run works on, chosen before anything is validated.

``chosen_taxonomy`` lists the tree, applies ``--subtree``, ``--changed-since`` and the
pipeline's ``leaves`` globs, and only then reads and checks the chosen leaves (with their
documents: ``--documents-dir`` clones, clones of URLs in the run's cache). An invalid chosen leaf
stops the run unless ``skip_invalid``; then the valid ones go on and the invalid ones are listed
in the taxonomy's issues.
"""

from __future__ import annotations

from pathlib import Path

from synthloom.engine.storage import is_url
from synthloom.recipes.lab.config import PipelineConfig
from synthloom.taxonomy.documents import DocumentOptions
from synthloom.taxonomy.load import load_taxonomy, require_valid
from synthloom.taxonomy.model import Taxonomy

__all__ = ["DOCUMENTS_CACHE", "chosen_taxonomy", "document_options"]

#: The run directory's folder for clones of document repositories.
DOCUMENTS_CACHE = "_documents"


def document_options(
    config: PipelineConfig,
    *,
    out: str | Path | None,
    pipeline_path: str | Path | None = None,
    documents_dir: str | Path | None = None,
) -> DocumentOptions:
    """Where a run finds documents: ``documents_dir`` (the option) or the pipeline's
    ``documents_dir`` (relative to the pipeline file), and clones under the run directory
    (the user cache directory when the run lives on an object store or there is no run)."""
    folder: Path | None = None
    if documents_dir is not None:
        folder = Path(documents_dir)
    elif config.documents_dir is not None:
        base = Path(pipeline_path).parent if pipeline_path is not None else Path(".")
        folder = base / Path(config.documents_dir).expanduser()
    cache = None
    if out is not None and not is_url(str(out)):
        cache = Path(out) / DOCUMENTS_CACHE
    return DocumentOptions(documents_dir=folder.resolve() if folder else None, cache_dir=cache)


def chosen_taxonomy(
    taxonomy: str | Path | Taxonomy,
    config: PipelineConfig,
    *,
    subtree: str | None = None,
    changed_since: str | None = None,
    skip_invalid: bool = False,
    documents: DocumentOptions | None = None,
) -> Taxonomy:
    """The chosen leaves of ``taxonomy`` (already chosen when a Taxonomy is given), checked:
    ConfigError naming every invalid chosen leaf unless ``skip_invalid``."""
    if not isinstance(taxonomy, Taxonomy):
        taxonomy = load_taxonomy(
            taxonomy,
            documents=documents,
            subtree=subtree,
            changed_since=changed_since,
            leaves=config.leaves,
        )
    return taxonomy if skip_invalid else require_valid(taxonomy)
