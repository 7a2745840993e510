"""Uploaded files of tasks, kept in a private folder next to the task database.

Each task gets a sub-folder named by its id; it is removed when the task ends, and
folders no unfinished task owns are removed at start-up (a crash between spooling and
storing the task leaves one behind).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tools.reid.settings import ReIDSettings


class Spool:
    def __init__(self, root: Path) -> None:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        root.chmod(0o700)
        self.root = root

    @classmethod
    def beside_db(cls, settings: ReIDSettings) -> Spool:
        return cls(settings.db_path.with_name(settings.db_path.name + ".uploads"))

    def folder(self, task_id: str) -> Path:
        """The task's folder, created private on first use."""
        path = self.root / task_id
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def remove(self, task_id: str) -> None:
        shutil.rmtree(self.root / task_id, ignore_errors=True)

    def remove_all_but(self, task_ids: set[str]) -> None:
        for path in self.root.iterdir():
            if path.name not in task_ids:
                shutil.rmtree(path, ignore_errors=True)
