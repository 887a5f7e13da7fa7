"""Prednisolone-equivalent dose (R-PSL).

Conventions the rule leaves to us, documented here once:

- **Subjects with no glucocorticoid row.** cm.csv carries the protocol medication, and the protocol
  starts prednisolone for every enrolled subject (first remission induction). A subject with at
  least one ``GLUCOCORTICOID`` row is taken to have *every* glucocorticoid recorded, so a day that
  no systemic row covers has dose **0** (a real value). A subject with **no** glucocorticoid row
  at all has an **unknown** dose (null): then R-LLDAS C4, R-DORIS and PSL discontinuation are
  missing rather than silently met.
- **Pulse days** (IV glucocorticoid >= 250 mg PSL-eq that day, summed over that day's IV rows)
  count in full in ``PSLDOSE`` and ``CUMDOSE``; ``CUMDOSNP`` (rules 1.1) leaves out only the
  intravenous glucocorticoid given on pulse days: that day's oral prednisolone still counts.
- **End of observation** (R-DAY 1.1): doses are derived up to ``OBSENDT`` (ADSL: the end of study
  or the data cut, whichever is first) and never past it. Ongoing rows (empty ``CMENDTC``) run to
  it; after it nothing is known of the dose (null, not 0): ADPSL has no row after it.
- The subjects with no glucocorticoid row are listed on the data-quality page
  (``etl.derive.consistency.no_glucocorticoid_warnings``, R-PSL 1.1).
"""
from __future__ import annotations

import polars as pl

from etl.contract import DOSES_PER_DAY, PSL_FACTORS, PULSE_MG

PSL_ROUTES = ("ORAL", "INTRAVENOUS")
PULSE_THRESHOLD = PULSE_MG   # mg PSL-eq per day, intravenous (R-PSL)
GC = "GLUCOCORTICOID"


def psl_rows(cm: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """R-PSL: the glucocorticoid rows that count, with their daily dose and dates.

    ``cm``: sdtm.cm (CMSTDT/CMENDT typed dates); ``subjects``: USUBJID, OBSENDT (end of
    observation, R-DAY). Keeps ``CMCAT = GLUCOCORTICOID`` with route ORAL or INTRAVENOUS; the
    daily dose of a row is CMDOSE x n(CMDOSFRQ) x the drug's PSL-equivalent factor (a
    glucocorticoid without a factor raises: the rule refuses it until one is added). Returns
    USUBJID, CMSEQ, CMDECOD, CMROUTE, MGDAY (mg of the drug per day), PSLEQ (mg PSL-eq per day),
    ASTDT, AENDT (CMENDT, or the end of observation when ongoing; never after it).
    """
    gc = cm.filter((pl.col("CMCAT") == GC) & pl.col("CMROUTE").is_in(PSL_ROUTES))
    unknown = sorted(set(gc["CMDECOD"].str.to_uppercase().to_list()) - set(PSL_FACTORS))
    if unknown:
        raise ValueError(f"glucocorticoid without a prednisolone-equivalent factor (R-PSL): {unknown}")
    return (gc.join(subjects.select("USUBJID", "OBSENDT"), on="USUBJID", how="left")
            .with_columns(
                MGDAY=pl.col("CMDOSE") * pl.col("CMDOSFRQ").replace_strict(DOSES_PER_DAY,
                                                                           return_dtype=pl.Float64))
            .with_columns(
                PSLEQ=pl.col("MGDAY") * pl.col("CMDECOD").str.to_uppercase()
                .replace_strict(PSL_FACTORS, return_dtype=pl.Float64),
                ASTDT=pl.col("CMSTDT"),
                AENDT=pl.min_horizontal(pl.coalesce("CMENDT", "OBSENDT"), pl.col("OBSENDT")))
            .select("USUBJID", "CMSEQ", "CMDECOD", "CMROUTE", "MGDAY", "PSLEQ", "ASTDT", "AENDT")
            .sort("USUBJID", "ASTDT", "CMDECOD", "CMSEQ"))


def _fmt_mg(x: pl.Expr) -> pl.Expr:
    return (pl.when(x == x.round(0)).then(x.cast(pl.Int64).cast(pl.String))
            .otherwise(x.round(2).cast(pl.String)))


def psl_daily(cm: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """R-PSL: one row per subject and calendar day from PSL initiation to the end of observation.

    ``subjects``: USUBJID, SITEID, OBSENDT (R-DAY), TRTSDT (first infusion, for ADY; may be null).
    Columns: USUBJID, SITEID, ADT, ADY, PSLDOSE (sum of that day's rows, mg PSL-eq/day), PULSEFL
    ('Y' when the day's IV glucocorticoid is >= 250 mg PSL-eq), CUMDOSE (from initiation to ADT
    inclusive, pulses in full), CUMDOSNP (same, without the intravenous glucocorticoid of pulse
    days: the oral dose of a pulse day still counts), DRUGS (each contributing row,
    e.g. 'PREDNISOLONE 30 mg/day; METHYLPREDNISOLONE 500 mg/day IV'). Initiation = first date with
    a dose > 0; subjects never initiated have no rows.
    """
    rows = psl_rows(cm, subjects)
    schema = {"USUBJID": pl.String, "SITEID": pl.String, "ADT": pl.Date, "ADY": pl.Int32,
              "PSLDOSE": pl.Float64, "CUMDOSE": pl.Float64, "CUMDOSNP": pl.Float64,
              "PULSEFL": pl.String, "DRUGS": pl.String}
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    iv = pl.col("CMROUTE") == "INTRAVENOUS"
    # Labels are made once per cm row; only the (few) days with several rows join them.
    rows = (rows.sort("USUBJID", "CMDECOD", "CMROUTE", "CMSEQ").with_row_index("RID")
            .with_columns(LABEL=pl.format("{} {} mg/day{}", pl.col("CMDECOD"), _fmt_mg(pl.col("MGDAY")),
                                          pl.when(iv).then(pl.lit(" IV")).otherwise(pl.lit("")))))
    days = (rows.select("USUBJID", "RID", "PSLEQ", IVEQ=pl.when(iv).then(pl.col("PSLEQ")).otherwise(0.0),
                        ADT=pl.date_ranges("ASTDT", "AENDT"))
            .explode("ADT").filter(pl.col("ADT").is_not_null()))
    per_day = days.group_by("USUBJID", "ADT").agg(
        PSLDOSE=pl.col("PSLEQ").sum().round(6), IVDOSE=pl.col("IVEQ").sum(),
        N=pl.len(), RID=pl.col("RID").min())
    labels = rows.select("RID", "LABEL")
    multi = (days.join(per_day.filter(pl.col("N") > 1).select("USUBJID", "ADT"), on=["USUBJID", "ADT"],
                       how="semi")
             .join(labels, on="RID").sort("USUBJID", "ADT", "RID")
             .group_by("USUBJID", "ADT").agg(MULTI=pl.col("LABEL").str.join("; ")))
    per_day = (per_day.join(labels, on="RID", how="left")
               .join(multi, on=["USUBJID", "ADT"], how="left")
               .with_columns(DRUGS=pl.coalesce("MULTI", "LABEL"))
               .select("USUBJID", "ADT", "PSLDOSE", "IVDOSE", "DRUGS"))
    start = (per_day.filter(pl.col("PSLDOSE") > 0).group_by("USUBJID").agg(PSLSTDT=pl.col("ADT").min()))
    calendar = (start.join(subjects.select("USUBJID", "SITEID", "OBSENDT", "TRTSDT"), on="USUBJID")
                .filter(pl.col("PSLSTDT") <= pl.col("OBSENDT"))
                .with_columns(ADT=pl.date_ranges("PSLSTDT", "OBSENDT"))
                .explode("ADT"))
    out = (calendar.join(per_day, on=["USUBJID", "ADT"], how="left")
           .with_columns(PSLDOSE=pl.col("PSLDOSE").fill_null(0.0),
                         IVDOSE=pl.col("IVDOSE").fill_null(0.0))
           .with_columns(PULSEFL=pl.when(pl.col("IVDOSE") >= PULSE_THRESHOLD).then(pl.lit("Y"))
                         .otherwise(pl.lit("N")))
           .sort("USUBJID", "ADT")
           .with_columns(
               CUMDOSE=pl.col("PSLDOSE").cum_sum().over("USUBJID"),
               CUMDOSNP=pl.when(pl.col("PULSEFL") == "Y")
               .then((pl.col("PSLDOSE") - pl.col("IVDOSE")).round(6)).otherwise(pl.col("PSLDOSE"))
               .cum_sum().over("USUBJID"),
               ADY=_ady(pl.col("ADT"), pl.col("TRTSDT")))
           )
    return out.select(list(schema)).cast(schema)


def build_adpsl(cm: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """ADPSL (R-PSL): the daily prednisolone-equivalent course, :func:`psl_daily`'s rows (one per
    subject and day from PSL initiation to the end of observation)."""
    return psl_daily(cm, subjects)


def _ady(adt: pl.Expr, trtsdt: pl.Expr) -> pl.Expr:
    from etl.derive.study_day import study_day_expr
    return study_day_expr(adt, trtsdt)


def psl_initiation(daily: pl.DataFrame) -> pl.DataFrame:
    """R-PSL: PSL initiation (PSLSTDT) = first date with a dose > 0, per subject."""
    return (daily.filter(pl.col("PSLDOSE") > 0).group_by("USUBJID")
            .agg(PSLSTDT=pl.col("ADT").min()).sort("USUBJID"))


def gc_recorded(cm: pl.DataFrame) -> pl.DataFrame:
    """R-PSL: subjects with at least one GLUCOCORTICOID row (their unrecorded days are dose 0)."""
    return cm.filter(pl.col("CMCAT") == GC).select("USUBJID").unique().sort("USUBJID")


def psl_dose_at(daily: pl.DataFrame, cm: pl.DataFrame, at: pl.DataFrame,
                date: str = "ADT") -> pl.DataFrame:
    """R-PSL: PSLDOSE, CUMDOSE, CUMDOSNP on given dates.

    ``at``: USUBJID, OBSENDT (end of observation, R-DAY) and the date column ``date`` (default
    ADT), plus any other columns (kept). A date inside the daily table takes its values; a date
    before initiation (or any date up to the end of observation for a subject whose
    glucocorticoids never started) is 0 when the subject has glucocorticoid rows; a date after the
    end of observation (R-PSL 1.1: nothing is known of the dose once the subject left the study),
    a null date, or a subject without any glucocorticoid row gives null (unknown).
    """
    recorded = gc_recorded(cm).with_columns(GCREC=pl.lit(True))
    out = (at.join(daily.select("USUBJID", pl.col("ADT").alias(date), "PSLDOSE", "CUMDOSE", "CUMDOSNP"),
                   on=["USUBJID", date], how="left", nulls_equal=False)
           .join(recorded, on="USUBJID", how="left"))
    known_zero = (pl.col("GCREC").fill_null(False) & pl.col(date).is_not_null()
                  & (pl.col(date) <= pl.col("OBSENDT")))
    fill = {c: pl.when(pl.col(c).is_not_null()).then(pl.col(c))
            .when(known_zero).then(pl.lit(0.0)).otherwise(None) for c in ("PSLDOSE", "CUMDOSE", "CUMDOSNP")}
    return out.with_columns(**fill).drop("GCREC")
