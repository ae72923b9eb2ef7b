"""Handing freed memory back to the system between the steps of a large job."""

from __future__ import annotations

import ctypes
import gc

__all__ = ["release_free_memory"]


def release_free_memory() -> None:
    """Hand memory freed by Python and the C library back to the system (glibc's
    ``malloc_trim``; nothing elsewhere). Reading a dataset a batch at a time frees as much as it
    keeps, in pieces between the kept ones; without this the process keeps those pages, which
    the metrics' own arrays then cannot always reuse."""
    gc.collect()
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows): no trim
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
