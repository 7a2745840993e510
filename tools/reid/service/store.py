"""Durable tasks: one SQLite file, so no accepted task is lost when the service stops.

A task is written (and synced) before its id is given to the client; its state moves
queued -> running -> done | failed. The stored request (which may hold signed URLs) is
cleared when the task ends, and the callback URL (whose query may hold a token) once its
delivery is over, delivered or given up; results hold names and times, never images or embeddings.
Every statement runs under one lock on one connection: SQLite serialises writers anyway,
and a single connection keeps the WAL file and its checkpoints simple.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tools.reid.database import Database, Migration
from tools.reid.fetch.policy import redact_url
from tools.reid.remote.wire import CallbackDelivery, ErrorKind, TaskState, TaskStatus

Reply = Literal["callback", "poll", "inline"]
"""How the result reaches the client: POSTed to its callback, fetched from the task
endpoint, or returned in the HTTP answer of the request itself (images without callback)."""
DeliveryState = Literal["none", "pending", "delivered", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id        TEXT PRIMARY KEY,
    reply          TEXT NOT NULL,
    state          TEXT NOT NULL,
    request        TEXT,
    callback_url   TEXT,
    progress       REAL NOT NULL DEFAULT 0,
    result         TEXT,
    error          TEXT,
    error_kind     TEXT,
    runs           INTEGER NOT NULL DEFAULT 0,
    created_at     REAL NOT NULL,
    finished_at    REAL,
    cb_state       TEXT NOT NULL DEFAULT 'none',
    cb_attempts    INTEGER NOT NULL DEFAULT 0,
    cb_delivered_at REAL,
    cb_last_error  TEXT,
    crashes        INTEGER NOT NULL DEFAULT 0,
    alone          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state, created_at);
"""
_ADDED_COLUMNS = {"crashes": "INTEGER NOT NULL DEFAULT 0", "alone": "INTEGER NOT NULL DEFAULT 0"}
"""Columns newer than the first schema, added to a database an older version created."""


def _add_crash_columns(db: sqlite3.Connection) -> None:
    """Files made before versioning may have these columns already."""
    present = {row["name"] for row in db.execute("PRAGMA table_info(tasks)")}
    for column, kind in _ADDED_COLUMNS.items():
        if column not in present:
            db.execute(f"ALTER TABLE tasks ADD COLUMN {column} {kind}")


_ADD_TENANT = """
ALTER TABLE tasks ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
"""
"""The tenant that made the task: only it can read the task. Tasks stored before tenants
were recorded get '' (no tenant): they still run and call back, but no key reads them."""

_MIGRATIONS: list[Migration] = [_SCHEMA, _add_crash_columns, _ADD_TENANT]


def task_ref(task_id: str) -> str:
    """How the logs name a task: a digest of its id. A task id is what a client polls with, and
    a log line beside a tenant name would tie the two together for anyone who reads the logs;
    the reference ties nothing, yet an operator given a task id (or the reference, which error
    messages quote) finds its lines."""
    return "t-" + hashlib.sha256(task_id.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Task:
    """One row of the task table."""

    task_id: str
    reply: Reply
    state: TaskState
    request: dict[str, Any] | None
    callback_url: str | None
    progress: float
    result: dict[str, Any] | None
    error: str | None
    error_kind: ErrorKind | None
    runs: int
    created_at: float
    finished_at: float | None
    cb_state: DeliveryState
    cb_attempts: int
    cb_delivered_at: float | None
    cb_last_error: str | None
    crashes: int
    """Times the service died while this task ran alone, so that it alone can be to blame."""
    alone: bool
    """Run with no other task beside it: it was running when the service died."""
    tenant: str
    """The name of the tenant whose key made the task (``tools.reid.service.tenants``)."""

    def status(self) -> TaskStatus:
        """The task as the task endpoint shows it (callback URL left out: it may carry a token)."""
        delivery = None
        if self.cb_state != "none":
            delivery = CallbackDelivery(
                state=self.cb_state,
                attempts=self.cb_attempts,
                delivered_at=_when(self.cb_delivered_at),
                last_error=self.cb_last_error,
            )
        return TaskStatus(
            task_id=self.task_id,
            state=self.state,
            progress=self.progress,
            created_at=_when(self.created_at),
            finished_at=_when(self.finished_at),
            result=self.result,
            error=self.error,
            error_kind=self.error_kind,
            callback=delivery,
        )

    def describe_callback(self) -> str:
        return redact_url(self.callback_url) if self.callback_url else "-"


def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _task(row: sqlite3.Row) -> Task:
    values = dict(row)
    for column in ("request", "result"):
        values[column] = json.loads(values[column]) if values[column] else None
    values["alone"] = bool(values["alone"])
    return Task(**values)


class TaskStore:
    """The task table and the few transitions the service makes on it."""

    def __init__(self, path: Path) -> None:
        self._database = Database(path, _MIGRATIONS, store="tasks", setting="REID_DB_PATH", secure_delete=True)

    def _one(self, sql: str, *args: Any) -> Task | None:
        with self._database.read() as db:
            row = db.execute(sql, args).fetchone()
        return _task(row) if row else None

    def _many(self, sql: str, *args: Any) -> list[Task]:
        with self._database.read() as db:
            rows = db.execute(sql, args).fetchall()
        return [_task(row) for row in rows]

    def add(
        self,
        task_id: str,
        tenant: str,
        request: dict[str, Any],
        reply: Reply,
        callback_url: str | None,
        max_queued: int,
    ) -> bool:
        """Store a new queued task of ``tenant``; False (nothing stored) when ``max_queued`` tasks already wait."""
        with self._database.write() as db:
            (queued,) = db.execute("SELECT COUNT(*) FROM tasks WHERE state = 'queued'").fetchone()
            if queued >= max_queued:
                return False
            db.execute(
                "INSERT INTO tasks (task_id, tenant, reply, state, request, callback_url, created_at, cb_state)"
                " VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
                (
                    task_id,
                    tenant,
                    reply,
                    json.dumps(request),
                    callback_url,
                    time.time(),
                    "pending" if callback_url else "none",
                ),
            )
        return True

    def get(self, task_id: str) -> Task | None:
        """Any tenant's task: for the service's own work, never for answering a client."""
        return self._one("SELECT * FROM tasks WHERE task_id = ?", task_id)

    def owned(self, task_id: str, tenant: str) -> Task | None:
        """The task if ``tenant`` made it; None for another tenant's task, as for an unknown id."""
        return self._one("SELECT * FROM tasks WHERE task_id = ? AND tenant = ?", task_id, tenant)

    def claim(self, task_id: str) -> Task | None:
        """Mark a queued task running and count the run; None if it is not queued."""
        with self._database.write() as db:
            changed = db.execute(
                "UPDATE tasks SET state = 'running', progress = 0, runs = runs + 1"
                " WHERE task_id = ? AND state = 'queued'",
                (task_id,),
            ).rowcount
        return self.get(task_id) if changed else None

    def set_progress(self, task_id: str, fraction: float) -> None:
        with self._database.write() as db:
            db.execute("UPDATE tasks SET progress = ? WHERE task_id = ? AND state = 'running'", (fraction, task_id))

    def requeue(self, task_id: str) -> None:
        with self._database.write() as db:
            db.execute("UPDATE tasks SET state = 'queued', progress = 0 WHERE task_id = ?", (task_id,))

    def requeue_running(self) -> int:
        """Put every running task back in the queue (a clean shutdown: nobody is to blame)."""
        with self._database.write() as db:
            return db.execute("UPDATE tasks SET state = 'queued', progress = 0 WHERE state = 'running'").rowcount

    def blame_crash(self) -> None:
        """After the service died: a task that was running alone is blamed (``crashes`` + 1);
        when several were running, none can be blamed, and each is marked to run alone from
        now on, so that a task which kills the service again is the only one running."""
        with self._database.write() as db:
            running = [row["task_id"] for row in db.execute("SELECT task_id FROM tasks WHERE state = 'running'")]
            if len(running) == 1:
                db.execute("UPDATE tasks SET crashes = crashes + 1, alone = 1 WHERE task_id = ?", (running[0],))
            else:
                db.execute("UPDATE tasks SET alone = 1 WHERE state = 'running'")

    def finish(self, task_id: str, result: dict[str, Any]) -> None:
        with self._database.write() as db:
            db.execute(
                "UPDATE tasks SET state = 'done', progress = 1, result = ?, request = NULL, finished_at = ?"
                " WHERE task_id = ?",
                (json.dumps(result), time.time(), task_id),
            )
        self._database.truncate_log()  # the request's signed URLs leave the WAL too

    def fail(self, task_id: str, error: str, kind: ErrorKind) -> None:
        with self._database.write() as db:
            db.execute(
                "UPDATE tasks SET state = 'failed', error = ?, error_kind = ?, request = NULL, finished_at = ?"
                " WHERE task_id = ?",
                (error, kind, time.time(), task_id),
            )
        self._database.truncate_log()

    def record_delivery(self, task_id: str, state: DeliveryState, attempts: int, error: str | None) -> None:
        """Record an attempt; once delivery is over, only the URL's redacted form is kept."""
        delivered_at = time.time() if state == "delivered" else None
        with self._database.write() as db:
            db.execute(
                "UPDATE tasks SET cb_state = ?, cb_attempts = ?, cb_last_error = ?, cb_delivered_at = ?"
                " WHERE task_id = ?",
                (state, attempts, error, delivered_at, task_id),
            )
            if state != "pending":
                (url,) = db.execute("SELECT callback_url FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
                if url is not None:
                    db.execute("UPDATE tasks SET callback_url = ? WHERE task_id = ?", (redact_url(url), task_id))
        if state != "pending":
            self._database.truncate_log()

    def unfinished(self) -> list[Task]:
        """Tasks left queued or running, oldest first: the work a restart must resume."""
        return self._many("SELECT * FROM tasks WHERE state IN ('queued', 'running') ORDER BY created_at")

    def undelivered(self) -> list[Task]:
        """Finished tasks whose callback has not been delivered nor given up on."""
        return self._many(
            "SELECT * FROM tasks WHERE state IN ('done', 'failed') AND cb_state = 'pending' ORDER BY finished_at"
        )

    def forget(self, task_ids: list[str]) -> int:
        """Delete these tasks (a removed person's results), overwriting their bytes in the file
        and its write-ahead log; returns how many were deleted."""
        if not task_ids:
            return 0
        with self._database.write() as db:
            deleted = db.execute(
                f"DELETE FROM tasks WHERE task_id IN ({','.join('?' * len(task_ids))})", task_ids
            ).rowcount
        self._database.truncate_log()
        return deleted

    def purge(self, finished_before: float) -> int:
        """Delete tasks that ended before ``finished_before`` (unix s) and owe no callback; their
        names, prompts and results leave the file and its WAL."""
        with self._database.write() as db:
            removed = db.execute(
                "DELETE FROM tasks WHERE state IN ('done', 'failed') AND cb_state != 'pending' AND finished_at < ?",
                (finished_before,),
            ).rowcount
        if removed:
            self._database.truncate_log()
        return removed
