"""A real Dask cluster on loopback for the tests: `dask scheduler` and `dask worker` processes
started from this venv, with this worktree (and tests/, for `cluster_jobs`) importable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from distributed import Client
from loopback import wait_until

from tools.reid.cluster import disconnect

TESTS = Path(__file__).resolve().parent
START_TIMEOUT_S = 90.0


def _env(tmp: Path) -> dict[str, str]:
    paths = [str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "TMPDIR": str(tmp)}


class LoopbackCluster:
    """A scheduler on 127.0.0.1 (``port`` 0: a free one) and worker processes without nannies,
    so killing a worker's process really loses the worker. ``tmp`` is the workers' TMPDIR."""

    def __init__(self, folder: Path, workers: int = 2, port: int = 0) -> None:
        self.folder = folder
        self.tmp = folder / "tmp"
        self.tmp.mkdir(parents=True)
        self._file = folder / "scheduler.json"
        self.scheduler = self._spawn(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
            "--scheduler-file",
            str(self._file),
        )
        self.workers: list[subprocess.Popen[bytes]] = []
        try:
            self.address: str = wait_until(self._address, START_TIMEOUT_S, "the Dask scheduler")
            self.client = Client(self.address, timeout=START_TIMEOUT_S, set_as_default=False)
            for _ in range(workers):
                self.add_worker()
        except BaseException:
            self.close()
            raise

    def _address(self) -> str | None:
        if self.scheduler.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with {self.scheduler.returncode}; see {self.folder}")
        try:
            return str(json.loads(self._file.read_text())["address"])
        except (FileNotFoundError, json.JSONDecodeError):
            return None  # not written yet, or caught half-written: the scheduler writes it in place

    def _spawn(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{role}-{len(list(self.folder.glob(f'{role}-*.log')))}.log").open("wb")
        command = [sys.executable, "-m", "dask", role, *args]
        return subprocess.Popen(command, env=_env(self.tmp), stdout=log, stderr=log)

    def add_worker(self, *preload: str) -> subprocess.Popen[bytes]:
        """Start one more single-threaded worker and wait until the scheduler has it."""
        expected = len(self.client.scheduler_info()["workers"]) + 1
        options = [opt for module in preload for opt in ("--preload", module)]
        worker = self._spawn(
            "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", *options,
            "--local-directory", str(self.folder),
        )  # fmt: skip
        self.workers.append(worker)
        self.client.wait_for_workers(expected, timeout=START_TIMEOUT_S)
        return worker

    def stop_worker(self, worker: subprocess.Popen[bytes]) -> None:
        """Stop a worker we started and wait until the scheduler has forgotten it."""
        expected = len(self.client.scheduler_info()["workers"]) - 1
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        wait_until(lambda: len(self.client.scheduler_info()["workers"]) == expected or None, 30, "worker gone")

    def worker_with_pid(self, pid: int) -> subprocess.Popen[bytes]:
        return next(w for w in self.workers if w.pid == pid)

    def close(self) -> None:
        """Stop everything; this process's cached client of the scheduler first, so that it does
        not try to reconnect to a scheduler that is gone."""
        if hasattr(self, "address"):
            disconnect(self.address)
        if hasattr(self, "client"):
            self.client.close(timeout=5)
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
