"""R-PROTOCOL flags (and ADEX behind them) and the R-SLEDAI lab consistency warnings."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from etl.derive.consistency import build_dq_warnings
from etl.derive.exposure import build_adex
from etl.derive.protocol import (age_out_of_range, late_first_infusion, psl_above_ceiling,
                                 psl_above_target_week12)
from etl.derive.psl import psl_daily
from tests.derive_fixtures import sdtm, sledai_rows, subjects, usubjid

D = dt.date
U = usubjid


def adsl(rows):
    """(subjid, ENRLFL, AGE, PSLSTDT, TRTSDT, WEIGHTBL)"""
    return pl.DataFrame([{"USUBJID": U(s), "SITEID": "01", "ENRLFL": e, "AGE": a, "PSLSTDT": p,
                          "TRTSDT": t, "WEIGHTBL": w, "RFICDT": D(2024, 1, 1)} for s, e, a, p, t, w in rows],
                        schema={"USUBJID": pl.String, "SITEID": pl.String, "ENRLFL": pl.String,
                                "AGE": pl.Int32, "PSLSTDT": pl.Date, "TRTSDT": pl.Date,
                                "WEIGHTBL": pl.Float64, "RFICDT": pl.Date})


def test_first_infusion_more_than_14_days_after_psl_R_PROTOCOL():
    a = adsl([("001", "Y", 40, D(2024, 1, 1), D(2024, 1, 15), 50.0),   # 14 days after: allowed
              ("002", "Y", 40, D(2024, 1, 1), D(2024, 1, 16), 50.0)])  # 15 days after: flag
    f = late_first_infusion(a)
    assert f.select("USUBJID", "FLAGCD", "ADT").rows() == [(U("002"), "LATE_FIRST_INFUSION", D(2024, 1, 16))]
    assert "15 days" in f["DETAIL"][0]


def test_dose_above_0_6_mg_per_kg_in_first_14_days_R_PROTOCOL():
    def row(s, dose, a, b=None):
        return {"USUBJID": U(s), "CMTRT": "PSL", "CMDECOD": "PREDNISOLONE", "CMDOSE": dose,
                "CMSTDTC": a, "CMENDTC": b}
    cm = sdtm("cm", [row("001", 30, "2024-01-01"),                            # = 0.6 x 50: not above
                     row("002", 35, "2024-01-01", "2024-01-03"), row("002", 30, "2024-01-04"),
                     row("003", 30, "2024-01-01", "2024-01-14"), row("003", 40, "2024-01-15")])
    subj = subjects([(s, D(2024, 1, 10), D(2024, 2, 1)) for s in ("001", "002", "003")])
    daily = psl_daily(cm, subj)
    a = adsl([(s, "Y", 40, D(2024, 1, 1), D(2024, 1, 10), 50.0) for s in ("001", "002", "003")])
    f = psl_above_ceiling(a, daily)
    # ceiling 0.6 x 50 kg = 30 mg/day. 002: 35 mg on Jan 1-3 (3 days) -> flag from Jan 1.
    # 003: 40 mg only from Jan 15 = the 15th day of PSL -> outside the first 14 days.
    assert f.select("USUBJID", "ADT").rows() == [(U("002"), D(2024, 1, 1))]
    assert f["DETAIL"][0].startswith("3 of the first 14 PSL days above 30.0 mg/day")


def test_dose_above_7_5_on_week12_date_R_PROTOCOL():
    w = pl.DataFrame({"USUBJID": [U("001"), U("002"), U("003"), U("001")], "SITEID": ["01"] * 4,
                      "AVISITN": [12, 12, 12, 24], "WKDT": [D(2024, 4, 3)] * 4,
                      "PSLDOSE": [7.5, 8.0, None, 10.0]})
    # 7.5 meets the target; 8.0 > 7.5 flags; unknown dose does not; week 24 is not checked
    assert psl_above_target_week12(w)["USUBJID"].to_list() == [U("002")]


def _ex_all_but(visit):
    """Infusion rows for every planned visit WEEK 0-20 except ``visit`` (None: all given)."""
    days = {"WEEK 0": 10, "WEEK 4": 7, "WEEK 8": 6, "WEEK 12": 4, "WEEK 16": 2, "WEEK 20": 31}
    months = {"WEEK 0": 1, "WEEK 4": 2, "WEEK 8": 3, "WEEK 12": 4, "WEEK 16": 5, "WEEK 20": 5}
    return sdtm("ex", [{"USUBJID": U("001"), "VISIT": v, "EXSTDTC": f"2024-{months[v]:02d}-{d:02d}T09:00",
                        "EXENDTC": f"2024-{months[v]:02d}-{d:02d}T09:30"}
                       for v, d in days.items() if v != visit])


@pytest.mark.parametrize("visit, obsendy, missed", [
    ("WEEK 12", 92, True),      # window end 85 + 7 = 92 <= last observed day 92
    ("WEEK 12", 91, False),     # window still open on the last observed day
    ("WEEK 12", 80, False),     # left the study on day 80, before the window closed
    ("WEEK 12", 85, False),     # 1.1: left on the nominal day 85: observation ended, window open
    ("WEEK 0", 1, True),        # window end day 1
    (None, 300, False),         # every planned infusion given (WEEK 24 is optional: never missed)
])
def test_missed_planned_infusion_R_PROTOCOL_R_DAY(visit, obsendy, missed):
    """R-PROTOCOL "planned infusion missing though due", through build_adex (what the ETL runs):
    missed when the window's last day is on or before ADSL.OBSENDY (R-DAY 1.1, the end of study
    or the data cut) and no ex row has that visit."""
    a = pl.DataFrame({"USUBJID": [U("001")], "SITEID": ["01"], "TRTSDT": [D(2024, 1, 10)],
                      "OBSENDY": [obsendy], "FASFL": ["Y"]}, schema_overrides={"OBSENDY": pl.Int32})
    x = build_adex(_ex_all_but(visit), a)
    assert x.filter(pl.col("MISSFL") == "Y")["AVISIT"].to_list() == ([visit] if missed else [])


def test_adex_dose_window_and_missed_rows_R_PROTOCOL():
    ex = sdtm("ex", [
        {"USUBJID": U("001"), "VISIT": "WEEK 0", "EXSTDTC": "2024-01-10T09:00", "EXENDTC": "2024-01-10T09:30"},
        {"USUBJID": U("001"), "VISIT": "WEEK 4", "EXDOSE": 200, "EXSTDTC": "2024-02-18T09:00",
         "EXENDTC": "2024-02-18T09:45"},
    ])
    a = pl.DataFrame({"USUBJID": [U("001")], "SITEID": ["01"], "TRTSDT": [D(2024, 1, 10)], "OBSENDY": [70],
                      "FASFL": ["Y"]}, schema_overrides={"OBSENDY": pl.Int32})
    x = build_adex(ex, a)
    assert x.select("AVISIT", "ADY", "DURMIN", "OOWFL", "MISSFL", "DOSEDVFL").rows() == [
        ("WEEK 0", 1, 30.0, "N", "N", "N"),
        # Feb 18 = Jan 10 + 21 + 18 = +39 -> day 40 > 36 (29 + 7): out of window; 45 min; 200 mg
        ("WEEK 4", 40, 45.0, "Y", "N", "Y"),
        # week 8: window end 57 + 7 = 64 <= last observed day 70, no ex row -> missed, at nominal day 57
        ("WEEK 8", 57, None, None, "Y", None),
    ]
    from etl.derive.protocol import infusion_flags
    assert sorted(infusion_flags(x)["FLAGCD"].to_list()) == [
        "EXDOSE_NOT_300", "INFUSION_MISSED", "INFUSION_OUT_OF_WINDOW"]


def test_age_outside_18_79_for_enrolled_subjects_R_PROTOCOL():
    a = adsl([("001", "Y", 17, None, None, None), ("002", "Y", 18, None, None, None),
              ("003", "Y", 79, None, None, None), ("004", "Y", 80, None, None, None),
              ("005", "N", 85, None, None, None)])   # screen failure: not flagged
    assert age_out_of_range(a)["USUBJID"].to_list() == [U("001"), U("004")]


def lab(code, value, lo=None, hi=None, visit="WEEK 0"):
    return {"USUBJID": U("001"), "LBTESTCD": code, "LBSTRESN": value, "LBSTNRLO": lo, "LBSTNRHI": hi,
            "VISIT": visit, "LBDTC": "2024-01-10"}


def test_sledai_lab_consistency_warnings_both_ways_R_SLEDAI():
    qs = sdtm("qs", sledai_rows("001", "WEEK 0", "2024-01-10", ["LEUKOPEN", "INCDNA"])
              + sledai_rows("001", "WEEK 4", "2024-02-07", ["LOWCOMP", "THROMBO"]))
    lb = sdtm("lb", [
        # WEEK 0: LOWCOMP absent but C3 62 < 80 -> warning; INCDNA present and DDNAIGAB 50 > 10 -> fine;
        # THROMBO absent and PLAT 90 < 100 -> warning; LEUKOPEN present but WBC 4.5 >= 3 -> warning
        lab("C3", 62, lo=80, hi=160), lab("C4", 20, lo=10, hi=40), lab("DDNAIGAB", 50, hi=10),
        lab("PLAT", 90), lab("WBC", 4.5),
        # WEEK 4: LOWCOMP present and C4 8 < 10 -> fine (one low is enough); THROMBO present, PLAT 150 -> warning;
        # INCDNA absent, DDNAIGAB 5 <= 10 -> fine
        lab("C3", 90, lo=80, visit="WEEK 4"), lab("C4", 8, lo=10, visit="WEEK 4"),
        lab("PLAT", 150, visit="WEEK 4"), lab("DDNAIGAB", 5, hi=10, visit="WEEK 4"),
    ])
    w = build_dq_warnings(qs, lb)
    assert w.select("VISIT", "ITEM").rows() == [
        ("WEEK 0", "LEUKOPEN"), ("WEEK 0", "LOWCOMP"), ("WEEK 0", "THROMBO"), ("WEEK 4", "THROMBO")]
    details = dict(zip(w["VISIT"] + " " + w["ITEM"], w["DETAIL"]))
    assert details["WEEK 0 LOWCOMP"].startswith("LOWCOMP absent while") and "C3 62.0 < 80.0" in details["WEEK 0 LOWCOMP"]
    assert details["WEEK 0 LEUKOPEN"].startswith("LEUKOPEN present while")
    assert details["WEEK 4 THROMBO"] == "THROMBO present while PLAT 150.0 >= 100.0"


def test_enrolled_subject_without_any_glucocorticoid_row_is_a_warning_R_PSL():
    """R-PSL 1.1: loaded, not refused, and listed so the site can send the missing rows.
    001 enrolled with prednisolone; 002 enrolled with only an immunosuppressant -> warning;
    003 a screen failure without medication -> no warning (PSL is started at enrollment);
    004 enrolled with only a topical glucocorticoid -> it has a glucocorticoid row: no warning."""
    a = pl.DataFrame({"USUBJID": [U(s) for s in ("001", "002", "003", "004")], "SITEID": ["01"] * 4,
                      "ENRLFL": ["Y", "Y", "N", "Y"]})
    cm = sdtm("cm", [
        {"USUBJID": U("001"), "CMTRT": "psl", "CMDECOD": "PREDNISOLONE", "CMDOSE": 30, "CMSTDTC": "2024-01-01"},
        {"USUBJID": U("002"), "CMTRT": "tac", "CMDECOD": "TACROLIMUS", "CMCAT": "IMMUNOSUPPRESSANT",
         "CMDOSE": 3, "CMSTDTC": "2024-01-01"},
        {"USUBJID": U("004"), "CMTRT": "bet", "CMDECOD": "BETAMETHASONE", "CMROUTE": "TOPICAL",
         "CMDOSE": 1, "CMSTDTC": "2024-01-01"},
    ])
    w = build_dq_warnings(sdtm("qs"), sdtm("lb"), a, cm)
    assert w.select("USUBJID", "VISIT", "ADT", "ITEM").rows() == [(U("002"), None, None, "NO_GLUCOCORTICOID")]
    assert "no glucocorticoid row" in w["DETAIL"][0] and "unknown" in w["DETAIL"][0]
