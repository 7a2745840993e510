"""One SQLite file shared by threads, as both the service's and the bot's stores use it.

WAL lets readers (an operator's ``sqlite3``, tests) look while work goes on; one lock
serialises this process's use of the connection; writes are ``BEGIN IMMEDIATE``
transactions, so a write either lands whole or not at all. ``synchronous=FULL``: what was
acknowledged to a user survives a power cut, not only a crash. The file is created private
(0600): it holds who searched for whom, and until a task ends its signed URLs; SQLite gives
its -wal and -shm files the same permissions. Deleted content is zeroed (``secure_delete``),
and a store calls `Database.scrub` after it deletes or clears a secret, so that the WAL
does not keep what the table no longer has.

Each store's tables grow by migrations: an ordered list of SQL scripts or functions, each run
once in its own transaction, with the ``schema_versions`` table counting how many of the
store's list a file has had. Versions are counted per store, so several stores (the service's
tasks and a tenant gallery, say) can share one file. A new table or column is a migration
appended to its store's list, never an edit of an old one. The first migration of each store
is written ``IF NOT EXISTS``, so files made before versioning take it without harm.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

Migration = str | Callable[[sqlite3.Connection], None]
"""One step of a schema: a SQL script, or a function for a step SQL alone cannot say."""

_VERSIONS = "CREATE TABLE IF NOT EXISTS schema_versions (store TEXT PRIMARY KEY, version INTEGER NOT NULL)"


class Database:
    def __init__(self, path: Path, migrations: Sequence[Migration], *, store: str) -> None:
        """Opens (creating) the file and brings ``store``'s tables up to its last migration."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            # What is deleted or overwritten (signed URLs, names) is zeroed in the file, not just unlinked.
            self._connection.execute("PRAGMA secure_delete=ON")
        self._migrate(store, migrations)

    def _migrate(self, store: str, migrations: Sequence[Migration]) -> None:
        """Runs the migrations this file has not had yet, each with its version bump, atomically."""
        with self.write() as db:
            db.execute(_VERSIONS)
            row = db.execute("SELECT version FROM schema_versions WHERE store = ?", (store,)).fetchone()
        done = row[0] if row else 0
        for version, migration in enumerate(migrations[done:], start=done + 1):
            with self.write() as db:
                if isinstance(migration, str):
                    for statement in _statements(migration):
                        db.execute(statement)
                else:
                    migration(db)
                db.execute(
                    "INSERT INTO schema_versions (store, version) VALUES (?, ?)"
                    " ON CONFLICT (store) DO UPDATE SET version = excluded.version",
                    (store, version),
                )

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A transaction: committed when the block ends, rolled back if it raises, or if the
        commit itself fails (a full disk), so the connection is never left inside a transaction."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
                self._connection.execute("COMMIT")
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise

    def scrub(self) -> None:
        """Copy the WAL into the file and truncate it to nothing. After a secret is deleted or
        overwritten, the WAL still holds the pages that had it (a checkpoint alone copies them
        back but leaves the WAL's bytes for reuse): only ``TRUNCATE`` makes them go. A reader in
        another process can hold the checkpoint back; the next scrub then completes it."""
        with self._lock:
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _statements(script: str) -> list[str]:
    """A script's statements: ``executescript`` would commit the migration's transaction early."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())  # the last statement may lack its semicolon
    return statements
