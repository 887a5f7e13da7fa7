"""Data-quality warnings for the data-quality page: loaded, never refused.

- R-SLEDAI consistency, compared within the same subject and VISIT: LOWCOMP vs C3/C4/CH50 below
  LBSTNRLO; INCDNA vs DDNAIGAB above LBSTNRHI; THROMBO vs PLAT < 100; LEUKOPEN vs WBC < 3
  (10^3/uL) -- both ways. A lab that was not done, or has no limit to compare with, gives none.
- R-PSL (1.1): an enrolled subject with no glucocorticoid row at all (ITEM 'NO_GLUCOCORTICOID'),
  so the site can send the missing medication rows; the dose stays unknown (etl.derive.psl).
"""
from __future__ import annotations

import polars as pl

from etl.derive.sledai import SLEDAI_CAT

CHECKS = ("LOWCOMP", "INCDNA", "THROMBO", "LEUKOPEN")


def lab_says_present(lb: pl.DataFrame) -> pl.DataFrame:
    """R-SLEDAI: per subject, VISIT and item: LABFL (True: the labs show the descriptor; False:
    measured and they do not) and LABTXT (the values, e.g. 'C3 62 < 80')."""
    l = lb.filter(pl.col("LBSTRESN").is_not_null()
                  & (pl.col("LBSTAT").is_null() | (pl.col("LBSTAT") != "NOT DONE")))
    v, lo, hi = pl.col("LBSTRESN"), pl.col("LBSTNRLO"), pl.col("LBSTNRHI")
    code = pl.col("LBTESTCD")
    item = (pl.when(code.is_in(["C3", "C4", "CH50"])).then(pl.lit("LOWCOMP"))
            .when(code == "DDNAIGAB").then(pl.lit("INCDNA"))
            .when(code == "PLAT").then(pl.lit("THROMBO"))
            .when(code == "WBC").then(pl.lit("LEUKOPEN")).otherwise(None))
    abn = (pl.when(code.is_in(["C3", "C4", "CH50"])).then(pl.when(lo.is_null()).then(None).otherwise(v < lo))
           .when(code == "DDNAIGAB").then(pl.when(hi.is_null()).then(None).otherwise(v > hi))
           .when(code == "PLAT").then(v < 100)
           .when(code == "WBC").then(v < 3))
    limit = (pl.when(code.is_in(["C3", "C4", "CH50"])).then(lo)
             .when(code == "DDNAIGAB").then(hi).when(code == "PLAT").then(pl.lit(100.0))
             .otherwise(pl.lit(3.0)))
    txt = pl.format("{} {} {} {}", code, v, pl.when(abn).then(pl.when(code == "DDNAIGAB").then(pl.lit(">"))
                                                         .otherwise(pl.lit("<")))
                    .otherwise(pl.when(code == "DDNAIGAB").then(pl.lit("<=")).otherwise(pl.lit(">="))), limit)
    return (l.with_columns(ITEM=item, ABN=abn, TXT=txt)
            .filter(pl.col("ITEM").is_not_null() & pl.col("ABN").is_not_null())
            .sort("USUBJID", "VISIT", "LBTESTCD", "LBDT", "LBSEQ")
            .group_by("USUBJID", "SITEID", "VISIT", "ITEM", maintain_order=True)
            .agg(LABFL=pl.col("ABN").any(), LABTXT=pl.col("TXT").str.join(", "), LDT=pl.col("LBDT").min()))


NO_GC_ITEM = "NO_GLUCOCORTICOID"
NO_GC_DETAIL = ("no glucocorticoid row in cm.csv: the prednisolone dose is unknown, so C4, DORIS, "
                "the cumulative dose and PSL discontinuation are missing (R-PSL); the protocol "
                "starts PSL for every enrolled subject: ask the site for the medication rows")


def no_glucocorticoid_warnings(adsl: pl.DataFrame, cm: pl.DataFrame) -> pl.DataFrame:
    """R-PSL 1.1: one warning per enrolled subject (ENRLFL 'Y') without any CMCAT =
    GLUCOCORTICOID row (the same test as etl.derive.psl.gc_recorded); VISIT and ADT null."""
    from etl.derive.psl import gc_recorded
    return (adsl.filter(pl.col("ENRLFL") == "Y").select("USUBJID", "SITEID")
            .join(gc_recorded(cm), on="USUBJID", how="anti")
            .with_columns(VISIT=pl.lit(None, dtype=pl.String), ADT=pl.lit(None, dtype=pl.Date),
                          ITEM=pl.lit(NO_GC_ITEM), DETAIL=pl.lit(NO_GC_DETAIL)))


def build_dq_warnings(qs: pl.DataFrame, lb: pl.DataFrame, adsl: pl.DataFrame | None = None,
                      cm: pl.DataFrame | None = None) -> pl.DataFrame:
    """adam.dq_warnings: R-SLEDAI item absent while the labs show it, and present while the
    measured labs do not; and (given ``adsl`` and ``cm``) R-PSL's subjects without any
    glucocorticoid row."""
    items = (qs.filter((pl.col("QSCAT") == SLEDAI_CAT) & pl.col("QSTESTCD").is_in(CHECKS))
             .select("USUBJID", "VISIT", pl.col("QSTESTCD").alias("ITEM"), "QSDT",
                     (pl.col("QSORRES").str.to_uppercase() == "PRESENT").alias("ITEMFL")))
    j = items.join(lab_says_present(lb), on=["USUBJID", "VISIT", "ITEM"], how="inner")
    out = (j.filter(pl.col("ITEMFL") != pl.col("LABFL"))
           .with_columns(ADT=pl.coalesce("QSDT", "LDT"),
                         DETAIL=pl.when(pl.col("LABFL"))
                         .then(pl.format("{} absent while {}", pl.col("ITEM"), pl.col("LABTXT")))
                         .otherwise(pl.format("{} present while {}", pl.col("ITEM"), pl.col("LABTXT")))))
    cols = ["USUBJID", "SITEID", "VISIT", "ADT", "ITEM", "DETAIL"]
    parts = [out.select(cols)]
    if adsl is not None and cm is not None:
        parts.append(no_glucocorticoid_warnings(adsl, cm).select(cols))
    schema = {"USUBJID": pl.String, "SITEID": pl.String, "VISIT": pl.String, "ADT": pl.Date,
              "ITEM": pl.String, "DETAIL": pl.String}
    return (pl.concat([p.cast(schema) for p in parts])
            .sort("USUBJID", "ADT", "VISIT", "ITEM", nulls_last=True))
