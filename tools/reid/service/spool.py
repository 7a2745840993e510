"""Uploaded files of tasks, kept in a private folder next to the task database.

They outlive the process, unlike its work folder (`tools.reid.workdir`): a queued task
resumes after a restart with its uploads. Folders are 0700 and files 0600. Each task gets a
sub-folder named by its id; it is removed when the task ends, and
folders no unfinished task owns are removed at start-up (a crash between spooling and
storing the task leaves one behind).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tools.reid.settings import ReIDSettings
from tools.reid.workdir import private_folder


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = private_folder(root, parents=True)

    @classmethod
    def beside_db(cls, settings: ReIDSettings) -> Spool:
        return cls(settings.db_path.with_name(settings.db_path.name + ".uploads"))

    def folder(self, task_id: str) -> Path:
        """The task's folder, created private on first use."""
        return private_folder(self.root / task_id)

    def remove(self, task_id: str) -> None:
        shutil.rmtree(self.root / task_id, ignore_errors=True)

    def remove_all_but(self, task_ids: set[str]) -> None:
        for path in self.root.iterdir():
            if path.name not in task_ids:
                shutil.rmtree(path, ignore_errors=True)
