"""Give memory back to the operating system after a burst of large allocations (glibc).

Decoding a 4096x4096 image allocates tens of megabytes in a worker thread. glibc keeps
freed memory in per-thread arenas and raises its mmap threshold after the first large free
(up to 32 MiB), so after a burst of uploads the process stays at its peak size. Two
remedies, both no-ops where glibc is not the C library:

- ``tune_allocator()`` (at startup) fixes the mmap threshold, so blocks of 1 MiB and more
  (Pillow allocates image memory in blocks of up to 16 MiB) are always mapped on their own
  and unmapped when freed, and caps the number of arenas (``MALLOC_ARENA_MAX`` in the
  environment wins, as glibc itself reads it).
- ``release_memory()`` asks glibc to return the free pages it still holds
  (``malloc_trim(0)``); the image decoding budget calls it when a burst ends.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import threading
import time

logger = logging.getLogger("lumiku")

_M_MMAP_THRESHOLD = -3  # mallopt parameters, from glibc's malloc.h
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 1024 * 1024
"""Allocations of at least this many bytes get pages of their own, unmapped when freed."""
ARENA_MAX = 4
"""The most malloc arenas the process uses (glibc's default is 8 per CPU core)."""

_lock = threading.Lock()
_last_trim = 0.0


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def tune_allocator() -> bool:
    """Fix glibc's mmap threshold and cap its arenas; return whether glibc took them."""
    libc = _libc()
    if libc is None:
        return False
    done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    if "MALLOC_ARENA_MAX" not in os.environ:
        done = bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX)) and done
    return done


def release_memory(*, min_interval: float = 1.0) -> bool:
    """Return free heap pages to the system (``malloc_trim(0)``), at most every
    ``min_interval`` seconds; return whether it ran."""
    global _last_trim
    libc = _libc()
    if libc is None:
        return False
    with _lock:
        now = time.monotonic()
        if now - _last_trim < min_interval:
            return False
        _last_trim = now
    libc.malloc_trim(0)
    return True
