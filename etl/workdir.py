"""The ETL's private work folders, and the sweep of those a killed run left behind.

A validation or a load works in a folder of its own under the system's temporary directory
(``trialdash-validate-*``, ``trialdash-load-*``, ``trialdash-previous-*``: extracted zip files,
the previous delivery read again; ``trialdash-packet-*``: a committee packet being typeset,
report/packet.py), removed when the run ends. A run killed by SIGKILL (or a
power cut) cannot remove it: 51 such folders were found on the development machine, some holding
extracted export files. So every folder holds a lock file, ``.in-use``, locked (``flock``) by the
process working in it for as long as it lives; the kernel releases the lock when the process
dies, however it dies. Each new work folder first sweeps the others: a folder whose lock nobody
holds is removed; one still being created (no lock file yet) is left alone unless it is older
than an hour. Only folders of these names, owned by this user, are ever touched.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PREFIX = "trialdash-"
KINDS = ("validate", "load", "previous", "packet")
IN_USE = ".in-use"
UNLOCKED_GRACE_SECONDS = 3600   # a folder without its lock file yet: someone may be creating it


@contextlib.contextmanager
def work_folder(kind: str) -> Iterator[Path]:
    """A new private work folder (mode 0700) for this process, held while the block runs and
    removed after it; leftovers of dead runs are swept first."""
    if kind not in KINDS:
        raise ValueError(f"unknown work folder kind {kind!r}")
    sweep()
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{kind}-") as work:
        folder = Path(work)
        # Locked before it gets its name: a sweep never sees an unlocked .in-use of a live run.
        pending = folder / f"{IN_USE}.{os.getpid()}"
        fd = os.open(pending, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(pending, folder / IN_USE)
            yield folder
        finally:
            os.close(fd)


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the work folders under ``root`` (the system's temporary directory) that no living
    process holds; returns them."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    uid = os.getuid()
    for folder in root.glob(f"{PREFIX}*-*"):
        if folder.name[len(PREFIX):].split("-", 1)[0] not in KINDS:
            continue
        try:
            st = folder.lstat()
        except FileNotFoundError:
            continue
        if not folder.is_dir() or folder.is_symlink() or st.st_uid != uid:
            continue
        try:
            fd = os.open(folder / IN_USE, os.O_RDWR)
        except FileNotFoundError:
            fd = None
            if time.time() - st.st_mtime < UNLOCKED_GRACE_SECONDS:
                continue
        except OSError:
            continue
        try:
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue                    # its run is alive
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            if fd is not None:
                os.close(fd)
    return removed
