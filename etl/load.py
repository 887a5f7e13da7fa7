"""Validate site exports and, only if every one passes, load them into the warehouse atomically.

The warehouse is one DuckDB file. DuckDB lets one process write it or many read it, never both
(STACK-NOTES), and the dashboard reads it all day. So a load never writes the warehouse in place:

1. validate every export (``etl.validate``); any problem -> the run is ``refused``, nothing else
   happens (the run log records it);
2. take the load lock (``fcntl.flock`` of ``<runs>/.load.lock``, owner-only) so two loads never
   race; clear what a killed load left behind (``<warehouse>.tmp-*`` files, unsettled run records);
3. copy each export as delivered into the read-only archive (``<warehouse>.archive/<run_id>/``);
4. build a NEW file ``<warehouse>.tmp-<run_id>``: ``warehouse/schema.sql``; the ``sdtm`` rows of
   every site NOT in this load, copied from the current warehouse (attached read-only); the new
   sites' typed frames (``etl.sdtm.to_sdtm``); ``sdtm.exports``; ``adam`` (``build_adam``);
   ``audit``: the current warehouse's rows, plus the runs of the run log it does not hold yet,
   this run included, plus the snapshots of every earlier accepted load (copied forward) and
   this load's own (``audit.load_snapshots``, ``audit.ae_snapshots``); CHECKPOINT, close, fsync;
5. ``os.replace`` it over the warehouse. A reader holding the old file keeps seeing the old data;
   the next connection sees the new. Readers never see a mix.

Any failure removes the new file and this run's archive, records the run as ``failed``, and leaves
the warehouse exactly as it was.

Everything a run creates is owner-only (umask 077 for the run, and explicit modes: the warehouse
and run files 0600, folders 0700, the archive 0400/0500): the trial's data is readable by the
account that runs the ETL and the dashboard, no other.

For the kill tests, ``TRIALDASH_TEST_PAUSE_AT=<stage>`` makes a load stop at a named stage (see
``PAUSE_STAGES``), print ``PAUSED AT <stage>`` on stderr and wait until the file named by
``TRIALDASH_TEST_RESUME_FILE`` exists (forever if unset).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import functools
import hashlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import polars as pl

import warehouse as wh_paths
from etl import report as run_report
from etl import runlog
from etl.contract import COLUMNS, DOMAINS
from etl.deliveries import record_deliveries
from etl.model import Export, Problem, ValidationResult
from etl.sdtm import to_sdtm

Progress = Callable[[str], None] | None

SCHEMA_SQL = wh_paths.PROJECT_ROOT / "warehouse" / "schema.sql"
SCHEMA_VERSION = 1
PAUSE_ENV = "TRIALDASH_TEST_PAUSE_AT"
RESUME_ENV = "TRIALDASH_TEST_RESUME_FILE"
PAUSE_STAGES = ("validated", "sdtm_written", "derived", "before_replace", "after_replace")
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


def _say(progress: Progress, message: str) -> None:
    if progress is not None:
        progress(message)


def _pause(stage: str) -> None:
    """Test hook: stop at ``stage`` when $TRIALDASH_TEST_PAUSE_AT names it (module docstring)."""
    assert stage in PAUSE_STAGES
    if os.environ.get(PAUSE_ENV) != stage:
        return
    print(f"PAUSED AT {stage}", file=sys.stderr, flush=True)
    resume = os.environ.get(RESUME_ENV)
    while not (resume and Path(resume).exists()):
        time.sleep(0.02)


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

def _validate(sources: list[Path], workdir: Path, progress: Progress) -> ValidationResult:
    from etl.validate import validate_exports  # GX costs ~2 s to import: only when validating

    return validate_exports(sources, workdir, progress=progress)


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
    with tempfile.TemporaryDirectory(prefix="trialdash-validate-") as work:
        result = _validate_recorded(sources, Path(work), record, runs, progress)
    if result is None:
        return _result(record, runs, [])
    _finish(runs, record, "valid" if result.ok else "refused", result.problems)
    return _result(record, runs, result.problems)


def _validate_recorded(sources: list[Path], work: Path, record: dict, runs: Path,
                       progress: Progress) -> ValidationResult | None:
    """Validate, timing it and putting the exports in the run's record. An error inside the
    validator ends the run as 'failed' (recorded) and returns None."""
    t0 = time.monotonic()
    try:
        result = _validate(sources, work, progress)
    except Exception as exc:
        _timed(record, "validate", t0)
        _finish(runs, record, "failed", [], _error_text(exc))
        return None
    _timed(record, "validate", t0)
    record["exports"] = runlog.exports_record(result)
    return result


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# --- the lock and what a killed load leaves behind ---------------------------------------------

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
            _say(progress, f"waiting: another load of {warehouse} is running...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _remove_db_file(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _remove_archive(warehouse: Path, run_id: str) -> None:
    folder = wh_paths.archive_dir(warehouse) / run_id
    if not folder.exists():
        return
    for root, dirs, _files in os.walk(folder):
        os.chmod(root, 0o700)
        for d in dirs:
            os.chmod(Path(root) / d, 0o700)
    shutil.rmtree(folder)


def _warehouse_has_run(warehouse: Path, run_id: str) -> bool:
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
        _say(progress, f"removing {stale.name}, left by an interrupted load")
        _remove_db_file(stale)
    runs = wh_paths.runs_dir(warehouse)
    runlog.remove_stale_tmp(runs)
    for run_id in runlog.pending_runs(runs):
        pending = runs / f"{runlog.PENDING_PREFIX}{run_id}"
        if (runs / run_id / runlog.RUN_FILE).is_file():
            shutil.rmtree(pending)  # settled already; killed while tidying up
        elif _warehouse_has_run(warehouse, run_id):
            runlog.promote_pending(runs, run_id)
        else:
            _say(progress, f"recording interrupted load {run_id} as failed")
            record = runlog.read_record(pending)
            record["outcome"] = "failed"
            record["error"] = ("interrupted: the load process stopped before the new warehouse "
                               "was swapped in; the warehouse was not changed")
            runlog.write_run(runs, record, run_report.render(record))
            shutil.rmtree(pending)
            _remove_archive(warehouse, run_id)


# --- archive -----------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def archive_exports(warehouse: Path, run_id: str, exports: list[Export]) -> dict[str, Path]:
    """Copy each export as delivered (its folder, or its .zip) to
    ``<archive>/<run_id>/site<SITEID>/``, read-only and owner-only (files 0400, folders 0500,
    the archive folder itself 0700). Returns the archive path per site.

    The copied CSV files are checked against the fingerprints taken at validation, so what is
    archived is exactly what was validated."""
    root = runlog.private_dir(wh_paths.archive_dir(warehouse)) / run_id
    paths: dict[str, Path] = {}
    for e in exports:
        site_dir = root / f"site{e.siteid}"
        site_dir.mkdir(parents=True)
        source = Path(e.source)
        target = site_dir / source.name
        if source.is_dir():
            shutil.copytree(source, target)
            for f in e.files.values():
                if _sha256(target / f.name) != f.sha256:
                    raise RuntimeError(f"{source / f.name} changed while it was being loaded; "
                                       f"run the load again")
        else:
            shutil.copy2(source, target)
        paths[e.siteid] = target
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o400)
        os.chmod(dirpath, 0o500)
    return paths


# --- building the new warehouse file -----------------------------------------------------------

def sdtm_empty_frame(domain: str) -> pl.DataFrame:
    """The typed shape of ``sdtm.<domain>``: every contract column, SITEID, typed date columns."""
    raw = pl.DataFrame({c: pl.Series(c, [], dtype=pl.String) for c in COLUMNS[domain]})
    return to_sdtm(domain, raw)


def _create_sdtm_tables(con: duckdb.DuckDBPyConnection) -> None:
    for domain in DOMAINS:
        con.register("_shape", sdtm_empty_frame(domain).to_arrow())
        con.execute(f"CREATE TABLE sdtm.{domain} AS SELECT * FROM _shape")
        con.unregister("_shape")


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND "
        "table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, table]).fetchall()
    return [r[0] for r in rows]


def _quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _copy_other_sites(con: duckdb.DuckDBPyConnection, old: Path, new_cuts: dict[str, object],
                      progress: Progress) -> dict[str, object]:
    """Copy every sdtm row of the sites not in this load (``new_cuts``: site -> its new data cut)
    from the current warehouse, and return each loaded site's previous data cut
    (sdtm.exports.PREV_DATACUT, provenance only).

    The previous export of a loaded site is the latest one with an EARLIER data cut: when the new
    cut is later than the current one, that is the current export's cut; when it is the same cut
    delivered again (a correction), the current export's own previous cut is kept."""
    new_sites = sorted(new_cuts)
    literal = str(old).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS old_wh (READ_ONLY)")
    try:
        kept = con.execute("SELECT SITEID FROM old_wh.sdtm.exports WHERE NOT list_contains(?, SITEID) "
                           "ORDER BY SITEID", [new_sites]).fetchall()
        if kept:
            _say(progress, "keeping site(s) " + ", ".join(r[0] for r in kept)
                 + " as they are in the current warehouse...")
        for table in ("exports",) + DOMAINS:   # the sites not in this load
            _copy_common_columns(con, "sdtm", table, "WHERE NOT list_contains(?, SITEID)",
                                 [new_sites])
        previous: dict[str, object] = {}
        for site in new_sites:
            row = con.execute("SELECT DATACUT, PREV_DATACUT FROM old_wh.sdtm.exports "
                              "WHERE SITEID = ?", [site]).fetchone()
            if row is None:
                continue                               # the site's first export
            previous[site] = row[0] if row[0] < new_cuts[site] else row[1]
        return previous
    finally:
        con.execute("DETACH old_wh")


def _copy_common_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str,
                         where: str = "", params: list | None = None) -> bool:
    """INSERT into ``schema.table`` the rows of ``old_wh.schema.table`` (attached), by the columns
    both have. False when the old warehouse has no such table (one built before it existed)."""
    old_cols = set(_columns(con, "old_wh", schema, table))
    if not old_cols:
        return False
    cols = [c for c in _columns(con, _current_catalog(con), schema, table) if c in old_cols]
    col_list = ", ".join(_quote(c) for c in cols)
    con.execute(f"INSERT INTO {schema}.{table} ({col_list}) SELECT {col_list} FROM "
                f"old_wh.{schema}.{table} {where}", params or [])
    return True


SNAPSHOT_AE_COLUMNS = ("USUBJID", "SITEID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC",
                       "ASTDT", "AETOXGR", "AESER", "AEOUT", "TRTEMFL", "AESIFL")


def _ae_snapshot_sql(source: str, run_id_sql: str) -> str:
    cols = ", ".join(SNAPSHOT_AE_COLUMNS)
    return f"INSERT INTO audit.ae_snapshots (RUN_ID, {cols}) SELECT {run_id_sql}, {cols} FROM {source}"


def _carry_snapshots(con: duckdb.DuckDBPyConnection, old: Path) -> None:
    """Copy the current warehouse's snapshots (audit.load_snapshots, audit.ae_snapshots) into the
    new one. A warehouse built before snapshots existed has none: its current state (adam.adae and
    sdtm.exports, under its audit.refresh run) becomes its load's snapshot, so the first load after
    the upgrade can still be compared with what was there."""
    literal = str(old).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS old_wh (READ_ONLY)")
    try:
        if _copy_common_columns(con, "audit", "load_snapshots"):
            _copy_common_columns(con, "audit", "ae_snapshots")
            return
        row = con.execute("SELECT RUN_ID, REFRESHED_AT FROM old_wh.audit.refresh "
                          "ORDER BY REFRESHED_AT DESC LIMIT 1").fetchone()
        if row is None:
            return
        con.execute("INSERT INTO audit.load_snapshots SELECT ?, ?, SITEID, DATACUT, RUN_ID "
                    "FROM old_wh.sdtm.exports", [row[0], row[1]])
        con.execute(_ae_snapshot_sql("old_wh.adam.adae", "?"), [row[0]])
    finally:
        con.execute("DETACH old_wh")


def _take_snapshot(con: duckdb.DuckDBPyConnection, run_id: str, loaded_at) -> None:
    """This load's snapshot: every site's data cut and the ADAE just derived (R-AE), so any later
    warehouse can tell what is new or changed since this load."""
    con.execute("INSERT INTO audit.load_snapshots SELECT ?, ?, SITEID, DATACUT, RUN_ID "
                "FROM sdtm.exports", [run_id, loaded_at])
    con.execute(_ae_snapshot_sql("adam.adae", "?"), [run_id])


def _current_catalog(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchone()[0]


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("_frame", frame.to_arrow())
    try:
        col_list = ", ".join(_quote(c) for c in frame.columns)
        con.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM _frame")
    finally:
        con.unregister("_frame")


def _copy_audit(con: duckdb.DuckDBPyConnection, old: Path) -> set[str]:
    """Copy the current warehouse's audit rows (runs, files, problems) into the new one and
    return the run ids it already holds: only runs not among them are read from the run log."""
    literal = str(old).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS old_audit (READ_ONLY)")
    try:
        for table in ("runs", "run_files", "run_problems"):
            old_cols = set(_columns(con, "old_audit", "audit", table))
            cols = [c for c in _columns(con, _current_catalog(con), "audit", table) if c in old_cols]
            if cols:
                col_list = ", ".join(_quote(c) for c in cols)
                con.execute(f"INSERT INTO audit.{table} ({col_list}) SELECT {col_list} "
                            f"FROM old_audit.audit.{table}")
        return {r[0] for r in con.execute("SELECT RUN_ID FROM audit.runs").fetchall()}
    finally:
        con.execute("DETACH old_audit")


AUDIT_SCHEMAS = {
    "runs": {"RUN_ID": pl.String, "COMMAND": pl.String, "STARTED_AT": pl.Datetime("us"),
             "FINISHED_AT": pl.Datetime("us"), "USERNAME": pl.String, "HOSTNAME": pl.String,
             "OUTCOME": pl.String, "N_PROBLEMS": pl.Int32, "REPORT_PATH": pl.String},
    "run_files": {"RUN_ID": pl.String, "EXPORT": pl.String, "SITEID": pl.String, "FILE": pl.String,
                  "SHA256": pl.String, "N_ROWS": pl.Int32, "ENCODING": pl.String},
    "run_problems": {"RUN_ID": pl.String, "EXPORT": pl.String, "FILE": pl.String,
                     "ROW_NUM": pl.Int32, "COLUMN_NAME": pl.String, "VALUE": pl.String,
                     "RULE": pl.String, "MESSAGE": pl.String},
}


def _fill_audit(con: duckdb.DuckDBPyConnection, runs_folder: Path, records: list[dict]) -> None:
    """Add these run records (runs not yet in the audit tables) to audit.*."""
    rows: dict[str, list[tuple]] = {t: [] for t in AUDIT_SCHEMAS}
    for r in records:
        rows["runs"].append((r["run_id"], r["command"], _ts(r.get("started_at")),
                             _ts(r.get("finished_at")), r.get("user"), r.get("host"), r["outcome"],
                             len(r.get("problems") or []),
                             str(runs_folder / r["run_id"] / runlog.REPORT_FILE)))
        for e in r.get("exports") or []:
            for f in e.get("files") or []:
                rows["run_files"].append((r["run_id"], e["source"], e.get("siteid"), f["file"],
                                          f["sha256"], f["rows"], f["encoding"]))
        for p in r.get("problems") or []:
            rows["run_problems"].append((r["run_id"], p.get("export"), p.get("file"), p.get("row"),
                                         p.get("column"), _text(p.get("value")), p.get("rule"),
                                         p.get("message")))
    for table, schema in AUDIT_SCHEMAS.items():
        if rows[table]:
            _insert_frame(con, f"audit.{table}",
                          pl.DataFrame(rows[table], schema=schema, orient="row"))


def _text(value) -> str | None:
    return None if value is None else str(value)


def _ts(value: str | None):
    """run.json's ``...Z`` UTC string -> naive UTC datetime for a TIMESTAMP column."""
    if not value:
        return None
    return dt.datetime.strptime(value.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")


def build_warehouse(new_file: Path, old_file: Path, exports: list[Export], record: dict,
                    archive_paths: dict[str, Path], progress: Progress = None) -> None:
    """Build a complete warehouse in ``new_file``: the old one's other sites plus these exports,
    with ``adam`` and ``audit`` rebuilt. ``record`` is this run's record (outcome 'loaded')."""
    run_id = record["run_id"]
    runs = wh_paths.runs_dir(old_file)
    loaded_at = _ts(runlog.iso(runlog.utcnow()))
    con = duckdb.connect(str(new_file))
    try:
        t0 = time.monotonic()
        con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        _create_sdtm_tables(con)
        new_cuts = {e.siteid: e.data_cut for e in exports}
        previous_cuts = _copy_other_sites(con, old_file, new_cuts, progress) if old_file.exists() else {}
        for e in exports:
            for domain in DOMAINS:
                f = e.files.get(domain)
                if f is None:
                    continue
                _say(progress, f"writing site {e.siteid}: sdtm.{domain} ({f.rows} rows)...")
                _insert_frame(con, f"sdtm.{domain}", to_sdtm(domain, f.frame))
            con.execute("INSERT INTO sdtm.exports VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [e.siteid, e.data_cut, e.data_cut_source, run_id, loaded_at,
                         str(archive_paths[e.siteid]), previous_cuts.get(e.siteid)])
        _timed(record, "write", t0)
        _pause("sdtm_written")

        t0 = time.monotonic()
        _say(progress, "deriving the adam tables...")
        build_adam = _build_adam_function()
        build_adam(con)
        _timed(record, "derive", t0)
        _pause("derived")

        t0 = time.monotonic()
        _say(progress, "recording the run history and this load's snapshot in audit...")
        this_run = dict(record, outcome="loaded", finished_at=runlog.iso(runlog.utcnow()))
        # The previous warehouse's history is copied whole; only runs it does not hold yet are
        # read from the run log (never the whole history again at each load).
        known = _copy_audit(con, old_file) if old_file.exists() else set()
        new_runs = [runlog.read_record(runs / run_id) for run_id in runlog.run_ids(runs)
                    if run_id not in known and run_id != record["run_id"]]
        _fill_audit(con, runs, new_runs + [this_run])
        if old_file.exists():
            _carry_snapshots(con, old_file)
        _take_snapshot(con, run_id, loaded_at)
        record_deliveries(con, old_file, exports, record, loaded_at, progress)  # issue 13
        con.execute("INSERT INTO audit.refresh VALUES (?, ?, ?)", [run_id, loaded_at, SCHEMA_VERSION])
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

    with tempfile.TemporaryDirectory(prefix="trialdash-load-") as work:
        result = _validate_recorded(sources, Path(work), record, runs, progress)
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
                _pause("validated")
                t0 = time.monotonic()
                _say(progress, "archiving the exports as delivered...")
                archive_paths = archive_exports(warehouse, run_id, result.exports)
                _timed(record, "archive", t0)
                build_warehouse(new_file, warehouse, result.exports, record, archive_paths,
                                progress)
                record["timings"]["total"] = round(time.monotonic() - t_start, 3)
                _finish(runs, record, "loaded", [], pending=True)
                _pause("before_replace")
                _say(progress, f"swapping in the new warehouse {warehouse}...")
                os.replace(new_file, warehouse)
                runlog.fsync_dir(warehouse.parent)
            except BaseException as exc:
                _remove_db_file(new_file)
                _remove_archive(warehouse, run_id)
                record["traceback"] = traceback.format_exc()
                _finish(runs, record, "failed", [], _error_text(exc))
                shutil.rmtree(runs / f"{runlog.PENDING_PREFIX}{run_id}", ignore_errors=True)
                if not isinstance(exc, Exception):
                    raise
                return _result(record, runs, [])
            _pause("after_replace")
            runlog.promote_pending(runs, run_id)
    return _result(record, runs, [])
