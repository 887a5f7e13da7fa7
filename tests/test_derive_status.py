"""ADSTATUS, the PI's status board (etl/derive/status.py), on hand-worked cases: R-DAY (study week,
why observation ended, next and overdue visits), R-ENDPOINT / R-LLDAS (week-12 status in words),
R-PSL (current dose against the 7.5 mg target), R-PROTOCOL (open flags), R-AE (grade >= 3 or
serious). Each test calls the function the ETL runs (build_adam calls build_adstatus)."""
from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.status import build_adstatus, current_psl, lldas_status, serious_or_severe

D = dt.date
S = "jRCTs031230358"


def adsl(*rows) -> pl.DataFrame:
    """rows: (subj, ENRLFL, TRTSDT, EOSSTT, DATACUT, OBSENDT); OBSENDY = OBSENDT - TRTSDT + 1."""
    out = []
    for subj, enrl, trt, eos, cut, obs in rows:
        out.append({"USUBJID": f"{S}-{subj}", "SITEID": subj[:2], "ENRLFL": enrl, "TRTSDT": trt,
                    "EOSSTT": eos, "DATACUT": cut, "OBSENDT": obs,
                    "OBSENDY": (obs - trt).days + 1 if trt and obs else None})
    return pl.DataFrame(out, schema={"USUBJID": pl.String, "SITEID": pl.String, "ENRLFL": pl.String,
                                     "TRTSDT": pl.Date, "EOSSTT": pl.String, "DATACUT": pl.Date,
                                     "OBSENDT": pl.Date, "OBSENDY": pl.Int32})


def visits(*rows) -> pl.DataFrame:
    return pl.DataFrame([{"USUBJID": f"{S}-{s}", "VISIT": v, "VDT": d} for s, v, d in rows],
                        schema={"USUBJID": pl.String, "VISIT": pl.String, "VDT": pl.Date})


def adeff(*rows) -> pl.DataFrame:
    """rows: (subj, PARAMCD, week, DUEFL, RESPFL, REASON)."""
    return pl.DataFrame([{"USUBJID": f"{S}-{s}", "PARAMCD": p, "AVISITN": w, "DUEFL": d, "RESPFL": r,
                          "REASON": why} for s, p, w, d, r, why in rows],
                        schema={"USUBJID": pl.String, "PARAMCD": pl.String, "AVISITN": pl.Int32,
                                "DUEFL": pl.String, "RESPFL": pl.String, "REASON": pl.String})


def adpsl(*rows) -> pl.DataFrame:
    return pl.DataFrame([{"USUBJID": f"{S}-{s}", "ADT": d, "PSLDOSE": x} for s, d, x in rows],
                        schema={"USUBJID": pl.String, "ADT": pl.Date, "PSLDOSE": pl.Float64})


def flags(*rows) -> pl.DataFrame:
    return pl.DataFrame([{"USUBJID": f"{S}-{s}", "FLAGCD": c, "ADT": d} for s, c, d in rows],
                        schema={"USUBJID": pl.String, "FLAGCD": pl.String, "ADT": pl.Date})


def adae(*rows) -> pl.DataFrame:
    """rows: (subj, AESEQ, AEDECOD, grade, AESER, ASTDT, ASTDY)."""
    return pl.DataFrame([{"USUBJID": f"{S}-{s}", "AESEQ": q, "AEDECOD": t, "AETERM": t, "AETOXGR": g,
                          "AESER": ser, "ASTDT": d, "ASTDY": dy} for s, q, t, g, ser, d, dy in rows],
                        schema={"USUBJID": pl.String, "AESEQ": pl.Int32, "AEDECOD": pl.String,
                                "AETERM": pl.String, "AETOXGR": pl.Int32, "AESER": pl.String,
                                "ASTDT": pl.Date, "ASTDY": pl.Int32})


def row(df: pl.DataFrame, subj: str) -> dict:
    return df.filter(pl.col("USUBJID") == f"{S}-{subj}").row(0, named=True)


# Day 1 = 2024-01-01 for every subject below. R-DAY: WEEK 4 nominal day 29 = 2024-01-29, window
# days 22..36 = 2024-01-22 .. 2024-02-05; WEEK 8 nominal day 57 = 2024-02-26, window days 50..64 =
# 2024-02-19 .. 2024-03-04.
DAY1 = D(2024, 1, 1)


def board(subjects, vis=visits(), eff=adeff(), psl=adpsl(), flg=flags(), ae=adae()):
    return build_adstatus(adsl(*subjects), vis, eff, psl, flg, ae)


def test_study_week_and_why_observation_ended():
    # 01-001 in the study, cut 2024-02-19 = day 50 -> week (50 - 1) // 7 = 7, 'data cut'.
    # 01-002 completed, observed to 2024-06-18 = day 170 -> week 169 // 7 = 24, 'completed'.
    # 01-003 discontinued on day 1 -> week 0. 01-004 enrolled, never dosed -> no week, 'not dosed'.
    # 01-005 screen failure: not on the board.
    b = board([("01-001", "Y", DAY1, "ONGOING", D(2024, 2, 19), D(2024, 2, 19)),
               ("01-002", "Y", DAY1, "COMPLETED", D(2024, 9, 1), D(2024, 6, 18)),
               ("01-003", "Y", DAY1, "DISCONTINUED", D(2024, 9, 1), DAY1),
               ("01-004", "Y", None, "ONGOING", D(2024, 9, 1), D(2024, 9, 1)),
               ("01-005", "N", None, "SCREEN FAILURE", D(2024, 9, 1), D(2024, 9, 1))])
    assert b["USUBJID"].to_list() == [f"{S}-01-00{i}" for i in (1, 2, 3, 4)]
    assert [(r["STUDYWK"], r["OBSREAS"]) for r in b.iter_rows(named=True)] == [
        (7, "data cut"), (24, "completed"), (0, "discontinued"), (None, "not dosed")]


def test_next_visit_and_overdue_visit_after_a_closed_window():
    # Cut 2024-02-06: WEEK 4's window closed on 02-05 (before the cut). Not done -> overdue, and
    # the next visit is WEEK 8 (nominal 2024-02-26, window 02-19 .. 03-04).
    cut = D(2024, 2, 6)
    b = board([("01-001", "Y", DAY1, "ONGOING", cut, cut),
               ("01-002", "Y", DAY1, "ONGOING", cut, cut)],
              vis=visits(("01-002", "WEEK 0", DAY1), ("01-002", "WEEK 4", D(2024, 1, 30))))
    r = row(b, "01-001")
    assert r["OVRDVIS"] == "WEEK 4 (window closed 2024-02-05)"
    assert (r["NXTVIS"], r["NXTVISDT"], r["NXTWINLO"], r["NXTWINHI"]) == (
        "WEEK 8", D(2024, 2, 26), D(2024, 2, 19), D(2024, 3, 4))
    # 01-002 did WEEK 4: nothing overdue, the next visit is still WEEK 8.
    r = row(b, "01-002")
    assert r["OVRDVIS"] is None and r["NXTVIS"] == "WEEK 8"


def test_a_window_closing_on_the_cut_is_still_open():
    # Cut 2024-02-05 = the last day of WEEK 4's window: not closed, so WEEK 4 is the next visit.
    cut = D(2024, 2, 5)
    r = row(board([("01-001", "Y", DAY1, "ONGOING", cut, cut)]), "01-001")
    assert r["OVRDVIS"] is None
    assert (r["NXTVIS"], r["NXTWINLO"], r["NXTWINHI"]) == ("WEEK 4", D(2024, 1, 22), D(2024, 2, 5))


def test_a_subject_who_left_has_no_next_or_overdue_visit():
    r = row(board([("01-001", "Y", DAY1, "DISCONTINUED", D(2024, 9, 1), D(2024, 1, 20))]), "01-001")
    assert (r["NXTVIS"], r["OVRDVIS"]) == (None, None)


def test_week_12_lldas_status_in_words():
    # R-ENDPOINT: due from day 7*12 + 8 = 92 = 2024-01-01 + 91 days = 2024-04-01.
    subjects = adsl(*[(f"01-00{i}", "Y", DAY1, "ONGOING", D(2024, 9, 1), D(2024, 9, 1)) for i in range(1, 7)])
    eff = adeff(("01-001", "LLDAS", 12, "Y", "Y", "responder"),
                ("01-002", "LLDAS", 12, "N", None, "not yet due"),
                ("01-003", "LLDAS", 12, "Y", "N", "LLDAS N"),
                ("01-003", "CRIT1", 12, "Y", "N", "CRIT1 N"), ("01-003", "CRIT2", 12, "Y", "Y", "responder"),
                ("01-003", "CRIT4", 12, "Y", "N", "CRIT4 N"), ("01-003", "CRIT5", 12, "Y", "N", "CRIT5 missing"),
                ("01-004", "LLDAS", 12, "Y", "N", "visit not done"),
                ("01-005", "LLDAS", 12, "Y", "N", "LLDAS missing"),
                ("01-005", "CRIT2", 12, "Y", "N", "CRIT2 missing"), ("01-005", "CRIT1", 12, "Y", "Y", "responder"),
                ("01-006", "LLDAS", 12, "Y", "N", "discontinued before week 12"),
                # a week-24 row must not leak into week 12
                ("01-001", "CRIT1", 24, "Y", "N", "CRIT1 N"))
    got = {r["USUBJID"][-6:]: (r["L12STAT"], r["L12TEXT"], r["L12DUEDT"])
           for r in lldas_status(eff, subjects, 12).iter_rows(named=True)}
    due = D(2024, 4, 1)
    assert got == {
        "01-001": ("RESPONDER", "responder", due),
        "01-002": ("NOT YET DUE", "not yet due: due on 2024-04-01", due),
        "01-003": ("NOT MET", "not met: C1 SLEDAI-2K ≤ 4 without major organ activity, C4 PSL ≤ 7.5 mg/day"
                              "; missing: C5 immunosuppressants tolerated", due),
        "01-004": ("MISSING", "missing: the WEEK 12 visit was not done", due),
        "01-005": ("MISSING", "missing: C2 no new activity", due),
        "01-006": ("NOT MET", "not met: discontinued before week 12", due),
    }


def test_current_psl_against_the_target():
    # OBSENDT 2024-03-01 for all. 10 mg -> above; 7.5 -> not; 7.504 compares at 0.01 mg as 7.50 ->
    # not above; 7.51 -> above; no ADPSL row on OBSENDT -> unknown (null), never 0.
    obs = D(2024, 3, 1)
    subjects = adsl(*[(f"01-00{i}", "Y", DAY1, "ONGOING", obs, obs) for i in range(1, 6)])
    psl = adpsl(("01-001", obs, 10.0), ("01-001", D(2024, 2, 29), 2.0), ("01-002", obs, 7.5),
                ("01-003", obs, 7.504), ("01-004", obs, 7.51), ("01-005", D(2024, 2, 29), 5.0))
    got = {r["USUBJID"][-6:]: (r["PSLCUR"], r["PSLABFL"]) for r in current_psl(psl, subjects).iter_rows(named=True)}
    assert got == {"01-001": (10.0, "Y"), "01-002": (7.5, "N"), "01-003": (7.504, "N"),
                   "01-004": (7.51, "Y"), "01-005": (None, None)}
    assert current_psl(psl, subjects)["PSLTGT"].unique().to_list() == [7.5]


def test_grade_3_or_serious_events_in_words():
    ae = adae(("01-001", 1, "Herpes zoster", 3, "Y", D(2024, 3, 5), 65),
              ("01-001", 2, "Headache", 2, "N", D(2024, 1, 10), 10),       # neither: left out
              ("01-001", 3, "Pneumonia", 2, "Y", D(2024, 2, 1), 32),       # serious at grade 2
              ("01-002", 1, "Neutropenia", 3, "N", D(2024, 2, 1), 32))     # grade 3, not serious
    got = {r["USUBJID"][-6:]: (r["NSAE"], r["SAETEXT"]) for r in serious_or_severe(ae).iter_rows(named=True)}
    assert got == {"01-001": (2, "Pneumonia (grade 2, serious, day 32); Herpes zoster (grade 3, serious, day 65)"),
                   "01-002": (1, "Neutropenia (grade 3, day 32)")}


def test_board_counts_open_flags_and_events_with_zero_for_none():
    obs = D(2024, 3, 1)
    b = board([("01-001", "Y", DAY1, "ONGOING", obs, obs), ("01-002", "Y", DAY1, "ONGOING", obs, obs)],
              flg=flags(("01-001", "PSL_ABOVE_7_5_WK12", D(2024, 2, 25)), ("01-001", "INFUSION_MISSED", D(2024, 1, 29))),
              ae=adae(("01-001", 1, "Herpes zoster", 3, "Y", D(2024, 2, 5), 36)))
    assert (row(b, "01-001")["NFLAGS"], row(b, "01-001")["FLAGS"]) == (2, "INFUSION_MISSED; PSL_ABOVE_7_5_WK12")
    assert (row(b, "01-002")["NFLAGS"], row(b, "01-002")["FLAGS"], row(b, "01-002")["NSAE"]) == (0, None, 0)
    assert row(b, "01-001")["NSAE"] == 1
