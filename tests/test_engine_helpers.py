"""The engine's helper threads (``parallel``): a segment in flight is interrupted when the
process is told to stop, and calls not started are cancelled, so nothing runs on under exit."""

from __future__ import annotations

import threading
import time

import pytest

from tools.reid.engine import parallel


def endless(started: threading.Event) -> None:
    started.set()
    while True:  # Python instructions between short native calls, as a segment's loop
        time.sleep(0.01)


def test_stopping_interrupts_the_running_call_and_cancels_the_rest() -> None:
    helpers = parallel._Helpers(1)
    started = threading.Event()
    running = helpers.submit(endless, started)
    waiting = helpers.submit(endless, threading.Event())
    assert started.wait(10)
    helpers.stop()
    with pytest.raises(parallel.SegmentStopped):
        running.result(timeout=10)
    assert waiting.cancelled()
    assert not any(t.is_alive() for t in helpers._threads)


def test_retired_helpers_finish_the_calls_given_so_far() -> None:
    """Helpers replaced (another worker count) still serve the analyses that queued calls."""
    helpers = parallel._Helpers(1)
    first, second = helpers.submit(sum, [1, 2]), helpers.submit(sum, [3, 4])
    helpers.retire()
    assert (first.result(timeout=10), second.result(timeout=10)) == (3, 7)
    for thread in helpers._threads:
        thread.join(10)
    assert not any(t.is_alive() for t in helpers._threads)
