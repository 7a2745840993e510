"""Start-up on storage that cannot be used (issue 22, item 8): `reid serve` and `reid bot` with a
database path in a read-only folder, under a file, that is a folder, a file that is not a
database, or one locked by another process, each exit 2 with one line naming the file, saying
what is wrong and what to do. Real processes, real files, a real lock (and, as root, a real
read-only mount: root ignores file modes)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes.slack import FakeSlack
from loopback import ROOT, service_settings, settings_env

pytest_plugins = ["bot_fixtures"]

Case = Callable[[Path], Path]
"""Prepares a broken database path under a folder; returns it."""


def _under_a_file(folder: Path) -> Path:
    (folder / "plain-file").write_text("not a folder")
    return folder / "plain-file" / "reid.db"


def _a_folder(folder: Path) -> Path:
    (folder / "reid.db").mkdir()
    return folder / "reid.db"


def _not_a_database(folder: Path) -> Path:
    (folder / "reid.db").write_bytes(b"these are meeting notes, not a database " * 100)
    return folder / "reid.db"


def _damaged(folder: Path) -> Path:
    path = folder / "reid.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
    data = bytearray(path.read_bytes())
    data[16:24] = b"\xff" * 8  # page size and format bytes of the header
    path.write_bytes(bytes(data))
    return path


CASES: dict[str, tuple[Case, str]] = {
    "under a file": (_under_a_file, "a part of its path is a file"),
    "a folder": (_a_folder, "is a folder"),
    "not a database": (_not_a_database, "is not a SQLite database"),
    "damaged": (_damaged, "is not a SQLite database"),
}


def _start(surface: str, db: Path, fake: FakeSlack, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if surface == "serve":
        env = settings_env(service_settings(tmp_path)) | {"REID_DB_PATH": str(db)}
        command = ["serve", "--port", "0"]
    else:
        env = {
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": fake.base_url,
            "REID_BOT_DB_PATH": str(db),
        }
        command = ["bot", "--host", "127.0.0.1", "--port", "0"]
    return subprocess.run(
        [sys.executable, "-m", "tools.reid.cli", *command],
        cwd=ROOT,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _assert_one_line(run: subprocess.CompletedProcess[str], db: Path, problem: str) -> None:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert str(db) in line and problem in line, line


SURFACES = ["serve", "bot"]


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("case", CASES)
def test_an_unusable_database_is_one_line(fake: FakeSlack, tmp_path: Path, surface: str, case: str) -> None:
    prepare, problem = CASES[case]
    folder = tmp_path / "data"
    folder.mkdir()
    db = prepare(folder)
    _assert_one_line(_start(surface, db, fake, tmp_path), db, problem)


@pytest.mark.parametrize("surface", SURFACES)
def test_a_read_only_folder_is_one_line(fake: FakeSlack, tmp_path: Path, read_only_folder: Path, surface: str) -> None:
    db = read_only_folder / "reid.db"
    _assert_one_line(_start(surface, db, fake, tmp_path), db, "cannot be created or written")


@pytest.mark.parametrize("surface", SURFACES)
def test_a_locked_database_is_one_line(fake: FakeSlack, tmp_path: Path, surface: str) -> None:
    db = tmp_path / "reid.db"
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # as another process busy writing would hold it
        _assert_one_line(_start(surface, db, fake, tmp_path), db, "is locked by another process")
    finally:
        holder.close()
