"""Anifrolumab exposure: ADEX, the infusions done and the planned infusions missed while due
(R-DAY, R-PROTOCOL); each subject's time on treatment (R-AE exposure, carried by ADSL); and the
time at risk of each AESI category behind the exposure-adjusted incidence rates (R-AE, ADTTE)."""
from __future__ import annotations

import polars as pl

from etl.contract import PROTOCOL_DOSE_MG, VISITS
from etl.derive.ae import AESI_CATEGORIES
from etl.derive.study_day import oowfl_expr, study_day_expr, week_expr

DOSING_INTERVAL_DAYS = 28     # Q4W: R-AE exposure runs to the last infusion + 27 days
DAYS_PER_YEAR = 365.25        # R-AE: patient-years = days / 365.25
ANY_AESI = "ANY AESI"

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


EXPOSURE_COLUMNS = ["USUBJID", "NINFUS", "TRTEDT", "EXPENDT", "TRTDURD", "TRTDURY"]


def treatment_exposure(ex: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    """R-AE exposure, one row per subject with at least one infusion (``base``: USUBJID, TRTSDT,
    OBSENDT from :func:`etl.derive.enrol.subject_base`):

    - NINFUS: infusions given (ex rows);
    - TRTEDT: date of the last infusion;
    - EXPENDT: end of exposure = the last infusion + 27 days (one dosing interval), cut at the end
      of observation (ADSL.OBSENDT, R-DAY): ``min(TRTEDT + 27, OBSENDT)``;
    - TRTDURD: days on treatment, first infusion to EXPENDT inclusive (``EXPENDT - TRTSDT + 1``:
      one infusion with nothing cut gives 28 days, one dosing interval);
    - TRTDURY: patient-years, ``TRTDURD / 365.25``.
    """
    last = ex.group_by("USUBJID").agg(NINFUS=pl.len().cast(pl.Int32), TRTEDT=pl.col("EXSTDT").max())
    return (last.join(base.select("USUBJID", "TRTSDT", "OBSENDT"), on="USUBJID", how="left")
            .with_columns(EXPENDT=pl.min_horizontal(
                pl.col("TRTEDT") + pl.duration(days=DOSING_INTERVAL_DAYS - 1), pl.col("OBSENDT")))
            .with_columns(TRTDURD=((pl.col("EXPENDT") - pl.col("TRTSDT")).dt.total_days() + 1)
                          .cast(pl.Int32))
            .with_columns(TRTDURY=pl.col("TRTDURD") / DAYS_PER_YEAR)
            .select(EXPOSURE_COLUMNS).sort("USUBJID"))


ADTTE_COLUMNS = ["USUBJID", "SITEID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC"]


def build_adtte_aesi(adsl: pl.DataFrame, adae: pl.DataFrame) -> pl.DataFrame:
    """ADTTE for the exposure-adjusted incidence rate of each AESI category (R-AE), one row per
    FAS subject with an exposure (ADSL.TRTDURD) and category, plus ``ANY AESI``:

    - an event: the subject's first treatment-emergent AE of that category (ADAE TRTEMFL = 'Y',
      AESICAT holds it). Time at risk ends at its onset: ADT = first ASTDT, AVAL = ADT - TRTSDT + 1
      days, CNSR = 0. R-AE ends the time at risk at the first onset whatever its date, so a
      treatment-emergent onset after the end of exposure still counts, and its time at risk runs
      to that onset: the rate's numerator is exactly the subjects of the crude count beside it.
    - no event: time at risk ends at the end of exposure: ADT = ADSL.EXPENDT, AVAL = TRTDURD,
      CNSR = 1.
    The rate itself (subjects with the event / the sum of AVAL in years x 100) is summed over the
    subjects the reader selects (``warehouse.queries.aesi_rates``).
    PARAMCD is the category (``HERPES ZOSTER`` ... ``SERIOUS INFECTION``, ``ANY AESI``)."""
    subj = adsl.filter((pl.col("FASFL") == "Y") & pl.col("TRTDURD").is_not_null()).select(
        "USUBJID", "SITEID", "TRTSDT", "EXPENDT", "TRTDURD")
    params = pl.DataFrame({"PARAMCD": [*AESI_CATEGORIES, ANY_AESI]})
    teae = (adae.filter((pl.col("TRTEMFL") == "Y") & pl.col("AESICAT").is_not_null())
            .select("USUBJID", "ASTDT", "AEDECOD",
                    PARAMCD=pl.col("AESICAT").str.split("; ")))
    onsets = pl.concat([teae.explode("PARAMCD"), teae.with_columns(PARAMCD=pl.lit(ANY_AESI))])
    first = (onsets.sort("USUBJID", "PARAMCD", "ASTDT", "AEDECOD")
             .group_by("USUBJID", "PARAMCD").agg(ONSET=pl.col("ASTDT").first(),
                                                 EVNTDESC=pl.col("AEDECOD").first()))
    out = (subj.join(params, how="cross").join(first, on=["USUBJID", "PARAMCD"], how="left")
           .with_columns(CNSR=pl.when(pl.col("ONSET").is_not_null()).then(0).otherwise(1)
                         .cast(pl.Int32),
                         STARTDT=pl.col("TRTSDT"),
                         ADT=pl.coalesce("ONSET", "EXPENDT"))
           .with_columns(AVAL=pl.when(pl.col("CNSR") == 0)
                         .then((pl.col("ADT") - pl.col("TRTSDT")).dt.total_days() + 1)
                         .otherwise(pl.col("TRTDURD")).cast(pl.Int32),
                         PARAM=pl.concat_str(pl.lit("Time to first "), pl.col("PARAMCD").str.to_lowercase())))
    return out.select(ADTTE_COLUMNS).sort("USUBJID", "PARAMCD")
