"""Delivering results to callback URLs: signed, retried with exponential backoff, recorded.

Delivery runs on its own small thread pool so a slow or failing receiver never holds an
engine worker. Attempts are recorded on the task; a delivery cut short by a shutdown stays
"pending" and is resumed at the next start, counting the attempts already made.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tools.reid.errors import FetchError
from tools.reid.fetch import check_url, redact_url
from tools.reid.service.store import Task, TaskStore
from tools.reid.settings import ReIDSettings
from tools.reid.signing import sign_callback

log = logging.getLogger(__name__)

DELIVERY_THREADS = 4


def payload_body(task: Task) -> bytes:
    """The exact bytes POSTed (and signed) for a finished task."""
    return json.dumps(task.status().as_payload(), separators=(",", ":")).encode()


class CallbackSender:
    def __init__(self, settings: ReIDSettings, store: TaskStore) -> None:
        self._settings = settings
        self._store = store
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(DELIVERY_THREADS, thread_name_prefix="reid-callback")
        # No redirects (each hop would need the URL policy again) and no proxies from the environment.
        self._http = httpx.Client(
            timeout=httpx.Timeout(settings.callback_timeout_s), follow_redirects=False, trust_env=False
        )

    def send(self, task_id: str) -> None:
        """Deliver the task's result in the background, if it has a callback still owed."""
        self._pool.submit(self._deliver, task_id)

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def _deliver(self, task_id: str) -> None:
        task = self._store.get(task_id)
        if task is None or task.cb_state != "pending" or task.callback_url is None:
            return
        body = payload_body(task)
        attempts = task.cb_attempts
        limit = self._settings.callback_attempts
        while attempts < limit:
            if attempts and self._stop.wait(self._settings.callback_backoff_s * 2 ** (attempts - 1)):
                return
            attempts += 1
            error, permanent = self._post(task.callback_url, body)
            if error is None:
                self._store.record_delivery(task_id, "delivered", attempts, None)
                log.info("callback delivered task_id=%s attempts=%d", task_id, attempts)
                return
            gave_up = permanent or attempts >= limit
            self._store.record_delivery(task_id, "failed" if gave_up else "pending", attempts, error)
            log.warning(
                "callback failed task_id=%s url=%s attempt=%d/%d error=%s%s",
                task_id,
                redact_url(task.callback_url),
                attempts,
                limit,
                error,
                " (giving up)" if gave_up else "",
            )
            if gave_up:
                return

    def _post(self, url: str, body: bytes) -> tuple[str | None, bool]:
        """(error or None, whether retrying is pointless)."""
        try:
            check_url(url, allow_private=self._settings.allow_private_urls, what="callback")
        except FetchError as exc:
            return str(exc), True
        headers = {"Content-Type": "application/json"}
        if self._settings.callback_secret is not None:
            headers |= sign_callback(self._settings.callback_secret.get_secret_value(), body)
        try:
            response = self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", False
        if response.is_success:
            return None, False
        return f"HTTP {response.status_code}", False
