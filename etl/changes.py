"""What a site's new delivery changed against its previous accepted one (issue 13).

A plain function over the two deliveries' frames as read (``etl.read``: every column a string,
an empty field a null), domain by domain, matched on each domain's natural key
(``etl.contract.NATURAL_KEYS``): rows **added** (key only in the new delivery), **removed** (only
in the previous one) and **changed** (same key, a different value: one row per column, old and
new value as delivered). The ``--SEQ`` columns are the site's row numbers, which a site may
renumber when it inserts a record: they are neither key nor compared.

A key occurring more than once in a delivery (e.g. two records of one test on one date) is paired
by its order of occurrence: the first with the first, and so on.

**Retroactive** (``RETROFL = 'Y'``): a changed or removed record dated (``RECORD_DATE``; a
partial date by its earliest possible day) on or before the previous delivery's data cut: the site
altered data that had already been delivered as complete. An added record is never retroactive
(a late entry is ordinary; the validator judges its dates).

A SLEDAI-2K item change brings its assessment's total with it (the total must be the items' sum):
the total's change is then shown as the item change's ``CONTEXT``, not as a change of its own.

No Streamlit, no file system: ``etl.deliveries`` reads the frames and stores the result in
``audit.changes``.
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping

import polars as pl

from etl.contract import DOMAINS, NATURAL_KEYS, RECORD_DATE, SEQ_COLUMN, SLEDAI_ITEMS, SLEDAI_TOTAL
from etl.dates import earliest_day

CHANGE_SCHEMA = {
    "DOMAIN": pl.String, "USUBJID": pl.String, "RECORD_KEY": pl.String, "VISIT": pl.String,
    "RECORD_DATE": pl.String, "CHANGE": pl.String, "COLUMN_NAME": pl.String,
    "OLD_VALUE": pl.String, "NEW_VALUE": pl.String, "RETROFL": pl.String, "CONTEXT": pl.String,
}
_OCC = "__occurrence"
_OLD = "__old"
_KEY = "__key_"


def empty_changes() -> pl.DataFrame:
    return pl.DataFrame(schema=CHANGE_SCHEMA)


def _prepared(frame: pl.DataFrame | None, keys: tuple[str, ...], columns: list[str]) -> pl.DataFrame:
    if frame is None:
        frame = pl.DataFrame(schema={c: pl.String for c in columns})
    missing = [c for c in columns if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)
    return (frame.select(columns).with_columns(pl.col(c).cast(pl.String) for c in columns)
            .with_columns(pl.int_range(pl.len()).over(list(keys)).alias(_OCC)))


def _record_key(keys: tuple[str, ...]) -> pl.Expr:
    parts = [pl.lit(f"{k}=") + pl.col(k).fill_null("") for k in keys if k != "USUBJID"]
    return pl.concat_str(parts, separator="; ") if parts else pl.lit("")


def domain_changes(domain: str, previous: pl.DataFrame | None, new: pl.DataFrame | None,
                   previous_cut: dt.date | None) -> pl.DataFrame:
    """The changes of one domain (module docstring), in ``CHANGE_SCHEMA``."""
    keys = NATURAL_KEYS[domain]
    seen = [c for f in (previous, new) if f is not None for c in f.columns]
    columns = list(dict.fromkeys([*keys, *(c for c in seen if c != SEQ_COLUMN.get(domain))]))
    compared = [c for c in columns if c not in keys]
    old = _prepared(previous, keys, columns)
    cur = _prepared(new, keys, columns)
    old = old.rename({c: c + _OLD for c in compared}).with_columns(pl.lit(True).alias("__in_old"))
    cur = cur.with_columns(pl.lit(True).alias("__in_new"))
    both = cur.join(old, on=[*keys, _OCC], how="full", coalesce=True, nulls_equal=True)
    in_old = pl.col("__in_old").fill_null(False)
    in_new = pl.col("__in_new").fill_null(False)

    date_col = RECORD_DATE[domain]
    visit = (pl.col("VISIT").fill_null(pl.col("VISIT" + _OLD)) if "VISIT" in compared
             else pl.lit(None, dtype=pl.String))
    base = both.with_columns(
        pl.lit(domain).alias("DOMAIN"), _record_key(keys).alias("RECORD_KEY"), visit.alias("VISIT"),
        (pl.col(date_col) if date_col in keys else
         pl.col(date_col).fill_null(pl.col(date_col + _OLD))).alias("RECORD_DATE"))
    if previous_cut is None:
        retro = pl.lit(False)
    else:
        retro = (earliest_day(pl.col("RECORD_DATE")) <= pl.lit(previous_cut)).fill_null(False)
    base = base.with_columns(retro.alias("__retro"))

    def rows(frame: pl.DataFrame, change: str, column: pl.Expr, old_v: pl.Expr, new_v: pl.Expr,
             retro_ok: bool) -> pl.DataFrame:
        return frame.select(
            "DOMAIN", "USUBJID", "RECORD_KEY", "VISIT", "RECORD_DATE",
            pl.lit(change).alias("CHANGE"), column.alias("COLUMN_NAME"),
            old_v.cast(pl.String).alias("OLD_VALUE"), new_v.cast(pl.String).alias("NEW_VALUE"),
            pl.when(pl.col("__retro") & pl.lit(retro_ok)).then(pl.lit("Y")).otherwise(pl.lit("N"))
            .alias("RETROFL"), pl.lit(None, dtype=pl.String).alias("CONTEXT"),
            *(pl.col(k).alias(_KEY + k) for k in keys))

    none = pl.lit(None, dtype=pl.String)
    out = [rows(base.filter(in_new & ~in_old), "added", none, none, none, False),
           rows(base.filter(in_old & ~in_new), "removed", none, none, none, True)]
    matched = base.filter(in_old & in_new)
    for c in compared:
        differs = matched.filter(pl.col(c).ne_missing(pl.col(c + _OLD)))
        if differs.height:
            out.append(rows(differs, "changed", pl.lit(c), pl.col(c + _OLD), pl.col(c), True))
    changes = pl.concat(out)
    if domain == "qs":
        changes = _fold_sledai_totals(changes)
    return (changes.drop([c for c in changes.columns if c.startswith(_KEY)])
            .sort("USUBJID", "RECORD_KEY", "CHANGE", "COLUMN_NAME", nulls_last=True))


def _fold_sledai_totals(changes: pl.DataFrame) -> pl.DataFrame:
    """A SLEDAI-2K item cannot change without its assessment's total (R-SLEDAI: the total is the
    sum of the items, or the export is refused). So the total's change is not listed as a change
    of its own where an item of the same subject and date changed; each such item change carries
    it as CONTEXT ("SLEDAI-2K total (SLEDAITS) 10 -> 12")."""
    code, date = _KEY + "QSTESTCD", _KEY + "QSDTC"
    items = changes.filter(pl.col(code).is_in(list(SLEDAI_ITEMS)))
    touched = items.select("USUBJID", date).unique()
    total = pl.col(code) == SLEDAI_TOTAL
    totals = (changes.filter(total & (pl.col("CHANGE") == "changed")
                             & (pl.col("COLUMN_NAME") == "QSSTRESN"))
              .select("USUBJID", date, (pl.lit(f"SLEDAI-2K total ({SLEDAI_TOTAL}) ")
                                        + pl.col("OLD_VALUE").fill_null("") + pl.lit(" -> ")
                                        + pl.col("NEW_VALUE").fill_null("")).alias("__context")))
    folded = changes.join(touched.with_columns(pl.lit(True).alias("__touched")),
                          on=["USUBJID", date], how="left", nulls_equal=True)
    folded = folded.filter(~(total & (pl.col("CHANGE") == "changed")
                             & pl.col("__touched").fill_null(False)))
    folded = folded.join(totals, on=["USUBJID", date], how="left", nulls_equal=True)
    return folded.with_columns(
        pl.when(pl.col(code).is_in(list(SLEDAI_ITEMS))).then(pl.col("__context"))
        .otherwise(pl.col("CONTEXT")).alias("CONTEXT")).drop("__touched", "__context")


def delivery_changes(previous: Mapping[str, pl.DataFrame], new: Mapping[str, pl.DataFrame],
                     previous_cut: dt.date | None) -> pl.DataFrame:
    """Every change from the previous accepted delivery (``previous``: domain -> frame as read) to
    the new one (``new``), domain by domain in the contract's order (module docstring). A domain
    in neither delivery has no change; a domain in only one has all its rows added or removed."""
    out = [domain_changes(d, previous.get(d), new.get(d), previous_cut)
           for d in DOMAINS if d in previous or d in new]
    return pl.concat(out) if out else empty_changes()
