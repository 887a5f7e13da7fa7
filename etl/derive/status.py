"""ADSTATUS: the PI's subject status board, one row per enrolled subject (R-DAY, R-ENDPOINT,
R-LLDAS, R-PSL, R-PROTOCOL, R-AE).

"Today" is the data cut of the subject's site: the warehouse has no other clock. Every fact is
read from tables derived elsewhere (ADSL, ADEFF, ADPSL, the protocol flags, ADAE, the visits done)
and from the visit schedule of ``etl.contract.VISITS``; nothing is recomputed here.

- Where the subject is (R-DAY): STUDYWK, the weeks completed since day 1 at the end of
  observation (``(OBSENDY - 1) // 7``), and OBSREAS, why observation ended there: 'data cut'
  (still in the study), 'completed', 'discontinued'; 'not dosed' without a first infusion.
- The next visit (R-DAY), for a subject still in the study: the first scheduled visit after
  WEEK 0 that is not done and whose window (nominal day +/- window) has not closed before the data
  cut; NXTVIS, its nominal date NXTVISDT and window dates NXTWINLO..NXTWINHI. Overdue (OVRDVIS):
  the visits not done whose window closed before the data cut.
- LLDAS at weeks 12 and 24 (R-ENDPOINT, R-LLDAS): L12STAT / L24STAT 'RESPONDER', 'NOT MET',
  'MISSING' or 'NOT YET DUE'; L12TEXT / L24TEXT say why in words (the failing or missing criteria,
  the visit not done, the discontinuation, the date it becomes due); L12DUEDT / L24DUEDT the date
  the week becomes due (day 7W + 8).
- PSL (R-PSL): PSLCUR, the prednisolone-equivalent dose on the last observed day (ADPSL on
  OBSENDT; null when unknown), PSLTGT the 7.5 mg/day target, PSLABFL 'Y' above it.
- Open protocol flags (R-PROTOCOL): NFLAGS and FLAGS (their codes, '; '-joined, by date).
- Adverse events of grade >= 3 or serious (R-AE): NSAE and SAETEXT ('Herpes zoster (grade 3,
  serious, day 65)', by onset).
"""
from __future__ import annotations

import polars as pl

from etl.contract import PSL_TARGET_MG, VISITS
from etl.derive.endpoints import WEEKS, due_day
from etl.derive.study_day import visit_window

STATUS_COLUMNS = ["USUBJID", "SITEID", "DATACUT", "OBSENDT", "OBSENDY", "OBSREAS", "STUDYWK",
                  "NXTVIS", "NXTVISDT", "NXTWINLO", "NXTWINHI", "OVRDVIS",
                  "L12STAT", "L12TEXT", "L12DUEDT", "L24STAT", "L24TEXT", "L24DUEDT",
                  "PSLCUR", "PSLTGT", "PSLABFL", "NFLAGS", "FLAGS", "NSAE", "SAETEXT"]
# R-LLDAS criteria as a clinician names them when one fails or is missing.
CRITERION_WORDS = {"CRIT1": "C1 SLEDAI-2K ≤ 4 without major organ activity",
                   "CRIT2": "C2 no new activity", "CRIT3": "C3 PGA ≤ 1",
                   "CRIT4": f"C4 PSL ≤ {PSL_TARGET_MG:g} mg/day",
                   "CRIT5": "C5 immunosuppressants tolerated"}
SCHEDULED = [(v, s[2], s[3]) for v, s in VISITS.items() if s[1] is not None and s[1] > 0]


def observation_reason_expr() -> pl.Expr:
    """R-DAY: why observation ended at OBSENDT: 'not dosed' (no TRTSDT), 'completed',
    'discontinued', else 'data cut' (the subject is still in the study)."""
    return (pl.when(pl.col("TRTSDT").is_null()).then(pl.lit("not dosed"))
            .when(pl.col("EOSSTT") == "COMPLETED").then(pl.lit("completed"))
            .when(pl.col("EOSSTT") == "DISCONTINUED").then(pl.lit("discontinued"))
            .otherwise(pl.lit("data cut")))


def visit_plan(adsl: pl.DataFrame, vdates: pl.DataFrame) -> pl.DataFrame:
    """R-DAY: per subject still in the study (EOSSTT ONGOING, dosed) and scheduled visit after
    WEEK 0: VISIT, VISITNUM, NOMDT (nominal date), WINLO/WINHI (window dates), DONE, CLOSED (window
    closed before the data cut)."""
    inside = adsl.filter((pl.col("EOSSTT") == "ONGOING") & pl.col("TRTSDT").is_not_null())
    sched = pl.DataFrame({"VISIT": [v for v, _, _ in SCHEDULED],
                          "VISITNUM": [VISITS[v][0] for v, _, _ in SCHEDULED],
                          "NOMD": [d for _, d, _ in SCHEDULED],
                          "LOD": [visit_window(v)[0] for v, _, _ in SCHEDULED],
                          "HID": [visit_window(v)[1] for v, _, _ in SCHEDULED]})
    done = vdates.select("USUBJID", "VISIT", DONE=pl.lit(True))
    day = lambda c: pl.col("TRTSDT") + pl.duration(days=pl.col(c) - 1)   # study day -> date (day >= 1)
    return (inside.select("USUBJID", "TRTSDT", "DATACUT").join(sched, how="cross")
            .join(done, on=["USUBJID", "VISIT"], how="left")
            .with_columns(DONE=pl.col("DONE").fill_null(False), NOMDT=day("NOMD"),
                          WINLO=day("LOD"), WINHI=day("HID"))
            .with_columns(CLOSED=pl.col("WINHI") < pl.col("DATACUT"))
            .select("USUBJID", "VISIT", "VISITNUM", "NOMDT", "WINLO", "WINHI", "DONE", "CLOSED")
            .sort("USUBJID", "VISITNUM"))


def next_and_overdue_visits(plan: pl.DataFrame) -> pl.DataFrame:
    """R-DAY: per subject of :func:`visit_plan`: NXTVIS/NXTVISDT/NXTWINLO/NXTWINHI (the first
    visit not done whose window is still open or to come) and OVRDVIS ('WEEK 8 (window closed
    2025-11-23)'; '; '-joined; null when none)."""
    nxt = (plan.filter(~pl.col("DONE") & ~pl.col("CLOSED")).group_by("USUBJID")
           .agg(pl.all().sort_by("VISITNUM").first())
           .select("USUBJID", NXTVIS=pl.col("VISIT"), NXTVISDT=pl.col("NOMDT"),
                   NXTWINLO=pl.col("WINLO"), NXTWINHI=pl.col("WINHI")))
    over = (plan.filter(~pl.col("DONE") & pl.col("CLOSED")).sort("USUBJID", "VISITNUM")
            .group_by("USUBJID", maintain_order=True)
            .agg(OVRDVIS=pl.format("{} (window closed {})", "VISIT", pl.col("WINHI").cast(pl.String))
                 .str.join("; ")))
    subjects = plan.select("USUBJID").unique()
    return subjects.join(nxt, on="USUBJID", how="left").join(over, on="USUBJID", how="left")


def lldas_status(adeff: pl.DataFrame, adsl: pl.DataFrame, week: int) -> pl.DataFrame:
    """R-ENDPOINT / R-LLDAS at week ``week``, per FAS subject: L{w}STAT, L{w}TEXT, L{w}DUEDT.

    From ADEFF's LLDAS row: RESPFL 'Y' -> RESPONDER 'responder'; not due -> NOT YET DUE 'not yet
    due: due on <date>'; discontinued before the week -> NOT MET; 'visit not done' -> MISSING
    'missing: the WEEK W visit was not done'; 'LLDAS N' -> NOT MET 'not met: <the criteria whose
    ADEFF row is N>' (and '; missing: ...' for those missing); 'LLDAS missing' -> MISSING
    'missing: <the criteria whose ADEFF row is missing>'. The due date is day 7W + 8."""
    w = str(week)
    crit = adeff.filter(pl.col("PARAMCD").is_in(list(CRITERION_WORDS)) & (pl.col("AVISITN") == week))
    words = pl.col("PARAMCD").replace_strict(CRITERION_WORDS, return_dtype=pl.String)
    fails = (crit.filter(pl.col("REASON").str.ends_with(" N")).sort("PARAMCD").group_by("USUBJID")
             .agg(FAILS=words.sort().str.join(", ")))
    missing = (crit.filter(pl.col("REASON").str.ends_with(" missing")).sort("PARAMCD").group_by("USUBJID")
               .agg(MISSES=words.sort().str.join(", ")))
    lldas = adeff.filter((pl.col("PARAMCD") == "LLDAS") & (pl.col("AVISITN") == week))
    due_on = pl.col("TRTSDT") + pl.duration(days=due_day(week) - 1)
    reason = pl.col("REASON")
    stat = (pl.when(pl.col("RESPFL") == "Y").then(pl.lit("RESPONDER"))
            .when(pl.col("DUEFL") != "Y").then(pl.lit("NOT YET DUE"))
            .when(reason.str.starts_with("discontinued") | (reason == "LLDAS N")).then(pl.lit("NOT MET"))
            .otherwise(pl.lit("MISSING")))
    also_missing = pl.when(pl.col("MISSES").is_not_null()).then(pl.lit("; missing: ") + pl.col("MISSES")).otherwise(pl.lit(""))
    text = (pl.when(pl.col("RESPFL") == "Y").then(pl.lit("responder"))
            .when(pl.col("DUEFL") != "Y").then(pl.lit("not yet due: due on ") + pl.col("DUEDT").cast(pl.String))
            .when(reason.str.starts_with("discontinued")).then(pl.lit("not met: ") + reason)
            .when(reason == "visit not done").then(pl.lit(f"missing: the WEEK {week} visit was not done"))
            .when(reason == "LLDAS N").then(pl.lit("not met: ") + pl.col("FAILS").fill_null("LLDAS N") + also_missing)
            .otherwise(pl.lit("missing: ") + pl.col("MISSES").fill_null("LLDAS not evaluable")))
    return (lldas.join(adsl.select("USUBJID", "TRTSDT"), on="USUBJID", how="left")
            .join(fails, on="USUBJID", how="left").join(missing, on="USUBJID", how="left")
            .with_columns(DUEDT=due_on)
            .select("USUBJID", stat.alias(f"L{w}STAT"), text.alias(f"L{w}TEXT"), pl.col("DUEDT").alias(f"L{w}DUEDT")))


def current_psl(adpsl: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    """R-PSL: PSLCUR, the daily dose on the last observed day (ADPSL's row on OBSENDT; null when
    ADPSL has none: unknown, never 0), PSLTGT 7.5, PSLABFL 'Y' when PSLCUR > 7.5 (at 0.01 mg, as
    R-LLDAS C4 compares), 'N' when at most, null when unknown."""
    last = adsl.select("USUBJID", pl.col("OBSENDT").alias("ADT")).join(
        adpsl.select("USUBJID", "ADT", "PSLDOSE"), on=["USUBJID", "ADT"], how="inner")
    return (adsl.select("USUBJID").join(last.select("USUBJID", PSLCUR="PSLDOSE"), on="USUBJID", how="left")
            .with_columns(PSLTGT=pl.lit(PSL_TARGET_MG),
                          PSLABFL=pl.when(pl.col("PSLCUR").is_null()).then(None)
                          .when(pl.col("PSLCUR").round(2) > PSL_TARGET_MG).then(pl.lit("Y")).otherwise(pl.lit("N"))))


def serious_or_severe(adae: pl.DataFrame) -> pl.DataFrame:
    """R-AE: per subject, NSAE (events of grade >= 3 or serious) and SAETEXT in words, by onset."""
    bad = adae.filter((pl.col("AETOXGR") >= 3).fill_null(False) | (pl.col("AESER") == "Y"))
    desc = pl.format("{} (grade {}{}, day {})", pl.col("AEDECOD").fill_null(pl.col("AETERM")),
                     pl.col("AETOXGR").cast(pl.String).fill_null("?"),
                     pl.when(pl.col("AESER") == "Y").then(pl.lit(", serious")).otherwise(pl.lit("")),
                     pl.col("ASTDY").cast(pl.String).fill_null("?"))
    return (bad.sort("USUBJID", "ASTDT", "AESEQ").group_by("USUBJID", maintain_order=True)
            .agg(NSAE=pl.len().cast(pl.Int32), SAETEXT=desc.str.join("; ")))


def open_flags(flags: pl.DataFrame) -> pl.DataFrame:
    """R-PROTOCOL: per subject, NFLAGS and FLAGS (codes by date, '; '-joined)."""
    return (flags.sort("USUBJID", "ADT", "FLAGCD").group_by("USUBJID", maintain_order=True)
            .agg(NFLAGS=pl.len().cast(pl.Int32), FLAGS=pl.col("FLAGCD").str.join("; ")))


def build_adstatus(adsl: pl.DataFrame, vdates: pl.DataFrame, adeff: pl.DataFrame,
                   adpsl: pl.DataFrame, flags: pl.DataFrame, adae: pl.DataFrame) -> pl.DataFrame:
    """ADSTATUS (module docstring): one row per enrolled subject (ADSL ENRLFL 'Y')."""
    enrolled = adsl.filter(pl.col("ENRLFL") == "Y")
    out = (enrolled.select("USUBJID", "SITEID", "DATACUT", "OBSENDT", "OBSENDY", "TRTSDT", "EOSSTT")
           .with_columns(OBSREAS=observation_reason_expr(),
                         STUDYWK=pl.when(pl.col("OBSENDY") >= 1).then((pl.col("OBSENDY") - 1) // 7)
                         .otherwise(None).cast(pl.Int32))
           .join(next_and_overdue_visits(visit_plan(enrolled, vdates)), on="USUBJID", how="left"))
    for week in WEEKS:
        out = out.join(lldas_status(adeff, enrolled, week), on="USUBJID", how="left")
    out = (out.join(current_psl(adpsl, enrolled), on="USUBJID", how="left")
           .join(open_flags(flags), on="USUBJID", how="left")
           .join(serious_or_severe(adae), on="USUBJID", how="left")
           .with_columns(pl.col("NFLAGS").fill_null(0), pl.col("NSAE").fill_null(0)))
    return out.select(STATUS_COLUMNS).sort("USUBJID")
