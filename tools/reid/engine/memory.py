"""Memory the engine's processes give back: large buffers returned to the system when freed.

Every sampled frame allocates a few buffers of megabytes (its RGB pixels, the detector's
resized copy and blobs). glibc's allocator raises its mmap threshold to the size of the largest
buffer freed (up to 32 MiB), after which such buffers come from the heap, and the heap keeps
what was freed: measured on one segment of the 1080p street loop, a process held 369 MiB at
its peak, 288 MiB with the threshold fixed at `MMAP_THRESHOLD` (the CPU cost of mapping a
few buffers a frame is lost in the noise). Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

M_MMAP_THRESHOLD = -3
"""mallopt's parameter number for the threshold (glibc's malloc.h); setting it also stops
glibc from raising it as buffers are freed."""
MMAP_THRESHOLD = 1 << 20
"""Buffers of 1 MiB and more are mapped alone and unmapped when freed (a 1080p frame's planes
are 2-6 MiB; 256 KiB and 4 MiB measured the same)."""


@cache
def return_large_buffers() -> bool:
    """Makes this process give freed large buffers back at once; True where glibc did so."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): their allocators differ
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
