"""R-PSL: prednisolone-equivalent daily dose, pulses, initiation and cumulative doses."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from etl.derive.psl import psl_daily, psl_dose_at, psl_initiation, psl_rows
from tests.derive_fixtures import sdtm, subjects, usubjid

D = dt.date


def gc(decod, dose, start, end=None, frq="QD", route="ORAL", cat="GLUCOCORTICOID", subjid="001"):
    return {"USUBJID": usubjid(subjid), "CMTRT": decod.lower(), "CMDECOD": decod, "CMDOSE": dose,
            "CMDOSFRQ": frq, "CMROUTE": route, "CMCAT": cat, "CMSTDTC": start, "CMENDTC": end}


@pytest.mark.parametrize("decod, dose, frq, expected", [
    ("PREDNISOLONE", 5, "BID", 10.0),          # 5 x 2 x 1
    ("PREDNISONE", 10, "QD", 10.0),            # 10 x 1 x 1
    ("METHYLPREDNISOLONE", 500, "QD", 625.0),  # 500 x 1 x 1.25
    ("TRIAMCINOLONE", 4, "QD", 5.0),           # 4 x 1.25
    ("HYDROCORTISONE", 10, "TID", 7.5),        # 10 x 3 x 0.25
    ("CORTISONE", 25, "QD", 5.0),              # 25 x 0.2
    ("DEXAMETHASONE", 0.75, "QD", 5.0025),     # 0.75 x 6.67
    ("BETAMETHASONE", 0.5, "QID", 13.34),      # 0.5 x 4 x 6.67
])
def test_dose_equivalence_per_drug_R_PSL(decod, dose, frq, expected):
    rows = psl_rows(sdtm("cm", [gc(decod, dose, "2024-01-01", "2024-01-01", frq=frq)]),
                    subjects([("001", None, D(2024, 1, 31))]))
    assert rows["PSLEQ"].to_list() == [pytest.approx(expected)]


def test_unknown_glucocorticoid_is_refused_R_PSL():
    with pytest.raises(ValueError, match="FLUDROCORTISONE"):
        psl_rows(sdtm("cm", [gc("FLUDROCORTISONE", 0.1, "2024-01-01")]), subjects([("001", None, D(2024, 1, 31))]))


def test_only_oral_or_iv_glucocorticoids_count_R_PSL():
    cm = sdtm("cm", [gc("PREDNISOLONE", 10, "2024-01-01", "2024-01-02"),
                     gc("BETAMETHASONE", 1, "2024-01-01", "2024-01-02", route="TOPICAL"),
                     gc("TACROLIMUS", 3, "2024-01-01", "2024-01-02", cat="IMMUNOSUPPRESSANT")])
    daily = psl_daily(cm, subjects([("001", None, D(2024, 1, 2))]))
    # only the oral prednisolone: 10 mg on each of the two days
    assert daily["PSLDOSE"].to_list() == [10.0, 10.0]


def test_methylprednisolone_pulse_counted_in_full_and_without_pulse_beside_R_PSL():
    cm = sdtm("cm", [gc("METHYLPREDNISOLONE", 500, "2024-01-01", "2024-01-03", route="INTRAVENOUS"),
                     gc("PREDNISOLONE", 40, "2024-01-04")])          # ongoing -> to the cut
    daily = psl_daily(cm, subjects([("001", D(2024, 1, 5), D(2024, 1, 6))]))
    assert daily.select("ADT", "ADY", "PSLDOSE", "PULSEFL", "CUMDOSE", "CUMDOSNP").rows() == [
        # 500 mg x 1.25 = 625 PSL-eq/day, IV >= 250 -> pulse; cumulative 625, 1250, 1875
        (D(2024, 1, 1), -4, 625.0, "Y", 625.0, 0.0),
        (D(2024, 1, 2), -3, 625.0, "Y", 1250.0, 0.0),
        (D(2024, 1, 3), -2, 625.0, "Y", 1875.0, 0.0),
        # then oral 40 mg: 1875 + 40 = 1915, + 40 = 1955, + 40 = 1995; without pulse days 40, 80, 120
        (D(2024, 1, 4), -1, 40.0, "N", 1915.0, 40.0),
        (D(2024, 1, 5), 1, 40.0, "N", 1955.0, 80.0),
        (D(2024, 1, 6), 2, 40.0, "N", 1995.0, 120.0),
    ]
    assert daily["DRUGS"][0] == "METHYLPREDNISOLONE 500 mg/day IV"


def test_oral_glucocorticoid_at_250_or_more_is_not_a_pulse_R_PSL():
    cm = sdtm("cm", [gc("PREDNISOLONE", 300, "2024-01-01", "2024-01-01")])
    assert psl_daily(cm, subjects([("001", None, D(2024, 1, 1))]))["PULSEFL"].to_list() == ["N"]


def test_overlapping_glucocorticoids_summed_R_PSL():
    cm = sdtm("cm", [gc("PREDNISOLONE", 15, "2024-01-01", "2024-01-04", frq="BID"),
                     gc("DEXAMETHASONE", 1, "2024-01-03", "2024-01-04")])
    daily = psl_daily(cm, subjects([("001", None, D(2024, 1, 5))]))
    assert daily.select("ADT", "PSLDOSE", "CUMDOSE", "DRUGS").rows() == [
        (D(2024, 1, 1), 30.0, 30.0, "PREDNISOLONE 30 mg/day"),                 # 15 x 2
        (D(2024, 1, 2), 30.0, 60.0, "PREDNISOLONE 30 mg/day"),
        (D(2024, 1, 3), 36.67, 96.67, "DEXAMETHASONE 1 mg/day; PREDNISOLONE 30 mg/day"),  # 30 + 6.67
        (D(2024, 1, 4), 36.67, 133.34, "DEXAMETHASONE 1 mg/day; PREDNISOLONE 30 mg/day"),
        (D(2024, 1, 5), 0.0, 133.34, None),                                    # stopped, day still listed
    ]


def test_initiation_is_first_day_with_dose_and_calendar_runs_to_the_cut_R_PSL():
    cm = sdtm("cm", [gc("PREDNISOLONE", 20, "2024-02-10", "2024-02-11"),
                     gc("PREDNISOLONE", 20, "2024-01-01", "2024-01-31", subjid="002")])
    subj = subjects([("001", None, D(2024, 2, 12)), ("002", None, D(2024, 2, 12))])
    daily = psl_daily(cm, subj)
    assert psl_initiation(daily).rows() == [(usubjid("001"), D(2024, 2, 10)), (usubjid("002"), D(2024, 1, 1))]
    # 001: Feb 10..12 = 3 rows; 002: Jan 1..Feb 12 = 31 + 12 = 43 rows, cumulative 31 x 20 = 620
    counts = daily.group_by("USUBJID").agg(pl.len(), pl.col("CUMDOSE").max()).sort("USUBJID").rows()
    assert counts == [(usubjid("001"), 3, 40.0), (usubjid("002"), 43, 620.0)]


def test_psl_dose_at_dates_before_initiation_after_cut_and_without_rows_R_PSL():
    cm = sdtm("cm", [gc("PREDNISOLONE", 20, "2024-01-05", "2024-01-06")])
    subj = subjects([("001", None, D(2024, 1, 10)), ("002", None, D(2024, 1, 10))])
    daily = psl_daily(cm, subj)
    at = pl.DataFrame({"USUBJID": [usubjid("001")] * 4 + [usubjid("002")],
                       "ADT": [D(2024, 1, 1), D(2024, 1, 6), D(2024, 1, 8), D(2024, 1, 11), D(2024, 1, 6)],
                       "OBSENDT": [D(2024, 1, 10)] * 5})
    assert psl_dose_at(daily, cm, at).select("PSLDOSE", "CUMDOSE").rows() == [
        (0.0, 0.0),     # before initiation: none taken yet
        (20.0, 40.0),   # Jan 5 + Jan 6: 20 + 20
        (0.0, 40.0),    # stopped after Jan 6
        (None, None),   # after the end of observation (here the data cut): unknown
        (None, None),   # 002 has no glucocorticoid row at all: unknown
    ]


def test_withdrawn_subject_has_no_dose_after_the_end_of_study_R_DAY_R_PSL():
    """R-DAY 1.1 "End of observation" + R-PSL 1.1: the subject left the study on Jan 20 (EOSDT)
    while on 7.5 mg, the row ongoing (no CMENDTC); the site's data cut is Mar 31. Observation
    ends Jan 20 = min(EOSDT, cut): ADPSL stops there, and a date after it has no known dose."""
    cm = sdtm("cm", [gc("PREDNISOLONE", 7.5, "2024-01-01")])              # ongoing
    subj = subjects([("001", D(2024, 1, 5), D(2024, 3, 31), D(2024, 1, 20))])
    assert subj["OBSENDT"].to_list() == [D(2024, 1, 20)]
    daily = psl_daily(cm, subj)
    # Jan 1 .. Jan 20 = 20 rows, cumulative 20 x 7.5 = 150; no row after Jan 20
    assert (daily.height, daily["ADT"].max(), daily["CUMDOSE"].max()) == (20, D(2024, 1, 20), 150.0)
    at = subj.select("USUBJID", "OBSENDT").join(
        pl.DataFrame({"ADT": [D(2024, 1, 20), D(2024, 1, 21), D(2024, 3, 28)]}), how="cross")
    assert psl_dose_at(daily, cm, at).select("ADT", "PSLDOSE", "CUMDOSE", "CUMDOSNP").rows() == [
        (D(2024, 1, 20), 7.5, 150.0, 150.0),   # the last observed day
        (D(2024, 1, 21), None, None, None),    # the day after: unknown, not 0
        (D(2024, 3, 28), None, None, None),    # e.g. a week-12 date after the end of study
    ]


def test_completed_subject_curve_ends_at_the_end_of_study_R_DAY_R_PSL():
    """Completed on day 171 (EOSDT 2024-06-19, day 1 = 2024-01-01), data cut two years later:
    the prednisolone row is ongoing, yet ADPSL ends on the end-of-study date, day 171."""
    cm = sdtm("cm", [gc("PREDNISOLONE", 5, "2023-12-25")])
    subj = subjects([("001", D(2024, 1, 1), D(2026, 6, 30), D(2024, 6, 19))])
    daily = psl_daily(cm, subj)
    # Jan 1 + 170 days = Jun 19 (Jan 31, Feb 29, Mar 31, Apr 30, May 31 = 152; + 18 = 170) -> day 171
    assert daily.select(pl.col("ADT").max(), pl.col("ADY").max()).row(0) == (D(2024, 6, 19), 171)
    # Dec 25 .. Jun 19: 7 days of 2023 + 171 days = 178 rows
    assert daily.height == 178


def test_pulse_day_oral_dose_stays_in_the_cumulative_dose_without_pulses_R_PSL():
    """R-PSL 1.1: the cumulative dose without pulses leaves out only the intravenous
    glucocorticoid of pulse days; that day's oral prednisolone still counts."""
    cm = sdtm("cm", [gc("PREDNISOLONE", 30, "2024-01-01", "2024-01-04"),
                     gc("METHYLPREDNISOLONE", 500, "2024-01-02", "2024-01-03", route="INTRAVENOUS")])
    daily = psl_daily(cm, subjects([("001", None, D(2024, 1, 4))]))
    assert daily.select("ADT", "PSLDOSE", "PULSEFL", "CUMDOSE", "CUMDOSNP").rows() == [
        (D(2024, 1, 1), 30.0, "N", 30.0, 30.0),
        # 30 oral + 500 x 1.25 = 625 IV = 655 that day; without pulses only the 30 oral counts
        (D(2024, 1, 2), 655.0, "Y", 685.0, 60.0),
        (D(2024, 1, 3), 655.0, "Y", 1340.0, 90.0),
        (D(2024, 1, 4), 30.0, "N", 1370.0, 120.0),
    ]


@pytest.mark.parametrize("mp_mg, psleq, pulse", [
    (200, 250.0, "Y"),      # 200 x 1.25 = 250: exactly the threshold (>= 250) -> pulse
    (250, 312.5, "Y"),      # 250 x 1.25 = 312.5 >= 250 -> pulse (and < 500: a 500 threshold would miss it)
    (199, 248.75, "N"),     # 199 x 1.25 = 248.75 < 250 -> not a pulse
])
def test_pulse_threshold_is_250_mg_psl_equivalent_iv_inclusive_R_PSL(mp_mg, psleq, pulse):
    cm = sdtm("cm", [gc("METHYLPREDNISOLONE", mp_mg, "2024-01-01", "2024-01-01", route="INTRAVENOUS")])
    daily = psl_daily(cm, subjects([("001", None, D(2024, 1, 1))]))
    assert daily.select("PSLDOSE", "PULSEFL").row(0) == (psleq, pulse)
