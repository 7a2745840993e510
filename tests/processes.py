"""Watching a real process's children: the engine's spawned workers, and whether any outlives it
(the shutdown and crash tests)."""

from __future__ import annotations

import psutil
from loopback import wait_until


def pool_workers(pid: int) -> list[psutil.Process]:
    """The engine's spawned worker processes under ``pid``."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            pass
    return found


def busy_descendants(pid: int) -> list[psutil.Process]:
    """Every process under ``pid`` once its engine worker runs (with two cores, the calling
    thread is the other one), with the resource tracker."""
    wait_until(lambda: len(pool_workers(pid)) >= 1, 120, "the engine worker to start")
    return psutil.Process(pid).children(recursive=True)


def assert_all_gone(processes: list[psutil.Process], timeout_s: float = 15) -> None:
    def gone() -> bool:
        return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes)

    wait_until(gone, timeout_s, "every worker and the resource tracker to exit")
