"""Primary and secondary endpoints as monitored (R-ENDPOINT).

- Due for week W: day ``7W + 1 + 7`` on or before the data cut, or the subject has left the study
  (rules 1.1: completed or discontinued, EOSSTT; a subject who left can never be assessed later,
  so every week is due).
- The week-W date: the date of the subject's WEEK W visit if done (its earliest record in qs,
  ex, lb or vs), else the nominal day ``7W + 1``.
- A due subject without a 'Y' is a non-responder; REASON says why, in this order: discontinued
  before the week-W nominal date without the visit; visit not done; '<PARAM> N'; '<PARAM> missing'.
  Visit-based endpoints (LLDAS, CRIT1-5, DORIS) need the visit; PSL discontinuation is read on the
  week-W date from cm (R-PSL) and needs no visit, but a subject who discontinued the study before
  the week-W date without the visit is a non-responder there too.
"""
from __future__ import annotations

import polars as pl

from etl.contract import ENDPOINT_WEEKS
from etl.derive.psl import psl_dose_at
from etl.derive.study_day import nominal_day, study_day_expr

WEEKS = ENDPOINT_WEEKS
VISIT_OF_WEEK = {w: f"WEEK {w}" for w in (0, 4, 8, 12, 16, 20, 24)}
CHG_PARAMS = {"SLEDAI": "SLEDAI-2K total score", "C3": "Complement C3 (mg/dL)",
              "C4": "Complement C4 (mg/dL)", "CH50": "Total complement CH50 (U/mL)",
              "DDNAIGAB": "Anti-dsDNA IgG (IU/mL)"}
EFF_PARAMS = {"LLDAS": "LLDAS", "CRIT1": "LLDAS criterion 1 (SLEDAI-2K)",
              "CRIT2": "LLDAS criterion 2 (no new activity)", "CRIT3": "LLDAS criterion 3 (PGA <= 1)",
              "CRIT4": "LLDAS criterion 4 (PSL <= 7.5 mg/day)", "CRIT5": "LLDAS criterion 5 (immunosuppressants tolerated)",
              "DORIS": "DORIS remission (exploratory)", "PSLDISC": "PSL discontinued (dose 0)"}
EFF_SOURCE = {"LLDAS": "LLDASFL", "CRIT1": "CRIT1FL", "CRIT2": "CRIT2FL", "CRIT3": "CRIT3FL",
              "CRIT4": "CRIT4FL", "CRIT5": "CRIT5FL", "DORIS": "DORISFL"}


def due_day(week: int) -> int:
    """R-ENDPOINT: the study day from which week W is due: 7W + 1 + 7 (week 12 -> 92)."""
    return nominal_day(week) + 7


LEFT_STUDY = ("COMPLETED", "DISCONTINUED")     # ADSL.EOSSTT of a subject who left the study


def due_expr(week: int, cutdy: str = "CUTDY", eosstt: str = "EOSSTT") -> pl.Expr:
    """R-ENDPOINT (1.1): DUEFL 'Y' when day 7W+8 is on or before the data cut (CUTDY), or the
    subject has left the study (EOSSTT COMPLETED or DISCONTINUED); else 'N'."""
    left = pl.col(eosstt).is_in(LEFT_STUDY).fill_null(False)
    due = left | (pl.col(cutdy) >= due_day(week)).fill_null(False)
    return pl.when(due).then(pl.lit("Y")).otherwise(pl.lit("N"))


def response_exprs(week: int, label: str, needs_visit: bool) -> tuple[pl.Expr, pl.Expr]:
    """R-ENDPOINT: (RESPFL, REASON) expressions over DUEFL, VDONE (visit done), VALUE (the
    endpoint's flag at the visit) and DISCBEF (discontinued before the week-W nominal date).

    Not due -> (null, 'not yet due'). Due: discontinued before week W without the visit -> 'N',
    'discontinued before week W'; visit not done (when ``needs_visit``) -> 'N', 'visit not done';
    VALUE 'Y' -> 'Y', 'responder'; else 'N', '<label> N' or '<label> missing'."""
    due = pl.col("DUEFL") == "Y"
    disc = pl.col("DISCBEF") & ~pl.col("VDONE")
    novisit = ~pl.col("VDONE") if needs_visit else pl.lit(False)
    resp = (pl.when(~due).then(None).when(disc | novisit).then(pl.lit("N"))
            .when(pl.col("VALUE") == "Y").then(pl.lit("Y")).otherwise(pl.lit("N")))
    reason = (pl.when(~due).then(pl.lit("not yet due"))
              .when(disc).then(pl.lit(f"discontinued before week {week}"))
              .when(novisit).then(pl.lit("visit not done"))
              .when(pl.col("VALUE") == "Y").then(pl.lit("responder"))
              .when(pl.col("VALUE") == "N").then(pl.lit(f"{label} N"))
              .otherwise(pl.lit(f"{label} missing")))
    return resp, reason


def visit_dates(*frames: tuple[pl.DataFrame, str]) -> pl.DataFrame:
    """R-ENDPOINT: visits done: USUBJID, VISIT, VDT (earliest record of the visit in any domain).

    ``frames``: (sdtm frame, its typed date column), e.g. (qs, 'QSDT'), (ex, 'EXSTDT')."""
    parts = [f.select("USUBJID", "VISIT", pl.col(c).alias("VDT")) for f, c in frames if f.height]
    if not parts:
        return pl.DataFrame(schema={"USUBJID": pl.String, "VISIT": pl.String, "VDT": pl.Date})
    return (pl.concat(parts).filter(pl.col("VDT").is_not_null())
            .group_by("USUBJID", "VISIT").agg(pl.col("VDT").min()).sort("USUBJID", "VISIT"))


def fas_weeks(adsl: pl.DataFrame, vdates: pl.DataFrame, weeks=WEEKS) -> pl.DataFrame:
    """R-ENDPOINT: one row per FAS subject and week: USUBJID, SITEID, AVISITN, WKDT, VDONE,
    DUEFL, DISCBEF (discontinued before the week's nominal date), OBSENDT, TRTSDT."""
    fas = adsl.filter(pl.col("FASFL") == "Y")
    rows = []
    for w in weeks:
        v = vdates.filter(pl.col("VISIT") == VISIT_OF_WEEK[w]).select("USUBJID", "VDT")
        rows.append(fas.join(v, on="USUBJID", how="left").with_columns(
            AVISITN=pl.lit(w, dtype=pl.Int32),
            VDONE=pl.col("VDT").is_not_null(),
            WKDT=pl.coalesce("VDT", pl.col("TRTSDT") + pl.duration(days=7 * w)),
            DUEFL=due_expr(w),
            DISCBEF=((pl.col("EOSSTT") == "DISCONTINUED")
                     & (pl.col("EOSDT") < pl.col("TRTSDT") + pl.duration(days=7 * w))).fill_null(False)))
    return (pl.concat(rows).select("USUBJID", "SITEID", "AVISITN", "WKDT", "VDONE", "DUEFL", "DISCBEF",
                                   "OBSENDT", "TRTSDT").sort("USUBJID", "AVISITN"))


def build_adpslwk(adsl, vdates, daily, cm) -> pl.DataFrame:
    """ADPSLWK (R-ENDPOINT, R-PSL): dose and cumulative doses on the week-12/24 dates; DISCFL 'Y'
    dose 0, 'N' dose > 0, null unknown (a week-W date after the end of observation, R-PSL 1.1, or
    no glucocorticoid recorded)."""
    fw = psl_dose_at(daily, cm, fas_weeks(adsl, vdates), date="WKDT")
    return (fw.with_columns(DISCFL=pl.when(pl.col("PSLDOSE") == 0).then(pl.lit("Y"))
                            .when(pl.col("PSLDOSE") > 0).then(pl.lit("N")).otherwise(None))
            .select("USUBJID", "SITEID", "AVISITN", "WKDT", "DUEFL", "PSLDOSE", "CUMDOSE",
                    "CUMDOSNP", "DISCFL").sort("USUBJID", "AVISITN"))


def build_adeff(adsl, vdates, adlldas, adpslwk) -> pl.DataFrame:
    """ADEFF (R-ENDPOINT): per FAS subject, endpoint (LLDAS, CRIT1-5, DORIS at weeks 12 and 24;
    PSLDISC at week 24) and week: WKDT, DUEFL, RESPFL, REASON."""
    fw = fas_weeks(adsl, vdates)
    out = []
    for w in WEEKS:
        fw_w = fw.filter(pl.col("AVISITN") == w)
        at_visit = (adlldas.filter(pl.col("AVISIT") == VISIT_OF_WEEK[w]).sort("ADT")
                    .unique("USUBJID", keep="first"))
        for paramcd, src in EFF_SOURCE.items():
            label = "LLDAS" if paramcd == "LLDAS" else paramcd
            resp, reason = response_exprs(w, label, needs_visit=True)
            out.append(fw_w.join(at_visit.select("USUBJID", pl.col(src).alias("VALUE")), on="USUBJID", how="left")
                       .with_columns(PARAMCD=pl.lit(paramcd), PARAM=pl.lit(EFF_PARAMS[paramcd]),
                                     RESPFL=resp, REASON=reason))
    resp, reason = response_exprs(24, "PSLDISC", needs_visit=False)
    out.append(fw.filter(pl.col("AVISITN") == 24)
               .join(adpslwk.filter(pl.col("AVISITN") == 24).select("USUBJID", pl.col("DISCFL").alias("VALUE")),
                     on="USUBJID", how="left")
               .with_columns(PARAMCD=pl.lit("PSLDISC"), PARAM=pl.lit(EFF_PARAMS["PSLDISC"]),
                             RESPFL=resp, REASON=reason))
    cols = ["USUBJID", "SITEID", "PARAMCD", "PARAM", "AVISITN", "WKDT", "DUEFL", "RESPFL", "REASON"]
    return pl.concat([o.select(cols) for o in out]).sort("USUBJID", "PARAMCD", "AVISITN")


def build_adchg(adsl, vdates, adlldas, adlb) -> pl.DataFrame:
    """ADCHG (R-ENDPOINT): change from week 0 at weeks 12 and 24 in SLEDAI-2K, C3, C4, CH50 and
    anti-dsDNA: BASE (week-0 value), AVAL (week-W visit value), CHG = AVAL - BASE."""
    fw = fas_weeks(adsl, vdates).select("USUBJID", "SITEID", "AVISITN", "DUEFL")
    sled = adlldas.filter(pl.col("SLEDAI").is_not_null()).select(
        "USUBJID", pl.lit("SLEDAI").alias("PARAMCD"), "AVISIT", "ADT", pl.col("SLEDAI").cast(pl.Float64).alias("V"))
    labs = adlb.filter(pl.col("PARAMCD").is_in(list(CHG_PARAMS)) & pl.col("AVAL").is_not_null()).select(
        "USUBJID", "PARAMCD", "AVISIT", "ADT", pl.col("AVAL").alias("V"))
    vals = pl.concat([sled, labs]).sort("USUBJID", "PARAMCD", "AVISIT", "ADT")
    first = lambda visit, name: (vals.filter(pl.col("AVISIT") == visit)
                                 .group_by("USUBJID", "PARAMCD").agg(pl.col("V").first().alias(name)))
    params = pl.DataFrame({"PARAMCD": list(CHG_PARAMS), "PARAM": list(CHG_PARAMS.values())})
    out = []
    base = first("WEEK 0", "BASE")
    for w in WEEKS:
        out.append(fw.filter(pl.col("AVISITN") == w).join(params, how="cross")
                   .join(base, on=["USUBJID", "PARAMCD"], how="left")
                   .join(first(VISIT_OF_WEEK[w], "AVAL"), on=["USUBJID", "PARAMCD"], how="left"))
    return (pl.concat(out).with_columns(CHG=pl.col("AVAL") - pl.col("BASE"))
            .select("USUBJID", "SITEID", "PARAMCD", "PARAM", "AVISITN", "DUEFL", "BASE", "AVAL", "CHG")
            .sort("USUBJID", "PARAMCD", "AVISITN"))


def build_adcmis(cm: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """ADCMIS (R-ENDPOINT): immunosuppressants, one row per subject and drug: ASTDT (earliest
    full start date; null when only a partial start is known, kept in CMSTDTC), ASTDY (its study
    day), AENDT (latest end; null while any row is ongoing)."""
    im = cm.filter(pl.col("CMCAT") == "IMMUNOSUPPRESSANT").sort("USUBJID", "CMDECOD", "CMSTDTC", "CMSEQ")
    g = (im.group_by("USUBJID", "CMDECOD", maintain_order=True)
         .agg(pl.col("CMTRT").first(), pl.col("CMCAT").first(), pl.col("CMSTDTC").min(),
              ASTDT=pl.col("CMSTDT").min(),
              AENDT=pl.when(pl.col("CMENDTC").is_null().any()).then(None).otherwise(pl.col("CMENDT").max())))
    return (g.join(adsl.select("USUBJID", "SITEID", "TRTSDT"), on="USUBJID", how="left")
            .with_columns(ASTDY=study_day_expr("ASTDT", "TRTSDT"))
            .select("USUBJID", "SITEID", "CMDECOD", "CMTRT", "CMCAT", "ASTDT", "ASTDY", "AENDT", "CMSTDTC")
            .sort("USUBJID", "CMDECOD"))
