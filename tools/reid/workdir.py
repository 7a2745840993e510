"""One private work folder per process, and the sweep of those whose process died.

Downloaded footage and reference photos are people's pictures: they live in
``<root>/<process folder>/``, the folder 0700 and its files 0600, and the process deletes its
folder when it stops. A process killed with SIGKILL (or by the OOM killer, or a power cut)
cannot, so every process sweeps the folders of dead ones when it starts: a folder is alive
exactly while its process holds the lock on its lock file (the kernel releases an ``flock``
when its holder dies, however it dies), so no pid file can go stale and a reused pid misleads
nothing. Creating a folder and sweeping hold a lock on the root, so a sweep never sees a folder
its owner has created but not locked yet.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tools.reid.errors import StorageError

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"


class ProcessFolder:
    """This process's work folder under ``root``, claimed (and the dead ones swept) on creation."""

    def __init__(self, root: Path) -> None:
        """Claim a folder under ``root``, and delete those of dead processes.

        Raises:
            StorageError: ``root`` cannot be created or written.
        """
        try:
            private_folder(root, parents=True)
        except OSError as exc:
            raise StorageError(
                f"the work folder {root} cannot be created or written ({exc.strerror or exc}): "
                "choose a writable data folder, or fix its permissions."
            ) from None
        self.root = root
        with _root_lock(root):
            name = f"{os.getpid()}-{secrets.token_hex(4)}"
            self._lock = os.open(root / (name + LOCK_SUFFIX), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.path = private_folder(root / name)
            swept = _sweep(root)
        if swept:
            log.info("deleted the work folders of %d stopped processes in %s", swept, root)

    def close(self) -> None:
        """Delete this process's folder (at a clean stop)."""
        shutil.rmtree(self.path, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path.with_name(self.path.name + LOCK_SUFFIX))
        os.close(self._lock)


def _sweep(root: Path) -> int:
    """Delete the folders whose lock nobody holds; the count."""
    swept = 0
    for lock_path in root.glob("*" + LOCK_SUFFIX):
        try:
            fd = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # its process is alive
            continue
        shutil.rmtree(lock_path.with_suffix(""), ignore_errors=True)
        lock_path.unlink(missing_ok=True)
        os.close(fd)
        swept += 1
    return swept


@contextlib.contextmanager
def _root_lock(root: Path) -> Iterator[None]:
    fd = os.open(root / ".sweep", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def private_folder(path: Path, *, parents: bool = False) -> Path:
    """``path`` as a folder only its owner can enter (0700), whatever the umask or an older mode."""
    path.mkdir(mode=0o700, parents=parents, exist_ok=True)
    path.chmod(0o700)
    return path


def private_file(path: Path) -> BinaryIO:
    """``path`` opened for writing, created (or truncated) readable by its owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")
