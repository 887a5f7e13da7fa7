"""ADEX: infusions done and planned infusions missed while due (R-DAY, R-PROTOCOL)."""
from __future__ import annotations

import polars as pl

from etl.contract import PROTOCOL_DOSE_MG, VISITS
from etl.derive.study_day import oowfl_expr, study_day_expr, week_expr

PROTOCOL_DOSE = PROTOCOL_DOSE_MG
# Planned infusion visits (WEEK 0-20): VISIT -> (week, nominal day, last day of window).
# WEEK 24's infusion is optional (continuation), so it is never "missed".
PLANNED = {v: (s[1], s[2], s[2] + s[3]) for v, s in VISITS.items() if s[4]}


ADEX_COLUMNS = ["USUBJID", "SITEID", "EXSEQ", "AVISIT", "AVISITN", "VISITNUM", "ASTDTM", "AENDTM",
                "ADT", "ADY", "EXDOSE", "DURMIN", "OOWFL", "MISSFL", "DOSEDVFL"]


def build_adex(ex: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """ADEX: each ex row (ADY, DURMIN, OOWFL, DOSEDVFL 'Y' when EXDOSE != 300, MISSFL 'N') plus,
    for each FAS subject, one row per missed planned infusion (EXSEQ null, ADT/ADY nominal,
    MISSFL 'Y').

    R-PROTOCOL "a planned infusion missing though due", with R-DAY 1.1's end of observation: a
    planned infusion (WEEK 0-20) is missed when its window's last day (nominal + 7) is on or before
    the subject's last observed day (ADSL.OBSENDY: the end of study or the data cut, whichever is
    first) and no ex row has that VISIT. A subject who left the study before a window closed has
    not missed that infusion."""
    subj = adsl.select("USUBJID", "SITEID", "TRTSDT", "OBSENDY", "FASFL")
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
    missed = (subj.filter((pl.col("FASFL") == "Y") & pl.col("TRTSDT").is_not_null())
              .join(planned, how="cross")
              .join(given, left_on=["USUBJID", "AVISIT"], right_on=["USUBJID", "VISIT"], how="left")
              .filter(pl.col("GIVEN").is_null() & (pl.col("WINEND") <= pl.col("OBSENDY")))
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
