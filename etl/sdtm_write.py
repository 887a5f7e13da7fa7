"""The ``sdtm`` layer of a new warehouse file: the typed tables, the rows of the sites not in this
load (copied from the current warehouse), the loaded sites' typed frames and ``sdtm.exports``."""
from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from etl.contract import COLUMNS, DOMAINS
from etl.duck import attached, copy_common_columns, insert_frame
from etl.model import Export, Progress, row_batches, say
from etl.sdtm import to_sdtm


def sdtm_empty_frame(domain: str) -> pl.DataFrame:
    """The typed shape of ``sdtm.<domain>``: every contract column, SITEID, typed date columns."""
    raw = pl.DataFrame({c: pl.Series(c, [], dtype=pl.String) for c in COLUMNS[domain]})
    return to_sdtm(domain, raw)


def create_sdtm_tables(con: duckdb.DuckDBPyConnection) -> None:
    for domain in DOMAINS:
        con.register("_shape", sdtm_empty_frame(domain).to_arrow())
        con.execute(f"CREATE TABLE sdtm.{domain} AS SELECT * FROM _shape")
        con.unregister("_shape")


def copy_other_sites(con: duckdb.DuckDBPyConnection, old: Path, new_cuts: dict[str, object],
                     progress: Progress) -> dict[str, object]:
    """Copy every sdtm row of the sites not in this load (``new_cuts``: site -> its new data cut)
    from the current warehouse, and return each loaded site's previous data cut
    (sdtm.exports.PREV_DATACUT, provenance only).

    The previous export of a loaded site is the latest one with an EARLIER data cut: when the new
    cut is later than the current one, that is the current export's cut; when it is the same cut
    delivered again (a correction), the current export's own previous cut is kept."""
    new_sites = sorted(new_cuts)
    with attached(con, old, "old_wh"):
        kept = con.execute("SELECT SITEID FROM old_wh.sdtm.exports WHERE NOT list_contains(?, SITEID) "
                           "ORDER BY SITEID", [new_sites]).fetchall()
        if kept:
            say(progress, "keeping site(s) " + ", ".join(r[0] for r in kept)
                + " as they are in the current warehouse...")
        for table in ("exports",) + DOMAINS:   # the sites not in this load
            copy_common_columns(con, "sdtm", table, "WHERE NOT list_contains(?, SITEID)",
                                [new_sites])
        previous: dict[str, object] = {}
        for site in new_sites:
            row = con.execute("SELECT DATACUT, PREV_DATACUT FROM old_wh.sdtm.exports "
                              "WHERE SITEID = ?", [site]).fetchone()
            if row is None:
                continue                               # the site's first export
            previous[site] = row[0] if row[0] < new_cuts[site] else row[1]
        return previous


WRITE_BATCH_ROWS = 250_000   # rows per sdtm insert (a file is never split): bounds the write's memory


def write_sdtm(con: duckdb.DuckDBPyConnection, old_file: Path, exports: list[Export], run_id: str,
               loaded_at, archive_paths: dict[str, Path], progress: Progress = None) -> None:
    """Every ``sdtm`` table of the new file: the other sites as they are, these exports typed."""
    create_sdtm_tables(con)
    new_cuts = {e.siteid: e.data_cut for e in exports}
    previous_cuts = copy_other_sites(con, old_file, new_cuts, progress) if old_file.exists() else {}
    # The exports' rows go in per domain, in the exports' order, several exports per insert up
    # to WRITE_BATCH_ROWS rows: one insert per export and domain was about 40% slower than one
    # per domain (10,000 subjects in 20 sites), but one insert of a whole domain held about
    # 1.1 GB beside the exports' frames at 10,000 subjects (the load's peak memory, issue 15);
    # inserts of about 250,000 rows held about 350 MB, for +0.7 s (3.3 -> 4.0 s; 500,000 rows:
    # 470 MB, +0.2 s; measured 2026-12-04). The typed frames of one insert are chained, not
    # copied into one (rechunk=False).
    for domain in DOMAINS:
        parts = [(e.siteid, e.files[domain]) for e in exports if domain in e.files]
        if not parts:
            continue
        sites = ", ".join(str(site) for site, _f in parts)
        say(progress, f"writing site{'s' if len(parts) > 1 else ''} {sites}: sdtm.{domain} "
                      f"({sum(f.rows for _s, f in parts)} rows)...")
        for batch in row_batches([f for _s, f in parts], WRITE_BATCH_ROWS):
            insert_frame(con, f"sdtm.{domain}", pl.concat(
                [to_sdtm(domain, f.frame) for f in batch], how="vertical", rechunk=False))
    for e in exports:
        con.execute("INSERT INTO sdtm.exports VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [e.siteid, e.data_cut, e.data_cut_source, run_id, loaded_at,
                     str(archive_paths[e.siteid]), previous_cuts.get(e.siteid)])
