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
                "AETOXGR", "AESER", "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE",
                "AEREL", "AEACN", "AEOUT", "ASTDT", "ASTDTF", "AENDT", "ASTDY", "TRTEMFL", "RELFL",
                "AESIFL", "AESICAT"]
# The AESI categories of :func:`aesi_categories`, in the order the committee tables list them.
AESI_CATEGORIES = ("HERPES ZOSTER", "INFUSION-RELATED REACTION", "HYPERSENSITIVITY", "TUBERCULOSIS",
                   "MALIGNANCY", "SERIOUS INFECTION")


def build_adae(ae: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """ADAE (R-AE). ``subjects``: USUBJID, TRTSDT. The seriousness criteria (AESDTH ... AESMIE)
    are carried as delivered for the serious-event and deaths listings.

    What is new or changed since an earlier load is not a property of one load: each accepted load
    keeps a snapshot of ADAE (``audit.ae_snapshots``, etl.load) and the query layer compares the
    current ADAE with the snapshot the reader chose (``warehouse.queries.ae_changes``)."""
    a = (ae.join(subjects.select("USUBJID", "TRTSDT"), on="USUBJID", how="left")
         .with_columns(ASTDT=astdt_expr(), ASTDTF=astdtf_expr(), AENDT=pl.col("AEENDT"),
                       AETOXGR=pl.col("AETOXGR").cast(pl.Int32, strict=False),
                       RELFL=relfl_expr(), AESICAT=aesicat_expr())
         .with_columns(ASTDY=study_day_expr("ASTDT", "TRTSDT"), TRTEMFL=trtemfl_expr(),
                       AESIFL=pl.when(pl.col("AESICAT").is_not_null()).then(pl.lit("Y"))
                       .otherwise(pl.lit("N"))))
    return a.select(ADAE_COLUMNS).sort("USUBJID", "AESEQ")
