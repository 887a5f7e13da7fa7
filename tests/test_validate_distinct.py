"""Great Expectations on a column group's distinct rows (etl/validate.py ``_GxRunner._pandas``).

A batch of GROUP_MIN_ROWS rows or more reaches GX as, per column group, the distinct rows of the
group's columns, each once; a failing distinct row is turned back into every row of every file
of the batch that holds it (``_rows_of``). These tests run the validator as the ETL runs it, with
GROUP_MIN_ROWS lowered to 0 so the demo's small files take that path, and check by hand:

1. A bad value repeated on several rows of one file and in a second file of the same batch, and a
   missing required value on several rows: every one of those rows is named, with its file, row
   and value; GX saw the SEX column's distinct values only (fewer rows than the batch).
2. An expectation that is not judged row by row (``mostly``: a share of the rows, duplicates
   count) runs on every row: ``mostly`` 0.7 on SEX passes on the rows (9 good of 12 non-empty,
   0.75) and would fail on the distinct values (1 good of 2, 0.5).
3. ``_row_local``: each of its conditions decides.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

import etl.validate as validate
from etl.read import read_export

DEMO = Path(__file__).resolve().parent.parent / "demo" / "exports"
ALLOWED = "not one of the allowed values: M, F"
REQUIRED = "required value missing (column is R: never empty)"


def _with(frame: pl.DataFrame, column: str, values: dict[int, str | None]) -> pl.DataFrame:
    """The frame with ``column`` set to ``values`` at the given frame indexes."""
    cells = frame.get_column(column).to_list()
    for i, v in values.items():
        cells[i] = v
    return frame.with_columns(pl.Series(column, cells, dtype=pl.String))


@pytest.fixture
def dm_files(tmp_path) -> list:
    """The demo's two dm.csv files (7 and 6 rows), read as the ETL reads them."""
    files = []
    for site in sorted(DEMO.iterdir()):
        export, problems = read_export(site, tmp_path / site.name)
        assert not problems
        files.append(export.files["dm"])
    assert [ef.rows for ef in files] == [7, 6]
    return files


def _seen(monkeypatch) -> list:
    """The pandas frames GX is given, as (GX columns of the frame, rows): GX runs in this process
    (one worker) for the test to see them."""
    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "1")
    frames: list = []
    engine = validate._engine()
    real = engine._part

    def spy(suite, frame, index):
        frames.append((list(frame.columns), len(frame)))
        return real(suite, frame, index)
    monkeypatch.setattr(engine, "_part", spy)
    return frames


def test_every_row_holding_a_failing_distinct_value_is_named(dm_files, monkeypatch):
    one, two = dm_files
    # File 1: SEX "X" at frame indexes 1 and 3 (file rows 3, 5), empty at 5 (row 7); AGE empty
    # at 0 and 4 (rows 2, 6). File 2: SEX "X" at index 2 (row 4). Worked out on paper below.
    one = dataclasses.replace(
        one, sha256="one", frame=_with(_with(one.frame, "SEX", {1: "X", 3: "X", 5: None}),
                                       "AGE", {0: None, 4: None}))
    two = dataclasses.replace(two, sha256="two", frame=_with(two.frame, "SEX", {2: "X"}))
    runner = validate._runner()
    monkeypatch.setattr(validate, "GROUP_MIN_ROWS", 0)
    seen = _seen(monkeypatch)
    found = runner.run_files("dm", [one, two])

    assert sorted(found["one"], key=repr) == sorted([
        (3, "SEX", "X", ALLOWED), (5, "SEX", "X", ALLOWED), (7, "SEX", None, REQUIRED),
        (2, "AGE", None, REQUIRED), (6, "AGE", None, REQUIRED)], key=repr)
    assert found["two"] == [(4, "SEX", "X", ALLOWED)]
    # GX was given SEX's distinct values (with the key), not the batch's 13 rows.
    sex = {v for ef in (one, two) for v in ef.frame.get_column("SEX").to_list()}
    assert sex == {"F", "X", None}                  # the demo's subjects are all women
    assert (["SEX", validate.KEY_COLUMN], len(sex)) in [(sorted(c), n) for c, n in seen]
    assert all(n < 13 for _c, n in seen if "SEX" in _c)


def test_an_expectation_over_a_share_of_the_rows_runs_on_every_row(dm_files, monkeypatch):
    one, two = dm_files
    # 12 non-empty SEX values after the change: 3 "X" (file 1 rows 3, 5; file 2 row 4), 9 "F",
    # and one empty (file 1 row 7). mostly 0.7: 9/12 = 0.75 passes on the rows; on the distinct
    # non-empty values {F, X} 1/2 = 0.5 would fail.
    one = dataclasses.replace(one, sha256="one-mostly",
                              frame=_with(one.frame, "SEX", {1: "X", 3: "X", 5: None}))
    two = dataclasses.replace(two, sha256="two-mostly", frame=_with(two.frame, "SEX", {2: "X"}))
    sex = [v for ef in (one, two) for v in ef.frame.get_column("SEX").to_list()]
    assert (sex.count("F"), sex.count("X"), sex.count(None)) == (9, 3, 1)
    suite = validate.load_suite_json("dm")
    for e in suite["expectations"]:
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "SEX":
            e["kwargs"]["mostly"] = 0.7
    text = json.dumps(suite)
    monkeypatch.setattr(validate, "load_suite_json", lambda d: json.loads(text))
    monkeypatch.setattr(validate, "_suite_sha256",
                        lambda d: hashlib.sha256(text.encode()).hexdigest())
    runner = validate._GxRunner()   # a plan of its own: the suite file's text is ours
    monkeypatch.setattr(validate, "GROUP_MIN_ROWS", 0)
    seen = _seen(monkeypatch)
    found = runner.run_files("dm", [one, two])

    assert found["one-mostly"] == [(7, "SEX", None, REQUIRED)]   # the empty one, not the Xs
    assert found["two-mostly"] == []
    assert ([validate.FILE_COLUMN, validate.ROW_COLUMN, "SEX"], 13) in seen   # every row


@pytest.mark.parametrize("expectation, row_local", [
    ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "SEX"}}, True),
    ({"type": "expect_column_values_to_be_in_set",
      "kwargs": {"column": "SEX", "mostly": 0.9}}, False),                   # a share of rows
    ({"type": "expect_column_values_to_be_in_set",
      "kwargs": {"column": "SEX", "mostly": 1.0}}, True),                    # every row, still
    ({"type": "expect_column_values_to_be_unique", "kwargs": {"column": "SEX"}}, False),
    ({"type": "expect_column_mean_to_be_between", "kwargs": {"column": "AGE"}}, False),
    ({"type": "expect_column_pair_values_to_be_equal",
      "kwargs": {"column_A": "A", "column_B": "B"}}, False),                 # no one column
])
def test_which_expectations_run_on_distinct_rows(expectation, row_local):
    assert validate._row_local(expectation) is row_local
