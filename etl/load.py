"""Validate site exports and, only if every one passes, load them into the warehouse atomically.

This module is the orchestration; each concern lives in its own module:

1. validate every export (``etl.validate``); any problem -> the run is ``refused``, nothing else
   happens (the run log records it);
2. take the load lock and clear what a killed load left behind (``etl.swap``: ``warehouse_lock``,
   ``recover``);
3. copy each export as delivered into the read-only archive (``etl.archive``,
   ``<warehouse>.archive/<run_id>/``);
4. build a NEW file ``<warehouse>.tmp-<run_id>``: ``warehouse/schema.sql``; ``sdtm``
   (``etl.sdtm_write``: the other sites' rows copied from the current warehouse, attached
   read-only, plus the new sites' typed frames and ``sdtm.exports``); ``adam``
   (``etl.derive.build.build_adam``); ``audit`` (``etl.audit``: run history, snapshots); CHECKPOINT,
   close, fsync;
5. ``os.replace`` it over the warehouse (``etl.swap.replace``). A reader holding the old file keeps
   seeing the old data; the next connection sees the new. Readers never see a mix.

Any failure removes the new file and this run's archive, records the run as ``failed``, and leaves
the warehouse exactly as it was.

Everything a run creates is owner-only (umask 077 for the run, and explicit modes: the warehouse
and run files 0600, folders 0700, the archive 0400/0500): the trial's data is readable by the
account that runs the ETL and the dashboard, no other.

The kill tests stop a load at a named stage through the one test seam, ``etl.pause``.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import time
import traceback
from pathlib import Path
from typing import Callable

import duckdb

import warehouse as wh_paths
from etl import report as run_report
from etl import runlog
from etl.archive import archive_exports, remove_archive
from etl.audit import held_run_ids, ts, write_audit
from etl.model import Export, Problem, Progress, ValidationResult, say
from etl.pause import PAUSE_ENV, PAUSE_STAGES, RESUME_ENV, pause  # noqa: F401 (re-exported)
from etl.sdtm_write import sdtm_empty_frame, write_sdtm  # noqa: F401 (re-exported)
from etl.swap import (lock_path, owner_only, recover, remove_db_file, replace,  # noqa: F401
                      tmp_path, warehouse_lock)
from etl.deliveries import record_deliveries
from etl.workdir import work_folder


SCHEMA_SQL = wh_paths.PROJECT_ROOT / "warehouse" / "schema.sql"
EXIT_CODES = {"valid": 0, "loaded": 0, "refused": 1, "failed": 3}


@dataclasses.dataclass
class RunResult:
    """What a ``validate`` or ``load`` run ended with."""

    run_id: str
    command: str                 # 'validate' or 'load'
    outcome: str                 # 'valid', 'refused', 'loaded', 'failed'
    problems: list[Problem]
    report: Path                 # the run's report.html in the run log
    record: dict                 # the run.json content
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("valid", "loaded")

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]


def _build_adam_function():
    """``etl.derive.build.build_adam``, imported late so that its absence fails the load loudly."""
    try:
        from etl.derive.build import build_adam
    except ImportError as exc:
        raise RuntimeError(
            f"cannot derive the adam tables: etl.derive.build could not be imported ({exc})"
        ) from exc
    return build_adam


# --- validation --------------------------------------------------------------------------------


def _validate(sources: list[Path], workdir: Path, progress: Progress, record: dict,
              runs: Path, records: dict | None) -> ValidationResult:
    """Validate, recording the fingerprint the result depends on (``etl.validate.fingerprint``).
    A load reuses the GX result of a recorded successful ``validate`` of the same CSV bytes under
    the same fingerprint (run each suite once per delivery), and says so in ``record["validation"]``
    (run.json and the report); anything else validates again."""
    from etl.validate import fingerprint, reusable_run, validate_exports

    current = fingerprint()
    record["fingerprint"] = current
    reuse = None
    gx_early = True
    if records is not None:        # a load: the runs its warehouse holds are older than its last load
        held = held_run_ids(Path(record["warehouse"]))
        # GX is started before reading unless some recorded validation might be reused.
        gx_early = reusable_run(runs, current, None, skip=held, records=records) is None

        def reuse(files):
            return reusable_run(runs, current, files, skip=held, records=records)
    result = validate_exports(sources, workdir, progress=progress, reuse=reuse, gx_early=gx_early)
    record["validation"] = (f"Great Expectations suites reused from run {result.reused_from} "
                            "(same file SHA-256s, suite SHA-256s and version)"
                            if result.reused_from else "validated")
    return result


def _finish(runs: Path, record: dict, outcome: str, problems: list[Problem],
            error: str | None = None, *, pending: bool = False) -> Path:
    record["outcome"] = outcome
    record["finished_at"] = runlog.iso(runlog.utcnow())
    record["problems"] = [runlog.problem_record(p) for p in problems]
    if error is not None:
        record["error"] = error
    folder = runlog.write_run(runs, record, run_report.render(record), pending=pending)
    return folder


def _result(record: dict, runs: Path, problems: list[Problem]) -> RunResult:
    return RunResult(run_id=record["run_id"], command=record["command"],
                     outcome=record["outcome"], problems=list(problems),
                     report=runs / record["run_id"] / runlog.REPORT_FILE, record=record,
                     error=record.get("error"))


def _timed(record: dict, stage: str, t0: float) -> None:
    record["timings"][stage] = round(time.monotonic() - t0, 3)


def _owner_only_run(run: Callable) -> Callable:
    """A run command whose files are created under ``owner_only``."""
    @functools.wraps(run)
    def wrapped(*args, **kwargs):
        with owner_only():
            return run(*args, **kwargs)
    return wrapped


@_owner_only_run
def validate_only(sources: list[Path], warehouse: Path, progress: Progress = None,
                  argv: list[str] | None = None) -> RunResult:
    """``python -m etl validate``: check the exports; write only the run log, never the warehouse."""
    sources = [Path(s) for s in sources]
    warehouse = Path(warehouse)
    runs = wh_paths.runs_dir(warehouse)
    record = runlog.new_record(runlog.new_run_id(), "validate", argv)
    record["warehouse"] = str(warehouse)
    with work_folder("validate") as work:
        result = _validate_recorded(sources, Path(work), record, runs, progress)
    if result is None:
        return _result(record, runs, [])
    _finish(runs, record, "valid" if result.ok else "refused", result.problems)
    return _result(record, runs, result.problems)


def _validate_recorded(sources: list[Path], work: Path, record: dict, runs: Path,
                       progress: Progress, records: dict | None = None) -> ValidationResult | None:
    """Validate, timing it and putting the exports in the run's record. An error inside the
    validator ends the run as 'failed' (recorded) and returns None. ``records`` (a load's): a
    recorded validation may be reused, and the run records read to find it are kept there."""
    t0 = time.monotonic()
    try:
        result = _validate(sources, work, progress, record, runs, records)
    except Exception as exc:
        _timed(record, "validate", t0)
        _finish(runs, record, "failed", [], _error_text(exc))
        return None
    _timed(record, "validate", t0)
    record["exports"] = runlog.exports_record(result)
    return result


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def build_warehouse(new_file: Path, old_file: Path, exports: list[Export], record: dict,
                    archive_paths: dict[str, Path], progress: Progress = None,
                    records: dict | None = None) -> None:
    """Build a complete warehouse in ``new_file``: the old one's other sites plus these exports,
    with ``adam`` and ``audit`` rebuilt. ``record`` is this run's record (outcome 'loaded').
    ``exports`` is consumed: emptied once its rows and changes are written (below)."""
    run_id = record["run_id"]
    loaded_at = ts(runlog.iso(runlog.utcnow()))
    con = duckdb.connect(str(new_file))
    try:
        t0 = time.monotonic()
        con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        write_sdtm(con, old_file, exports, run_id, loaded_at, archive_paths, progress)
        _timed(record, "write", t0)
        pause("sdtm_written")

        # What this delivery changed (issue 13) is the last reader of the exports' frames: once
        # it is written, the list is emptied so that those frames (about 1 GB at 10,000
        # subjects) are freed before the derivation builds its own (the load's peak memory,
        # issue 15). The caller passes the list for this call only.
        t0 = time.monotonic()
        record_deliveries(con, old_file, exports, record, loaded_at, progress)
        exports.clear()
        _timed(record, "deliveries", t0)

        t0 = time.monotonic()
        say(progress, "deriving the adam tables...")
        build_adam = _build_adam_function()
        build_adam(con)
        _timed(record, "derive", t0)
        pause("derived")

        t0 = time.monotonic()
        say(progress, "recording the run history and this load's snapshot in audit...")
        write_audit(con, old_file, wh_paths.runs_dir(old_file), record, loaded_at, records)
        con.execute("CHECKPOINT")
        _timed(record, "audit", t0)
    finally:
        con.close()
    os.chmod(new_file, 0o600)
    with open(new_file, "rb") as f:
        os.fsync(f.fileno())


@_owner_only_run
def load_exports(sources: list[Path], warehouse: Path, progress: Progress = None,
                 argv: list[str] | None = None) -> RunResult:
    """``python -m etl load``: validate; only if every export passes, replace those sites' data
    and rebuild ``adam`` in one atomic step (module docstring). Every run is recorded."""
    sources = [Path(s) for s in sources]
    warehouse = Path(warehouse).resolve()
    runs = wh_paths.runs_dir(warehouse)
    record = runlog.new_record(runlog.new_run_id(), "load", argv)
    record["warehouse"] = str(warehouse)
    run_id = record["run_id"]
    t_start = time.monotonic()

    records: dict[str, dict] = {}   # run records read (finding a reusable validation), for audit
    with work_folder("load") as work:
        result = _validate_recorded(sources, Path(work), record, runs, progress, records)
        if result is None:
            return _result(record, runs, [])
        if not result.ok:
            _finish(runs, record, "refused", result.problems)
            return _result(record, runs, result.problems)

        new_file = tmp_path(warehouse, run_id)
        with warehouse_lock(warehouse, progress):
            recover(warehouse, progress)
            # The pending record exists from here on, so a kill at any later point is settled
            # by the next load (recover).
            _finish(runs, record, "loaded", [], pending=True)
            try:
                pause("validated")
                t0 = time.monotonic()
                say(progress, "archiving the exports as delivered...")
                archive_paths = archive_exports(warehouse, run_id, result.exports)
                _timed(record, "archive", t0)
                build_warehouse(new_file, warehouse, result.exports, record, archive_paths,
                                progress, records)
                record["timings"]["total"] = round(time.monotonic() - t_start, 3)
                _finish(runs, record, "loaded", [], pending=True)
                pause("before_replace")
                say(progress, f"swapping in the new warehouse {warehouse}...")
                replace(new_file, warehouse)
            except BaseException as exc:
                remove_db_file(new_file)
                remove_archive(warehouse, run_id)
                record["traceback"] = traceback.format_exc()
                _finish(runs, record, "failed", [], _error_text(exc))
                shutil.rmtree(runs / f"{runlog.PENDING_PREFIX}{run_id}", ignore_errors=True)
                if not isinstance(exc, Exception):
                    raise
                return _result(record, runs, [])
            pause("after_replace")
            runlog.promote_pending(runs, run_id)
    return _result(record, runs, [])
