"""The ``audit`` schema of a new warehouse file: the run history (``audit.runs``, ``run_files``,
``run_problems``: the current warehouse's rows plus the runs of the run log it does not hold yet,
this run included), the snapshots of every earlier accepted load copied forward and this load's
own (``audit.load_snapshots``, ``audit.ae_snapshots``), and ``audit.refresh``.

The ADAE snapshot is the previous-delivery baseline of "new and changed since a reference"
(R-AE, ``etl.derive.ae``; compared by ``warehouse.queries.ae_changes``)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from etl import runlog
from etl.duck import columns, copy_common_columns, current_catalog, insert_frame, quote


SCHEMA_VERSION = 1
SNAPSHOT_AE_COLUMNS = ("USUBJID", "SITEID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC",
                       "ASTDT", "AETOXGR", "AESER", "AEOUT", "TRTEMFL", "AESIFL")


def _ae_snapshot_sql(source: str, run_id_sql: str) -> str:
    cols = ", ".join(SNAPSHOT_AE_COLUMNS)
    return f"INSERT INTO audit.ae_snapshots (RUN_ID, {cols}) SELECT {run_id_sql}, {cols} FROM {source}"


def carry_snapshots(con: duckdb.DuckDBPyConnection, old: Path) -> None:
    """Copy the current warehouse's snapshots (audit.load_snapshots, audit.ae_snapshots) into the
    new one. A warehouse built before snapshots existed has none: its current state (adam.adae and
    sdtm.exports, under its audit.refresh run) becomes its load's snapshot, so the first load after
    the upgrade can still be compared with what was there."""
    literal = str(old).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS old_wh (READ_ONLY)")
    try:
        if copy_common_columns(con, "audit", "load_snapshots"):
            copy_common_columns(con, "audit", "ae_snapshots")
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


def take_snapshot(con: duckdb.DuckDBPyConnection, run_id: str, loaded_at) -> None:
    """This load's snapshot: every site's data cut and the ADAE just derived (R-AE), so any later
    warehouse can tell what is new or changed since this load."""
    con.execute("INSERT INTO audit.load_snapshots SELECT ?, ?, SITEID, DATACUT, RUN_ID "
                "FROM sdtm.exports", [run_id, loaded_at])
    con.execute(_ae_snapshot_sql("adam.adae", "?"), [run_id])


def copy_audit(con: duckdb.DuckDBPyConnection, old: Path) -> set[str]:
    """Copy the current warehouse's audit rows (runs, files, problems) into the new one and
    return the run ids it already holds: only runs not among them are read from the run log."""
    literal = str(old).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS old_audit (READ_ONLY)")
    try:
        for table in ("runs", "run_files", "run_problems"):
            old_cols = set(columns(con, "old_audit", "audit", table))
            cols = [c for c in columns(con, current_catalog(con), "audit", table) if c in old_cols]
            if cols:
                col_list = ", ".join(quote(c) for c in cols)
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


def fill_audit(con: duckdb.DuckDBPyConnection, runs_folder: Path, records: list[dict]) -> None:
    """Add these run records (runs not yet in the audit tables) to audit.*."""
    rows: dict[str, list[tuple]] = {t: [] for t in AUDIT_SCHEMAS}
    for r in records:
        rows["runs"].append((r["run_id"], r["command"], ts(r.get("started_at")),
                             ts(r.get("finished_at")), r.get("user"), r.get("host"), r["outcome"],
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
            insert_frame(con, f"audit.{table}",
                          pl.DataFrame(rows[table], schema=schema, orient="row"))


def _text(value) -> str | None:
    return None if value is None else str(value)


def ts(value: str | None):
    """run.json's ``...Z`` UTC string -> naive UTC datetime for a TIMESTAMP column."""
    if not value:
        return None
    return dt.datetime.strptime(value.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f")


def held_run_ids(warehouse: Path) -> set[str]:
    """The runs a warehouse's audit already holds (none if there is no warehouse yet)."""
    if not warehouse.exists():
        return set()
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return set()               # unreadable here: the caller only reads more run records
    try:
        return {r[0] for r in con.execute("SELECT RUN_ID FROM audit.runs").fetchall()}
    except duckdb.Error:
        return set()
    finally:
        con.close()


def write_audit(con: duckdb.DuckDBPyConnection, old_file: Path, runs: Path, record: dict,
                loaded_at, records: dict | None = None) -> None:
    """Everything ``audit`` holds in the new file, for this run (``record``, outcome 'loaded').
    ``records``: run records this load has read already (run id -> record), not read again."""
    records = records or {}
    run_id = record["run_id"]
    this_run = dict(record, outcome="loaded", finished_at=runlog.iso(runlog.utcnow()))
    # The previous warehouse's history is copied whole; only runs it does not hold yet are
    # read from the run log (never the whole history again at each load).
    known = copy_audit(con, old_file) if old_file.exists() else set()
    new_runs = [records.get(r) or runlog.read_record(runs / r) for r in runlog.run_ids(runs)
                if r not in known and r != run_id]
    fill_audit(con, runs, new_runs + [this_run])
    if old_file.exists():
        carry_snapshots(con, old_file)
    take_snapshot(con, run_id, loaded_at)
    con.execute("INSERT INTO audit.refresh VALUES (?, ?, ?)", [run_id, loaded_at, SCHEMA_VERSION])
