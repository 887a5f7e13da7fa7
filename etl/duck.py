"""Small DuckDB helpers shared by the writers of a new warehouse file (``etl.sdtm_write``,
``etl.audit``): column lists, quoting, copying an attached old warehouse's rows by the columns
both files have, inserting a Polars frame."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import duckdb
import polars as pl


@contextlib.contextmanager
def attached(con: duckdb.DuckDBPyConnection, path: Path, alias: str) -> Iterator[None]:
    """``path`` attached read-only as ``alias`` for the block."""
    literal = str(path).replace("'", "''")
    con.execute(f"ATTACH '{literal}' AS {alias} (READ_ONLY)")
    try:
        yield
    finally:
        con.execute(f"DETACH {alias}")


def columns(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = ? AND "
        "table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, table]).fetchall()
    return [r[0] for r in rows]


def quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def copy_common_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str,
                        where: str = "", params: list | None = None) -> bool:
    """INSERT into ``schema.table`` the rows of ``old_wh.schema.table`` (attached), by the columns
    both have. False when the old warehouse has no such table (one built before it existed)."""
    old_cols = set(columns(con, "old_wh", schema, table))
    if not old_cols:
        return False
    cols = [c for c in columns(con, current_catalog(con), schema, table) if c in old_cols]
    col_list = ", ".join(quote(c) for c in cols)
    con.execute(f"INSERT INTO {schema}.{table} ({col_list}) SELECT {col_list} FROM "
                f"old_wh.{schema}.{table} {where}", params or [])
    return True


def current_catalog(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchone()[0]


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("_frame", frame.to_arrow())
    try:
        col_list = ", ".join(quote(c) for c in frame.columns)
        con.execute(f"INSERT INTO {table} ({col_list}) SELECT {col_list} FROM _frame")
    finally:
        con.unregister("_frame")

