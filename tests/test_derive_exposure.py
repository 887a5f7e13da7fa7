"""R-AE exposure and exposure-adjusted incidence rates, on hand-worked cases: the ETL's
derivations (etl.derive.exposure: ADSL's exposure columns, ADTTE) and the query that sums them
(warehouse.queries.aesi_rates / exposure_summary). The arithmetic is written out beside each
expected value.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.derive.exposure import build_adtte_aesi, treatment_exposure
from tests.derive_fixtures import sdtm, subjects, usubjid


@pytest.fixture(autouse=True)
def read_as_the_committee():
    """The query layer refuses a caller without a role (warehouse/access.py): read as the
    monitoring committee, whose view these safety queries are."""
    from warehouse.access import as_role
    with as_role("monitor"):
        yield

D = dt.date
SCHEMA = Path(__file__).resolve().parent.parent / "warehouse" / "schema.sql"
HZ, SI, ANY = "HERPES ZOSTER", "SERIOUS INFECTION", "ANY AESI"


def infusions(subjid: str, *dates: str) -> list[dict]:
    return [{"USUBJID": usubjid(subjid), "VISIT": f"WEEK {4 * i}", "EXSTDTC": f"{d}T10:00",
             "EXENDTC": f"{d}T10:30"} for i, d in enumerate(dates)]


def test_exposure_runs_to_the_last_infusion_plus_27_days_cut_at_the_end_of_observation_R_AE():
    ex = sdtm("ex", infusions("001", "2024-01-10", "2024-02-07", "2024-03-06")
              + infusions("002", "2024-05-01", "2024-05-29")
              + infusions("003", "2024-06-20"))
    base = subjects([("001", D(2024, 1, 10), D(2024, 6, 30)),
                     ("002", D(2024, 5, 1), D(2024, 6, 30), D(2024, 6, 10)),   # left on 2024-06-10
                     ("003", D(2024, 6, 20), D(2024, 6, 30)),
                     ("004", None, D(2024, 6, 30))])                          # never dosed
    got = {r["USUBJID"][-3:]: (r["NINFUS"], r["TRTEDT"], r["EXPENDT"], r["TRTDURD"], r["TRTDURY"])
           for r in treatment_exposure(ex, base).iter_rows(named=True)}
    assert got == {
        # last infusion 2024-03-06 + 27 = 2024-04-02 (before the cut). Jan 10..31 = 22 days,
        # Feb (2024) 29, Mar 31, Apr 1..2 = 2 -> 84 days = 84 / 365.25 patient-years.
        "001": (3, D(2024, 3, 6), D(2024, 4, 2), 84, 84 / 365.25),
        # 2024-05-29 + 27 = 2024-06-25, but observation ended when the subject left on 2024-06-10:
        # May 1..31 = 31, Jun 1..10 = 10 -> 41 days.
        "002": (2, D(2024, 5, 29), D(2024, 6, 10), 41, 41 / 365.25),
        # one infusion 2024-06-20: + 27 = 2024-07-17, cut at the data cut 2024-06-30 -> 11 days.
        "003": (1, D(2024, 6, 20), D(2024, 6, 30), 11, 11 / 365.25),
    }                                                   # 004, never dosed, has no exposure


def test_one_infusion_uncut_is_one_dosing_interval_of_28_days_R_AE():
    ex = sdtm("ex", infusions("001", "2024-01-10"))
    base = subjects([("001", D(2024, 1, 10), D(2024, 12, 31))])
    row = treatment_exposure(ex, base).row(0, named=True)
    assert (row["EXPENDT"], row["TRTDURD"]) == (D(2024, 2, 6), 28)   # Jan 10 + 27 = Feb 6


ADSL = pl.DataFrame({
    "USUBJID": [usubjid(s) for s in ("001", "002", "003", "005")],
    "SITEID": ["01"] * 4,
    "FASFL": ["Y", "Y", "Y", "N"],
    "TRTSDT": [D(2024, 1, 10), D(2024, 5, 1), D(2024, 6, 20), None],
    "EXPENDT": [D(2024, 4, 2), D(2024, 6, 10), D(2024, 6, 30), None],
    "TRTDURD": [84, 41, 11, None],
})


def adae(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame([{"USUBJID": usubjid(s), "AEDECOD": pt, "ASTDT": d, "TRTEMFL": te,
                          "AESICAT": cat} for s, pt, d, te, cat in rows],
                        schema={"USUBJID": pl.String, "AEDECOD": pl.String, "ASTDT": pl.Date,
                                "TRTEMFL": pl.String, "AESICAT": pl.String})


AES = adae([
    ("001", "Pneumonia", D(2024, 1, 20), "Y", SI),                  # day 11 (Jan 10 -> 20)
    ("001", "Herpes zoster", D(2024, 2, 1), "Y", HZ),               # day 23 (22 + 1)
    ("001", "Herpes zoster", D(2024, 3, 1), "Y", HZ),               # a second one: not the first
    ("002", "Herpes zoster", D(2024, 4, 20), "N", HZ),              # before the first infusion
    ("003", "Nasopharyngitis", D(2024, 6, 25), "Y", None),          # not an AESI
])


def test_aesi_time_at_risk_ends_at_the_first_onset_else_at_the_end_of_exposure_R_AE():
    t = build_adtte_aesi(ADSL, AES)
    got = {(r["USUBJID"][-3:], r["PARAMCD"]): (r["ADT"], r["AVAL"], r["CNSR"], r["EVNTDESC"])
           for r in t.iter_rows(named=True) if r["PARAMCD"] in (HZ, SI, ANY)}
    assert got == {
        ("001", HZ): (D(2024, 2, 1), 23, 0, "Herpes zoster"),    # the first of its two zosters
        ("001", SI): (D(2024, 1, 20), 11, 0, "Pneumonia"),
        ("001", ANY): (D(2024, 1, 20), 11, 0, "Pneumonia"),      # the first AESI of any kind
        ("002", HZ): (D(2024, 6, 10), 41, 1, None),              # its zoster was not a TEAE
        ("002", SI): (D(2024, 6, 10), 41, 1, None),
        ("002", ANY): (D(2024, 6, 10), 41, 1, None),
        ("003", HZ): (D(2024, 6, 30), 11, 1, None),
        ("003", SI): (D(2024, 6, 30), 11, 1, None),
        ("003", ANY): (D(2024, 6, 30), 11, 1, None),
    }
    # every FAS subject with an exposure, in every category (6 + ANY): 3 x 7 rows; 005 not in FAS
    assert t.height == 21 and usubjid("005") not in t["USUBJID"].to_list()


@pytest.fixture
def rates_warehouse(tmp_path, monkeypatch):
    """The ADSL and ADTTE above, with the ADAE they came from, in a warehouse the real query reads."""
    path = tmp_path / "trial.duckdb"
    con = duckdb.connect(str(path))
    con.execute(SCHEMA.read_text())
    exposure = treatment_exposure(
        sdtm("ex", infusions("001", "2024-01-10", "2024-02-07", "2024-03-06")
             + infusions("002", "2024-05-01", "2024-05-29") + infusions("003", "2024-06-20")),
        subjects([("001", D(2024, 1, 10), D(2024, 6, 30)),
                  ("002", D(2024, 5, 1), D(2024, 6, 30), D(2024, 6, 10)),
                  ("003", D(2024, 6, 20), D(2024, 6, 30))]))
    adsl = ADSL.join(exposure.drop("TRTEDT", "EXPENDT", "TRTDURD"), on="USUBJID", how="left")
    for name, frame in (("adsl", adsl.with_columns(SUBJID=pl.col("USUBJID").str.slice(-3),
                                                    DATACUT=pl.lit(D(2024, 6, 30)))),
                        ("adtte_aesi", build_adtte_aesi(ADSL, AES)),
                        ("adae", AES.with_columns(SITEID=pl.lit("01"), AESEQ=pl.int_range(1, 6),
                                                  AESIFL=pl.when(pl.col("AESICAT").is_not_null())
                                                  .then(pl.lit("Y")).otherwise(pl.lit("N"))))):
        con.register("f", frame.to_arrow())
        con.execute(f"INSERT INTO adam.{name} BY NAME SELECT * FROM f")
        con.unregister("f")
    con.close()
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(path))
    return path


def test_exposure_adjusted_incidence_rate_per_100_patient_years_R_AE(rates_warehouse):
    from warehouse import queries
    rates = {r["category"]: r for r in queries.aesi_rates().iter_rows(named=True)}
    hz = rates[HZ]
    # herpes zoster: 1 subject (001); time at risk 23 (001, to its onset) + 41 (002) + 11 (003)
    # = 75 days = 75 / 365.25 = 0.20534 patient-years; rate = 1 / 0.20534 x 100 = 487.0 per 100 PY.
    assert (hz["subjects"], hz["events"], hz["N"], hz["days_at_risk"]) == (1, 2, 3, 75)
    assert hz["py_at_risk"] == pytest.approx(75 / 365.25)
    assert hz["rate_per_100py"] == pytest.approx(100 * 365.25 / 75)          # 487.0
    # serious infection: 1 subject, 11 + 41 + 11 = 63 days -> 100 x 365.25 / 63 = 579.8
    assert (rates[SI]["subjects"], rates[SI]["days_at_risk"]) == (1, 63)
    assert rates[SI]["rate_per_100py"] == pytest.approx(100 * 365.25 / 63)
    # any AESI: 001 from its first AESI (day 11): the same 63 days; events 3 (pneumonia + 2 zosters)
    assert (rates[ANY]["subjects"], rates[ANY]["events"], rates[ANY]["days_at_risk"]) == (1, 3, 63)
    # no malignancy: 0 subjects over the whole exposure 84 + 41 + 11 = 136 days -> rate 0
    assert (rates["MALIGNANCY"]["subjects"], rates["MALIGNANCY"]["days_at_risk"],
            rates["MALIGNANCY"]["rate_per_100py"]) == (0, 136, 0.0)
    assert list(rates) == [HZ, "INFUSION-RELATED REACTION", "HYPERSENSITIVITY", "TUBERCULOSIS",
                           "MALIGNANCY", SI, ANY]


def test_exposure_summary_over_the_fas_R_AE(rates_warehouse):
    from warehouse import queries
    s = queries.exposure_summary()
    # infusions 3 + 2 + 1 = 6 (median 2); days 84 + 41 + 11 = 136 (median 41);
    # patient-years 136 / 365.25 = 0.372
    assert (s["subjects"], s["infusions"], s["infusions_median"], s["days"], s["days_median"]) == (
        3, 6, 2, 136, 41)
    assert s["patient_years"] == pytest.approx(136 / 365.25)
