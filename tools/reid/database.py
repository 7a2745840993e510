"""One SQLite file shared by threads, as both the service's and the bot's stores use it.

WAL lets readers (an operator's ``sqlite3``, tests) look while work goes on; one lock
serialises this process's use of the connection; writes are ``BEGIN IMMEDIATE``
transactions, so a write either lands whole or not at all. ``synchronous=FULL``: what was
acknowledged to a user survives a power cut, not only a crash. The file is created private
(0600): it holds who searched for whom, and until a task ends its signed URLs; SQLite gives
its -wal and -shm files the same permissions. Deleted content is zeroed where a store asks (``secure_delete``),
and a store calls `Database.truncate_log` after it deletes or clears a secret, so that the WAL
does not keep what the table no longer has.

Each store's tables grow by migrations: an ordered list of SQL scripts or functions, each run
once in its own transaction, with the ``schema_versions`` table counting how many of the
store's list a file has had. Versions are counted per store, so several stores (the service's
tasks and a tenant gallery, say) can share one file. A new table or column is a migration
appended to its store's list, never an edit of an old one. The first migration of each store
is written ``IF NOT EXISTS``, so files made before versioning take it without harm.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tools.reid.errors import StorageError

Migration = str | Callable[[sqlite3.Connection], None]
"""One step of a schema: a SQL script, or a function for a step SQL alone cannot say."""

_VERSIONS = "CREATE TABLE IF NOT EXISTS schema_versions (store TEXT PRIMARY KEY, version INTEGER NOT NULL)"


class Database:
    def __init__(
        self, path: Path, migrations: Sequence[Migration], *, store: str, setting: str = "", secure_delete: bool = False
    ) -> None:
        """Opens (creating) the file and brings ``store``'s tables up to its last migration.

        ``secure_delete``: rows this connection deletes are overwritten with zeros in the file,
        not left in free pages (stores of biometric data and of who was searched for turn it on).

        Raises:
            StorageError: the file cannot be created or written, is not a database, is damaged
                or locked; the message names the file and ``setting`` (the variable that chose it).
        """
        self._lock = threading.Lock()
        try:
            self._connection = _open(path, secure_delete)
            self._migrate(store, migrations)
        except (OSError, sqlite3.Error) as exc:
            if hasattr(self, "_connection"):
                self._connection.close()
            problem = storage_problem(exc)
            if problem is None:
                raise
            where = f" ({setting})" if setting else ""
            raise StorageError(f"the database {path}{where} {problem}") from None

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

    def truncate_log(self) -> None:
        """Copy the write-ahead log into the file and empty it: after a deletion (or a secret
        overwritten), the old pages must not live on in the log, which a checkpoint alone leaves
        for reuse. A reader in another process can hold it back; the next call completes it."""
        with self._lock:
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _open(path: Path, secure_delete: bool) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(f"PRAGMA secure_delete={'ON' if secure_delete else 'OFF'}")
    return connection


_SQLITE_PROBLEMS = {
    sqlite3.SQLITE_NOTADB: "is not a SQLite database: point the setting at another file, or move this one aside "
    "(a new, empty database is then created).",
    sqlite3.SQLITE_CORRUPT: "is damaged: restore it from a backup, or move it aside to start with an empty one.",
    sqlite3.SQLITE_BUSY: "is locked by another process (another service or bot on the same file?): stop it, "
    "or give this one a file of its own.",
    sqlite3.SQLITE_LOCKED: "is locked by another process: stop it, or give this one a file of its own.",
    sqlite3.SQLITE_READONLY: "cannot be written (a read-only file or folder): make it writable, or choose a "
    "writable folder.",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened (its folder is missing or not writable, or it is a folder): "
    "choose a file in a writable folder.",
    sqlite3.SQLITE_PERM: "cannot be opened (permission denied): fix its permissions, or choose another file.",
    sqlite3.SQLITE_IOERR: "cannot be read or written (an I/O error): check the disk, then start again.",
    sqlite3.SQLITE_FULL: "cannot be written: the disk is full. Free some space, then start again.",
}


def storage_problem(exc: BaseException) -> str | None:
    """What is wrong with a database file and what to do, from the error opening it raised;
    None for an error that is not about the file (a broken migration: ours to fix)."""
    if isinstance(exc, sqlite3.Error):
        return _SQLITE_PROBLEMS.get(getattr(exc, "sqlite_errorcode", 0) & 0xFF)
    if isinstance(exc, IsADirectoryError):
        return "is a folder: point the setting at a file (it is created if missing)."
    if isinstance(exc, NotADirectoryError | FileExistsError):
        return "cannot be created: a part of its path is a file, not a folder. Choose another path."
    if isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno == errno.EROFS):
        return f"cannot be created or written ({exc.strerror}): choose a writable folder, or fix the permissions."
    if isinstance(exc, OSError):
        return f"cannot be used ({exc.strerror or exc}): check the path and the disk, then start again."
    return None


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
