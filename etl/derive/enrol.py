"""ADSL: screening, enrollment, disposition and subject status (R-ENROL, R-DAY, R-ENDPOINT)."""
from __future__ import annotations

import polars as pl

from etl.contract import CRITERIA
from etl.contract import CEILING_MG_PER_KG
from etl.derive.exposure import treatment_exposure
from etl.derive.study_day import nominal_day, study_day_expr

EVENT = "DISPOSITION EVENT"
CRIT_ORDER = {c: i for i, c in enumerate(CRITERIA)}


def observation_end_expr(eosdt: str = "EOSDT", datacut: str = "DATACUT") -> pl.Expr:
    """R-DAY "End of observation" (rules 1.1): the end of study (EOSDT, the subject's DISPOSITION
    EVENT) or the data cut, whichever comes first; the data cut while the subject is in the study.
    The one place this is computed: ADSL.OBSENDT, and every derivation that stops there reads it."""
    return pl.min_horizontal(eosdt, datacut)


def subject_base(dm: pl.DataFrame, ds: pl.DataFrame, ex: pl.DataFrame,
                 exports: pl.DataFrame) -> pl.DataFrame:
    """R-DAY: USUBJID, SITEID, TRTSDT (first infusion: RFSTDTC, else the earliest ex date),
    DATACUT (the subject's site data cut, sdtm.exports), EOSDT (end of study, :func:`disposition`)
    and OBSENDT (end of observation, :func:`observation_end_expr`)."""
    first_ex = ex.group_by("USUBJID").agg(EXFIRST=pl.col("EXSTDT").min())
    return (dm.select("USUBJID", "SITEID", "RFSTDT")
            .join(first_ex, on="USUBJID", how="left")
            .join(exports.select("SITEID", "DATACUT"), on="SITEID", how="left")
            .join(disposition(ds).select("USUBJID", "EOSDT"), on="USUBJID", how="left")
            .with_columns(TRTSDT=pl.coalesce("RFSTDT", "EXFIRST"), OBSENDT=observation_end_expr())
            .select("USUBJID", "SITEID", "TRTSDT", "DATACUT", "EOSDT", "OBSENDT").sort("USUBJID"))


def screen_failure_reasons(ie: pl.DataFrame) -> pl.DataFrame:
    """R-ENROL: SCRFREAS ('IN03; EX08': failed criterion codes in the registry's order) and
    SCRFRTXT (their texts from the contract's criteria list) per subject with ie rows."""
    return (ie.with_columns(ORD=pl.col("IETESTCD").replace_strict(CRIT_ORDER, default=99,
                                                                 return_dtype=pl.Int32),
                            TXT=pl.col("IETESTCD").replace_strict(CRITERIA, default=None,
                                                                  return_dtype=pl.String))
            .with_columns(TXT=pl.coalesce("TXT", "IETEST"))
            .unique(["USUBJID", "IETESTCD"]).sort("USUBJID", "ORD")
            .group_by("USUBJID", maintain_order=True)
            .agg(SCRFREAS=pl.col("IETESTCD").str.join("; "), SCRFRTXT=pl.col("TXT").str.join("; ")))


def disposition(ds: pl.DataFrame) -> pl.DataFrame:
    """R-ENROL: ENRLDT (ENROLLED milestone) and the end of study from the latest DISPOSITION
    EVENT: EOSSTT 'COMPLETED' / 'DISCONTINUED' ('SCREEN FAILURE' for that event), DCSREAS
    (the DSDECOD of a discontinuation), EOSDT."""
    enr = (ds.filter((pl.col("DSCAT") == "PROTOCOL MILESTONE") & (pl.col("DSDECOD") == "ENROLLED"))
           .group_by("USUBJID").agg(ENRLDT=pl.col("DSSTDT").min()))
    ev = (ds.filter(pl.col("DSCAT") == EVENT).sort("USUBJID", "DSSTDT", "DSSEQ")
          .group_by("USUBJID", maintain_order=True).agg(pl.col("DSDECOD").last(), EOSDT=pl.col("DSSTDT").last())
          .with_columns(EOSSTT=pl.when(pl.col("DSDECOD") == "COMPLETED").then(pl.lit("COMPLETED"))
                        .when(pl.col("DSDECOD") == "SCREEN FAILURE").then(pl.lit("SCREEN FAILURE"))
                        .otherwise(pl.lit("DISCONTINUED")))
          .with_columns(DCSREAS=pl.when(pl.col("EOSSTT") == "DISCONTINUED").then(pl.col("DSDECOD"))
                        .otherwise(None))
          .drop("DSDECOD"))
    return enr.join(ev, on="USUBJID", how="full", coalesce=True)


def subjstat_expr() -> pl.Expr:
    """R-ENROL/R-ENDPOINT: SUBJSTAT, first that applies: 'SCREEN FAILED'; 'DISCONTINUED';
    'ENROLLED, NOT DOSED' (no infusion: not in the FAS); 'COMPLETED WEEK 24' (EOSSTT COMPLETED or the
    WEEK 24 visit done); 'REACHED WEEK 12' (WEEK 12 visit done or observed up to day 85 or later);
    else 'ON TREATMENT'. Needs SCRFFL, EOSSTT, TRTSDT, WK12DONE, WK24DONE, OBSENDY, FASFL."""
    return (pl.when(pl.col("SCRFFL") == "Y").then(pl.lit("SCREEN FAILED"))
            .when(pl.col("EOSSTT") == "DISCONTINUED").then(pl.lit("DISCONTINUED"))
            .when(pl.col("FASFL") != "Y").then(pl.lit("ENROLLED, NOT DOSED"))
            .when((pl.col("EOSSTT") == "COMPLETED") | pl.col("WK24DONE")).then(pl.lit("COMPLETED WEEK 24"))
            .when(pl.col("WK12DONE") | (pl.col("OBSENDY") >= nominal_day(12))).then(pl.lit("REACHED WEEK 12"))
            .otherwise(pl.lit("ON TREATMENT")))


ADSL_COLUMNS = ["USUBJID", "SITEID", "SUBJID", "AGE", "SEX", "ARMCD", "SCRNFL", "SCRFFL", "ENRLFL",
                "ENRLDT", "SCRFREAS", "SCRFRTXT", "RFICDT", "TRTSDT", "PSLSTDT", "WEIGHTBL", "FASFL",
                "EOSSTT", "DCSREAS", "EOSDT", "DATACUT", "CUTDY", "OBSENDT", "OBSENDY", "SUBJSTAT",
                "PSLCEIL", "NINFUS", "TRTEDT", "EXPENDT", "TRTDURD", "TRTDURY", "DTHFL", "DTHDT"]


def death_from_disposition(ds: pl.DataFrame) -> pl.DataFrame:
    """ADSL DTHFL 'Y' and DTHDT for each subject with a ``DISPOSITION EVENT`` ``DEATH`` in ds.csv
    (the earliest, should a site send two). Fatal adverse events are ADAE's (AEOUT FATAL or
    AESDTH Y); the deaths listing reads both."""
    return (ds.filter((pl.col("DSCAT") == EVENT) & (pl.col("DSDECOD") == "DEATH"))
            .group_by("USUBJID").agg(DTHDT=pl.col("DSSTDT").min())
            .with_columns(DTHFL=pl.lit("Y")))


def baseline_weight(vs: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    """R-PROTOCOL/ADSL: WEIGHTBL = latest WEIGHT (kg) on or before day 1 (TRTSDT)."""
    return (vs.filter(pl.col("VSTESTCD") == "WEIGHT")
            .join(base.select("USUBJID", "TRTSDT"), on="USUBJID")
            .filter(pl.col("VSDT") <= pl.col("TRTSDT"))
            .sort("USUBJID", "VSDT", "VSSEQ")
            .group_by("USUBJID").agg(WEIGHTBL=pl.col("VSSTRESN").last()))


def build_adsl(dm: pl.DataFrame, ds: pl.DataFrame, ie: pl.DataFrame, ex: pl.DataFrame,
               vs: pl.DataFrame, base: pl.DataFrame, pslstdt: pl.DataFrame,
               visit_dates: pl.DataFrame) -> pl.DataFrame:
    """ADSL: one row per screened subject (R-ENROL).

    ``base`` from :func:`subject_base`; ``pslstdt``: USUBJID, PSLSTDT (R-PSL);
    ``visit_dates``: USUBJID, VISIT, VDT (visits done).
    """
    dosed = ex.select("USUBJID").unique().with_columns(DOSED=pl.lit(True))
    done = visit_dates.filter(pl.col("VISIT").is_in(["WEEK 12", "WEEK 24"]))
    wk12 = done.filter(pl.col("VISIT") == "WEEK 12").select("USUBJID").unique().with_columns(WK12DONE=pl.lit(True))
    wk24 = done.filter(pl.col("VISIT") == "WEEK 24").select("USUBJID").unique().with_columns(WK24DONE=pl.lit(True))
    a = (dm.select("USUBJID", "SUBJID", pl.col("AGE").cast(pl.Int32), "SEX", "ARMCD", "RFICDT")
         .join(base, on="USUBJID", how="left")
         .join(disposition(ds).drop("EOSDT"), on="USUBJID", how="left")   # EOSDT: base
         .join(screen_failure_reasons(ie), on="USUBJID", how="left")
         .join(pslstdt.select("USUBJID", "PSLSTDT"), on="USUBJID", how="left")
         .join(baseline_weight(vs, base), on="USUBJID", how="left")
         .join(treatment_exposure(ex, base), on="USUBJID", how="left")   # R-AE exposure
         .join(death_from_disposition(ds), on="USUBJID", how="left")
         .join(dosed, on="USUBJID", how="left").join(wk12, on="USUBJID", how="left")
         .join(wk24, on="USUBJID", how="left")
         .with_columns(pl.col("DOSED", "WK12DONE", "WK24DONE").fill_null(False),
                       SCRNFL=pl.lit("Y"),
                       SCRFFL=pl.when(pl.col("ARMCD") == "SCRNFAIL").then(pl.lit("Y")).otherwise(pl.lit("N")),
                       ENRLFL=pl.when(pl.col("ARMCD") == "ANIFRO").then(pl.lit("Y")).otherwise(pl.lit("N")),
                       CUTDY=study_day_expr("DATACUT", "TRTSDT"),
                       OBSENDY=study_day_expr("OBSENDT", "TRTSDT"),
                       PSLCEIL=pl.col("WEIGHTBL") * CEILING_MG_PER_KG)  # R-PROTOCOL 0.6 mg/kg/day
         .with_columns(FASFL=pl.when((pl.col("ENRLFL") == "Y") & pl.col("DOSED")).then(pl.lit("Y"))
                       .otherwise(pl.lit("N")),
                       EOSSTT=pl.when(pl.col("SCRFFL") == "Y").then(pl.lit("SCREEN FAILURE"))
                       .when(pl.col("EOSSTT").is_null()).then(pl.lit("ONGOING"))
                       .otherwise(pl.col("EOSSTT")))
         .with_columns(SUBJSTAT=subjstat_expr()))
    return a.select(ADSL_COLUMNS).sort("USUBJID")


def enrollment_projection(enrolled_dates: list, as_of, target: int | None = None,
                          first=None) -> dict:
    """R-ENROL: when will the target (10 enrolled) be reached, at the enrollment rate so far?

    Rate = enrolled / days from the registry's first enrollment (2023-12-26) to ``as_of``
    inclusive; projected date = ``as_of`` + ceil(remaining / rate) days. Returns enrolled, target,
    rate_per_30_days, reached_on (the target-th enrollment date once reached), projected_date
    (None when reached or when nobody is enrolled yet) and ``method``, a sentence saying so.
    """
    import datetime as dt
    import math

    from etl.contract import FIRST_ENROLLMENT_REGISTRY, TARGET_ENROLLED
    target = TARGET_ENROLLED if target is None else target
    first = dt.date.fromisoformat(FIRST_ENROLLMENT_REGISTRY) if first is None else first
    dates = sorted(d for d in enrolled_dates if d is not None)
    n = len(dates)
    days = (as_of - first).days + 1
    rate = n / days if days > 0 else 0.0
    out = {"enrolled": n, "target": target, "rate_per_30_days": rate * 30, "reached_on": None,
           "projected_date": None,
           "method": (f"{n} enrolled over {days} days since the first enrollment ({first}); "
                      "projection assumes the same rate continues")}
    if n >= target:
        out["reached_on"] = dates[target - 1]
    elif n > 0:
        out["projected_date"] = as_of + dt.timedelta(days=math.ceil((target - n) / rate))
    return out
