"""Each accepted load's record of its deliveries and of what they changed (issue 13).

Called by ``etl.load.build_warehouse`` while it builds the new warehouse file, right after the
sdtm tables are written and before the derivation (one call, ``record_deliveries``):

- ``audit.deliveries`` and ``audit.changes`` of the current warehouse are copied forward whole
  (as ``audit.ae_snapshots`` is), so the new file holds every earlier delivery's record;
- for each export of this load: its previous accepted delivery is the one the current warehouse
  serves for that site (``sdtm.exports``: its run, data cut and archived copy). That copy is read
  again with the same reader (``etl.read.read_export``: the strings as delivered) and compared
  with the new export's frames by ``etl.changes.delivery_changes``; the rows go to
  ``audit.changes`` and one row per export to ``audit.deliveries`` (who loaded it, from where,
  what it replaced, the counts). A site's first delivery has nothing to compare with
  (``COMPARED = 'N'``, no PREV_RUN_ID); so has one whose archived copy is gone (said in progress).

Refused deliveries never reach the warehouse (the run log holds them: ``warehouse.queries``).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl

from etl.changes import CHANGE_SCHEMA, delivery_changes
from etl.model import Export
from etl.workdir import work_folder

ALIAS = "old_deliveries"


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND "
        "table_schema = 'audit' AND table_name = ? ORDER BY ordinal_position",
        [catalog, table]).fetchall()]


def _carry(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """INSERT the attached old warehouse's audit.<table> rows by the columns both have (none when
    the old warehouse was built before the table existed)."""
    old = set(_columns(con, ALIAS, table))
    here = con.execute("SELECT current_database()").fetchone()[0]
    cols = [c for c in _columns(con, here, table) if c in old]
    if cols:
        col_list = ", ".join(f'"{c}"' for c in cols)
        con.execute(f"INSERT INTO audit.{table} ({col_list}) SELECT {col_list} "
                    f"FROM {ALIAS}.audit.{table}")


def _previous(con: duckdb.DuckDBPyConnection, old_file: Path, sites: list[str]) -> dict[str, tuple]:
    """Copy the old warehouse's delivery records forward; return each loaded site's current
    delivery there: site -> (RUN_ID, DATACUT, ARCHIVE_PATH)."""
    literal = str(old_file).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS {ALIAS} (READ_ONLY)")
    try:
        _carry(con, "deliveries")
        _carry(con, "changes")
        rows = con.execute(f"SELECT SITEID, RUN_ID, DATACUT, ARCHIVE_PATH FROM {ALIAS}.sdtm.exports "
                           "WHERE list_contains(?, SITEID)", [sites]).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}
    finally:
        con.execute(f"DETACH {ALIAS}")


def _archived_frames(archive: str | None) -> dict[str, pl.DataFrame] | None:
    """The previous delivery's frames as read from its archived copy; None if it is gone."""
    from etl.read import read_export

    if not archive or not Path(archive).exists():
        return None
    with work_folder("previous") as work:
        export, _problems = read_export(Path(archive), Path(work))
        return {d: f.frame for d, f in export.files.items()}


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("_delivery_frame", frame.to_arrow())
    try:
        col_list = ", ".join(f'"{c}"' for c in frame.columns)
        con.execute(f"INSERT INTO audit.{table} ({col_list}) SELECT {col_list} FROM _delivery_frame")
    finally:
        con.unregister("_delivery_frame")


def record_deliveries(con: duckdb.DuckDBPyConnection, old_file: Path, exports: list[Export],
                      record: dict, loaded_at: dt.datetime,
                      progress: Callable[[str], None] | None = None) -> None:
    """Write this load's audit.deliveries and audit.changes rows into the new warehouse ``con``
    (module docstring). ``record``: the run's record (run_id, user, host)."""
    sites = sorted(e.siteid for e in exports)
    previous = _previous(con, old_file, sites) if old_file.exists() else {}
    for e in sorted(exports, key=lambda e: e.siteid):
        prev_run, prev_cut, archive = previous.get(e.siteid, (None, None, None))
        frames = _archived_frames(archive) if prev_run else None
        if prev_run and frames is None and progress:
            progress(f"site {e.siteid}: the previous delivery's archived copy {archive} is gone; "
                     "its changes cannot be listed")
        changes = (delivery_changes(frames, {d: f.frame for d, f in e.files.items()}, prev_cut)
                   if frames is not None else pl.DataFrame(schema=CHANGE_SCHEMA))
        if progress and frames is not None:
            progress(f"site {e.siteid}: {changes.height} change(s) since delivery {prev_run}")
        if changes.height:
            _insert(con, "changes", changes.with_columns(
                pl.lit(record["run_id"]).alias("RUN_ID"), pl.lit(e.siteid).alias("SITEID"),
                pl.lit(prev_run, dtype=pl.String).alias("PREV_RUN_ID")))
        count = lambda kind: int((changes["CHANGE"] == kind).sum())  # noqa: E731
        con.execute(
            "INSERT INTO audit.deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [record["run_id"], e.siteid, e.data_cut, loaded_at, record.get("user"),
             record.get("host"), prev_run, prev_cut, "Y" if frames is not None else "N",
             count("added"), count("removed"), count("changed"),
             int((changes["RETROFL"] == "Y").sum())])
