"""synthloom: generate synthetic training data for LLMs and prove it fit to train on."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
