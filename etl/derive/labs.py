"""ADLB: laboratory results with reference-range flags and change from week 0 (R-ENDPOINT, R-DAY)."""
from __future__ import annotations

import polars as pl

from etl.derive.study_day import oowfl_expr, study_day_expr, week_expr


def anrind_expr(aval="AVAL", lo="ANRLO", hi="ANRHI") -> pl.Expr:
    """'LOW' below LBSTNRLO, 'HIGH' above LBSTNRHI, 'NORMAL' otherwise; null without a value or
    without any limit to compare with."""
    v, l, h = pl.col(aval), pl.col(lo), pl.col(hi)
    return (pl.when(v.is_null() | (l.is_null() & h.is_null())).then(None)
            .when(l.is_not_null() & (v < l)).then(pl.lit("LOW"))
            .when(h.is_not_null() & (v > h)).then(pl.lit("HIGH"))
            .otherwise(pl.lit("NORMAL")))


ADLB_COLUMNS = ["USUBJID", "SITEID", "LBSEQ", "PARAMCD", "PARAM", "LBCAT", "AVISIT", "AVISITN",
                "VISITNUM", "ADT", "ADY", "AVAL", "AVALU", "ANRLO", "ANRHI", "ANRIND", "ABLFL",
                "BASE", "CHG", "OOWFL"]


def build_adlb(lb: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """ADLB. Rows with ``LBSTAT = NOT DONE`` are left out (no value). ABLFL = 'Y' on the subject's
    WEEK 0 record of the test (the latest, if several); BASE is that value on every record of the
    test; CHG = AVAL - BASE on records after week 0 (AVISITN > 0), null otherwise."""
    a = (lb.filter(pl.col("LBSTAT").is_null() | (pl.col("LBSTAT") != "NOT DONE"))
         .join(subjects.select("USUBJID", "TRTSDT"), on="USUBJID", how="left")
         .with_columns(PARAMCD=pl.col("LBTESTCD"), PARAM=pl.col("LBTEST"), AVISIT=pl.col("VISIT"),
                       AVISITN=week_expr("VISIT"), ADT=pl.col("LBDT"), AVAL=pl.col("LBSTRESN"),
                       AVALU=pl.col("LBSTRESU"), ANRLO=pl.col("LBSTNRLO"), ANRHI=pl.col("LBSTNRHI"))
         .with_columns(ADY=study_day_expr("ADT", "TRTSDT"), ANRIND=anrind_expr())
         .with_columns(OOWFL=oowfl_expr("VISIT", "ADY")))
    base = (a.filter((pl.col("AVISIT") == "WEEK 0") & pl.col("AVAL").is_not_null())
            .sort("USUBJID", "PARAMCD", "ADT", "LBSEQ")
            .group_by("USUBJID", "PARAMCD").agg(BLSEQ=pl.col("LBSEQ").last(), BASE=pl.col("AVAL").last()))
    a = (a.join(base, on=["USUBJID", "PARAMCD"], how="left")
         .with_columns(ABLFL=pl.when(pl.col("LBSEQ") == pl.col("BLSEQ")).then(pl.lit("Y")).otherwise(None),
                       CHG=pl.when(pl.col("AVISITN") > 0).then(pl.col("AVAL") - pl.col("BASE")).otherwise(None)))
    return a.select(ADLB_COLUMNS).sort("USUBJID", "PARAMCD", "ADT", "LBSEQ")
