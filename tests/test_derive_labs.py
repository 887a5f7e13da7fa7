"""R-LAB, admiral-style: every grade boundary of every graded test and direction, the ratio to the
ULN, the baseline, the worst post-baseline grade within observation, eDISH and potential Hy's law.

The grades run through the expressions ``build_adlb`` runs (``atoxgrl_expr``, ``atoxgrh_expr``,
``r2a1hi_expr``); baseline, worst grade and Hy's law through ``build_adlb``, ``build_edish`` and
``with_hylawfl`` on tiny sdtm inputs. Each expected value is worked out by hand beside it from the
R-LAB table: "a-b means above a and at most b for increases, below a and at least b for
decreases"; grade 0 within the reference range; below an LLN that lies under a grade's upper
bound a value takes the grade its number falls in; HGB has no grade 4.
"""
from __future__ import annotations

import polars as pl
import pytest

from etl.derive.labs import (EDISH_QUADRANTS, atoxgrh_expr, atoxgrl_expr, build_adlb, build_edish,
                             r2a1hi_expr, with_hylawfl)
from tests.derive_fixtures import D, sdtm, subjects, usubjid

U1, U2 = usubjid("001"), usubjid("002")


def grades(code: str, lln: float | None, uln: float | None, values: list[float | None]) -> list[tuple]:
    """(ATOXGRL, ATOXGRH) of each value of one test with the given limits."""
    df = pl.DataFrame({"PARAMCD": [code] * len(values), "AVAL": values,
                       "ANRLO": [lln] * len(values), "ANRHI": [uln] * len(values)},
                      schema={"PARAMCD": pl.String, "AVAL": pl.Float64, "ANRLO": pl.Float64,
                              "ANRHI": pl.Float64})
    return df.select(L=atoxgrl_expr(), H=atoxgrh_expr()).rows()


# --- increases: multiples of the ULN, "> a - b x ULN" = above a and at most b ----------------

def test_alt_increase_every_boundary_r_lab():
    # ULN 40 U/L. 40 is the ULN itself: grade 0. 41 > ULN: grade 1.
    # 120 = exactly 3.0 x 40: still grade 1 ("> ULN - 3.0 x ULN" includes 3.0); 121: grade 2.
    # 200 = exactly 5.0 x 40: grade 2; 201: grade 3. 800 = exactly 20.0 x 40: grade 3; 801: grade 4.
    values = [40, 41, 120, 121, 200, 201, 800, 801]
    assert [h for _, h in grades("ALT", 7, 40, values)] == [0, 1, 1, 2, 2, 3, 3, 4]
    # ALT has no grade of a decrease: 5 U/L, below its LLN 7, is not graded.
    assert grades("ALT", 7, 40, [5]) == [(None, 0)]


def test_ast_increase_every_boundary_r_lab():
    # ULN 30 U/L: 3.0 x = 90, 5.0 x = 150, 20.0 x = 600.
    values = [30, 31, 90, 91, 150, 151, 600, 601]
    assert [h for _, h in grades("AST", 13, 30, values)] == [0, 1, 1, 2, 2, 3, 3, 4]


def test_bilirubin_increase_every_boundary_r_lab():
    # ULN 1.2 mg/dL: 1.5 x = 1.8, 3.0 x = 3.6, 10.0 x = 12.0.
    # 1.8 / 1.2 is 1.5000000000000002 in binary floating point: it must still be grade 1.
    values = [1.2, 1.3, 1.8, 1.9, 3.6, 3.7, 12.0, 12.1]
    assert [h for _, h in grades("BILI", 0.4, 1.2, values)] == [0, 1, 1, 2, 2, 3, 3, 4]


def test_creatinine_increase_every_boundary_r_lab():
    # ULN 0.80 mg/dL: 1.5 x = 1.20, 3.0 x = 2.40, 6.0 x = 4.80.
    values = [0.80, 0.81, 1.20, 1.21, 2.40, 2.41, 4.80, 4.81]
    assert [h for _, h in grades("CREAT", 0.46, 0.80, values)] == [0, 1, 1, 2, 2, 3, 3, 4]
    # 1.185 / 0.79 = 1.5 exactly on paper (1.4999999999999998 in floating point): grade 1.
    assert grades("CREAT", 0.46, 0.79, [1.185, 1.186]) == [(None, 1), (None, 2)]


# --- decreases: values in the standard unit, "< a - b" = below a and at least b ---------------

def test_wbc_decrease_every_boundary_r_lab():
    # LLN 3.3 x10^3/uL: 3.3 = LLN: grade 0; 3.2 < LLN: grade 1; 3.0 is "at least 3.0": grade 1;
    # 2.99 < 3.0: grade 2; 2.0: grade 2; 1.99: grade 3; 1.0: grade 3; 0.99 < 1.0: grade 4.
    values = [3.3, 3.2, 3.0, 2.99, 2.0, 1.99, 1.0, 0.99]
    assert [l for l, _ in grades("WBC", 3.3, 8.6, values)] == [0, 1, 1, 2, 2, 3, 3, 4]
    # WBC has no grade of an increase: 12.0, above the ULN 8.6, is not graded.
    assert grades("WBC", 3.3, 8.6, [12.0]) == [(0, None)]


def test_wbc_below_an_lln_under_the_grade_2_bound_takes_the_grade_its_number_falls_in():
    # LLN 2.9 (below grade 2's upper bound 3.0): 2.95 is within the range: grade 0 although < 3.0;
    # 2.9 = LLN: grade 0; 2.89 is below the LLN and below 3.0: grade 2 (not grade 1).
    assert [l for l, _ in grades("WBC", 2.9, 8.6, [2.95, 2.9, 2.89])] == [0, 0, 2]


def test_neutrophil_decrease_every_boundary_r_lab():
    # LLN 1.80: 1.80 grade 0; 1.79 grade 1; 1.5 grade 1; 1.49 grade 2; 1.0 grade 2; 0.99 grade 3;
    # 0.5 grade 3; 0.49 grade 4.
    values = [1.80, 1.79, 1.5, 1.49, 1.0, 0.99, 0.5, 0.49]
    assert [l for l, _ in grades("NEUT", 1.80, 7.50, values)] == [0, 1, 1, 2, 2, 3, 3, 4]
    # LLN 1.4 (under grade 2's bound 1.5): 1.45 within range: 0; 1.39 < LLN and < 1.5: grade 2.
    assert [l for l, _ in grades("NEUT", 1.4, 7.5, [1.45, 1.39])] == [0, 2]


def test_lymphocyte_decrease_every_boundary_r_lab():
    # LLN 1.00: 1.00 grade 0; 0.99 grade 1; 0.8 grade 1; 0.79 grade 2; 0.5 grade 2; 0.49 grade 3;
    # 0.2 grade 3; 0.19 grade 4.
    values = [1.00, 0.99, 0.8, 0.79, 0.5, 0.49, 0.2, 0.19]
    assert [l for l, _ in grades("LYM", 1.00, 3.50, values)] == [0, 1, 1, 2, 2, 3, 3, 4]
    # LLN 0.7 (under grade 2's bound 0.8): 0.75 within range: 0; 0.69: grade 2.
    assert [l for l, _ in grades("LYM", 0.7, 3.5, [0.75, 0.69])] == [0, 2]


def test_platelet_decrease_every_boundary_r_lab():
    # LLN 158: 158 grade 0; 157 grade 1; 75 grade 1; 74 grade 2; 50 grade 2; 49 grade 3; 25 grade 3;
    # 24 grade 4.
    values = [158, 157, 75, 74, 50, 49, 25, 24]
    assert [l for l, _ in grades("PLAT", 158, 348, values)] == [0, 1, 1, 2, 2, 3, 3, 4]
    # LLN 70 (under grade 2's bound 75): 72 within range: 0; 69: grade 2.
    assert [l for l, _ in grades("PLAT", 70, 348, [72, 69])] == [0, 2]


def test_hemoglobin_decrease_every_boundary_and_no_grade_4_r_lab():
    # LLN 11.6 g/dL: 11.6 grade 0; 11.5 grade 1; 10.0 grade 1; 9.9 grade 2; 8.0 grade 2; 7.9 grade 3;
    # 3.0 still grade 3: HGB has no grade 4.
    values = [11.6, 11.5, 10.0, 9.9, 8.0, 7.9, 3.0]
    assert [l for l, _ in grades("HGB", 11.6, 14.8, values)] == [0, 1, 1, 2, 2, 3, 3]
    # LLN 9.5 (under grade 2's bound 10.0): 9.6 within range: 0; 9.4: grade 2.
    assert [l for l, _ in grades("HGB", 9.5, 14.8, [9.6, 9.4])] == [0, 2]


# --- no grade ------------------------------------------------------------------------------------

def test_no_grade_for_a_test_outside_the_table_or_without_the_needed_limit_r_lab():
    # C3 is not in the table (either direction); IFNGS has no limits at all.
    assert grades("C3", 73, 138, [40, 200]) == [(None, None), (None, None)]
    assert grades("IFNGS", None, None, [12.3]) == [(None, None)]
    # ALT without a ULN, WBC without an LLN, a missing value: no grade.
    assert grades("ALT", 7, None, [300]) == [(None, None)]
    assert grades("WBC", None, 8.6, [0.5]) == [(None, None)]
    assert grades("NEUT", 1.8, 7.5, [None]) == [(None, None)]
    # ALT with an LLN but no ULN is not graded; with a ULN but no LLN it is (only the ULN is needed).
    assert grades("ALT", None, 40, [121]) == [(None, 2)]


def test_ratio_to_the_upper_limit_for_alt_ast_bili_creat_only_r_lab():
    df = pl.DataFrame({"PARAMCD": ["ALT", "AST", "BILI", "CREAT", "WBC", "ALT", "C3"],
                       "AVAL": [120.0, 45.0, 1.8, 1.2, 2.5, 50.0, 40.0],
                       "ANRHI": [40.0, 30.0, 1.2, 0.8, 8.6, None, 138.0]})
    # 120/40 = 3.0; 45/30 = 1.5; 1.8/1.2 = 1.5 (not 1.5000000000000002); 1.2/0.8 = 1.5;
    # WBC and C3: no ratio; ALT without a ULN: none.
    assert df.select(R2A1HI=r2a1hi_expr())["R2A1HI"].to_list() == [3.0, 1.5, 1.5, 1.5, None, None, None]


# --- baseline, post-baseline, worst grade (through build_adlb) --------------------------------

def lab(subjid: str, code: str, value, visit: str, date: str, lln=None, uln=None, **kw) -> dict:
    lo, hi = {"NEUT": (1.8, 7.5), "WBC": (3.3, 8.6), "ALT": (7, 40), "AST": (13, 30),
              "BILI": (0.4, 1.2)}.get(code, (None, None))
    cat = {"ALT": "CHEMISTRY", "AST": "CHEMISTRY", "BILI": "CHEMISTRY"}.get(code, "HEMATOLOGY")
    return {"USUBJID": usubjid(subjid), "LBTESTCD": code, "LBCAT": cat, "LBSTRESN": value,
            "LBSTNRLO": lln if lln is not None else lo, "LBSTNRHI": uln if uln is not None else hi,
            "VISIT": visit, "LBDTC": date, **kw}


# 001: first infusion 2024-01-10 (day 1), data cut 2024-07-01, still in the study.
SUBJ = subjects([("001", D(2024, 1, 10), D(2024, 7, 1))])


def rows(a: pl.DataFrame, *cols: str) -> list[tuple]:
    return a.select("PARAMCD", "ADY", *cols).rows()


def test_baseline_is_the_week_0_sample_and_grades_carry_to_every_record_r_lab():
    a = build_adlb(sdtm("lb", [
        lab("001", "NEUT", 2.1, "SCREENING", "2024-01-03"),   # day -7, grade 0
        lab("001", "NEUT", 1.4, "WEEK 0", "2024-01-10"),      # day 1, < 1.5: grade 2
        lab("001", "NEUT", 3.0, "WEEK 4", "2024-02-07"),      # day 29, grade 0
    ]), SUBJ)
    assert rows(a, "ABLFL", "BASE", "ATOXGRL", "BTOXGRL", "BTOXGRH") == [
        ("NEUT", -7, None, 1.4, 0, 2, None),
        ("NEUT", 1, "Y", 1.4, 2, 2, None),             # NEUT has no grade of an increase
        ("NEUT", 29, None, 1.4, 0, 2, None),
    ]
    # CHG after week 0 only: 3.0 - 1.4 = 1.6 (up to floating point)
    assert a["CHG"].to_list()[:2] == [None, None] and a["CHG"][2] == pytest.approx(1.6)


def test_baseline_falls_back_to_screening_when_week_0_is_missing_r_lab():
    # WEEK 0 NEUT not done: the latest non-missing value on or before day 1 is the screening one.
    a = build_adlb(sdtm("lb", [
        lab("001", "NEUT", 1.2, "SCREENING", "2024-01-03"),   # < 1.5, >= 1.0: grade 2
        {**lab("001", "NEUT", None, "WEEK 0", "2024-01-10"), "LBSTAT": "NOT DONE", "LBORRES": None},
        lab("001", "NEUT", 2.4, "WEEK 4", "2024-02-07"),
    ]), SUBJ)
    assert rows(a, "ABLFL", "BASE", "BTOXGRL") == [("NEUT", -7, "Y", 1.2, 2), ("NEUT", 29, None, 1.2, 2)]


def test_a_sample_on_day_2_is_post_baseline_whatever_its_visit_r_lab():
    # Labelled WEEK 0 but drawn on 2024-01-11 = day 2: post-baseline, so the baseline is screening
    # and the day-2 value (0.9: grade 3) is the worst post-baseline grade.
    a = build_adlb(sdtm("lb", [
        lab("001", "NEUT", 2.0, "SCREENING", "2024-01-03"),
        lab("001", "NEUT", 0.9, "WEEK 0", "2024-01-11"),
    ]), SUBJ)
    assert rows(a, "ABLFL", "POSTBLFL", "ATOXGRL", "WGRLOFL") == [
        ("NEUT", -7, "Y", None, 0, None), ("NEUT", 2, None, "Y", 3, "Y")]


def test_latest_of_two_samples_on_day_1_is_the_baseline():
    # Two WEEK 0 samples on day 1: the higher LBSEQ (the later record) is the baseline.
    a = build_adlb(sdtm("lb", [
        lab("001", "WBC", 3.5, "WEEK 0", "2024-01-10", LBSEQ=1),
        lab("001", "WBC", 2.5, "WEEK 0", "2024-01-10", LBSEQ=2),
    ]), SUBJ)
    assert a.select("LBSEQ", "ABLFL", "BASE", "BTOXGRL").rows() == [(1, None, 2.5, 2), (2, "Y", 2.5, 2)]


def test_worst_post_baseline_grade_flag_one_record_earliest_on_a_tie_r_lab():
    a = build_adlb(sdtm("lb", [
        lab("001", "NEUT", 0.8, "WEEK 0", "2024-01-10"),      # day 1, grade 3 but baseline
        lab("001", "NEUT", 1.2, "WEEK 4", "2024-02-07"),      # day 29, grade 2
        lab("001", "NEUT", 1.4, "WEEK 8", "2024-03-06"),      # day 57, grade 2 (tie: not earliest)
        lab("001", "NEUT", 1.7, "WEEK 12", "2024-04-03"),     # day 85, grade 1
        lab("001", "ALT", 30, "WEEK 4", "2024-02-07"),        # ALT: grade 0 only
        lab("001", "ALT", 35, "WEEK 8", "2024-03-06"),
    ]), SUBJ)
    assert rows(a, "ATOXGRL", "WGRLOFL", "ATOXGRH", "WGRHIFL") == [
        ("ALT", 29, None, None, 0, "Y"),       # worst 0 is flagged on the earliest record
        ("ALT", 57, None, None, 0, None),
        ("NEUT", 1, 3, None, None, None),      # the baseline grade 3 is not post-baseline
        ("NEUT", 29, 2, "Y", None, None),
        ("NEUT", 57, 2, None, None, None),
        ("NEUT", 85, 1, None, None, None),
    ]


def test_a_value_after_the_end_of_observation_is_not_post_baseline_r_day():
    # 002 completed the study on 2024-06-26 (EOSDT), data cut 2024-09-01: observation ends on
    # 2024-06-26. A grade-4 NEUT on 2024-07-15 (day 188) is after it: not post-baseline, no flag;
    # the worst grade is the grade 1 of day 169 (2024-06-26 itself is within observation).
    subj = subjects([("002", D(2024, 1, 10), D(2024, 9, 1), D(2024, 6, 26))])
    a = build_adlb(sdtm("lb", [
        lab("002", "NEUT", 2.0, "WEEK 0", "2024-01-10"),
        lab("002", "NEUT", 1.6, "WEEK 24", "2024-06-26"),     # day 169, grade 1
        lab("002", "NEUT", 0.3, "WEEK 24", "2024-07-15"),     # day 188, grade 4, after OBSENDT
    ]), subj)
    assert rows(a, "POSTBLFL", "ATOXGRL", "WGRLOFL") == [
        ("NEUT", 1, None, 0, None), ("NEUT", 169, "Y", 1, "Y"), ("NEUT", 188, None, 4, None)]


# --- eDISH and potential Hy's law ---------------------------------------------------------------

def adsl_of(*subjids: str, fas: tuple[str, ...] | None = None) -> pl.DataFrame:
    fas = subjids if fas is None else fas
    return pl.DataFrame({"USUBJID": [usubjid(s) for s in subjids], "SITEID": ["01"] * len(subjids),
                         "FASFL": ["Y" if s in fas else "N" for s in subjids]})


def liver(subjid: str, date: str, alt=None, ast=None, bili=None, visit="WEEK 8") -> list[dict]:
    return [lab(subjid, code, v, visit, date) for code, v in (("ALT", alt), ("AST", ast), ("BILI", bili))
            if v is not None]


def edish(lb_rows: list[dict], subj: pl.DataFrame, adsl: pl.DataFrame) -> pl.DataFrame:
    return build_edish(build_adlb(sdtm("lb", lb_rows), subj), adsl)


TWO = subjects([("001", D(2024, 1, 10), D(2024, 7, 1)), ("002", D(2024, 1, 10), D(2024, 7, 1))])


def test_hy_law_needs_both_on_the_same_date_r_lab():
    # 001 on day 57 (2024-03-06): ALT 130 / 40 = 3.25 x ULN (> 3) and BILI 2.5 / 1.2 = 2.083 x ULN
    # (> 2): potential Hy's law on that date.
    # 002: ALT 130 (3.25 x) on day 29 and BILI 2.5 (2.083 x) on day 57: never both on one date,
    # so not Hy's law -- although its peaks put it in eDISH's upper right quadrant.
    e = edish(liver("001", "2024-02-07", alt=30, bili=0.6, visit="WEEK 4")
              + liver("001", "2024-03-06", alt=130, bili=2.5)
              + liver("002", "2024-02-07", alt=130, bili=0.6, visit="WEEK 4")
              + liver("002", "2024-03-06", alt=30, bili=2.5), TWO, adsl_of("001", "002"))
    assert e.select("USUBJID", "AMTPKULN", "AMTPKCD", "BILPKULN", "EDISHQ", "HYLAWFL", "HYLAWDT",
                    "HYLAWDY", "HYAMTULN").rows() == [
        (U1, 3.25, "ALT", 2.083333333, EDISH_QUADRANTS[0], "Y", D(2024, 3, 6), 57, 3.25),
        (U2, 3.25, "ALT", 2.083333333, EDISH_QUADRANTS[0], "N", None, None, None),
    ]
    adsl = with_hylawfl(adsl_of("001", "002"), e)
    assert adsl.select("USUBJID", "HYLAWFL").rows() == [(U1, "Y"), (U2, "N")]


def test_hy_law_by_ast_and_exactly_at_the_multiples_r_lab():
    # 001: AST 93 / 30 = 3.1 x (> 3) with BILI 2.5 (2.083 x) on one date: Hy's law by AST; the
    # peak of the two aminotransferases is AST's 3.1 (ALT 40 / 40 = 1.0).
    # 002: ALT 120 / 40 = exactly 3.0 x and BILI 2.4 / 1.2 = exactly 2.0 x: not above either: 'N',
    # eDISH lower left (Normal range).
    e = edish(liver("001", "2024-03-06", alt=40, ast=93, bili=2.5)
              + liver("002", "2024-03-06", alt=120, bili=2.4), TWO, adsl_of("001", "002"))
    assert e.select("USUBJID", "AMTPKULN", "AMTPKCD", "BILPKULN", "EDISHQ", "HYLAWFL").rows() == [
        (U1, 3.1, "AST", 2.083333333, EDISH_QUADRANTS[0], "Y"),
        (U2, 3.0, "ALT", 2.0, EDISH_QUADRANTS[3], "N"),
    ]


def test_edish_quadrants_split_at_3_and_2_times_uln():
    # 001: ALT 200 / 40 = 5.0 x, BILI 0.6 / 1.2 = 0.5 x: right only: Temple's corollary.
    # 002: ALT 40 = 1.0 x, BILI 3.0 / 1.2 = 2.5 x: upper only: hyperbilirubinemia.
    e = edish(liver("001", "2024-03-06", alt=200, bili=0.6)
              + liver("002", "2024-03-06", alt=40, bili=3.0), TWO, adsl_of("001", "002"))
    assert e.select("USUBJID", "AMTPKULN", "BILPKULN", "EDISHQ", "HYLAWFL").rows() == [
        (U1, 5.0, 0.5, EDISH_QUADRANTS[2], "N"), (U2, 1.0, 2.5, EDISH_QUADRANTS[1], "N")]
    assert EDISH_QUADRANTS[1:3] == ("Hyperbilirubinemia", "Temple's corollary")


def test_hy_law_at_baseline_does_not_count_and_hylawfl_is_n_without_liver_tests_r_lab():
    # 001: ALT 130 and BILI 2.5 on day 1 (baseline, not post-baseline); afterwards normal: 'N'.
    # 002 (FAS) has no liver test at all: no eDISH row, HYLAWFL 'N'. 003 is not in the FAS: null.
    e = edish(liver("001", "2024-01-10", alt=130, bili=2.5, visit="WEEK 0")
              + liver("001", "2024-02-07", alt=30, bili=0.6, visit="WEEK 4"), TWO,
              adsl_of("001", "002", "003", fas=("001", "002")))
    assert e.select("USUBJID", "AMTPKULN", "BILPKULN", "HYLAWFL").rows() == [(U1, 0.75, 0.5, "N")]
    adsl = with_hylawfl(adsl_of("001", "002", "003", fas=("001", "002")), e)
    assert adsl["HYLAWFL"].to_list() == ["N", "N", None]
