"""R-PSL, R-LLDAS C4, R-DORIS, R-PROTOCOL: thresholds compare doses at 0.01 mg.

clinical-rules.md (R-PSL) sets betamethasone/dexamethasone at 6.67 and states "0.75 mg =
prednisolone 5 mg". The product is 0.75 x 6.67 = 5.0025 mg, so a literal float comparison would
fail DORIS's "<= 5 mg/day" for the very dose the rule calls equal to 5 mg. Hand-worked cases below.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.lldas import crit4, doris_flag
from etl.derive.protocol import psl_above_target_week12
from etl.derive.psl import psl_rows
from tests.derive_fixtures import sdtm, subjects, usubjid


def betamethasone_0_75_mg() -> float:
    """The PSL-equivalent daily dose psl_rows (what the ETL runs) gives 0.75 mg betamethasone QD."""
    cm = sdtm("cm", [{"USUBJID": usubjid("001"), "CMTRT": "b", "CMDECOD": "BETAMETHASONE", "CMDOSE": 0.75,
                      "CMSTDTC": "2024-01-01", "CMENDTC": "2024-01-01"}])
    return psl_rows(cm, subjects([("001", None, dt.date(2024, 1, 31))]))["PSLEQ"].item()


def test_r_psl_betamethasone_0_75_mg_is_5_0025_mg_prednisolone_equivalent():
    # 0.75 mg once a day x 6.67 = 5.0025 mg/day
    assert abs(betamethasone_0_75_mg() - 5.0025) < 1e-12


def test_r_doris_betamethasone_0_75_mg_meets_the_5_mg_limit():
    # clinical SLEDAI 0, PGA 0.2 < 0.5, dose 5.0025 -> 5.00 at 0.01 mg <= 5: remission 'Y'
    df = pl.DataFrame({"CLINSLED": [0, 0], "PGA": [0.2, 0.2],
                       "PSLDOSE": [betamethasone_0_75_mg(), 5.02]})
    assert df.select(doris_flag())["literal"].to_list() == ["Y", "N"]


def test_r_lldas_c4_compares_at_0_01_mg():
    # 1.125 mg betamethasone x 6.67 = 7.50375 -> 7.50 <= 7.5: 'Y'; 7.51 > 7.5: 'N'; no dose: null
    df = pl.DataFrame({"PSLDOSE": [1.125 * 6.67, 7.51, None]})
    assert df.select(crit4())["literal"].to_list() == ["Y", "N", None]


def test_r_protocol_week12_flag_not_raised_by_rounding_noise():
    # 7.50375 mg is 7.5 at 0.01 mg: no flag; 7.6 mg: flag
    w = pl.DataFrame({"USUBJID": ["A", "B"], "SITEID": ["01", "01"], "AVISITN": [12, 12],
                      "WKDT": [None, None], "PSLDOSE": [1.125 * 6.67, 7.6]},
                     schema_overrides={"WKDT": pl.Date})
    assert psl_above_target_week12(w)["USUBJID"].to_list() == ["B"]
