"""ADSL baseline characteristics for the committee's demographics table (R-SLEDAI, R-PGA, R-PSL,
R-LAB's baseline convention).

Baseline of a value is the latest non-missing value on or before day 1 (the first infusion,
ADSL.TRTSDT): the WEEK 0 assessment or sample, else screening (R-LAB 1.1 states it for
laboratory values; the same reading is used for SLEDAI-2K and PGA). A subject never dosed has no
day 1 and so no baseline. The PSL dose at initiation is the daily prednisolone-equivalent dose
on the date of PSL initiation (ADSL.PSLSTDT, R-PSL), pulses included as R-PSL counts them.
"""
from __future__ import annotations

import polars as pl

# ADSL column -> ADLB PARAMCD
LAB_BASELINES = {"C3BL": "C3", "C4BL": "C4", "CH50BL": "CH50", "DSDNABL": "DDNAIGAB"}
BASELINE_COLUMNS = ["USUBJID", "SLEDAIBL", "PGABL", *LAB_BASELINES, "PSLDOSBL"]


def _latest_on_or_before_day1(frame: pl.DataFrame, value: str, day1: pl.DataFrame,
                              by: list[str] = ()) -> pl.DataFrame:
    return (frame.filter(pl.col(value).is_not_null())
            .join(day1, on="USUBJID")
            .filter(pl.col("ADT") <= pl.col("TRTSDT"))
            .sort("USUBJID", *by, "ADT")
            .group_by("USUBJID", *by).agg(pl.col(value).last()))


def baseline_characteristics(adsl: pl.DataFrame, adlldas: pl.DataFrame, adlb: pl.DataFrame,
                             adpsl: pl.DataFrame) -> pl.DataFrame:
    """USUBJID, SLEDAIBL (SLEDAI-2K total), PGABL, C3BL, C4BL, CH50BL, DSDNABL (anti-dsDNA),
    PSLDOSBL (mg/day at PSL initiation), for every ADSL subject (nulls where unknown)."""
    day1 = adsl.filter(pl.col("TRTSDT").is_not_null()).select("USUBJID", "TRTSDT")
    out = adsl.select("USUBJID")
    for col, src in (("SLEDAIBL", "SLEDAI"), ("PGABL", "PGA")):
        out = out.join(_latest_on_or_before_day1(adlldas, src, day1).rename({src: col}),
                       on="USUBJID", how="left")
    labs = _latest_on_or_before_day1(adlb.filter(pl.col("PARAMCD").is_in(list(LAB_BASELINES.values()))),
                                     "AVAL", day1, ["PARAMCD"])
    for col, code in LAB_BASELINES.items():
        out = out.join(labs.filter(pl.col("PARAMCD") == code).select("USUBJID", pl.col("AVAL").alias(col)),
                       on="USUBJID", how="left")
    init = (adpsl.join(adsl.select("USUBJID", "PSLSTDT"), on="USUBJID")
            .filter(pl.col("ADT") == pl.col("PSLSTDT")).select("USUBJID", PSLDOSBL=pl.col("PSLDOSE")))
    out = out.join(init, on="USUBJID", how="left")
    return out.with_columns(pl.col("SLEDAIBL").cast(pl.Int32)).select(BASELINE_COLUMNS).sort("USUBJID")
