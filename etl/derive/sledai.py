"""SLEDAI-2K scoring (R-SLEDAI) and the physician global assessment (R-PGA).

The rule scores a descriptor "if present at the visit or in the preceding 10 days". The export
carries one SLEDAI-2K assessment per visit date with each item already judged PRESENT/ABSENT by
the investigator under that 10-day convention, so the items are scored **as delivered**: an item
is present when its ``QSORRES`` is ``PRESENT`` on that assessment. Nothing is carried over from
other dates here.
"""
from __future__ import annotations

import polars as pl

from etl.contract import PGA_TESTCD, SLEDAI_ITEMS

SLEDAI_CAT = "SLEDAI-2K"
PGA_CAT = "PHYSICIAN GLOBAL ASSESSMENT"
ITEM_ORDER = list(SLEDAI_ITEMS)                       # contract order, used for SLEDAIPR
SEROLOGY_ITEMS = ("LOWCOMP", "INCDNA")                # excluded from "clinical" SLEDAI (R-DORIS)
LLDAS_C1_GROUPS = ("CNS", "renal", "cardiorespiratory", "vasculitis", "constitutional (fever)")


def sledai_scores(qs: pl.DataFrame) -> pl.DataFrame:
    """R-SLEDAI: one row per subject and SLEDAI-2K assessment (USUBJID, VISIT, VISITNUM, ADT).

    Columns: ``SLEDAI`` (total recomputed from the items, Int32), ``SLEDAIPR`` (descriptors
    present in the rule's table order, '; '-joined, '' when none), ``PRESENT`` (list of codes),
    ``CLINSLED`` (clinical SLEDAI, R-DORIS), ``C1GRPFL`` ('Y' a descriptor of the CNS, renal,
    cardiorespiratory, vasculitis or fever groups is present, R-LLDAS C1).
    The total row ``SLEDAITS`` is ignored: validation has already checked it agrees.
    """
    items = qs.filter((pl.col("QSCAT") == SLEDAI_CAT) & pl.col("QSTESTCD").is_in(ITEM_ORDER))
    order = {c: i for i, c in enumerate(ITEM_ORDER)}
    weight = {c: s[1] for c, s in SLEDAI_ITEMS.items()}
    c1_items = [c for c, s in SLEDAI_ITEMS.items() if s[2] in LLDAS_C1_GROUPS]
    present = pl.col("QSORRES").str.to_uppercase() == "PRESENT"
    items = items.with_columns(
        PRESENTFL=present,
        W=pl.col("QSTESTCD").replace_strict(weight, return_dtype=pl.Int32),
        ORD=pl.col("QSTESTCD").replace_strict(order, return_dtype=pl.Int32),
    ).sort("USUBJID", "QSDT", "ORD")
    keys = ["USUBJID", "VISIT", "VISITNUM", "QSDT"]
    out = items.group_by(keys, maintain_order=True).agg(
        SLEDAI=pl.col("W").filter(pl.col("PRESENTFL")).sum().cast(pl.Int32),
        PRESENT=pl.col("QSTESTCD").filter(pl.col("PRESENTFL")),
        CLINSLED=pl.col("W").filter(pl.col("PRESENTFL")
                                    & ~pl.col("QSTESTCD").is_in(SEROLOGY_ITEMS)).sum().cast(pl.Int32),
        C1GRPFL=pl.col("QSTESTCD").filter(pl.col("PRESENTFL")).is_in(c1_items).any(),
    )
    return (out.with_columns(SLEDAIPR=pl.col("PRESENT").list.join("; "),
                             C1GRPFL=pl.when(pl.col("C1GRPFL")).then(pl.lit("Y")).otherwise(pl.lit("N")))
            .rename({"QSDT": "ADT"})
            .select("USUBJID", "VISIT", "VISITNUM", "ADT", "SLEDAI", "SLEDAIPR", "PRESENT",
                    "CLINSLED", "C1GRPFL")
            .sort("USUBJID", "ADT", "VISITNUM"))


def pga_scores(qs: pl.DataFrame) -> pl.DataFrame:
    """R-PGA: PGA (0.0-3.0) per subject and assessment (USUBJID, VISIT, VISITNUM, ADT, PGA)."""
    return (qs.filter((pl.col("QSCAT") == PGA_CAT) & (pl.col("QSTESTCD") == PGA_TESTCD))
            .select("USUBJID", "VISIT", "VISITNUM", pl.col("QSDT").alias("ADT"),
                    pl.col("QSSTRESN").round(1).alias("PGA"))
            .unique(["USUBJID", "VISIT", "VISITNUM", "ADT"], keep="first", maintain_order=True)
            .sort("USUBJID", "ADT", "VISITNUM"))
