"""Bounded batches (issue 15): the files of a domain go to Great Expectations and to the sdtm
tables in groups of about N rows (etl.model.row_batches), and grouping them changes nothing in
what is written."""
from __future__ import annotations

import duckdb
import polars as pl

from etl import sdtm_write
from etl.contract import DOMAINS
from etl.load import load_exports
from etl.model import ExportFile, row_batches
from tests.conftest import DEMO_EXPORTS


def files(*rows: int) -> list[ExportFile]:
    return [ExportFile(name=f"f{i}.csv", domain="ae", sha256=str(i), encoding="utf-8",
                       frame=pl.DataFrame({"A": ["x"] * n}, schema={"A": pl.String}))
            for i, n in enumerate(rows)]


def sizes(groups: list[list[ExportFile]]) -> list[list[int]]:
    return [[f.rows for f in g] for g in groups]


def test_a_group_takes_files_until_it_holds_the_limit():
    # Worked by hand, limit 4: 3 (<4, take the next) + 1 = 4 (full); 4 (full); 1 + 5 = 6.
    assert sizes(row_batches(files(3, 1, 4, 1, 5), 4)) == [[3, 1], [4], [1, 5]]
    # A file larger than the limit is never split, and never joins the group before it.
    assert sizes(row_batches(files(1, 9, 2), 1)) == [[1], [9], [2]]
    assert sizes(row_batches(files(2, 9), 3)) == [[2, 9]]      # 2 < 3: the group takes the 9
    assert sizes(row_batches(files(3, 9), 3)) == [[3], [9]]    # 3 = 3: the group is full
    assert row_batches([], 4) == []
    # Order is kept: the files come out as they went in.
    fs = files(2, 2, 2, 2, 2)
    assert [f.name for g in row_batches(fs, 3) for f in g] == [f.name for f in fs]


def sdtm_rows(wh) -> dict[str, list[tuple]]:
    """Every sdtm domain table's rows in the order they were inserted (DuckDB's rowid)."""
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return {d: con.execute(f"SELECT * FROM sdtm.{d} ORDER BY rowid").fetchall()
                for d in DOMAINS}
    finally:
        con.close()


def test_one_insert_per_file_writes_what_one_insert_per_domain_writes(tmp_path, monkeypatch):
    exports = sorted(DEMO_EXPORTS.iterdir())
    assert len(exports) >= 2          # several files per domain, so the grouping has work to do
    whole = load_exports(exports, tmp_path / "whole" / "trial.duckdb")
    monkeypatch.setattr(sdtm_write, "WRITE_BATCH_ROWS", 1)        # every file its own insert
    inserts = []
    real_insert = sdtm_write.insert_frame
    monkeypatch.setattr(sdtm_write, "insert_frame",
                        lambda con, table, frame: (inserts.append(table),
                                                   real_insert(con, table, frame)))
    split = load_exports(exports, tmp_path / "split" / "trial.duckdb")
    assert whole.outcome == split.outcome == "loaded"
    # One insert per export and domain present: the setting did split the writes.
    present = sum(1 for e in exports for d in DOMAINS if (e / f"{d}.csv").exists())
    assert len(inserts) == present
    a = sdtm_rows(tmp_path / "whole" / "trial.duckdb")
    b = sdtm_rows(tmp_path / "split" / "trial.duckdb")
    assert all(a[d] for d in ("dm", "ae", "lb"))
    # The sdtm domain tables hold the exports' data only (no run id), so the two loads' rows,
    # in insertion order, are the same.
    assert a == b


def test_an_absent_optional_column_is_typed_as_the_column_is():
    """etl.sdtm.to_sdtm: lb.csv without its optional LBSTRESN / LBSTNRLO (numbers) and LBSTAT
    (text) gives nulls of the same types as a file that has them, so exports with and without
    them go into one insert (pl.concat refuses a String column beside a Float64 one)."""
    from etl.sdtm import to_sdtm
    from tests.derive_fixtures import raw

    full = raw("lb", [{"LBTESTCD": "ALT", "LBSTRESN": "30", "LBSTNRLO": "5", "LBSTAT": None}])
    lacking = full.drop("LBSTRESN", "LBSTNRLO", "LBSTAT")
    a, b = to_sdtm("lb", full), to_sdtm("lb", lacking)
    assert a.schema == b.schema
    assert (a.schema["LBSTRESN"], a.schema["LBSTNRLO"], a.schema["LBSTAT"]) == \
        (pl.Float64, pl.Float64, pl.String)
    assert b.select("LBSTRESN", "LBSTNRLO", "LBSTAT").row(0) == (None, None, None)
    assert pl.concat([a, b]).height == 2
