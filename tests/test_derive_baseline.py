"""ADSL baseline characteristics for the committee's demographics table (etl.derive.baseline):
the latest non-missing value on or before day 1, and the PSL dose on the day of initiation."""
from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.baseline import baseline_characteristics
from tests.derive_fixtures import usubjid

D = dt.date
U1, U2, U3 = usubjid("001"), usubjid("002"), usubjid("003")


def test_baseline_is_the_latest_value_on_or_before_day_1_and_psl_at_initiation():
    adsl = pl.DataFrame({"USUBJID": [U1, U2, U3],
                         "TRTSDT": [D(2024, 1, 10), D(2024, 2, 1), None],      # 003 never dosed
                         "PSLSTDT": [D(2024, 1, 5), D(2024, 1, 20), D(2024, 1, 1)]})
    adlldas = pl.DataFrame({
        "USUBJID": [U1, U1, U1, U2, U2, U3],
        "ADT": [D(2023, 12, 20), D(2024, 1, 10), D(2024, 4, 3), D(2024, 1, 15), D(2024, 2, 1), D(2024, 1, 1)],
        # 001: screening 12, week 0 (day 1) 10, week 12 4 -> 10; 002: week 0 missing -> screening 14
        "SLEDAI": [12, 10, 4, 14, None, 8],
        "PGA": [2.0, 1.5, 0.5, 2.5, 2.2, 1.0]})
    adlb = pl.DataFrame({
        "USUBJID": [U1, U1, U1, U2, U2],
        "PARAMCD": ["C3", "C3", "C3", "DDNAIGAB", "C4"],
        "ADT": [D(2023, 12, 20), D(2024, 1, 10), D(2024, 2, 7), D(2024, 1, 15), D(2024, 2, 2)],
        "AVAL": [60.0, 55.0, 70.0, 120.0, 9.0]})      # 002's C4 is the day after day 1: not baseline
    adpsl = pl.DataFrame({
        "USUBJID": [U1, U1, U2, U2],
        "ADT": [D(2024, 1, 5), D(2024, 1, 6), D(2024, 1, 20), D(2024, 1, 21)],
        "PSLDOSE": [40.0, 35.0, 625.0, 30.0]})         # 002 started with a pulse: counts in full (R-PSL)
    got = {r["USUBJID"]: r for r in baseline_characteristics(adsl, adlldas, adlb, adpsl).iter_rows(named=True)}
    assert {k: got[U1][k] for k in ("SLEDAIBL", "PGABL", "C3BL", "C4BL", "DSDNABL", "PSLDOSBL")} == {
        "SLEDAIBL": 10, "PGABL": 1.5, "C3BL": 55.0, "C4BL": None, "DSDNABL": None, "PSLDOSBL": 40.0}
    # 002: SLEDAI missing on day 1 -> screening's 14; PGA on day 1 2.2; anti-dsDNA 120 (screening)
    assert {k: got[U2][k] for k in ("SLEDAIBL", "PGABL", "C4BL", "DSDNABL", "PSLDOSBL")} == {
        "SLEDAIBL": 14, "PGABL": 2.2, "C4BL": None, "DSDNABL": 120.0, "PSLDOSBL": 625.0}
    # 003 was never dosed: no day 1, no baseline (its PSL initiation dose has no ADPSL row either)
    assert got[U3]["SLEDAIBL"] is None and got[U3]["PGABL"] is None and got[U3]["PSLDOSBL"] is None
