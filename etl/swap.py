"""The atomic swap: the load lock, the new file beside the warehouse, ``os.replace``, and the
recovery of what a killed load left behind.

DuckDB lets one process write a file or many read it, never both (STACK-NOTES), and the dashboard
reads the warehouse all day; so a load builds a complete new file ``<warehouse>.tmp-<run_id>`` and
``os.replace``-s it over the warehouse (``replace``). A reader holding the old file keeps seeing the
old data; the next connection sees the new. One load at a time (``warehouse_lock``); the next load
clears what a killed one left (``recover``).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path
from typing import Iterator

import duckdb

import warehouse as wh_paths
from etl import report as run_report
from etl import runlog
from etl.archive import remove_archive
from etl.model import Progress, say


def lock_path(warehouse: Path) -> Path:
    """The load lock: inside the owner-only run-log folder, so that no other account of the
    machine can open it, let alone hold it (a lock beside the warehouse, world-readable, could be
    held by anyone who can read the folder, blocking every load)."""
    return wh_paths.runs_dir(warehouse) / ".load.lock"


@contextlib.contextmanager
def owner_only() -> Iterator[None]:
    """umask 077 for what the run creates without an explicit mode (DuckDB's files, copies)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def tmp_path(warehouse: Path, run_id: str) -> Path:
    return warehouse.with_name(f"{warehouse.name}.tmp-{run_id}")


@contextlib.contextmanager
def warehouse_lock(warehouse: Path, progress: Progress = None) -> Iterator[None]:
    """Exclusive ``flock`` on ``lock_path``: one load at a time. Released when the process ends,
    however it ends, so a killed load never blocks the next one; owner-only, in an owner-only
    folder, so no other account can take it."""
    warehouse.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    runlog.private_dir(wh_paths.runs_dir(warehouse))
    fd = os.open(lock_path(warehouse), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(progress, f"waiting: another load of {warehouse} is running...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def remove_db_file(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def warehouse_has_run(warehouse: Path, run_id: str) -> bool:
    if not warehouse.exists():
        return False
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM audit.runs WHERE RUN_ID = ? AND OUTCOME = 'loaded'",
                          [run_id]).fetchone()
        return bool(row[0])
    finally:
        con.close()


def recover(warehouse: Path, progress: Progress = None) -> None:
    """Clear what a killed load left behind. Call with the lock held.

    Stale ``<warehouse>.tmp-*`` files are deleted. A pending run record is settled: ``loaded``
    if the warehouse holds that run (it was killed after the swap), else ``failed``, its archive
    removed (it was killed before the swap, so the warehouse never changed).
    """
    for stale in sorted(warehouse.parent.glob(warehouse.name + ".tmp-*")):
        say(progress, f"removing {stale.name}, left by an interrupted load")
        remove_db_file(stale)
    runs = wh_paths.runs_dir(warehouse)
    runlog.remove_stale_tmp(runs)
    for run_id in runlog.pending_runs(runs):
        pending = runs / f"{runlog.PENDING_PREFIX}{run_id}"
        if (runs / run_id / runlog.RUN_FILE).is_file():
            shutil.rmtree(pending)  # settled already; killed while tidying up
        elif warehouse_has_run(warehouse, run_id):
            runlog.promote_pending(runs, run_id)
        else:
            say(progress, f"recording interrupted load {run_id} as failed")
            record = runlog.read_record(pending)
            record["outcome"] = "failed"
            record["error"] = ("interrupted: the load process stopped before the new warehouse "
                               "was swapped in; the warehouse was not changed")
            runlog.write_run(runs, record, run_report.render(record))
            shutil.rmtree(pending)
            remove_archive(warehouse, run_id)


def replace(new_file: Path, warehouse: Path) -> None:
    """Swap the complete new file in: one atomic rename, made durable."""
    os.replace(new_file, warehouse)
    runlog.fsync_dir(warehouse.parent)
