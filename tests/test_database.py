"""The SQLite file's migrations: each runs once, in order, and a file from before versioning takes them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tools.reid.database import Database

FIRST = "CREATE TABLE IF NOT EXISTS things (id TEXT PRIMARY KEY);\nCREATE INDEX IF NOT EXISTS things_id ON things (id);"


def _add_colour(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE things ADD COLUMN colour TEXT")


def _version(path: Path, store: str = "things") -> int:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT version FROM schema_versions WHERE store = ?", (store,)).fetchone()
    return int(row[0]) if row else 0


def _columns(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute("PRAGMA table_info(things)")]


def test_migrations_run_once_each_in_order(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Database(path, [FIRST], store="things").close()
    assert _version(path) == 1
    Database(path, [FIRST, _add_colour], store="things").close()
    Database(path, [FIRST, _add_colour], store="things").close()  # a second ALTER would raise "duplicate column"
    assert _version(path) == 2
    assert _columns(path) == ["id", "colour"]


def test_a_file_from_before_versioning_takes_the_first_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(FIRST)
        db.execute("INSERT INTO things VALUES ('kept')")
    Database(path, [FIRST, _add_colour], store="things").close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT id, colour FROM things").fetchall() == [("kept", None)]
    assert _version(path) == 2


def test_a_failing_migration_leaves_the_file_at_the_version_before(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Database(path, [FIRST], store="things").close()
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        Database(path, [FIRST, "CREATE TABLE extra (id TEXT);\nALTER TABLE nowhere ADD COLUMN x TEXT"], store="things")
    assert _version(path) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchone() is None


def test_stores_sharing_a_file_count_their_versions_apart(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    Database(path, [FIRST, _add_colour], store="things").close()
    Database(path, ["CREATE TABLE IF NOT EXISTS others (id TEXT PRIMARY KEY)"], store="others").close()
    Database(path, [FIRST, _add_colour], store="things").close()
    assert (_version(path, "things"), _version(path, "others")) == (2, 1)
