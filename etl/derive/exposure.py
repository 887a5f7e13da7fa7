"""ADEX: infusions done and planned infusions missed while due (R-DAY, R-PROTOCOL)."""
from __future__ import annotations

import polars as pl

from etl.contract import VISITS
from etl.derive.study_day import oowfl_expr, study_day_expr, week_expr

PROTOCOL_DOSE = 300.0
# Planned infusion visits (WEEK 0-20): VISIT -> (week, nominal day, last day of window).
# WEEK 24's infusion is optional (continuation), so it is never "missed".
PLANNED = {v: (s[1], s[2], s[2] + s[3]) for v, s in VISITS.items() if s[4]}


def missed_infusion(visit: str, cutdy: int | None, eos_day: int | None, given: bool) -> bool:
    """R-PROTOCOL: a planned infusion (WEEK 0-20) is missed when its window end (nominal + 7) is
    on or before the data cut, no ex row has that VISIT, and the subject had not discontinued
    before its nominal day (``eos_day``: study day of a discontinuation, else None)."""
    if visit not in PLANNED or given or cutdy is None:
        return False
    _, nominal, window_end = PLANNED[visit]
    if eos_day is not None and eos_day < nominal:
        return False
    return window_end <= cutdy


ADEX_COLUMNS = ["USUBJID", "SITEID", "EXSEQ", "AVISIT", "AVISITN", "VISITNUM", "ASTDTM", "AENDTM",
                "ADT", "ADY", "EXDOSE", "DURMIN", "OOWFL", "MISSFL", "DOSEDVFL"]


def build_adex(ex: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """ADEX: each ex row (ADY, DURMIN, OOWFL, DOSEDVFL 'Y' when EXDOSE != 300, MISSFL 'N') plus,
    for each FAS subject, one row per missed planned infusion (EXSEQ null, ADT/ADY nominal,
    MISSFL 'Y'), per :func:`missed_infusion`."""
    subj = adsl.select("USUBJID", "SITEID", "TRTSDT", "CUTDY", "EOSSTT", "EOSDT", "FASFL")
    done = (ex.drop("SITEID", strict=False).join(subj, on="USUBJID", how="left")
            .with_columns(AVISIT=pl.col("VISIT"), AVISITN=week_expr("VISIT"),
                          ASTDTM=pl.coalesce("EXSTDTM", pl.col("EXSTDT").cast(pl.Datetime("us"))),
                          AENDTM=pl.coalesce("EXENDTM", pl.col("EXENDT").cast(pl.Datetime("us"))),
                          ADT=pl.col("EXSTDT"))
            .with_columns(ADY=study_day_expr("ADT", "TRTSDT"),
                          DURMIN=(pl.col("AENDTM") - pl.col("ASTDTM")).dt.total_seconds() / 60.0,
                          DOSEDVFL=pl.when(pl.col("EXDOSE") != PROTOCOL_DOSE).then(pl.lit("Y")).otherwise(pl.lit("N")),
                          MISSFL=pl.lit("N"))
            .with_columns(OOWFL=oowfl_expr("VISIT", "ADY")))
    given = ex.select("USUBJID", "VISIT").unique().with_columns(GIVEN=pl.lit(True))
    planned = pl.DataFrame({"AVISIT": list(PLANNED),
                            "AVISITN": [p[0] for p in PLANNED.values()],
                            "NOMDY": [p[1] for p in PLANNED.values()],
                            "WINEND": [p[2] for p in PLANNED.values()]},
                           schema={"AVISIT": pl.String, "AVISITN": pl.Int32, "NOMDY": pl.Int32,
                                   "WINEND": pl.Int32})
    eos_day = pl.when(pl.col("EOSSTT") == "DISCONTINUED").then(study_day_expr("EOSDT", "TRTSDT"))
    missed = (subj.filter((pl.col("FASFL") == "Y") & pl.col("TRTSDT").is_not_null())
              .join(planned, how="cross")
              .join(given, left_on=["USUBJID", "AVISIT"], right_on=["USUBJID", "VISIT"], how="left")
              .with_columns(EOSDY=eos_day)
              .filter(pl.col("GIVEN").is_null() & (pl.col("WINEND") <= pl.col("CUTDY"))
                      & (pl.col("EOSDY").is_null() | (pl.col("EOSDY") >= pl.col("NOMDY"))))
              .with_columns(EXSEQ=pl.lit(None, dtype=pl.Int64),
                            VISITNUM=pl.col("AVISIT").replace_strict({v: s[0] for v, s in VISITS.items()},
                                                                     return_dtype=pl.Int64),
                            ASTDTM=pl.lit(None, dtype=pl.Datetime("us")),
                            AENDTM=pl.lit(None, dtype=pl.Datetime("us")),
                            ADT=pl.col("TRTSDT") + pl.duration(days=pl.col("NOMDY") - 1),
                            ADY=pl.col("NOMDY"), EXDOSE=pl.lit(None, dtype=pl.Float64),
                            DURMIN=pl.lit(None, dtype=pl.Float64), OOWFL=pl.lit(None, dtype=pl.String),
                            MISSFL=pl.lit("Y"), DOSEDVFL=pl.lit(None, dtype=pl.String)))
    schema = {"EXSEQ": pl.Int64, "AVISITN": pl.Int32, "VISITNUM": pl.Int64, "ADY": pl.Int32,
              "EXDOSE": pl.Float64, "DURMIN": pl.Float64}
    parts = [done.select(ADEX_COLUMNS).cast(schema), missed.select(ADEX_COLUMNS).cast(schema)]
    return pl.concat(parts, how="vertical_relaxed").sort("USUBJID", "VISITNUM", "ADT", "EXSEQ",
                                                         nulls_last=True)
