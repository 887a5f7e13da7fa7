"""ADAE: onset imputation, treatment emergence, relatedness and AESI (R-AE).

End dates are not imputed (the rule does not say how): AENDT is the full end date, null when
AEENDTC is partial or empty. Incidence tables (subjects once per SOC/PT at worst grade) are the
queries' job; ADAE carries TRTEMFL and an integer AETOXGR so the worst grade is a MAX.
"""
from __future__ import annotations

import polars as pl

from etl.dates import date_expr, earliest_day
from etl.derive.study_day import study_day_expr

RELATED_TERMS = ("POSSIBLY RELATED", "RELATED")
SOC_NEOPLASMS = "Neoplasms benign, malignant and unspecified (incl cysts and polyps)"
SOC_INFECTIONS = "Infections and infestations"


def astdt_expr(aestdtc: str = "AESTDTC", trtsdt: str = "TRTSDT") -> pl.Expr:
    """R-AE onset imputation: ASTDT from a (possibly partial) AESTDTC.

    Full date: kept. Missing day (YYYY-MM): the 1st of the month, or the first-infusion date
    (TRTSDT) when it falls in that month. Missing month (YYYY): 1 January, or the first-infusion
    date when it falls in that year. Without a first infusion: the 1st of the period."""
    s = pl.col(aestdtc).str.strip_chars()
    n = s.str.len_chars()
    t = pl.col(trtsdt)
    month_first = earliest_day(s.str.slice(0, 7))     # YYYY-MM -> the 1st of the month
    year_first = earliest_day(s.str.slice(0, 4))      # YYYY -> 1 January
    same_month = (t.dt.year() == month_first.dt.year()) & (t.dt.month() == month_first.dt.month())
    same_year = t.dt.year() == year_first.dt.year()
    return (pl.when(n >= 10).then(date_expr(s))
            .when((n == 7) & same_month.fill_null(False)).then(t)
            .when(n == 7).then(month_first)
            .when((n == 4) & same_year.fill_null(False)).then(t)
            .when(n == 4).then(year_first)
            .otherwise(None))


def astdtf_expr(aestdtc: str = "AESTDTC") -> pl.Expr:
    """R-AE: imputation flag: 'D' day imputed, 'M' month and day imputed, null for a full date."""
    n = pl.col(aestdtc).str.strip_chars().str.len_chars()
    return pl.when(n == 7).then(pl.lit("D")).when(n == 4).then(pl.lit("M")).otherwise(None)


def trtemfl_expr(astdt: str = "ASTDT", trtsdt: str = "TRTSDT") -> pl.Expr:
    """R-AE: TRTEMFL = 'Y' when the imputed onset is on or after the first infusion, else 'N'
    (never dosed -> 'N')."""
    return (pl.when(pl.col(trtsdt).is_not_null() & (pl.col(astdt) >= pl.col(trtsdt)))
            .then(pl.lit("Y")).otherwise(pl.lit("N")))


def relfl_expr(aerel: str = "AEREL") -> pl.Expr:
    """R-AE: related = AEREL in {POSSIBLY RELATED, RELATED}."""
    return pl.when(pl.col(aerel).is_in(RELATED_TERMS)).then(pl.lit("Y")).otherwise(pl.lit("N"))


def aesicat_expr() -> pl.Expr:
    """R-AE: AESICAT, the '; '-joined AESI categories of an event (null when none), in this order:
    HERPES ZOSTER (PT contains 'herpes zoster'), INFUSION-RELATED REACTION, HYPERSENSITIVITY
    ('Hypersensitivity', 'Anaphylactic reaction'), TUBERCULOSIS (PT contains 'tuberculosis'),
    MALIGNANCY (SOC Neoplasms ...), SERIOUS INFECTION (SOC Infections and infestations, AESER Y).
    Matching is case-insensitive (anifrolumab label warnings, pooled MUSE/TULIP)."""
    pt = pl.col("AEDECOD").str.to_lowercase()
    soc = pl.col("AEBODSYS").str.to_lowercase()
    parts = [
        pl.when(pt.str.contains("herpes zoster", literal=True)).then(pl.lit("HERPES ZOSTER")),
        pl.when(pt == "infusion related reaction").then(pl.lit("INFUSION-RELATED REACTION")),
        pl.when(pt.is_in(["hypersensitivity", "anaphylactic reaction"])).then(pl.lit("HYPERSENSITIVITY")),
        pl.when(pt.str.contains("tuberculosis", literal=True)).then(pl.lit("TUBERCULOSIS")),
        pl.when(soc == SOC_NEOPLASMS.lower()).then(pl.lit("MALIGNANCY")),
        pl.when((soc == SOC_INFECTIONS.lower()) & (pl.col("AESER") == "Y")).then(pl.lit("SERIOUS INFECTION")),
    ]
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


ADAE_COLUMNS = ["USUBJID", "SITEID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC",
                "AETOXGR", "AESER", "AEREL", "AEACN", "AEOUT", "ASTDT", "ASTDTF", "AENDT", "ASTDY",
                "TRTEMFL", "RELFL", "AESIFL", "AESICAT", "AENEWFL", "SAENEWFL", "AESINWFL"]
EVENT_KEY = ["USUBJID", "AEDECOD", "AESTDTC"]


def new_since_previous_flags(adae: pl.DataFrame, previous: pl.DataFrame,
                             exports: pl.DataFrame) -> pl.DataFrame:
    """What changed since each site's previous data cut, for the monitoring committee (R-AE
    serious and AESI definitions applied to both exports).

    An event is identified across exports by (USUBJID, AEDECOD, AESTDTC), not by AESEQ, which
    SDTM does not promise to keep stable between deliveries: a renumbered AESEQ must never make a
    new serious event look old. A recoded term or corrected onset shows as new (the safe side).
    - AENEWFL 'Y': the event is absent from the previous export; 'N': it was there.
    - SAENEWFL 'Y': serious now (AESER = Y), and new or not serious in the previous export.
    - AESINWFL 'Y': an AESI now, and new or not an AESI in the previous export.
    All three are null for a site with no previous export (``exports.PREV_DATACUT`` null): there
    is nothing to compare with, and the page says so.
    """
    prev = (previous.with_columns(PREVAESI=aesicat_expr().is_not_null())
            .group_by(EVENT_KEY).agg(PREVSER=(pl.col("AESER") == "Y").any(),
                                     PREVAESI=pl.col("PREVAESI").any())
            .with_columns(PRESENT=pl.lit(True)))
    has_prev = (exports.filter(pl.col("PREV_DATACUT").is_not_null())
                .select("SITEID", HASPREV=pl.lit(True)))
    a = adae.join(has_prev, on="SITEID", how="left").join(prev, on=EVENT_KEY, how="left",
                                                           nulls_equal=True)
    new = pl.col("PRESENT").is_null()

    def flag(cond: pl.Expr) -> pl.Expr:
        return (pl.when(pl.col("HASPREV").is_null()).then(None)
                .when(cond).then(pl.lit("Y")).otherwise(pl.lit("N")))
    return a.with_columns(
        AENEWFL=flag(new),
        SAENEWFL=flag((pl.col("AESER") == "Y") & (new | ~pl.col("PREVSER").fill_null(False))),
        AESINWFL=flag((pl.col("AESIFL") == "Y") & (new | ~pl.col("PREVAESI").fill_null(False))),
    ).drop("HASPREV", "PREVSER", "PREVAESI", "PRESENT")


def build_adae(ae: pl.DataFrame, subjects: pl.DataFrame, previous: pl.DataFrame | None = None,
               exports: pl.DataFrame | None = None) -> pl.DataFrame:
    """ADAE (R-AE). ``subjects``: USUBJID, TRTSDT. ``previous``: the AEs of each site's previous
    export (sdtm.ae_previous) and ``exports`` (SITEID, PREV_DATACUT), for the flags of
    :func:`new_since_previous_flags`; without them those flags are null."""
    a = (ae.join(subjects.select("USUBJID", "TRTSDT"), on="USUBJID", how="left")
         .with_columns(ASTDT=astdt_expr(), ASTDTF=astdtf_expr(), AENDT=pl.col("AEENDT"),
                       AETOXGR=pl.col("AETOXGR").cast(pl.Int32, strict=False),
                       RELFL=relfl_expr(), AESICAT=aesicat_expr())
         .with_columns(ASTDY=study_day_expr("ASTDT", "TRTSDT"), TRTEMFL=trtemfl_expr(),
                       AESIFL=pl.when(pl.col("AESICAT").is_not_null()).then(pl.lit("Y"))
                       .otherwise(pl.lit("N"))))
    if previous is None or exports is None or "PREV_DATACUT" not in exports.columns:
        previous = pl.DataFrame(schema={c: pl.String for c in EVENT_KEY + ["AEBODSYS", "AESER"]})
        exports = pl.DataFrame(schema={"SITEID": pl.String, "PREV_DATACUT": pl.Date})
    a = new_since_previous_flags(a, previous.select(EVENT_KEY + ["AEBODSYS", "AESER"]), exports)
    return a.select(ADAE_COLUMNS).sort("USUBJID", "AESEQ")
