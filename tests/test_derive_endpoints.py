"""R-ENDPOINT: due-ness, the week-W date, responders, change from week 0, PSL at weeks 12/24,
immunosuppressants. First infusion of every subject here: 2024-01-10 (day 1)."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from etl.derive.endpoints import (build_adchg, build_adcmis, build_adeff, build_adpslwk, due_day,
                                  due_expr, visit_dates)
from etl.derive.enrol import observation_end_expr
from etl.derive.psl import psl_daily
from tests.derive_fixtures import sdtm, subjects, usubjid

D = dt.date
RF = D(2024, 1, 10)
U = usubjid


def test_due_day_is_nominal_plus_seven_R_ENDPOINT():
    assert due_day(12) == 92    # 7*12 + 1 + 7
    assert due_day(24) == 176   # 7*24 + 1 + 7


@pytest.mark.parametrize("week, cutdy, eosstt, due", [
    (12, 91, "ONGOING", "N"),        # one day short of 92: not yet due
    (12, 92, "ONGOING", "Y"),        # on the day: due
    (12, 40, "DISCONTINUED", "Y"),   # left the study (withdrew) before week 12: due
    (12, None, "ONGOING", "N"),
    (24, 172, "ONGOING", "N"),       # day 172 < 7*24 + 8 = 176: week 24 not yet due
    (24, 172, "COMPLETED", "Y"),     # 1.1: completed (left the study) on day 170: every week due
])
def test_due_week_W_when_day_7W_plus_8_reached_or_subject_left_R_ENDPOINT(week, cutdy, eosstt, due):
    """The DUEFL expression the ETL runs (build_adeff's fas_weeks), one condition deciding each row."""
    f = pl.DataFrame({"CUTDY": [cutdy], "EOSSTT": [eosstt]}, schema={"CUTDY": pl.Int32, "EOSSTT": pl.String})
    assert f.select(due_expr(week)).item() == due


def adsl_frame(rows):
    """(subjid, cut date, EOSSTT, EOSDT); CUTDY computed by hand in each test's comments; OBSENDT
    by the real R-DAY expression (end of study or data cut, whichever first)."""
    return pl.DataFrame({
        "USUBJID": [U(s) for s, *_ in rows], "SITEID": ["01"] * len(rows), "FASFL": ["Y"] * len(rows),
        "TRTSDT": [RF] * len(rows), "DATACUT": [c for _, c, _, _, _ in rows],
        "CUTDY": [dy for *_, dy in rows], "EOSSTT": [e for _, _, e, _, _ in rows],
        "EOSDT": [d for _, _, _, d, _ in rows]},
        schema={"USUBJID": pl.String, "SITEID": pl.String, "FASFL": pl.String, "TRTSDT": pl.Date,
                "DATACUT": pl.Date, "CUTDY": pl.Int32, "EOSSTT": pl.String, "EOSDT": pl.Date}
    ).with_columns(OBSENDT=observation_end_expr())


# Cut dates: day 100 = Jan 10 + 99 = Apr 18; day 92 = Apr 10; day 91 = Apr 9.
ADSL = adsl_frame([
    ("001", D(2024, 4, 18), "ONGOING", None, 100),
    ("002", D(2024, 4, 18), "ONGOING", None, 100),
    ("003", D(2024, 4, 18), "ONGOING", None, 100),       # WEEK 12 missed
    ("004", D(2024, 4, 18), "DISCONTINUED", D(2024, 3, 1), 100),  # withdrew on day 52
    ("005", D(2024, 4, 9), "ONGOING", None, 91),         # not yet due
    ("006", D(2024, 4, 10), "ONGOING", None, 92),        # due on the day; LLDAS missing
])
VDATES = pl.DataFrame({"USUBJID": [U(s) for s in ("001", "002", "005", "006")],
                       "VISIT": ["WEEK 12"] * 4,
                       "VDT": [D(2024, 4, 5), D(2024, 4, 3), D(2024, 4, 3), D(2024, 4, 3)]})


def adlldas_frame(rows):
    cols = ["CRIT1FL", "CRIT2FL", "CRIT3FL", "CRIT4FL", "CRIT5FL", "LLDASFL", "DORISFL"]
    return pl.DataFrame([{"USUBJID": U(s), "AVISIT": v, "ADT": d, "SLEDAI": sl, **dict(zip(cols, f))}
                         for s, v, d, sl, f in rows],
                        schema={"USUBJID": pl.String, "AVISIT": pl.String, "ADT": pl.Date,
                                "SLEDAI": pl.Int32, **{c: pl.String for c in cols}})


ADLLDAS = adlldas_frame([
    ("001", "WEEK 12", D(2024, 4, 5), 2, ["Y", "Y", "Y", "Y", "Y", "Y", "N"]),
    ("002", "WEEK 12", D(2024, 4, 3), 2, ["Y", "Y", "N", "Y", "Y", "N", "N"]),
    ("005", "WEEK 12", D(2024, 4, 3), 2, ["Y", "Y", "Y", "Y", "Y", "Y", "Y"]),
    ("006", "WEEK 12", D(2024, 4, 3), 2, ["Y", None, "Y", "Y", "Y", None, None]),
])
ADPSLWK = pl.DataFrame({"USUBJID": [U("004")], "AVISITN": [24], "DISCFL": ["Y"]})


def test_primary_endpoint_responders_due_and_not_yet_due_R_ENDPOINT():
    e = build_adeff(ADSL, VDATES, ADLLDAS, ADPSLWK)
    lldas12 = e.filter((pl.col("PARAMCD") == "LLDAS") & (pl.col("AVISITN") == 12))
    assert lldas12.select("USUBJID", "WKDT", "DUEFL", "RESPFL", "REASON").rows() == [
        (U("001"), D(2024, 4, 5), "Y", "Y", "responder"),
        (U("002"), D(2024, 4, 3), "Y", "N", "LLDAS N"),
        (U("003"), D(2024, 4, 3), "Y", "N", "visit not done"),               # missed week-12 visit
        (U("004"), D(2024, 4, 3), "Y", "N", "discontinued before week 12"),  # withdrew day 52
        (U("005"), D(2024, 4, 3), "N", None, "not yet due"),                 # cut day 91 < 92
        (U("006"), D(2024, 4, 3), "Y", "N", "LLDAS missing"),                # cut day 92 = 92
    ]
    # responders / due = 1 / 5 (001 | 001-004, 006), not yet due 1 (005) -- 005's Y is not counted
    assert (lldas12["RESPFL"] == "Y").sum() == 1
    assert (lldas12["DUEFL"] == "Y").sum() == 5


def test_each_criterion_is_its_own_endpoint_R_ENDPOINT():
    e = build_adeff(ADSL, VDATES, ADLLDAS, ADPSLWK)
    c3 = e.filter((pl.col("PARAMCD") == "CRIT3") & (pl.col("AVISITN") == 12) & (pl.col("USUBJID") == U("002")))
    c1 = e.filter((pl.col("PARAMCD") == "CRIT1") & (pl.col("AVISITN") == 12) & (pl.col("USUBJID") == U("002")))
    assert c3.select("RESPFL", "REASON").row(0) == ("N", "CRIT3 N")
    assert c1.select("RESPFL", "REASON").row(0) == ("Y", "responder")


def test_week24_due_only_after_day_176_or_discontinuation_R_ENDPOINT():
    e = build_adeff(ADSL, VDATES, ADLLDAS, ADPSLWK)
    wk24 = e.filter((pl.col("PARAMCD") == "LLDAS") & (pl.col("AVISITN") == 24))
    assert wk24.filter(pl.col("DUEFL") == "Y")["USUBJID"].to_list() == [U("004")]
    # PSLDISC needs no visit, but 004 withdrew before week 24 without the visit -> non-responder
    # even though its dose on the nominal date would read 0.
    psl = e.filter(pl.col("PARAMCD") == "PSLDISC")
    assert psl.filter(pl.col("USUBJID") == U("004")).select("RESPFL", "REASON").row(0) == (
        "N", "discontinued before week 24")
    assert set(psl["AVISITN"].to_list()) == {24}


def test_psl_dose_cumulative_and_discontinuation_at_week12_R_ENDPOINT_R_PSL():
    rows = [{"USUBJID": U(s), "CMTRT": "PSL", "CMDECOD": "PREDNISOLONE", "CMDOSE": d, "CMSTDTC": a, "CMENDTC": b}
            for s in ("001", "003") for d, a, b in [(20, "2024-01-01", "2024-01-31"), (5, "2024-02-01", "2024-04-04")]]
    cm = sdtm("cm", rows)
    subj = subjects([("001", RF, D(2024, 4, 18)), ("003", RF, D(2024, 4, 18))])
    daily = psl_daily(cm, subj)
    adsl = ADSL.filter(pl.col("USUBJID").is_in([U("001"), U("003")]))
    w = build_adpslwk(adsl, VDATES, daily, cm)
    assert w.select("USUBJID", "AVISITN", "WKDT", "DUEFL", "PSLDOSE", "CUMDOSE", "DISCFL").rows() == [
        # 001 week-12 visit 2024-04-05: dose stopped after Apr 4 -> 0; cumulative
        # 31 x 20 (Jan) + 64 x 5 (Feb 29 + Mar 31 + Apr 4 = 64 days) = 620 + 320 = 940
        (U("001"), 12, D(2024, 4, 5), "Y", 0.0, 940.0, "Y"),
        # week 24 nominal date: RF + 168 = 2024-06-26, after the cut -> unknown
        (U("001"), 24, D(2024, 6, 26), "N", None, None, None),
        # 003 visit not done -> nominal 2024-04-03: 5 mg; 620 + 5 x (29 + 31 + 3) = 620 + 315 = 935
        (U("003"), 12, D(2024, 4, 3), "Y", 5.0, 935.0, "N"),
        (U("003"), 24, D(2024, 6, 26), "N", None, None, None),
    ]


def test_withdrawn_subject_week12_and_week24_psl_values_missing_R_PSL_R_DAY():
    """R-PSL 1.1 / R-DAY 1.1: 004 withdrew on day 52 (2024-03-01) while on 7.5 mg (row ongoing,
    no CMENDTC); cut 2024-04-18. Both week-W dates (nominal, visits not done: Apr 3, Jun 26) lie
    after the end of observation: dose, cumulative doses and DISCFL are missing, not 0 / 'Y'.
    PSL discontinued at week 24 is then a non-response (R-ENDPOINT: left before week 24)."""
    cm = sdtm("cm", [{"USUBJID": U("004"), "CMTRT": "PSL", "CMDECOD": "PREDNISOLONE", "CMDOSE": 7.5,
                      "CMSTDTC": "2024-01-01"}])
    adsl = ADSL.filter(pl.col("USUBJID") == U("004"))
    daily = psl_daily(cm, adsl)
    assert daily["ADT"].max() == D(2024, 3, 1)           # no ADPSL row after the end of study
    w = build_adpslwk(adsl, VDATES, daily, cm)
    assert w.select("AVISITN", "WKDT", "DUEFL", "PSLDOSE", "CUMDOSE", "CUMDOSNP", "DISCFL").rows() == [
        (12, D(2024, 4, 3), "Y", None, None, None, None),
        (24, D(2024, 6, 26), "Y", None, None, None, None),
    ]
    e = build_adeff(adsl, VDATES, ADLLDAS, w)
    assert e.filter(pl.col("PARAMCD") == "PSLDISC").select("RESPFL", "REASON").row(0) == (
        "N", "discontinued before week 24")


def test_change_from_week0_sledai_and_complement_R_ENDPOINT():
    adsl = ADSL.filter(pl.col("USUBJID") == U("001"))
    adl = adlldas_frame([("001", "WEEK 0", RF, 8, ["N"] * 7), ("001", "WEEK 12", D(2024, 4, 5), 2, ["Y"] * 7)])
    adlb = pl.DataFrame({"USUBJID": [U("001")] * 2, "PARAMCD": ["C3", "C3"], "AVISIT": ["WEEK 0", "WEEK 12"],
                         "ADT": [RF, D(2024, 4, 5)], "AVAL": [60.0, 85.0]})
    c = build_adchg(adsl, VDATES, adl, adlb)
    got = {(r["PARAMCD"], r["AVISITN"]): (r["BASE"], r["AVAL"], r["CHG"]) for r in c.iter_rows(named=True)}
    assert got[("SLEDAI", 12)] == (8.0, 2.0, -6.0)     # 2 - 8
    assert got[("C3", 12)] == (60.0, 85.0, 25.0)       # 85 - 60
    assert got[("C3", 24)] == (60.0, None, None)       # no week-24 value yet
    assert got[("CH50", 12)] == (None, None, None)
    assert len(got) == 5 * 2                            # 5 parameters x weeks 12 and 24


def test_immunosuppressants_and_study_day_started_R_ENDPOINT():
    cm = sdtm("cm", [
        {"USUBJID": U("001"), "CMTRT": "tac", "CMDECOD": "TACROLIMUS", "CMCAT": "IMMUNOSUPPRESSANT",
         "CMDOSE": 3, "CMSTDTC": "2024-02-15"},
        {"USUBJID": U("001"), "CMTRT": "mmf", "CMDECOD": "MYCOPHENOLATE MOFETIL", "CMCAT": "IMMUNOSUPPRESSANT",
         "CMDOSE": 500, "CMSTDTC": "2024-03-01", "CMENDTC": "2024-03-10"},
        {"USUBJID": U("001"), "CMTRT": "mmf", "CMDECOD": "MYCOPHENOLATE MOFETIL", "CMCAT": "IMMUNOSUPPRESSANT",
         "CMDOSE": 1000, "CMSTDTC": "2024-03-11"},
        {"USUBJID": U("001"), "CMTRT": "psl", "CMDECOD": "PREDNISOLONE", "CMDOSE": 30, "CMSTDTC": "2024-01-01"},
    ])
    c = build_adcmis(cm, ADSL)
    assert c.select("CMDECOD", "ASTDT", "ASTDY", "AENDT").rows() == [
        # Mar 1 = Jan 10 + 21 + 29 + 1 = +51 -> day 52; still ongoing -> no end
        ("MYCOPHENOLATE MOFETIL", D(2024, 3, 1), 52, None),
        # Feb 15 = Jan 10 + 21 + 15 = +36 -> day 37
        ("TACROLIMUS", D(2024, 2, 15), 37, None),
    ]


def test_visit_dates_take_earliest_record_of_any_domain_R_ENDPOINT():
    qs = pl.DataFrame({"USUBJID": ["a"], "VISIT": ["WEEK 12"], "QSDT": [D(2024, 4, 5)]})
    lb = pl.DataFrame({"USUBJID": ["a"], "VISIT": ["WEEK 12"], "LBDT": [D(2024, 4, 4)]})
    assert visit_dates((qs, "QSDT"), (lb, "LBDT")).rows() == [("a", "WEEK 12", D(2024, 4, 4))]


def test_discontinuation_on_the_nominal_day_and_after_an_early_visit_R_ENDPOINT():
    """R-ENDPOINT "discontinued before it": before the week-12 nominal date, day 85 = 2024-04-03.
    007 left ON day 85 without the visit: not 'before' -> the reason is 'visit not done'.
    008 did the WEEK 12 visit early on day 80 (2024-03-29, within 78..92) with LLDAS Y, then left
    on day 82 (2024-03-31), before the nominal day: the visit was done, so it counts -> responder."""
    adsl = adsl_frame([("007", D(2024, 4, 18), "DISCONTINUED", D(2024, 4, 3), 100),
                       ("008", D(2024, 4, 18), "DISCONTINUED", D(2024, 3, 31), 100)])
    vdates = pl.DataFrame({"USUBJID": [U("008")], "VISIT": ["WEEK 12"], "VDT": [D(2024, 3, 29)]})
    adl = adlldas_frame([("008", "WEEK 12", D(2024, 3, 29), 2, ["Y", "Y", "Y", "Y", "Y", "Y", "N"])])
    e = build_adeff(adsl, vdates, adl, pl.DataFrame(schema={"USUBJID": pl.String, "AVISITN": pl.Int32,
                                                             "DISCFL": pl.String}))
    wk12 = e.filter((pl.col("PARAMCD") == "LLDAS") & (pl.col("AVISITN") == 12))
    assert wk12.select("USUBJID", "DUEFL", "RESPFL", "REASON").rows() == [
        (U("007"), "Y", "N", "visit not done"),
        (U("008"), "Y", "Y", "responder"),
    ]
    wk24 = e.filter((pl.col("PARAMCD") == "LLDAS") & (pl.col("AVISITN") == 24))
    assert wk24["REASON"].to_list() == ["discontinued before week 24"] * 2
