"""R-ENROL: ADSL (screening, enrollment, screen-failure reasons, disposition, status) and ADLB."""
from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.enrol import build_adsl, disposition, screen_failure_reasons, subject_base
from etl.derive.labs import build_adlb
from tests.derive_fixtures import sdtm, subjects, usubjid

D = dt.date
U = usubjid


def test_screen_failure_reasons_in_registry_order_R_ENROL():
    ie = sdtm("ie", [
        {"USUBJID": U("005"), "IETESTCD": "EX08", "IECAT": "EXCLUSION", "IEORRES": "Y"},
        {"USUBJID": U("005"), "IETESTCD": "IN03", "IECAT": "INCLUSION", "IEORRES": "N"},
    ])
    assert screen_failure_reasons(ie).rows() == [
        (U("005"), "IN03; EX08", "SLEDAI-2K score of 4 or higher; Suspected active infection")]


def test_disposition_from_latest_event_R_ENROL():
    ds = sdtm("ds", [
        {"USUBJID": U("001"), "DSDECOD": "ENROLLED", "DSSTDTC": "2024-01-08"},
        {"USUBJID": U("001"), "DSCAT": "DISPOSITION EVENT", "DSDECOD": "ADVERSE EVENT", "DSSTDTC": "2024-03-01"},
        {"USUBJID": U("002"), "DSDECOD": "ENROLLED", "DSSTDTC": "2024-01-09"},
        {"USUBJID": U("003"), "DSDECOD": "ENROLLED", "DSSTDTC": "2024-01-09"},
        {"USUBJID": U("003"), "DSCAT": "DISPOSITION EVENT", "DSDECOD": "COMPLETED", "DSSTDTC": "2024-07-01"},
    ])
    d = disposition(ds).sort("USUBJID").select("USUBJID", "ENRLDT", "EOSSTT", "DCSREAS", "EOSDT")
    assert d.rows() == [
        (U("001"), D(2024, 1, 8), "DISCONTINUED", "ADVERSE EVENT", D(2024, 3, 1)),
        (U("002"), D(2024, 1, 9), None, None, None),          # ONGOING is set in ADSL
        (U("003"), D(2024, 1, 9), "COMPLETED", None, D(2024, 7, 1)),
    ]


def test_adsl_flags_baseline_weight_status_R_ENROL():
    dm = sdtm("dm", [
        {"SUBJID": "001", "RFSTDTC": "2024-01-10"},
        {"SUBJID": "002", "RFSTDTC": None},                                  # enrolled, not dosed
        {"SUBJID": "003", "ARMCD": "SCRNFAIL", "ARM": "Screen Failure"},
    ])
    ds = sdtm("ds", [{"USUBJID": U("001"), "DSDECOD": "ENROLLED", "DSSTDTC": "2024-01-08"},
                     {"USUBJID": U("002"), "DSDECOD": "ENROLLED", "DSSTDTC": "2024-01-08"},
                     {"USUBJID": U("003"), "DSCAT": "DISPOSITION EVENT", "DSDECOD": "SCREEN FAILURE",
                      "DSSTDTC": "2024-01-05"}])
    ex = sdtm("ex", [{"USUBJID": U("001"), "VISIT": "WEEK 0", "EXSTDTC": "2024-01-10T10:00",
                      "EXENDTC": "2024-01-10T10:30"}])
    vs = sdtm("vs", [{"USUBJID": U("001"), "VSSTRESN": 52, "VSDTC": "2024-01-02"},
                     {"USUBJID": U("001"), "VSSTRESN": 51, "VSDTC": "2024-01-10", "VISIT": "WEEK 0"},
                     {"USUBJID": U("001"), "VSSTRESN": 49, "VSDTC": "2024-02-07", "VISIT": "WEEK 4"}])
    exports = pl.DataFrame({"SITEID": ["01"], "DATACUT": [D(2024, 4, 18)]})
    base = subject_base(dm, ds, ex, exports)
    vdates = pl.DataFrame({"USUBJID": [U("001")], "VISIT": ["WEEK 4"], "VDT": [D(2024, 2, 7)]})
    pslstdt = pl.DataFrame({"USUBJID": [U("001")], "PSLSTDT": [D(2024, 1, 1)]})
    a = build_adsl(dm, ds, sdtm("ie"), ex, vs, base, pslstdt, vdates)
    assert a.select("SUBJID", "SCRNFL", "SCRFFL", "ENRLFL", "FASFL", "TRTSDT", "PSLSTDT", "WEIGHTBL",
                    "EOSSTT", "CUTDY", "OBSENDY", "SUBJSTAT").rows() == [
        # latest weight on or before day 1 (Jan 10) is 51; cut Apr 18 = Jan 10 + 99 -> day 100 >= 85;
        # still in the study, so observation ends at the cut: OBSENDY = CUTDY = 100
        ("001", "Y", "N", "Y", "Y", D(2024, 1, 10), D(2024, 1, 1), 51.0, "ONGOING", 100, 100, "REACHED WEEK 12"),
        ("002", "Y", "N", "Y", "N", None, None, None, "ONGOING", None, None, "ENROLLED, NOT DOSED"),
        ("003", "Y", "Y", "N", "N", None, None, None, "SCREEN FAILURE", None, None, "SCREEN FAILED"),
    ]
    assert a["DATACUT"].to_list() == [D(2024, 4, 18)] * 3


def test_end_of_observation_is_end_of_study_or_data_cut_whichever_first_R_DAY():
    """R-DAY 1.1. Day 1 = 2024-01-10 for all; cut 2024-12-31 (day 357: Jan 10 + 356).
    001 completed 2024-06-28 (Jan 10 + 170 -> day 171): observation ends there, not at the cut.
    002 withdrew 2024-03-19 (Jan 10 + 69 -> day 70).   003 is ongoing: the cut, day 357."""
    dm = sdtm("dm", [{"SUBJID": s, "RFSTDTC": "2024-01-10"} for s in ("001", "002", "003")])
    ds = sdtm("ds", [{"USUBJID": U(s), "DSDECOD": "ENROLLED", "DSSTDTC": "2024-01-08"} for s in ("001", "002", "003")]
              + [{"USUBJID": U("001"), "DSCAT": "DISPOSITION EVENT", "DSDECOD": "COMPLETED", "DSSTDTC": "2024-06-28"},
                 {"USUBJID": U("002"), "DSCAT": "DISPOSITION EVENT", "DSDECOD": "WITHDRAWAL BY SUBJECT",
                  "DSSTDTC": "2024-03-19"}])
    ex = sdtm("ex", [{"USUBJID": U(s), "VISIT": "WEEK 0", "EXSTDTC": "2024-01-10T10:00",
                      "EXENDTC": "2024-01-10T10:30"} for s in ("001", "002", "003")])
    exports = pl.DataFrame({"SITEID": ["01"], "DATACUT": [D(2024, 12, 31)]})
    base = subject_base(dm, ds, ex, exports)
    a = build_adsl(dm, ds, sdtm("ie"), ex, sdtm("vs"), base, pl.DataFrame(schema={"USUBJID": pl.String, "PSLSTDT": pl.Date}),
                   pl.DataFrame(schema={"USUBJID": pl.String, "VISIT": pl.String, "VDT": pl.Date}))
    assert a.select("SUBJID", "EOSSTT", "EOSDT", "CUTDY", "OBSENDT", "OBSENDY").rows() == [
        ("001", "COMPLETED", D(2024, 6, 28), 357, D(2024, 6, 28), 171),
        ("002", "DISCONTINUED", D(2024, 3, 19), 357, D(2024, 3, 19), 70),
        ("003", "ONGOING", None, 357, D(2024, 12, 31), 357),
    ]


def test_adlb_range_flags_and_change_from_week0():
    lb = sdtm("lb", [
        {"USUBJID": U("001"), "LBTESTCD": "C3", "LBSTRESN": 60, "LBSTNRLO": 80, "LBSTNRHI": 160,
         "VISIT": "WEEK 0", "LBDTC": "2024-01-10"},
        {"USUBJID": U("001"), "LBTESTCD": "C3", "LBSTRESN": 85, "LBSTNRLO": 80, "LBSTNRHI": 160,
         "VISIT": "WEEK 12", "LBDTC": "2024-04-03"},
        {"USUBJID": U("001"), "LBTESTCD": "C3", "LBSTRESN": 170, "LBSTNRLO": 80, "LBSTNRHI": 160,
         "VISIT": "WEEK 24", "LBDTC": "2024-06-26"},
        {"USUBJID": U("001"), "LBTESTCD": "C4", "LBSTAT": "NOT DONE", "VISIT": "WEEK 12", "LBDTC": "2024-04-03"},
    ])
    a = build_adlb(lb, subjects([("001", D(2024, 1, 10), D(2024, 7, 1))]))
    assert a.select("PARAMCD", "AVISITN", "ADY", "AVAL", "ANRIND", "ABLFL", "BASE", "CHG").rows() == [
        ("C3", 0, 1, 60.0, "LOW", "Y", 60.0, None),
        ("C3", 12, 85, 85.0, "NORMAL", None, 60.0, 25.0),      # 85 - 60
        ("C3", 24, 169, 170.0, "HIGH", None, 60.0, 110.0),     # 170 - 60; Jun 26 = Jan 10 + 168 -> day 169
    ]   # the C4 'NOT DONE' row carries no value and is left out


def test_enrollment_projection_at_rate_so_far_R_ENROL():
    from etl.derive.enrol import enrollment_projection
    dates = [D(2024, 1, 8), D(2024, 2, 1), D(2024, 4, 1), D(2024, 6, 1)]
    p = enrollment_projection(dates, D(2024, 6, 22))
    # Dec 26 -> Jan 1 = 6 days, Jan 1 -> Jun 22 = 31+29+31+30+31+21 = 173 -> 179, inclusive 180 days.
    # rate 4/180 = 1 per 45 days; 6 to go -> 270 days; Jun 22 + 270 = 2025-03-19
    # (Jun 30 +8, Jul +39, Aug +70, Sep +100, Oct +131, Nov +161, Dec +192, Jan +223, Feb +251, Mar 19 +270)
    assert p["projected_date"] == D(2025, 3, 19)
    assert p["rate_per_30_days"] == 4 / 180 * 30
    assert p["reached_on"] is None and "same rate" in p["method"]
    done = enrollment_projection([D(2024, 1, i) for i in range(1, 12)], D(2024, 6, 22))
    assert (done["reached_on"], done["projected_date"]) == (D(2024, 1, 10), None)   # the 10th of 11
    assert enrollment_projection([], D(2024, 6, 22))["projected_date"] is None


def test_each_subject_gets_its_own_site_data_cut_R_ENROL_R_DAY():
    dm = sdtm("dm", [{"USUBJID": usubjid("001", "01"), "RFSTDTC": "2024-01-10"},
                     {"USUBJID": usubjid("001", "02"), "RFSTDTC": "2024-01-10"}])
    exports = pl.DataFrame({"SITEID": ["01", "02"], "DATACUT": [D(2024, 3, 1), D(2024, 5, 1)]})
    b = subject_base(dm, sdtm("ds"), sdtm("ex"), exports)
    assert b.select("SITEID", "DATACUT").rows() == [("01", D(2024, 3, 1)), ("02", D(2024, 5, 1))]
