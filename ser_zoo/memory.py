"""Keep a long inference job's resident memory flat on glibc.

glibc serves large, variably sized buffers (a batch's tensors) from its heap and, with its default dynamic
mmap threshold, keeps them as slack after they are freed: a 1-hour timeline's RSS then creeps up by hundreds
of MiB although nothing is held (benchmarks/results/infer.md). Fixing the threshold at 128 KiB, as
``MALLOC_MMAP_THRESHOLD_=131072`` does, sends every buffer above it to mmap, which returns it to the OS on
free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
THRESHOLD_BYTES = 128 * 1024


@functools.lru_cache(maxsize=1)
def bound_allocator_slack() -> bool:
    """Fix glibc's mmap threshold once per process; False (and nothing done) on other C libraries."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
