"""Watching a real process while it analyses: its engine helper thread, and whether anything it
started outlives it (the shutdown and crash tests)."""

from __future__ import annotations

from pathlib import Path

import psutil
from loopback import wait_until

from tools.reid.engine.parallel import HELPER_THREAD_NAME


def helper_threads(pid: int) -> int:
    """How many of the engine's helper threads run in ``pid`` (Linux names them in /proc)."""
    count = 0
    for comm in Path(f"/proc/{pid}/task").glob("*/comm"):
        try:
            count += comm.read_text().strip() == HELPER_THREAD_NAME
        except OSError:  # the thread ended meanwhile
            pass
    return count


def busy_descendants(pid: int) -> list[psutil.Process]:
    """Every process under ``pid`` once a video is spread over its threads (with two cores, the
    calling thread and one helper): the engine starts none, anything else must end with it."""
    wait_until(lambda: helper_threads(pid) >= 1, 120, "the engine's helper thread to start")
    return psutil.Process(pid).children(recursive=True)


def assert_all_gone(processes: list[psutil.Process], timeout_s: float = 15) -> None:
    def gone() -> bool:
        return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes)

    wait_until(gone, timeout_s, "every worker and the resource tracker to exit")
