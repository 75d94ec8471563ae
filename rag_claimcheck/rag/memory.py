"""Give freed memory back to the operating system while a large index is built.

glibc keeps memory freed by mid-sized allocations (numpy temporaries of a few megabytes) in its
heap for reuse, and its threshold for serving allocations with their own mapping grows as large
arrays come and go. An index build frees such blocks as it goes; without handing them back, a
worker's resident size would hold them and the final arrays side by side. ``malloc_trim(0)``
returns the free pages; elsewhere (another C library) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _trim = _libc.malloc_trim
except (OSError, AttributeError):  # not glibc
    _trim = None


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the operating system (a few milliseconds)."""
    if _trim is not None:
        _trim(0)
