"""R-DAY: study day without day 0, nominal days, visit windows."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from etl.derive.study_day import nominal_day, oowfl_expr, study_day_expr, visit_window, week_expr

D = dt.date
RF = D(2024, 1, 10)


@pytest.mark.parametrize("d, expected", [
    (D(2024, 1, 10), 1),     # the first infusion is day 1
    (D(2024, 1, 11), 2),     # 1 day later: 1 + 1
    (D(2024, 1, 9), -1),     # the day before is -1, not 0
    (D(2023, 12, 13), -28),  # 28 days before: Jan 10 - Dec 13 = 18 + 10 = 28 -> -28
    (D(2024, 4, 3), 85),     # Jan 10 -> Apr 3 = 21 + 29 + 31 + 3 = 84 days -> 84 + 1 = 85
])
def test_study_day_has_no_day_zero_R_DAY(d, expected):
    f = pl.DataFrame({"D": [d], "RF": [RF]})
    assert f.select(study_day_expr("D", "RF")).item() == expected


def test_study_day_expression_matches_rule_R_DAY():
    f = pl.DataFrame({"D": [D(2024, 1, 9), D(2024, 1, 10), D(2024, 2, 7), None],
                      "RF": [RF] * 4})
    # Jan 9 -> -1; Jan 10 -> 1; Feb 7 = 28 days later -> 29; null date -> null
    assert f.select(study_day_expr("D", "RF")).to_series().to_list() == [-1, 1, 29, None]


def test_nominal_day_of_week_R_DAY():
    assert nominal_day(0) == 1      # 7*0 + 1
    assert nominal_day(12) == 85    # 7*12 + 1
    assert nominal_day(24) == 169   # 7*24 + 1


def test_visit_windows_R_DAY():
    assert visit_window("SCREENING") == (-28, -1)
    assert visit_window("WEEK 0") == (1, 1)        # window 0
    assert visit_window("WEEK 12") == (78, 92)     # 85 -/+ 7
    assert visit_window("WEEK 24") == (162, 176)   # 169 -/+ 7


@pytest.mark.parametrize("visit, ady, flag", [
    ("WEEK 12", 78, "N"), ("WEEK 12", 92, "N"), ("WEEK 12", 77, "Y"), ("WEEK 12", 93, "Y"),
    ("WEEK 0", 1, "N"), ("WEEK 0", 2, "Y"),
    ("SCREENING", -28, "N"), ("SCREENING", -29, "Y"), ("SCREENING", 1, "Y"),
    ("WEEK 4", None, None),
])
def test_out_of_window_flag_R_DAY(visit, ady, flag):
    f = pl.DataFrame({"V": [visit], "DY": [ady]}, schema={"V": pl.String, "DY": pl.Int32})
    assert f.select(oowfl_expr("V", "DY")).item() == flag


def test_week_of_visit_R_DAY():
    f = pl.DataFrame({"V": ["SCREENING", "WEEK 0", "WEEK 12", "WEEK 24"]})
    assert f.select(week_expr("V")).to_series().to_list() == [None, 0, 12, 24]
