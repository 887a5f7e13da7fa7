"""The suites' row conditions, evaluated in Polars at Great Expectations' edge (issue 15).

A conditional expectation of a suite (``kwargs.row_condition``: "LBCAT is HEMATOLOGY where
LBTESTCD == WBC") costs Great Expectations' pandas engine a ``DataFrame.query`` per expectation
and per run: about 9.5 ms against 2.5 ms for the same expectation without a condition (55 of the
238 expectations, half the validation time of the 10-subject demo, measured 2026-12-04). So the
validator hands GX, for each such expectation, the same expectation without its condition on a
*masked* column: the column's value on the rows where the condition holds, null elsewhere. GX's
column-map expectations (in set, regex, between, null) skip null values, so the rows GX finds
unexpected are exactly the rows the conditional expectation finds; the rule, the value set and
the check stay GX's. The suite files are not changed: they remain the reviewable record, with
their conditions.

The condition's meaning is pandas' (GX builds ``DataFrame.query`` clauses from it,
``PandasExecutionEngine._comparison_condition_to_filter_clause``): on the exports' string columns
a missing value is not equal to anything (``==`` false, ``!=`` true) and in no list (``IN`` false,
``NOT_IN`` true). A condition of any other form is left to GX as it is (``mask`` returns None).
tests/test_validate_conditions.py checks both against GX itself.
"""
from __future__ import annotations

import polars as pl

MASK_SEP = "__when"   # masked column: LBCAT -> LBCAT__when3 (the expectation's index in its suite)


def mask(condition: dict) -> pl.Expr | None:
    """The rows where a suite's ``row_condition`` holds, as a boolean Polars expression that is
    never null; None for a form this module does not translate."""
    kind = condition.get("type")
    if kind == "comparison":
        column, op = condition["column"]["name"], condition["operator"]
        value = condition["parameter"]
        col = pl.col(column)
        if op == "==" and isinstance(value, str):
            return col.eq_missing(value)
        if op == "!=" and isinstance(value, str):
            return col.ne_missing(value)
        listed = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if op in ("IN", "NOT_IN") and listed:
            inside = col.is_in(value).fill_null(False)
            return inside if op == "IN" else ~inside
        return None
    if kind in ("and", "or"):
        parts = [mask(c) for c in condition.get("conditions") or []]
        if not parts or any(p is None for p in parts):
            return None
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if kind == "and" else (out | p)
        return out
    return None


def condition_columns(condition: dict) -> set[str] | None:
    """The columns a suite's ``row_condition`` reads; None for a form this module does not know
    (then GX must see every column of the batch)."""
    kind = condition.get("type") if isinstance(condition, dict) else None
    if kind == "comparison" and isinstance(condition.get("column"), dict):
        name = condition["column"].get("name")
        return {name} if isinstance(name, str) else None
    if kind in ("and", "or"):
        parts = [condition_columns(c) for c in condition.get("conditions") or []]
        if not parts or any(p is None for p in parts):
            return None
        return set().union(*parts)
    return None


def source_column(column: str) -> str:
    """The column a (possibly masked) GX column was made from: LBCAT__when3 -> LBCAT."""
    return column.split(MASK_SEP, 1)[0]


def unconditioned(expectations: list[dict]) -> tuple[list[dict], dict[str, pl.Expr]]:
    """The suite's expectations with every translatable row condition replaced by a masked
    column, and the expressions that make those columns (name -> expression) from a batch."""
    out: list[dict] = []
    columns: dict[str, pl.Expr] = {}
    for i, e in enumerate(expectations):
        kwargs = e.get("kwargs", {})
        condition = kwargs.get("row_condition")
        rows = mask(condition) if isinstance(condition, dict) and "column" in kwargs else None
        if rows is None:
            out.append(e)
            continue
        name = f"{kwargs['column']}{MASK_SEP}{i}"
        columns[name] = pl.when(rows).then(pl.col(kwargs["column"])).otherwise(None).alias(name)
        plain = {k: v for k, v in kwargs.items() if k not in ("row_condition", "condition_parser")}
        out.append({**e, "kwargs": {**plain, "column": name}})
    return out, columns
