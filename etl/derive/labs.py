"""ADLB: laboratory results with reference-range flags, ratio to the ULN, CTCAE v5 grades, baseline,
change from baseline and the worst post-baseline grades (R-LAB, R-DAY); the eDISH peaks and
potential Hy's law per subject (R-LAB), and ADSL.HYLAWFL.

One function per derived variable, each an expression (or, where one window reads another, a
frame step: ``with_ablfl``, ``with_worst_grade_flag``) over ADLB's own columns (``PARAMCD``,
``AVAL``, ``ANRLO``, ``ANRHI``, ``ADT``, ``ADY``, ``LBSEQ``, ``TRTSDT``, ``OBSENDT``) so that the
tests run exactly what :func:`build_adlb` runs. The grading table is ``etl.contract.CTCAE_GRADES``.
"""
from __future__ import annotations

import polars as pl

from etl.contract import (CTCAE_GRADES, HY_LAW_AMINOTRANSFERASE_X_ULN, HY_LAW_BILIRUBIN_X_ULN,
                          R2A1HI_TESTS)
from etl.derive.study_day import oowfl_expr, study_day_expr, week_expr

SUBJECT_TEST = ["USUBJID", "PARAMCD"]
# A ratio to the ULN is rounded to this many decimals before it is compared with a multiple of the
# ULN: in binary floating point 1.8 / 1.2 is 1.5000000000000002, which is not "at most 1.5 x ULN".
# Results carry at most a few decimals, so no real ratio lies within 1e-9 of a boundary.
RATIO_DECIMALS = 9
AMINOTRANSFERASES = ("ALT", "AST")
BILIRUBIN = "BILI"


def anrind_expr(aval="AVAL", lo="ANRLO", hi="ANRHI") -> pl.Expr:
    """'LOW' below LBSTNRLO, 'HIGH' above LBSTNRHI, 'NORMAL' otherwise; null without a value or
    without any limit to compare with."""
    v, l, h = pl.col(aval), pl.col(lo), pl.col(hi)
    return (pl.when(v.is_null() | (l.is_null() & h.is_null())).then(None)
            .when(l.is_not_null() & (v < l)).then(pl.lit("LOW"))
            .when(h.is_not_null() & (v > h)).then(pl.lit("HIGH"))
            .otherwise(pl.lit("NORMAL")))


def _ratio_to_uln(aval: str = "AVAL", hi: str = "ANRHI") -> pl.Expr:
    """AVAL / ANRHI rounded to RATIO_DECIMALS; null without a value or without a positive ULN."""
    v, h = pl.col(aval), pl.col(hi)
    return pl.when(h > 0).then((v / h).round(RATIO_DECIMALS)).otherwise(None)


def r2a1hi_expr(paramcd="PARAMCD", aval="AVAL", hi="ANRHI") -> pl.Expr:
    """R-LAB: R2A1HI = LBSTRESN / LBSTNRHI for ALT, AST, BILI and CREAT (``R2A1HI_TESTS``); null
    for any other test, without a value or without a (positive) ULN. Rounded to 9 decimals, so a
    value exactly at a multiple of the ULN is that multiple (1.8 mg/dL with ULN 1.2 is 1.5)."""
    return (pl.when(pl.col(paramcd).is_in(list(R2A1HI_TESTS))).then(_ratio_to_uln(aval, hi))
            .otherwise(None).cast(pl.Float64))


def _increase_grade(ratio: pl.Expr, bounds: tuple[float | None, ...]) -> pl.Expr:
    """Grade g when the ratio to the ULN is above bound g ("> 3.0 - 5.0 x ULN": above 3.0 and at
    most 5.0 is grade 2); at or below the ULN (bound 1 = 1.0) grade 0."""
    out = pl.when(ratio.is_null()).then(None)
    for grade in range(len(bounds), 0, -1):
        if bounds[grade - 1] is not None:
            out = out.when(ratio > bounds[grade - 1]).then(pl.lit(grade))
    return out.otherwise(pl.lit(0))


def _decrease_grade(v: pl.Expr, lln: pl.Expr, bounds: tuple[float | None, ...]) -> pl.Expr:
    """Grade 0 at or above the LLN (within the reference range; a value above the ULN is no
    decrease either). Below the LLN: grade g when the value is below bound g ("< 3.0 - 2.0": below
    3.0 and at least 2.0 is grade 2), else grade 1. So a value below an LLN that itself lies under
    a grade's upper bound takes the grade its number falls in (LLN 2.9 for WBC: 2.85 is grade 2)."""
    out = pl.when(v.is_null() | lln.is_null()).then(None).when(v >= lln).then(pl.lit(0))
    for grade in range(len(bounds), 1, -1):
        if bounds[grade - 1] is not None:
            out = out.when(v < bounds[grade - 1]).then(pl.lit(grade))
    return out.otherwise(pl.lit(1))


def _graded(direction: str, paramcd: str, make) -> pl.Expr:
    out = None
    for code, (d, _scale, bounds) in CTCAE_GRADES.items():
        if d != direction:
            continue
        cond = pl.col(paramcd) == code
        out = pl.when(cond).then(make(bounds)) if out is None else out.when(cond).then(make(bounds))
    return out.otherwise(None).cast(pl.Int32)


def atoxgrh_expr(paramcd="PARAMCD", aval="AVAL", hi="ANRHI") -> pl.Expr:
    """R-LAB: ATOXGRH, the CTCAE v5.0 grade (0-4) of an increase, for the tests the table grades
    for increases (ALT, AST, BILI, CREAT: multiples of the ULN): grade 1 above the ULN up to and
    including the grade-2 bound, ..., grade 4 above the last bound (ALT 120 U/L with ULN 40 is
    exactly 3.0 x ULN: grade 1; 121 is grade 2). Null for any other test, without a value, or
    without a (positive) ULN."""
    ratio = _ratio_to_uln(aval, hi)
    return _graded("H", paramcd, lambda bounds: _increase_grade(ratio, bounds))


def atoxgrl_expr(paramcd="PARAMCD", aval="AVAL", lo="ANRLO") -> pl.Expr:
    """R-LAB: ATOXGRL, the CTCAE v5.0 grade (0-4) of a decrease, for the tests the table grades for
    decreases (WBC, NEUT, LYM, PLAT: 0-4; HGB: 0-3, it has no grade 4): grade 0 at or above the
    LLN; below it grade 1 down to the grade-2 bound, ..., "< a - b" meaning below a and at least b
    (WBC 3.0 is grade 1, 2.99 grade 2, 2.0 grade 2, 1.99 grade 3). Null for any other test,
    without a value, or without an LLN."""
    v, lln = pl.col(aval), pl.col(lo)
    return _graded("L", paramcd, lambda bounds: _decrease_grade(v, lln, bounds))


def with_ablfl(frame: pl.DataFrame) -> pl.DataFrame:
    """R-LAB: ABLFL = 'Y' on the baseline record of each subject and test: the latest record with a
    non-missing value on or before day 1 (ADT <= TRTSDT: the WEEK 0 sample, else screening);
    between records of that date the highest LBSEQ. A sample on day 2 is post-baseline, whatever
    its VISIT. No baseline without a first infusion.

    Each window over the subject and test is computed into a column before the next one reads it
    (the baseline date, then the highest LBSEQ on it): a window inside another window's expression
    is evaluated group by group, 40 times slower (ADLB of 10,000 subjects, measured 2026-12-04)."""
    cand = pl.col("AVAL").is_not_null() & (pl.col("ADT") <= pl.col("TRTSDT"))
    return (frame
            .with_columns(_BLDT=pl.when(cand).then(pl.col("ADT")).max().over(SUBJECT_TEST))
            .with_columns(_BLSEQ=pl.when(cand & (pl.col("ADT") == pl.col("_BLDT")))
                          .then(pl.col("LBSEQ")).max().over(SUBJECT_TEST))
            .with_columns(ABLFL=pl.when(cand & (pl.col("LBSEQ") == pl.col("_BLSEQ")))
                          .then(pl.lit("Y")).otherwise(None))
            .drop("_BLDT", "_BLSEQ"))


def at_baseline_expr(column: str) -> pl.Expr:
    """R-LAB: the value of ``column`` on the subject's baseline record of the test (ABLFL 'Y'),
    on every record of that subject and test: BASE from AVAL, BTOXGRL from ATOXGRL, BTOXGRH from
    ATOXGRH. Null when the subject has no baseline value of the test."""
    return pl.col(column).filter(pl.col("ABLFL") == "Y").first().over(SUBJECT_TEST)


def postblfl_expr() -> pl.Expr:
    """R-LAB / R-DAY: POSTBLFL = 'Y' on a post-baseline record: after day 1 (ADY > 1) and on or
    before the end of observation (ADSL.OBSENDT: end of study or data cut, whichever is first)."""
    return (pl.when((pl.col("ADY") > 1) & (pl.col("ADT") <= pl.col("OBSENDT")))
            .then(pl.lit("Y")).otherwise(None))


def with_worst_grade_flag(frame: pl.DataFrame, grade: str, flag: str) -> pl.DataFrame:
    """R-LAB: WGRLOFL (``grade`` = 'ATOXGRL') / WGRHIFL ('ATOXGRH') = 'Y' on exactly one record
    per subject and test: the post-baseline record (POSTBLFL 'Y') with the highest grade of that
    direction, the earliest (ADT, then LBSEQ) when several hold it. A worst grade of 0 is flagged
    too (the subject has post-baseline values, none abnormal). Null elsewhere, and on every record
    of a test without a grade of that direction. The windows are computed one after the other,
    as in :func:`with_ablfl`."""
    g, post = pl.col(grade), (pl.col("POSTBLFL") == "Y") & pl.col(grade).is_not_null()
    worst = pl.col("_WORST")
    first = pl.col("_FIRST")
    return (frame
            .with_columns(_WORST=post & (g == pl.when(post).then(g).max().over(SUBJECT_TEST)))
            .with_columns(_FIRST=worst & (pl.col("ADT") == pl.when(worst).then(pl.col("ADT"))
                                          .min().over(SUBJECT_TEST)))
            .with_columns(pl.when(first & (pl.col("LBSEQ") == pl.when(first).then(pl.col("LBSEQ"))
                                           .min().over(SUBJECT_TEST)))
                          .then(pl.lit("Y")).otherwise(None).alias(flag))
            .drop("_WORST", "_FIRST"))


ADLB_COLUMNS = ["USUBJID", "SITEID", "LBSEQ", "PARAMCD", "PARAM", "LBCAT", "AVISIT", "AVISITN",
                "VISITNUM", "ADT", "ADY", "AVAL", "AVALU", "ANRLO", "ANRHI", "ANRIND", "ABLFL",
                "BASE", "CHG", "OOWFL", "R2A1HI", "ATOXGRL", "ATOXGRH", "BTOXGRL", "BTOXGRH",
                "POSTBLFL", "WGRLOFL", "WGRHIFL"]


def build_adlb(lb: pl.DataFrame, subjects: pl.DataFrame) -> pl.DataFrame:
    """ADLB (R-LAB, R-DAY). ``subjects``: USUBJID, TRTSDT, OBSENDT (etl.derive.enrol.subject_base).
    Rows with ``LBSTAT = NOT DONE`` are left out (no value). ABLFL / BASE / BTOXGRL / BTOXGRH from
    the R-LAB baseline (:func:`with_ablfl`); CHG = AVAL - BASE on records after week 0
    (AVISITN > 0), null otherwise; grades, R2A1HI, POSTBLFL and the worst-grade flags as their
    functions say."""
    a = (lb.filter(pl.col("LBSTAT").is_null() | (pl.col("LBSTAT") != "NOT DONE"))
         .join(subjects.select("USUBJID", "TRTSDT", "OBSENDT"), on="USUBJID", how="left")
         .with_columns(PARAMCD=pl.col("LBTESTCD"), PARAM=pl.col("LBTEST"), AVISIT=pl.col("VISIT"),
                       AVISITN=week_expr("VISIT"), ADT=pl.col("LBDT"), AVAL=pl.col("LBSTRESN"),
                       AVALU=pl.col("LBSTRESU"), ANRLO=pl.col("LBSTNRLO"), ANRHI=pl.col("LBSTNRHI"))
         .with_columns(ADY=study_day_expr("ADT", "TRTSDT"), ANRIND=anrind_expr(),
                       R2A1HI=r2a1hi_expr(), ATOXGRL=atoxgrl_expr(), ATOXGRH=atoxgrh_expr())
         .with_columns(OOWFL=oowfl_expr("VISIT", "ADY"), POSTBLFL=postblfl_expr())
         .pipe(with_ablfl)
         .with_columns(BASE=at_baseline_expr("AVAL"), BTOXGRL=at_baseline_expr("ATOXGRL"),
                       BTOXGRH=at_baseline_expr("ATOXGRH"))
         .pipe(with_worst_grade_flag, "ATOXGRL", "WGRLOFL")
         .pipe(with_worst_grade_flag, "ATOXGRH", "WGRHIFL")
         .with_columns(CHG=pl.when(pl.col("AVISITN") > 0).then(pl.col("AVAL") - pl.col("BASE"))
                       .otherwise(None)))
    return a.select(ADLB_COLUMNS).sort("USUBJID", "PARAMCD", "ADT", "LBSEQ")


# ---- the liver signal: eDISH and potential Hy's law (R-LAB) ---------------------------------

# eDISH quadrants of a subject's peak post-baseline ALT-or-AST and bilirubin (x ULN), with the
# Hy's law multiples as the lines. The upper right holds peaks that may fall on different dates:
# only HYLAWFL (both on one date) is a potential Hy's law case.
EDISH_QUADRANTS = ("Possible Hy's law range", "Hyperbilirubinemia", "Temple's corollary",
                   "Normal range")


def hy_law_dates(adlb: pl.DataFrame) -> pl.DataFrame:
    """R-LAB: per subject and date with a post-baseline ALT, AST or BILI ratio to the ULN:
    AMTULN (the higher of ALT and AST x ULN that date), BILULN (BILI x ULN that date) and HYFL =
    'Y' when both exceed the Hy's law multiples on that date (ALT or AST > 3 x ULN and BILI >
    2 x ULN), else 'N'."""
    post = adlb.filter((pl.col("POSTBLFL") == "Y") & pl.col("R2A1HI").is_not_null()
                       & pl.col("PARAMCD").is_in([*AMINOTRANSFERASES, BILIRUBIN]))
    amt = pl.col("PARAMCD").is_in(list(AMINOTRANSFERASES))
    return (post.group_by("USUBJID", "ADT")
            .agg(ADY=pl.col("ADY").first(),
                 AMTULN=pl.col("R2A1HI").filter(amt).max(),
                 BILULN=pl.col("R2A1HI").filter(pl.col("PARAMCD") == BILIRUBIN).max())
            .with_columns(HYFL=pl.when((pl.col("AMTULN") > HY_LAW_AMINOTRANSFERASE_X_ULN)
                                       & (pl.col("BILULN") > HY_LAW_BILIRUBIN_X_ULN))
                          .then(pl.lit("Y")).otherwise(pl.lit("N")))
            .sort("USUBJID", "ADT"))


def edish_quadrant_expr(amt: str = "AMTPKULN", bili: str = "BILPKULN") -> pl.Expr:
    """R-LAB eDISH: the quadrant of (peak ALT-or-AST x ULN, peak BILI x ULN), split at the Hy's
    law multiples (above 3 and above 2 are the upper / right halves); null without both peaks."""
    right = pl.col(amt) > HY_LAW_AMINOTRANSFERASE_X_ULN
    upper = pl.col(bili) > HY_LAW_BILIRUBIN_X_ULN
    q = dict(zip(("ur", "ul", "lr", "ll"), EDISH_QUADRANTS))
    return (pl.when(pl.col(amt).is_null() | pl.col(bili).is_null()).then(None)
            .when(right & upper).then(pl.lit(q["ur"])).when(upper).then(pl.lit(q["ul"]))
            .when(right).then(pl.lit(q["lr"])).otherwise(pl.lit(q["ll"])))


EDISH_COLUMNS = ["USUBJID", "SITEID", "AMTPKULN", "AMTPKCD", "BILPKULN", "EDISHQ", "HYLAWFL",
                 "HYLAWDT", "HYLAWDY", "HYAMTULN", "HYBILULN"]


def build_edish(adlb: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """R-LAB eDISH: one row per FAS subject with a post-baseline ALT, AST or BILI ratio to the ULN:
    AMTPKULN / AMTPKCD (the peak of ALT and AST x ULN and which test, ALT on a tie), BILPKULN (peak
    BILI x ULN), EDISHQ (:func:`edish_quadrant_expr`), HYLAWFL ('Y' when ALT or AST > 3 x ULN and
    BILI > 2 x ULN on one date, :func:`hy_law_dates`, else 'N') and, for a potential Hy's law case,
    its first such date (HYLAWDT, HYLAWDY) with that date's ratios (HYAMTULN, HYBILULN)."""
    post = adlb.filter((pl.col("POSTBLFL") == "Y") & pl.col("R2A1HI").is_not_null())
    amt = (post.filter(pl.col("PARAMCD").is_in(list(AMINOTRANSFERASES)))
           .sort(["USUBJID", "R2A1HI", "PARAMCD"], descending=[False, True, False])
           .group_by("USUBJID", maintain_order=True)
           .agg(AMTPKULN=pl.col("R2A1HI").first(), AMTPKCD=pl.col("PARAMCD").first()))
    bili = (post.filter(pl.col("PARAMCD") == BILIRUBIN).group_by("USUBJID")
            .agg(BILPKULN=pl.col("R2A1HI").max()))
    hy = (hy_law_dates(adlb).filter(pl.col("HYFL") == "Y").group_by("USUBJID", maintain_order=True)
          .agg(HYLAWDT=pl.col("ADT").first(), HYLAWDY=pl.col("ADY").first(),
               HYAMTULN=pl.col("AMTULN").first(), HYBILULN=pl.col("BILULN").first()))
    fas = adsl.filter(pl.col("FASFL") == "Y").select("USUBJID", "SITEID")
    return (fas.join(amt, on="USUBJID", how="left").join(bili, on="USUBJID", how="left")
            .filter(pl.col("AMTPKULN").is_not_null() | pl.col("BILPKULN").is_not_null())
            .join(hy, on="USUBJID", how="left")
            .with_columns(EDISHQ=edish_quadrant_expr(),
                          HYLAWFL=pl.when(pl.col("HYLAWDT").is_not_null()).then(pl.lit("Y"))
                          .otherwise(pl.lit("N")))
            .select(EDISH_COLUMNS).sort("USUBJID"))


def with_hylawfl(adsl: pl.DataFrame, edish: pl.DataFrame) -> pl.DataFrame:
    """R-LAB: ADSL.HYLAWFL, potential Hy's law: 'Y' for a FAS subject with ALT or AST > 3 x ULN
    and BILI > 2 x ULN on one post-baseline date (EDISH.HYLAWFL), 'N' for every other FAS subject
    (no such date, or no liver test at all); null outside the FAS."""
    hy = edish.filter(pl.col("HYLAWFL") == "Y").select("USUBJID", _HY=pl.lit(True))
    return (adsl.join(hy, on="USUBJID", how="left")
            .with_columns(HYLAWFL=pl.when(pl.col("FASFL") != "Y").then(None)
                          .when(pl.col("_HY").fill_null(False)).then(pl.lit("Y"))
                          .otherwise(pl.lit("N")))
            .drop("_HY"))
