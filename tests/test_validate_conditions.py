"""The suites' row conditions evaluated in Polars (etl/conditions.py, issue 15) mean what Great
Expectations means by them.

1. ``mask`` on a hand-made frame, for every condition form the suites use and the two they do
   not (NOT_IN, or), with missing values: the rows worked out on paper below, and the rows GX's
   own pandas engine keeps for the same condition (``_apply_row_condition_filter``, the code GX
   runs for a conditional expectation).
2. The validator as the ETL runs it (``_GxRunner``, conditions in Polars) against the same runner
   with GX evaluating every condition itself, on the demo's files corrupted so that every
   conditional expectation of every suite fails on some rows: the same problems, row for row.
"""
from __future__ import annotations

import random

import polars as pl
import pytest

from etl.conditions import condition_columns, mask, source_column, unconditioned
from etl.contract import DOMAINS
from etl.validate import _GxRunner, load_suite_json
from tests.conftest import corrupted

# A:  X     Y     None  X     Z
# B:  1     None  2     3     1
FRAME = pl.DataFrame({"A": ["X", "Y", None, "X", "Z"], "B": ["1", None, "2", "3", "1"]})


def cmp(column: str, op: str, value) -> dict:
    return {"type": "comparison", "column": {"name": column}, "operator": op, "parameter": value}


CASES = [
    # condition, rows where it holds (by hand: a missing value equals nothing and is in no list)
    (cmp("A", "==", "X"), [0, 3]),
    (cmp("A", "!=", "X"), [1, 2, 4]),                 # None != "X" holds, as in pandas
    (cmp("A", "IN", ["X", "Z"]), [0, 3, 4]),
    (cmp("A", "NOT_IN", ["X"]), [1, 2, 4]),
    ({"type": "and", "conditions": [cmp("A", "==", "X"), cmp("B", "!=", "1")]}, [3]),
    ({"type": "and", "conditions": [cmp("A", "!=", "Y"), cmp("B", "!=", "1")]}, [2, 3]),
    ({"type": "or", "conditions": [cmp("A", "==", "Y"), cmp("B", "==", "2")]}, [1, 2]),
]


@pytest.mark.parametrize("condition,expected", CASES)
def test_mask_keeps_the_rows_worked_out_by_hand_and_the_rows_gx_keeps(condition, expected):
    from great_expectations.execution_engine import PandasExecutionEngine
    ours = FRAME.with_row_index("i").filter(mask(condition))["i"].to_list()
    gx_rows = PandasExecutionEngine()._apply_row_condition_filter(
        FRAME.to_pandas(), condition, {}).index.to_list()
    assert ours == expected
    assert gx_rows == expected


def test_other_forms_are_left_to_gx():
    """Forms the module does not translate stay conditional expectations (GX evaluates them)."""
    for condition in (cmp("A", "<", "X"), cmp("A", "==", 3), {"type": "nullity"}):
        assert mask(condition) is None
    e = {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "B", "value_set": ["1"], "row_condition": cmp("A", ">", "X")}}
    plain = {"type": "expect_column_values_to_be_in_set",
             "kwargs": {"column": "B", "value_set": ["1"]}}
    translatable = {**e, "kwargs": {**e["kwargs"], "row_condition": cmp("A", "==", "X")}}
    out, columns = unconditioned([e, plain, translatable])
    assert out[0] == e and out[1] == plain
    assert not any("row_condition" in x["kwargs"] for x in out[1:])
    assert list(columns) == ["B__when2"] and out[2]["kwargs"]["column"] == "B__when2"
    assert source_column("B__when2") == "B"
    assert source_column("LBSTRESN__num__when7") == "LBSTRESN__num"
    masked = FRAME.with_columns(columns["B__when2"])["B__when2"].to_list()
    assert masked == ["1", None, None, "3", None]      # B where A == X, else missing


@pytest.mark.parametrize("ours_grouped, theirs_grouped", [
    (False, False),   # the demo's size: each batch runs its whole suite at once
    (True, False),    # ours by column groups (a large batch) against GX on the whole frame
    (False, True),    # GX evaluating the conditions itself on each group's frame
], ids=["whole-whole", "groups-whole", "whole-groups"])
def test_the_etls_runner_finds_the_problems_gx_finds_evaluating_the_conditions_itself(
        tmp_path, monkeypatch, ours_grouped, theirs_grouped):
    import dataclasses
    from pathlib import Path

    import etl.validate as validate

    from etl.read import read_export
    demo = Path(__file__).resolve().parent.parent / "demo" / "exports"
    rng = random.Random(20261204)
    ours, theirs = _GxRunner(), _GxRunner(conditions_in_polars=False)
    conditional = {d: [e for e in load_suite_json(d)["expectations"]
                       if "row_condition" in e["kwargs"]] for d in DOMAINS}
    files: dict[str, list] = {d: [] for d in DOMAINS if conditional[d]}
    for site in sorted(demo.iterdir()):
        export, problems = read_export(site, tmp_path / site.name)
        assert not problems
        for domain, mine in conditional.items():
            if not mine or domain not in export.files:
                continue
            columns = sorted({e["kwargs"]["column"].removesuffix("__num") for e in mine}
                             | set().union(*(condition_columns(e["kwargs"]["row_condition"])
                                             for e in mine)))
            ef = export.files[domain]
            bad = corrupted(ef.frame, rng, columns, share=0.35, min_rows=200)
            files[domain].append(dataclasses.replace(ef, frame=bad, sha256=ef.sha256 + "-corrupted"))
    jobs = list(files.items())          # each domain: both sites' files in one batch
    default = validate.GROUP_MIN_ROWS
    assert all(sum(ef.rows for ef in fs) < default for _d, fs in jobs)

    def run(runner, grouped):
        # GROUP_MIN_ROWS 0: every batch by column groups (the demo's batches are below it).
        monkeypatch.setattr(validate, "GROUP_MIN_ROWS", 0 if grouped else default)
        return runner.run_domains(jobs)
    a, b = run(ours, ours_grouped), run(theirs, theirs_grouped)
    found: list[tuple] = []
    for domain, fs in jobs:
        for ef in fs:
            mine, gx = a[domain][ef.sha256], b[domain][ef.sha256]
            assert sorted(mine, key=repr) == sorted(gx, key=repr), domain
            found += mine
    # The corruption reached every conditional expectation: each refused some rows (a date
    # rule's text is the date parser's reason for the value, so it is matched by its column).
    met = {(column, rule) for _row, column, _value, rule in found}
    for e in (e for mine in conditional.values() for e in mine):
        column = e["kwargs"]["column"].removesuffix("__num")
        assert any(c == column and (r == e["meta"]["rule"] or "dtc_partial_ok" in e["meta"])
                   for c, r in met), (column, e["meta"]["rule"])


def test_the_columns_a_condition_reads():
    """etl.conditions.condition_columns: what a GX column group must hold besides its column
    (etl/validate.py ``_GxRunner.groups``); None, every column, for a form it does not know."""
    assert condition_columns(cmp("A", "==", "X")) == {"A"}
    nested = {"type": "or", "conditions": [cmp("A", "==", "X"), {"type": "and", "conditions": [
        cmp("B", "!=", "1"), cmp("C", "IN", ["Z"])]}]}
    assert condition_columns(nested) == {"A", "B", "C"}
    assert condition_columns({"type": "not", "condition": cmp("A", "==", "X")}) is None
    assert condition_columns({"type": "and", "conditions": [cmp("A", "==", "X"), "B == 1"]}) is None
    assert condition_columns({"type": "and", "conditions": []}) is None
    assert condition_columns("A == 'X'") is None


def test_each_group_reads_only_its_columns_and_every_expectation_is_in_one():
    """_GxRunner.groups on the LB suite: with conditions in Polars, every group holds one GX
    column (a contract column, a numeric helper or a masked column); with GX evaluating the
    conditions, a conditional expectation's group holds its column and the condition's columns;
    both ways every expectation of the suite is in exactly one group."""
    suite = load_suite_json("lb")
    conditional = [e for e in suite["expectations"] if e["kwargs"].get("row_condition")]
    assert conditional
    for in_polars in (True, False):
        groups = _GxRunner(conditions_in_polars=in_polars).groups("lb")
        assert sum(len(exps) for _c, (_key, exps), _r in groups) == len(suite["expectations"])
        for cols, (_key, expectations), _row_local in groups:
            for e in expectations:
                condition = e["kwargs"].get("row_condition")
                wanted = {e["kwargs"]["column"]} | (condition_columns(condition)
                                       if not in_polars and condition else set())
                assert set(cols) == wanted if in_polars else wanted <= set(cols)
        if in_polars:
            assert all(len(cols) == 1 for cols, _g, _r in groups)
        else:
            assert any(len(cols) > 1 for cols, _g, _r in groups)
