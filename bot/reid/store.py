"""The bot's memory in one SQLite file: requests and their state, Slack deliveries already seen,
and the audit log. Files people sent never enter it (only Slack's file metadata does); an answer's
unknown people keep their face crops and descriptors here, with the result and as long.

What Slack delivers is first put in the ``inbox`` and acknowledged; the Web API work it needs
(reading files, replying, reacting) follows on a worker, and an entry leaves the inbox once it has
become a request or been answered. A finished request keeps its result, for the answer's buttons.
Every message and file the bot posts for a request is recorded, so that removing a person it
showed takes those back from Slack too.

A request moves ``pending → running → done | failed``; with the remote backend it waits as
``submitted`` for the service's callback, which claims it (``finishing``) exactly once. After a
restart, whatever was not finished is ``pending`` again and runs from the start.

Every method is a short statement or two; the connection is shared under a lock, so the event loop
and test threads may both call it.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.reid.submission import Submission
from tools.reid.database import Database
from tools.reid.schemas import ReIDResult

State = Literal["pending", "running", "submitted", "finishing", "done", "failed"]
Outcome = Literal["done", "failed"]

DELIVERY_TTL_S = 7 * 24 * 3600.0
"""Slack retries an event for about an hour; a week of ids costs little and covers clock trouble."""
RESULT_TTL_S = 7 * 24 * 3600.0
"""By default an answer's buttons work for a week; then its result (names, times, boxes, the unknown
people's descriptors and face crops) goes (``REID_BOT_RESULT_RETENTION_HOURS``)."""
AUDIT_TTL_S = 365 * 24 * 3600.0
"""By default the audit log keeps a year (``REID_BOT_AUDIT_RETENTION_DAYS``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    team TEXT,
    channel TEXT NOT NULL,
    thread_ts TEXT,
    user TEXT NOT NULL,
    state TEXT NOT NULL,
    status_ts TEXT,
    task_id TEXT,
    callback_token TEXT UNIQUE,
    media_token TEXT UNIQUE,
    submission TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_seen ON deliveries (seen_at);
CREATE TABLE IF NOT EXISTS inbox (
    id TEXT PRIMARY KEY,
    received_at REAL NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    request_id TEXT PRIMARY KEY,
    saved_at REAL NOT NULL,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    request_id TEXT PRIMARY KEY,
    at REAL NOT NULL,
    team TEXT,
    channel TEXT NOT NULL,
    user TEXT NOT NULL,
    names TEXT NOT NULL,
    footage TEXT NOT NULL,
    outcome TEXT
);
"""


_UNKNOWN_FACES = """
CREATE TABLE unknown_faces (
    request_id TEXT NOT NULL,
    person_id TEXT NOT NULL,
    saved_at REAL NOT NULL,
    crop BLOB NOT NULL,
    file_id TEXT,
    PRIMARY KEY (request_id, person_id)
);
ALTER TABLE results ADD COLUMN answer_ts TEXT;
"""
"""Migration 2: each unknown person's face crop (and its Slack file), kept as long as the result
it belongs to, for naming them and looking for them elsewhere; where the answer message is."""

_POSTED = """
CREATE TABLE posted (
    request_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    posted_at REAL NOT NULL,
    PRIMARY KEY (kind, channel, ref)
);
CREATE INDEX posted_by_request ON posted (request_id);
CREATE TABLE retractions (
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    queued_at REAL NOT NULL,
    PRIMARY KEY (kind, channel, ref)
);
INSERT OR IGNORE INTO posted (request_id, channel, kind, ref, posted_at)
    SELECT id, channel, 'message', status_ts, updated_at FROM requests WHERE status_ts IS NOT NULL;
INSERT OR IGNORE INTO posted (request_id, channel, kind, ref, posted_at)
    SELECT r.request_id, q.channel, 'message', r.answer_ts, r.saved_at
    FROM results r JOIN requests q ON q.id = r.request_id WHERE r.answer_ts IS NOT NULL;
INSERT OR IGNORE INTO posted (request_id, channel, kind, ref, posted_at)
    SELECT u.request_id, q.channel, 'file', u.file_id, u.saved_at
    FROM unknown_faces u JOIN requests q ON q.id = u.request_id WHERE u.file_id IS NOT NULL;
"""
"""Migration 3: what the bot posted for each request (messages by ts, files by id), kept as long
as the audit log; and what it still has to take back from Slack because a person it showed was
removed (``Store.forget``), kept until Slack has done it, across restarts. Of the answers given
before, it knows what the store kept: their status and answer messages and the unknown people's
face crops (their keyframes and timelines were never recorded)."""

MIGRATIONS = [_SCHEMA, _UNKNOWN_FACES, _POSTED]
"""The bot store's schema, step by step (`tools.reid.database`)."""

PostedKind = Literal["message", "file"]


@dataclass(frozen=True)
class Posted:
    """One message (its ``ts``) or file (its id) the bot posted in a channel."""

    channel: str
    kind: PostedKind
    ref: str


@dataclass(frozen=True)
class UnknownFace:
    """An unknown person's face crop kept with an answer's result."""

    person_id: str
    crop: bytes
    file_id: str | None


@dataclass(frozen=True)
class StoredRequest:
    id: str
    state: State
    submission: Submission
    status_ts: str | None
    task_id: str | None
    callback_token: str | None
    media_token: str | None

    @property
    def reference(self) -> str:
        """A short id a user can quote to an admin, who finds it in the logs and the audit."""
        return self.id[:8]


@dataclass(frozen=True)
class InboxEntry:
    """Something Slack delivered that was acknowledged before it was handled."""

    id: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class AuditEntry:
    request_id: str
    at: float
    team: str | None
    channel: str
    user: str
    names: list[str]
    footage: str
    outcome: str | None


class Store:
    """The SQLite file at ``path`` (created on first use)."""

    def __init__(self, path: Path, result_ttl_s: float = RESULT_TTL_S, audit_ttl_s: float = AUDIT_TTL_S) -> None:
        self._database = Database(path, MIGRATIONS, store="bot", setting="REID_BOT_DB_PATH", secure_delete=True)
        self._result_ttl_s = result_ttl_s
        self._audit_ttl_s = audit_ttl_s

    def close(self) -> None:
        self._database.close()

    # --- Deliveries

    def claim_delivery(self, keys: Sequence[str]) -> bool:
        """True the first time any of ``keys`` is seen, False when one was seen before.

        One message can arrive several ways (a retry of the same ``event_id``; ``app_mention``
        and ``message.im`` for the same channel and ts), so each delivery names all its keys.
        """
        now = time.time()
        with self._database.write() as db:
            marks = ",".join("?" * len(keys))
            if db.execute(f"SELECT 1 FROM deliveries WHERE key IN ({marks})", list(keys)).fetchone():
                return False
            db.executemany("INSERT INTO deliveries (key, seen_at) VALUES (?, ?)", [(key, now) for key in keys])
            db.execute("DELETE FROM deliveries WHERE seen_at < ?", (now - DELIVERY_TTL_S,))
        return True

    # --- Inbox

    def receive(self, kind: str, payload: dict[str, Any]) -> str:
        """Keep a delivery until a worker has handled it; returns its inbox id."""
        entry_id = uuid.uuid4().hex
        with self._database.write() as db:
            db.execute(
                "INSERT INTO inbox (id, received_at, kind, payload) VALUES (?, ?, ?, ?)",
                (entry_id, time.time(), kind, json.dumps(payload)),
            )
        return entry_id

    def inbox_entry(self, entry_id: str) -> InboxEntry | None:
        with self._database.read() as db:
            row = db.execute("SELECT * FROM inbox WHERE id = ?", (entry_id,)).fetchone()
        return InboxEntry(row["id"], row["kind"], json.loads(row["payload"])) if row else None

    def inbox(self) -> list[str]:
        """The ids of deliveries not handled yet (a restart came in between), oldest first."""
        with self._database.read() as db:
            rows = db.execute("SELECT id FROM inbox ORDER BY received_at").fetchall()
        return [row["id"] for row in rows]

    def discard(self, entry_id: str) -> None:
        """A delivery is handled: answered, or found to need nothing."""
        with self._database.write() as db:
            db.execute("DELETE FROM inbox WHERE id = ?", (entry_id,))
        self._database.truncate_log()  # the delivery held the message's text and its files' private URLs

    # --- Requests

    def add(self, submission: Submission, inbox_id: str | None = None) -> StoredRequest:
        """Record a new pending request and its audit entry (who, where, when, which names),
        and in the same transaction drop the inbox entry it came from."""
        request_id, now = uuid.uuid4().hex, time.time()
        with self._database.write() as db:
            if inbox_id is not None:
                db.execute("DELETE FROM inbox WHERE id = ?", (inbox_id,))
            db.execute(
                "INSERT INTO requests (id, created_at, updated_at, team, channel, thread_ts, user, state, submission)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
                (
                    request_id,
                    now,
                    now,
                    submission.team,
                    submission.channel,
                    submission.thread_ts,
                    submission.user,
                    submission.model_dump_json(),
                ),
            )
            db.execute(
                "INSERT INTO audit (request_id, at, team, channel, user, names, footage) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    request_id,
                    now,
                    submission.team,
                    submission.channel,
                    submission.user,
                    json.dumps(submission.names()),
                    submission.footage.name,
                ),
            )
        return self._require(request_id)

    def get(self, request_id: str) -> StoredRequest | None:
        with self._database.read() as db:
            row = db.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()
        return _request(row) if row else None

    def set_status_ts(self, request_id: str, status_ts: str) -> None:
        self._update(request_id, "status_ts = ?", (status_ts,))

    def set_thread(self, request_id: str, thread_ts: str) -> StoredRequest:
        """A /reid request's parent message is posted: its thread (and reactions) are now known."""
        submission = self._require(request_id).submission
        submission = submission.model_copy(update={"thread_ts": thread_ts, "message_ts": thread_ts})
        self._update(request_id, "thread_ts = ?, submission = ?", (thread_ts, submission.model_dump_json()))
        return self._require(request_id)

    def save_result(self, request_id: str, result: ReIDResult) -> None:
        """Keep a finished request's result for the retention time: the answer's buttons read it,
        also after a restart. Older results, and audit entries past theirs, are dropped here."""
        now = time.time()
        with self._database.write() as db:
            db.execute(
                "INSERT OR REPLACE INTO results (request_id, saved_at, result) VALUES (?, ?, ?)",
                (request_id, now, result.model_dump_json()),
            )
            db.execute("DELETE FROM results WHERE saved_at < ?", (now - self._result_ttl_s,))
            db.execute("DELETE FROM unknown_faces WHERE saved_at < ?", (now - self._result_ttl_s,))
            db.execute("DELETE FROM audit WHERE at < ?", (now - self._audit_ttl_s,))
            db.execute("DELETE FROM posted WHERE posted_at < ?", (now - self._audit_ttl_s,))

    def relabel(self, request_id: str, result: ReIDResult) -> None:
        """Replace a kept result by its re-labelled copy (an unknown person named), keeping its age."""
        with self._database.write() as db:
            db.execute("UPDATE results SET result = ? WHERE request_id = ?", (result.model_dump_json(), request_id))

    def set_answer(self, request_id: str, answer_ts: str) -> None:
        """Where the answer message is, so naming someone in it can update it."""
        with self._database.write() as db:
            db.execute("UPDATE results SET answer_ts = ? WHERE request_id = ?", (answer_ts, request_id))

    def answer_ts(self, request_id: str) -> str | None:
        with self._database.read() as db:
            row = db.execute("SELECT answer_ts FROM results WHERE request_id = ?", (request_id,)).fetchone()
        return row["answer_ts"] if row else None

    def save_unknown_faces(self, request_id: str, crops: dict[str, tuple[bytes, str | None]]) -> None:
        """Keep each unknown person's face crop (person id -> JPEG bytes, uploaded Slack file id)
        with the result, and as long."""
        now = time.time()
        with self._database.write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO unknown_faces (request_id, person_id, saved_at, crop, file_id) "
                "VALUES (?, ?, ?, ?, ?)",
                [(request_id, person, now, crop, file_id) for person, (crop, file_id) in crops.items()],
            )

    def unknown_faces(self, request_id: str) -> dict[str, UnknownFace]:
        with self._database.read() as db:
            rows = db.execute("SELECT * FROM unknown_faces WHERE request_id = ?", (request_id,)).fetchall()
        return {row["person_id"]: UnknownFace(row["person_id"], row["crop"], row["file_id"]) for row in rows}

    def forget(self, request_ids: list[str]) -> int:
        """Delete these requests and their results (a removed person's), overwritten in the file
        and its log; the audit entries stay (who searched for whom). What the bot posted for them
        is queued to be taken back from Slack (`retractions`). Returns the results deleted."""
        if not request_ids:
            return 0
        marks = ",".join("?" * len(request_ids))
        with self._database.write() as db:
            deleted = db.execute(f"DELETE FROM results WHERE request_id IN ({marks})", request_ids).rowcount
            db.execute(f"DELETE FROM unknown_faces WHERE request_id IN ({marks})", request_ids)
            db.execute(f"DELETE FROM requests WHERE id IN ({marks}) AND state IN ('done', 'failed')", request_ids)
            db.execute(
                "INSERT OR IGNORE INTO retractions (channel, kind, ref, queued_at) "
                f"SELECT channel, kind, ref, ? FROM posted WHERE request_id IN ({marks})",
                (time.time(), *request_ids),
            )
            db.execute(f"DELETE FROM posted WHERE request_id IN ({marks})", request_ids)
        self._database.truncate_log()
        return deleted

    def record_posted(self, request_id: str, channel: str, kind: PostedKind, refs: Sequence[str]) -> None:
        """The bot posted these messages or files for the request."""
        now = time.time()
        with self._database.write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO posted (request_id, channel, kind, ref, posted_at) VALUES (?, ?, ?, ?, ?)",
                [(request_id, channel, kind, ref, now) for ref in refs],
            )

    def retractions(self) -> list[Posted]:
        """What is still to be taken back from Slack, oldest first."""
        with self._database.read() as db:
            rows = db.execute("SELECT channel, kind, ref FROM retractions ORDER BY queued_at, ref").fetchall()
        return [Posted(row["channel"], row["kind"], row["ref"]) for row in rows]

    def retracted(self, posted: Posted) -> None:
        """Slack no longer shows it."""
        with self._database.write() as db:
            db.execute(
                "DELETE FROM retractions WHERE kind = ? AND channel = ? AND ref = ?",
                (posted.kind, posted.channel, posted.ref),
            )

    def result(self, request_id: str) -> ReIDResult | None:
        with self._database.read() as db:
            row = db.execute("SELECT result FROM results WHERE request_id = ?", (request_id,)).fetchone()
        return ReIDResult.model_validate_json(row["result"]) if row else None

    def start(self, request_id: str) -> StoredRequest | None:
        """Claim a pending request for a run; None when it is not pending (already run or running)."""
        with self._database.write() as db:
            cursor = db.execute(
                "UPDATE requests SET state = 'running', updated_at = ? WHERE id = ? AND state = 'pending'",
                (time.time(), request_id),
            )
        return self.get(request_id) if cursor.rowcount == 1 else None

    def open_remote(self, request_id: str, media_token: str, callback_token: str) -> None:
        """Record the tokens of a remote run before submitting it: the service may fetch and
        call back before ``submit`` even returns."""
        self._update(request_id, "media_token = ?, callback_token = ?", (media_token, callback_token))

    def submitted(self, request_id: str, task_id: str) -> None:
        """The service accepted the task; unless its callback already claimed the request."""
        with self._database.write() as db:
            db.execute(
                "UPDATE requests SET task_id = ?, state = 'submitted', updated_at = ?"
                " WHERE id = ? AND state = 'running'",
                (task_id, time.time(), request_id),
            )

    def by_media_token(self, token: str) -> StoredRequest | None:
        """The open remote request whose staged files this token unlocks."""
        with self._database.read() as db:
            row = db.execute(
                "SELECT * FROM requests WHERE media_token = ? AND state IN ('running', 'submitted')", (token,)
            ).fetchone()
        return _request(row) if row else None

    def claim_callback(self, token: str) -> StoredRequest | None:
        """The request this callback token belongs to, claimed for finishing; None for an unknown,
        finished or already claimed token (the service repeats a callback it thinks was lost)."""
        return self._claim_open("callback_token", token)

    def claim_expired(self, request_id: str) -> StoredRequest | None:
        """The remote request, claimed for giving up on it, unless its callback came first."""
        return self._claim_open("id", request_id)

    def _claim_open(self, column: Literal["id", "callback_token"], value: str) -> StoredRequest | None:
        with self._database.write() as db:
            row = db.execute(
                f"SELECT id FROM requests WHERE {column} = ? AND state IN ('running', 'submitted')", (value,)
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE requests SET state = 'finishing', updated_at = ? WHERE id = ?", (time.time(), row["id"]))
        return self.get(row["id"])

    def finish(self, request_id: str, outcome: Outcome) -> None:
        """Close a request: its tokens stop working, the audit entry gets the outcome."""
        with self._database.write() as db:
            db.execute(
                "UPDATE requests SET state = ?, media_token = NULL, callback_token = NULL, updated_at = ? WHERE id = ?",
                (outcome, time.time(), request_id),
            )
            db.execute("UPDATE audit SET outcome = ? WHERE request_id = ?", (outcome, request_id))
        self._database.truncate_log()  # the tokens leave the WAL too

    def resume(self) -> list[str]:
        """After a restart: every unfinished request becomes pending again (its downloads and any
        remote task are gone with the old process); returns their ids, oldest first."""
        with self._database.write() as db:
            db.execute(
                "UPDATE requests SET state = 'pending', task_id = NULL, media_token = NULL, callback_token = NULL"
                " WHERE state IN ('running', 'submitted', 'finishing')"
            )
            rows = db.execute("SELECT id FROM requests WHERE state = 'pending' ORDER BY created_at").fetchall()
        return [row["id"] for row in rows]

    def audit(self) -> list[AuditEntry]:
        """The audit log, oldest first."""
        with self._database.read() as db:
            rows = db.execute("SELECT * FROM audit ORDER BY at").fetchall()
        return [
            AuditEntry(
                request_id=row["request_id"],
                at=row["at"],
                team=row["team"],
                channel=row["channel"],
                user=row["user"],
                names=json.loads(row["names"]),
                footage=row["footage"],
                outcome=row["outcome"],
            )
            for row in rows
        ]

    def _require(self, request_id: str) -> StoredRequest:
        stored = self.get(request_id)
        if stored is None:
            raise KeyError(request_id)
        return stored

    def _update(self, request_id: str, assignments: str, values: tuple[object, ...]) -> None:
        with self._database.write() as db:
            db.execute(
                f"UPDATE requests SET {assignments}, updated_at = ? WHERE id = ?", (*values, time.time(), request_id)
            )


def _request(row: sqlite3.Row) -> StoredRequest:
    return StoredRequest(
        id=row["id"],
        state=row["state"],
        submission=Submission.model_validate_json(row["submission"]),
        status_ts=row["status_ts"],
        task_id=row["task_id"],
        callback_token=row["callback_token"],
        media_token=row["media_token"],
    )
