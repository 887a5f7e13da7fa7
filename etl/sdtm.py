"""Raw export frames (all strings) -> typed ``sdtm`` frames, as the loader writes them.

Typing rules (warehouse/schema.sql): integers for --SEQ, AGE, VISITNUM; floats for doses and
standard results; every ``--DTC`` kept as delivered text with a typed DATE column beside it
(``AESTDTC`` -> ``AESTDT``, null when partial) and, where a time may be given, a TIMESTAMP
(``EXSTDTC`` -> ``EXSTDTM``); ``SITEID`` added to every domain from USUBJID. Call only on frames
that passed validation: values that do not parse become null here rather than raising.
"""
from __future__ import annotations

import polars as pl

from etl.contract import COLUMNS, DATE_COLUMNS
from etl.dates import date_expr, datetime_expr

INTEGER_COLUMNS = {"AGE", "VISITNUM", "DSSEQ", "IESEQ", "EXSEQ", "CMSEQ", "VSSEQ", "LBSEQ",
                   "QSSEQ", "AESEQ"}
FLOAT_COLUMNS = {"EXDOSE", "CMDOSE", "VSSTRESN", "LBSTRESN", "LBSTNRLO", "LBSTNRHI", "QSSTRESN"}


def typed_name(dtc_column: str, kind: str) -> str:
    """``AESTDTC`` -> ``AESTDT`` (kind 'date') or ``AESTDTM`` (kind 'datetime')."""
    base = dtc_column[:-1]
    return base if kind == "date" else base + "M"


def to_sdtm(domain: str, raw: pl.DataFrame) -> pl.DataFrame:
    """Type one validated domain frame for the ``sdtm`` schema."""
    exprs: list[pl.Expr] = []
    for col, status in COLUMNS[domain].items():
        if col in raw.columns:
            c = pl.col(col).cast(pl.String).str.strip_chars()
            c = pl.when(c == "").then(None).otherwise(c)
        else:   # an optional column absent: nulls, typed below as the column is
            c = pl.lit(None, dtype=pl.String)
        if col in INTEGER_COLUMNS:
            exprs.append(c.cast(pl.Int64, strict=False).alias(col))
        elif col in FLOAT_COLUMNS:
            exprs.append(c.cast(pl.Float64, strict=False).alias(col))
        else:
            exprs.append(c.alias(col))
    out = raw.select(exprs)
    extra: list[pl.Expr] = []
    for col in DATE_COLUMNS[domain]:
        extra.append(date_expr(col).alias(typed_name(col, "date")))
        if domain in ("ex",):
            extra.append(datetime_expr(col).alias(typed_name(col, "datetime")))
    if "SITEID" not in out.columns:
        extra.append(pl.col("USUBJID").str.split("-").list.get(1, null_on_oob=True).alias("SITEID"))
    return out.with_columns(extra)
