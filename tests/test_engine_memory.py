"""A process that has loaded the engine's models gives a freed frame-sized buffer back to the
system at once, instead of keeping it in glibc's heap (``tools.reid.engine.memory``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tools.reid.engine import memory

FREED_BACK = textwrap.dedent(
    """
    import numpy as np, psutil
    from tools.reid.engine import models

    models.yunet()  # what every analysing process does first
    me = psutil.Process()
    # A larger buffer freed first would, by default, raise glibc's mmap threshold above the
    # frame's size, and the frame would then come from (and stay in) the heap.
    big = np.ones(12 << 20, np.uint8)
    del big
    frame = np.ones(6 << 20, np.uint8)
    holding = me.memory_info().rss
    del frame
    print((holding - me.memory_info().rss) >> 20)
    """
)


def test_a_freed_frame_goes_back_to_the_system() -> None:
    if not memory.return_large_buffers():
        pytest.skip("not glibc: its allocator's thresholds do not apply")
    done = subprocess.run([sys.executable, "-c", FREED_BACK], capture_output=True, text=True, timeout=120, check=True)
    released_mib = int(done.stdout.split()[-1])
    assert released_mib >= 5, f"only {released_mib} MiB of a freed 6 MiB frame went back to the system"
