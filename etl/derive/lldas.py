"""LLDAS criteria C1-C5 and LLDAS (R-LLDAS), DORIS remission (R-DORIS), assembled as ADLLDAS.

Three-valued logic throughout: each criterion is 'Y', 'N', or null when its data are missing;
a criterion made of several conditions is 'N' as soon as one condition is known to fail, 'Y' when
all are known to hold, null otherwise. LLDAS (and DORIS) combine their criteria the same way.
"""
from __future__ import annotations

import polars as pl

from etl.contract import DORIS_PSL_MAX_MG, LLDAS_INVESTIGATOR_ITEMS, PSL_TARGET_MG
from etl.derive.psl import psl_dose_at
from etl.derive.sledai import pga_scores, sledai_scores
from etl.derive.study_day import oowfl_expr, study_day_expr, week_expr

LLDAS_CAT = "LLDAS INVESTIGATOR"
SLEDAI_MAX = 4
PGA_MAX = 1.0
PSL_MAX = PSL_TARGET_MG
DORIS_PGA_BELOW = 0.5
DORIS_PSL_MAX = DORIS_PSL_MAX_MG
# Doses are compared with thresholds at 0.01 mg: R-PSL states 0.75 mg betamethasone equals
# prednisolone 5 mg, while 0.75 x 6.67 = 5.0025; and float sums of regimens are not exact.
DOSE_DECIMALS = 2


def dose_at_most(psldose: str, limit: float) -> pl.Expr:
    """PSL-equivalent dose <= limit, compared at 0.01 mg (R-PSL, R-LLDAS C4, R-DORIS)."""
    return pl.col(psldose).round(DOSE_DECIMALS) <= limit


def yn_bool(col: str | pl.Expr) -> pl.Expr:
    """'Y' -> True, 'N' -> False, anything else -> null."""
    c = pl.col(col) if isinstance(col, str) else col
    return pl.when(c == "Y").then(True).when(c == "N").then(False).otherwise(None)


def all_of(*conditions: pl.Expr) -> pl.Expr:
    """R-LLDAS three-valued AND: 'N' if any condition is False, 'Y' if all True, else null."""
    any_false = pl.any_horizontal([c.not_().fill_null(False) for c in conditions])
    all_true = pl.all_horizontal([c.fill_null(False) for c in conditions])
    return pl.when(any_false).then(pl.lit("N")).when(all_true).then(pl.lit("Y")).otherwise(None)


def crit1(sledai="SLEDAI", c1grp="C1GRPFL", hemolyt="HEMOLYT", giact="GIACT") -> pl.Expr:
    """R-LLDAS C1: SLEDAI-2K <= 4, no CNS/renal/cardiorespiratory/vasculitis/fever descriptor,
    HEMOLYT = N and GIACT = N."""
    return all_of(pl.col(sledai) <= SLEDAI_MAX, yn_bool(c1grp).not_(),
                  yn_bool(hemolyt).not_(), yn_bool(giact).not_())


def crit2(newdesc="NEWDESC", firstfl="FIRSTFL", newact="NEWACT") -> pl.Expr:
    """R-LLDAS C2: no descriptor present that was absent at the subject's previous SLEDAI-2K
    assessment, and NEWACT = N. Null at the first assessment (FIRSTFL) -- not evaluable.
    ``newdesc`` is the number of new descriptors (null when this visit has no SLEDAI-2K)."""
    return (pl.when(pl.col(firstfl).fill_null(False)).then(None)
            .otherwise(all_of(pl.col(newdesc) == 0, yn_bool(newact).not_())))


def crit3(pga="PGA") -> pl.Expr:
    """R-LLDAS C3: PGA <= 1.0 (missing PGA -> null)."""
    return all_of(pl.col(pga) <= PGA_MAX)


def crit4(psldose="PSLDOSE") -> pl.Expr:
    """R-LLDAS C4: prednisolone-equivalent dose on the assessment date <= 7.5 mg/day (R-PSL)."""
    return all_of(dose_at_most(psldose, PSL_MAX))


def crit5(istol="ISTOL") -> pl.Expr:
    """R-LLDAS C5: ISTOL = Y."""
    return all_of(yn_bool(istol))


def lldas_flag(*crits: str) -> pl.Expr:
    """R-LLDAS: 'Y' when C1..C5 are all 'Y', 'N' when any is 'N', null otherwise."""
    crits = crits or ("CRIT1FL", "CRIT2FL", "CRIT3FL", "CRIT4FL", "CRIT5FL")
    return all_of(*(yn_bool(c) for c in crits))


def doris_flag(clinsled="CLINSLED", pga="PGA", psldose="PSLDOSE") -> pl.Expr:
    """R-DORIS: clinical SLEDAI-2K = 0, PGA < 0.5, PSL-eq <= 5 mg/day; missing data -> null."""
    return all_of(pl.col(clinsled) == 0, pl.col(pga) < DORIS_PGA_BELOW,
                  dose_at_most(psldose, DORIS_PSL_MAX))


def with_previous_sledai(sledai: pl.DataFrame) -> pl.DataFrame:
    """R-LLDAS C2: add FIRSTFL (first SLEDAI-2K assessment of the subject) and NEWDESC (number
    of descriptors present now and absent at the previous assessment, null at the first)."""
    s = sledai.sort("USUBJID", "ADT", "VISITNUM")
    prev = pl.col("PRESENT").shift(1).over("USUBJID")
    return s.with_columns(FIRSTFL=prev.is_null(),
                          NEWDESC=pl.col("PRESENT").list.set_difference(prev).list.len()
                          .cast(pl.Int32))


def investigator_items(qs: pl.DataFrame) -> pl.DataFrame:
    """R-LLDAS: NEWACT, HEMOLYT, GIACT, ISTOL ('Y'/'N') per subject and visit."""
    items = (qs.filter((pl.col("QSCAT") == LLDAS_CAT)
                       & pl.col("QSTESTCD").is_in(LLDAS_INVESTIGATOR_ITEMS))
             .select("USUBJID", "VISIT", "VISITNUM", "QSDT", "QSTESTCD",
                     pl.col("QSORRES").str.to_uppercase()))
    base = items.group_by("USUBJID", "VISIT", "VISITNUM").agg(IDT=pl.col("QSDT").min())
    for code in LLDAS_INVESTIGATOR_ITEMS:
        one = (items.filter(pl.col("QSTESTCD") == code).sort("QSDT")
               .group_by("USUBJID", "VISIT", "VISITNUM").agg(pl.col("QSORRES").last().alias(code)))
        base = base.join(one, on=["USUBJID", "VISIT", "VISITNUM"], how="left")
    return base


ADLLDAS_COLUMNS = ["USUBJID", "SITEID", "AVISIT", "AVISITN", "VISITNUM", "ADT", "ADY", "SLEDAI",
                   "SLEDAIPR", "PGA", "PSLDOSE", "NEWACT", "HEMOLYT", "GIACT", "ISTOL", "CRIT1FL",
                   "CRIT2FL", "CRIT3FL", "CRIT4FL", "CRIT5FL", "LLDASFL", "DORISFL", "OOWFL",
                   "CLINSLED"]


def build_adlldas(qs: pl.DataFrame, daily: pl.DataFrame, cm: pl.DataFrame,
                  subjects: pl.DataFrame) -> pl.DataFrame:
    """ADLLDAS: one row per subject and assessment visit (R-SLEDAI, R-PGA, R-LLDAS, R-DORIS, R-DAY).

    ``subjects``: USUBJID, SITEID, TRTSDT, OBSENDT (R-DAY). ADT is the SLEDAI-2K date (else the PGA, else
    the investigator items' date); PSLDOSE is the R-PSL dose on ADT (see etl.derive.psl for how a
    subject without glucocorticoid rows is treated).
    """
    keys = ["USUBJID", "VISIT", "VISITNUM"]
    sled = with_previous_sledai(sledai_scores(qs)).rename({"ADT": "SDT"})
    pga = pga_scores(qs).rename({"ADT": "PDT"})
    inv = investigator_items(qs)
    visits = pl.concat([sled.select(keys), pga.select(keys), inv.select(keys)]).unique()
    a = (visits.join(sled, on=keys, how="left").join(pga, on=keys, how="left")
         .join(inv, on=keys, how="left")
         .with_columns(ADT=pl.coalesce("SDT", "PDT", "IDT"))
         .join(subjects.select("USUBJID", "SITEID", "TRTSDT", "OBSENDT"), on="USUBJID", how="left"))
    a = psl_dose_at(daily, cm, a)
    a = (a.with_columns(AVISIT=pl.col("VISIT"), AVISITN=week_expr("VISIT"),
                        ADY=study_day_expr("ADT", "TRTSDT"))
         .with_columns(OOWFL=oowfl_expr("VISIT", "ADY"),
                       CRIT1FL=crit1(), CRIT2FL=crit2(), CRIT3FL=crit3(), CRIT4FL=crit4(),
                       CRIT5FL=crit5(), DORISFL=doris_flag())
         .with_columns(LLDASFL=lldas_flag()))
    return a.select(ADLLDAS_COLUMNS).sort("USUBJID", "ADT", "VISITNUM")
