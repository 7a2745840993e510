"""Delivering results to callback URLs: signed, retried with exponential backoff, recorded.

One attempt is one job of a small pool of delivery threads; nobody sleeps a backoff in a
thread. A failed attempt schedules the next one on a timer queue (due times in a heap, served
by one scheduler thread), and at most ``PER_HOST`` attempts to the same host run at once, so a
receiver that hangs until the timeout holds at most that many threads while every other
receiver's callbacks go out at once. Attempts are recorded on the task; a delivery cut short
by a shutdown stays "pending" and is resumed at the next start, counting the attempts made.

Delivery is at least once: a service killed after a receiver got a callback but before the
answer was recorded sends it again at its next start. Every attempt carries the task id in
``Idempotency-Key`` (the same for every attempt) and its number in ``X-ReID-Attempt``, so a
receiver can drop the repeats.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import queue
import sqlite3
import threading
import time
from collections import Counter, defaultdict, deque
from urllib.parse import urlsplit

import httpx

from tools.reid.errors import FetchError
from tools.reid.fetch.policy import check_url, redact_url
from tools.reid.remote.signing import sign_callback
from tools.reid.service.store import Task, TaskStore, task_ref
from tools.reid.settings import ReIDSettings

log = logging.getLogger(__name__)

DELIVERY_THREADS = 16
PER_HOST = 2
"""Attempts to one host at a time: a receiver that hangs holds at most this many of the
delivery threads (its share), so it takes eight such hosts at once to delay anyone else."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
ATTEMPT_HEADER = "X-ReID-Attempt"


def payload_body(task: Task) -> bytes:
    """The exact bytes POSTed (and signed) for a finished task."""
    return json.dumps(task.status().as_payload(), separators=(",", ":")).encode()


class CallbackSender:
    def __init__(self, settings: ReIDSettings, store: TaskStore) -> None:
        self._settings = settings
        self._store = store
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._due: list[tuple[float, int, str]] = []
        """(due time, tie-breaker, task id): the timer queue."""
        self._order = itertools.count()
        self._busy: Counter[str] = Counter()
        self._waiting: defaultdict[str, deque[str]] = defaultdict(deque)
        self._attempts: queue.Queue[tuple[str, str] | None] = queue.Queue()
        # No redirects (each hop would need the URL policy again) and no proxies from the environment.
        self._http = httpx.Client(
            timeout=httpx.Timeout(settings.callback_timeout_s), follow_redirects=False, trust_env=False
        )
        # Daemon threads: a shutdown does not wait for a receiver that hangs; its delivery stays pending.
        self._threads = [threading.Thread(target=self._schedule, name="reid-callback-timer", daemon=True)]
        self._threads += [
            threading.Thread(target=self._deliver, name=f"reid-callback-{n}", daemon=True)
            for n in range(DELIVERY_THREADS)
        ]
        for thread in self._threads:
            thread.start()

    def send(self, task_id: str) -> None:
        """Deliver the task's result in the background, if it has a callback still owed."""
        self._at(time.monotonic(), task_id)

    def close(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        for _ in range(DELIVERY_THREADS):
            self._attempts.put(None)

    def _at(self, when: float, task_id: str) -> None:
        with self._changed:
            heapq.heappush(self._due, (when, next(self._order), task_id))
            self._changed.notify_all()

    def _schedule(self) -> None:
        """Hand each attempt that falls due to the delivery threads, within the per-host limit."""
        while not self._stop.is_set():
            with self._changed:
                now = time.monotonic()
                if not self._due or self._due[0][0] > now:
                    self._changed.wait(self._due[0][0] - now if self._due else None)
                    continue
                _, _, task_id = heapq.heappop(self._due)
            task = self._store.get(task_id)
            if task is None or task.cb_state != "pending" or task.callback_url is None:
                continue
            host = urlsplit(task.callback_url).netloc
            with self._changed:
                if self._busy[host] >= PER_HOST:
                    self._waiting[host].append(task_id)
                    continue
                self._busy[host] += 1
            self._attempts.put((task_id, host))

    def _deliver(self) -> None:
        while (job := self._attempts.get()) is not None:
            task_id, host = job
            try:
                self._attempt(task_id)
            except (OSError, sqlite3.Error) as exc:
                # The attempt could not be recorded (out of disk): it is made again at the next start.
                log.error("callback attempt not recorded task=%s: %s", task_ref(task_id), exc)
            finally:
                with self._changed:
                    self._busy[host] -= 1
                    waiting = self._waiting[host]
                    if waiting:
                        heapq.heappush(self._due, (time.monotonic(), next(self._order), waiting.popleft()))
                        self._changed.notify_all()

    def _attempt(self, task_id: str) -> None:
        """One POST; on failure the next attempt is scheduled, or delivery is given up."""
        task = self._store.get(task_id)
        if task is None or task.cb_state != "pending" or task.callback_url is None:
            return
        limit = self._settings.callback_attempts
        attempts = task.cb_attempts + 1
        error, permanent = self._post(
            task.callback_url,
            payload_body(task),
            {
                IDEMPOTENCY_HEADER: task_id,
                ATTEMPT_HEADER: str(attempts),
            },
        )
        if error is None:
            self._store.record_delivery(task_id, "delivered", attempts, None)
            log.info("callback delivered task=%s attempts=%d", task_ref(task_id), attempts)
            return
        if self._stop.is_set():
            return  # Cut short by the shutdown: not counted, made again at the next start.
        gave_up = permanent or attempts >= limit
        self._store.record_delivery(task_id, "failed" if gave_up else "pending", attempts, error)
        log.warning(
            "callback failed task=%s url=%s attempt=%d/%d error=%s%s",
            task_ref(task_id),
            redact_url(task.callback_url),
            attempts,
            limit,
            error,
            " (giving up)" if gave_up else "",
        )
        if not gave_up:
            self._at(time.monotonic() + self._settings.callback_backoff_s * 2 ** (attempts - 1), task_id)

    def _post(self, url: str, body: bytes, identity: dict[str, str]) -> tuple[str | None, bool]:
        """(error or None, whether retrying is pointless)."""
        try:
            check_url(url, allow_private=self._settings.allow_private_urls, what="callback")
        except FetchError as exc:
            return str(exc), True
        headers = {"Content-Type": "application/json", **identity}
        if self._settings.callback_secret is not None:
            headers |= sign_callback(self._settings.callback_secret.get_secret_value(), body)
        try:
            response = self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", False
        if response.is_success:
            return None, False
        return f"HTTP {response.status_code}", False
