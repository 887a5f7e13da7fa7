"""Protocol checks for the PI (R-PROTOCOL): flags, never refusals. Enrolled subjects only."""
from __future__ import annotations

import polars as pl

from etl.contract import (AGE_RANGE, CEILING_DAYS, CEILING_MG_PER_KG, MAX_DAYS_PSL_TO_INFUSION,
                          PRIMARY_WEEK, PSL_TARGET_MG)
from etl.derive.lldas import dose_at_most

AGE_MIN, AGE_MAX = AGE_RANGE
FLAG_COLUMNS = ["USUBJID", "SITEID", "FLAGCD", "ADT", "DETAIL"]


def late_first_infusion(adsl: pl.DataFrame) -> pl.DataFrame:
    """R-PROTOCOL: first infusion more than 14 days after PSL initiation (TRTSDT - PSLSTDT > 14)."""
    gap = (pl.col("TRTSDT") - pl.col("PSLSTDT")).dt.total_days()
    return (adsl.filter((pl.col("ENRLFL") == "Y") & (gap > MAX_DAYS_PSL_TO_INFUSION))
            .with_columns(FLAGCD=pl.lit("LATE_FIRST_INFUSION"), ADT=pl.col("TRTSDT"),
                          DETAIL=pl.format("first infusion {} days after PSL initiation ({}); limit 14",
                                           gap, pl.col("PSLSTDT").cast(pl.String)))
            .select(FLAG_COLUMNS))


def psl_above_ceiling(adsl: pl.DataFrame, daily: pl.DataFrame) -> pl.DataFrame:
    """R-PROTOCOL: a daily dose on any of the first 14 days of PSL (initiation .. initiation+13)
    above 0.6 mg/kg x WEIGHTBL. One flag per subject, ADT = first such day."""
    d = (daily.join(adsl.filter(pl.col("ENRLFL") == "Y").select("USUBJID", "PSLSTDT", "WEIGHTBL"), on="USUBJID")
         .with_columns(CEIL=pl.col("WEIGHTBL") * CEILING_MG_PER_KG)
         .filter(((pl.col("ADT") - pl.col("PSLSTDT")).dt.total_days() < CEILING_DAYS)
                 & (pl.col("PSLDOSE") > pl.col("CEIL")))
         .sort("USUBJID", "ADT"))
    return (d.group_by("USUBJID", "SITEID", maintain_order=True)
            .agg(ADT=pl.col("ADT").first(), N=pl.len(), MAXD=pl.col("PSLDOSE").max(),
                 CEIL=pl.col("CEIL").first(), W=pl.col("WEIGHTBL").first(),
                 PULSE=(pl.col("PULSEFL") == "Y").any())
            .with_columns(FLAGCD=pl.lit("PSL_ABOVE_CEILING"),
                          DETAIL=pl.format("{} of the first 14 PSL days above {} mg/day (0.6 mg/kg x {} kg); max {} mg/day{}",
                                           pl.col("N"), pl.col("CEIL").round(2), pl.col("W"),
                                           pl.col("MAXD").round(2),
                                           pl.when(pl.col("PULSE")).then(pl.lit(" (pulse days included)"))
                                           .otherwise(pl.lit(""))))
            .select(FLAG_COLUMNS))


def psl_above_target_week12(adpslwk: pl.DataFrame) -> pl.DataFrame:
    """R-PROTOCOL: dose above 7.5 mg/day on the week-12 date (the PI may justify it)."""
    return (adpslwk.filter((pl.col("AVISITN") == PRIMARY_WEEK) & ~dose_at_most("PSLDOSE", PSL_TARGET_MG))
            .with_columns(FLAGCD=pl.lit("PSL_ABOVE_7_5_WK12"), ADT=pl.col("WKDT"),
                          DETAIL=pl.format("{} mg/day on the week-12 date; target <= 7.5", pl.col("PSLDOSE")))
            .select(FLAG_COLUMNS))


def infusion_flags(adex: pl.DataFrame) -> pl.DataFrame:
    """R-PROTOCOL: infusion with EXDOSE != 300, outside its visit window, or missed though due."""
    parts = [
        adex.filter(pl.col("DOSEDVFL") == "Y").with_columns(
            FLAGCD=pl.lit("EXDOSE_NOT_300"),
            DETAIL=pl.format("{}: EXDOSE {} mg (protocol 300)", pl.col("AVISIT"), pl.col("EXDOSE"))),
        adex.filter(pl.col("OOWFL") == "Y").with_columns(
            FLAGCD=pl.lit("INFUSION_OUT_OF_WINDOW"),
            DETAIL=pl.format("{} given on day {}", pl.col("AVISIT"), pl.col("ADY"))),
        adex.filter(pl.col("MISSFL") == "Y").with_columns(
            FLAGCD=pl.lit("INFUSION_MISSED"),
            DETAIL=pl.format("{} infusion (nominal day {}) not given; window closed", pl.col("AVISIT"), pl.col("ADY"))),
    ]
    return pl.concat([p.select(FLAG_COLUMNS) for p in parts])


def age_out_of_range(adsl: pl.DataFrame) -> pl.DataFrame:
    """R-PROTOCOL: enrolled subject aged outside 18-79 at consent."""
    return (adsl.filter((pl.col("ENRLFL") == "Y")
                        & ((pl.col("AGE") < AGE_MIN) | (pl.col("AGE") > AGE_MAX)))
            .with_columns(FLAGCD=pl.lit("AGE_OUT_OF_RANGE"), ADT=pl.col("RFICDT"),
                          DETAIL=pl.format("age {} at consent; protocol 18-79", pl.col("AGE")))
            .select(FLAG_COLUMNS))


def build_protocol_flags(adsl, daily, adpslwk, adex) -> pl.DataFrame:
    """adam.protocol_flags: every R-PROTOCOL flag, sorted by subject, date and code."""
    schema = {"USUBJID": pl.String, "SITEID": pl.String, "FLAGCD": pl.String, "ADT": pl.Date,
              "DETAIL": pl.String}
    parts = [late_first_infusion(adsl), psl_above_ceiling(adsl, daily),
             psl_above_target_week12(adpslwk), infusion_flags(adex), age_out_of_range(adsl)]
    return (pl.concat([p.cast(schema) for p in parts])
            .sort("USUBJID", "ADT", "FLAGCD", "DETAIL", nulls_last=True))
