"""Running stored tasks: a pool of worker threads over the facade's local backend.

The service always runs the engine through `LocalBackend`, whatever ``REID_BACKEND`` says:
it *is* the remote end. With ``REID_CLUSTER`` the videos' segments run on that Dask cluster,
``REID_CLUSTER_CONCURRENT_TASKS`` tasks at once; a task waits, queued, while the cluster
cannot be used, and one that loses the cluster midway is queued again. At start-up every task left queued or
running is re-run, or failed (with its callback) when it can no longer run, so an
accepted task is never silently lost; finished tasks are purged after the retention time.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

from tools.reid.errors import ClusterUnavailable, InvalidInput, ReIDError
from tools.reid.facade import LocalBackend, ReIDTool
from tools.reid.fetch.policy import is_url
from tools.reid.gallery import Asker
from tools.reid.progress import ProgressFn
from tools.reid.remote.errors import RateLimited
from tools.reid.remote.wire import ErrorKind, result_data
from tools.reid.schemas import ReIDRequest
from tools.reid.service.callbacks import CallbackSender
from tools.reid.service.cluster_gate import ClusterGate
from tools.reid.service.spool import Spool
from tools.reid.service.store import Reply, Task, TaskStore, task_ref
from tools.reid.settings import ReIDSettings

log = logging.getLogger(__name__)

MAX_CRASHES = 3
"""A task that was running alone when the service died this many times is failed, not
retried: it is what kills the service. A task running beside others when the service died
is not blamed; it runs alone from then on (see `TaskStore.blame_crash`)."""
PROGRESS_STEP = 0.05
"""Progress is written to the database in steps of this size, not on every frame."""
PURGE_INTERVAL_S = 300.0


RESULT_KIND = "service-task"
"""How the gallery names this service's stored results (removing a person deletes theirs)."""


def service_asker(tenant: str) -> Asker:
    """The service's searches are audited under the tenant (the API key's name): who asked."""
    return Asker(tenant=tenant, actor=tenant, surface="service")


def new_task_id() -> str:
    return uuid.uuid4().hex


class TaskRunner:
    """Accepts tasks into the store and runs them on ``REID_MAX_CONCURRENT_TASKS`` threads
    (``REID_CLUSTER_CONCURRENT_TASKS`` with a cluster: the threads then mostly wait for it)."""

    def __init__(
        self, settings: ReIDSettings, store: TaskStore, spool: Spool, sender: CallbackSender, scratch: Path
    ) -> None:
        self.settings = settings
        self.store = store
        self.spool = spool
        self._sender = sender
        self.tool = ReIDTool(settings, backend=LocalBackend(settings, scratch_root=scratch))
        self.tool.gallery.keep_results(RESULT_KIND, store.forget)
        self.cluster = ClusterGate(settings) if settings.cluster else None
        self._concurrency = settings.cluster_concurrent_tasks if settings.cluster else settings.max_concurrent_tasks
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._waiters: dict[str, Future[Task]] = {}
        self._waiters_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._gate = _Gate()

    def start(self) -> None:
        """Resume what the last run left, then start the workers and the purge timer."""
        self._resume()
        workers = [
            threading.Thread(target=self._work, name=f"reid-worker-{n}", daemon=True) for n in range(self._concurrency)
        ]
        self._threads = [*workers, threading.Thread(target=self._purge_periodically, name="reid-purge", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop taking work. Running tasks go back to the queue, unblamed, and are re-run at the
        next start; a worker that still finishes its task in time records it as usual."""
        self._stop.set()
        for _ in range(self._concurrency):
            self._queue.put(None)
        if self.cluster is not None:
            self.cluster.close()
        requeued = self.store.requeue_running()
        if requeued:
            log.info("stopping: %d running tasks left queued for the next start", requeued)

    def check(self, tenant: str, request: ReIDRequest) -> None:
        """Raises what the tenant's gallery would refuse (an unknown enrolled name, an empty
        gallery), so that it is answered at once rather than as a failed task."""
        self.tool.check_gallery_search(request, tenant)

    def accept(
        self, task_id: str, tenant: str, request: ReIDRequest, reply: Reply, callback_url: str | None
    ) -> Future[Task]:
        """Store the task as ``tenant``'s, then queue it. The returned future resolves with the finished task
        (used for inline replies; others may ignore it).

        Raises:
            RateLimited: ``REID_MAX_QUEUED_TASKS`` tasks are already waiting.
        """
        waiter: Future[Task] = Future()
        with self._waiters_lock:
            self._waiters[task_id] = waiter
        stored = self.store.add(
            task_id, tenant, request.model_dump(mode="json"), reply, callback_url, self.settings.max_queued_tasks
        )
        if not stored:
            self._resolve(task_id, None)
            raise RateLimited(
                f"The task queue is full ({self.settings.max_queued_tasks} tasks are waiting). "
                "Send the request again in a little while."
            )
        log.info(
            "task accepted tenant=%s task=%s reply=%s persons=%d",
            tenant,
            task_ref(task_id),
            reply,
            len(request.persons),
        )
        self._queue.put(task_id)
        return waiter

    def _work(self) -> None:
        while (task_id := self._queue.get()) is not None:
            if self.cluster is not None and not self.cluster.wait(self._stop):
                return  # stopping: the task stays queued in the store for the next start
            try:
                self._run(task_id)
            except (OSError, sqlite3.Error) as exc:
                # The store could not record the task (out of disk, say): it stays as the store
                # last had it, queued or running, and resumes at the next start; this worker goes on.
                log.error("task could not be recorded task=%s: %s", task_ref(task_id), exc)

    def _run(self, task_id: str) -> None:
        queued = self.store.get(task_id)
        if queued is None:
            return
        # The slot is taken before the task is marked running: a task waiting for its turn
        # to run alone must not count as running if the service dies meanwhile.
        with self._gate.slot(alone=queued.alone):
            if not self._stop.is_set():
                self._run_claimed(task_id)

    def _run_claimed(self, task_id: str) -> None:
        task = self.store.claim(task_id)
        if task is None or task.request is None:
            return
        log.info("task running task=%s run=%d alone=%s", task_ref(task_id), task.runs, task.alone)
        started = time.monotonic()
        try:
            request = ReIDRequest.model_validate(task.request)
            result = self.tool.analyze(request, self._progress(task_id), service_asker(task.tenant))
        except ClusterUnavailable as exc:
            log.warning("task queued again, the cluster failed task=%s: %s", task_ref(task_id), exc)
            self.store.requeue(task_id)
            self._queue.put(task_id)
            return
        except Exception as exc:
            if self._stop.is_set():
                # The engine was stopped under it (SIGTERM): the task stays queued for the next start.
                log.info("task interrupted by the shutdown task=%s", task_ref(task_id))
                return
            self._record_failure(task_id, exc)
        else:
            self.store.finish(task_id, result_data(result))
            self.tool.people(task.tenant).link([p.name for p in result.persons], RESULT_KIND, task_id)
            log.info(
                "task done task=%s found=%d/%d wall_s=%.2f",
                task_ref(task_id),
                len(result.found()),
                len(result.persons),
                time.monotonic() - started,
            )
        self._ended(task_id)

    def _record_failure(self, task_id: str, exc: Exception) -> None:
        if isinstance(exc, InvalidInput):
            self._fail(task_id, str(exc), "invalid_input")
        elif isinstance(exc, ReIDError):
            self._fail(task_id, str(exc), "engine_error")
        else:
            log.error("task crashed task=%s", task_ref(task_id), exc_info=exc)
            self._fail(task_id, _crash_message(task_id), "engine_error")

    def _progress(self, task_id: str) -> ProgressFn:
        written = 0.0

        def report(fraction: float) -> None:
            nonlocal written
            if fraction - written >= PROGRESS_STEP and fraction < 1.0:
                written = fraction
                self.store.set_progress(task_id, round(fraction, 3))

        return report

    def _fail(self, task_id: str, message: str, kind: ErrorKind) -> None:
        self.store.fail(task_id, message, kind)
        log.info("task failed task=%s kind=%s", task_ref(task_id), kind)

    def _ended(self, task_id: str) -> None:
        """Clean up after a task that reached done or failed, and tell whoever waits."""
        self.spool.remove(task_id)
        task = self.store.get(task_id)
        self._resolve(task_id, task)
        if task is not None and task.cb_state == "pending":
            self._sender.send(task_id)

    def _resolve(self, task_id: str, task: Task | None) -> None:
        with self._waiters_lock:
            waiter = self._waiters.pop(task_id, None)
        # A waiter is cancelled when its HTTP client went away; nobody reads it then.
        if waiter is not None and task is not None and waiter.set_running_or_notify_cancel():
            waiter.set_result(task)

    def _resume(self) -> None:
        for task in self.store.undelivered():
            self._sender.send(task.task_id)
        self.store.blame_crash()
        unfinished = self.store.unfinished()
        self.spool.remove_all_but({task.task_id for task in unfinished})
        for task in unfinished:
            problem = self._why_not_resumable(task)
            if problem is None:
                self.store.requeue(task.task_id)
                self._queue.put(task.task_id)
                log.info("task resumed task=%s state_was=%s", task_ref(task.task_id), task.state)
            else:
                self._fail(task.task_id, problem, "engine_error")
                self._ended(task.task_id)

    def _why_not_resumable(self, task: Task) -> str | None:
        if task.reply == "inline":
            return "The service restarted before it could answer this image request; send the request again."
        if task.state == "running" and task.crashes >= MAX_CRASHES:
            return (
                f"The service stopped {task.crashes} times while running this task alone, so it is not tried again. "
                "Ask the service's operator to check its logs and memory, then send the request again."
            )
        if task.request is None or _missing_uploads(task.request):
            return (
                "The files uploaded with this task are gone (the service's upload folder was cleared "
                "while it was stopped); send the request again."
            )
        return None

    def _purge_periodically(self) -> None:
        while True:
            removed = self.store.purge(time.time() - self.settings.retention_hours * 3600)
            if removed:
                log.info("purged finished tasks count=%d", removed)
            audited = self.tool.gallery.purge(self.settings.audit_retention_days * 86400)
            if audited:
                log.info("purged audit entries count=%d", audited)
            if self._stop.wait(PURGE_INTERVAL_S):
                return


class _Gate:
    """Tasks run side by side, except one marked ``alone``, which waits until no other task
    runs and keeps the others waiting until it ends (those marked alone take precedence)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._side_by_side = 0
        self._alone_waiting = 0
        self._alone_running = False

    @contextmanager
    def slot(self, *, alone: bool) -> Iterator[None]:
        with self._changed:
            if alone:
                self._alone_waiting += 1
                self._changed.wait_for(lambda: self._side_by_side == 0 and not self._alone_running)
                self._alone_waiting -= 1
                self._alone_running = True
            else:
                self._changed.wait_for(lambda: not self._alone_running and not self._alone_waiting)
                self._side_by_side += 1
        try:
            yield
        finally:
            with self._changed:
                if alone:
                    self._alone_running = False
                else:
                    self._side_by_side -= 1
                self._changed.notify_all()


def _missing_uploads(request: dict) -> bool:
    """Whether a stored request names local files (spooled uploads) that no longer exist."""
    parsed = ReIDRequest.model_validate(request)
    locations = [parsed.media, *(photo for person in parsed.persons for photo in person.photos)]
    return any(not is_url(location) and not Path(location).is_file() for location in locations)


def _crash_message(task_id: str) -> str:
    return (
        "The analysis failed unexpectedly. Send the request again; if it fails again, "
        f"report task {task_id} (reference {task_ref(task_id)} in the logs) to the service's operator."
    )
