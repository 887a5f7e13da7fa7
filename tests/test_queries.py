"""warehouse/queries.py on the hand-built warehouse of tests/app_fixtures.py (figures known by
construction; see that module's docstring for the arithmetic)."""
from __future__ import annotations

import os
import shutil

import duckdb
import pytest

from tests.app_fixtures import SQL_TERM, U1, U4, build_warehouse, write_run_log
from warehouse import access, queries


@pytest.fixture(autouse=True)
def as_pi():
    """These tests read every table: as the role that may (roles are tested in test_access.py)."""
    with access.as_role("pi"):
        yield


@pytest.fixture
def wh(tmp_path, monkeypatch):
    path = build_warehouse(tmp_path / "trial.duckdb")
    write_run_log(path)
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(path))
    return path


def test_enrollment_counts_all_sites_and_one_site(wh):
    # screened 01-001, 01-002, 01-003, 02-001 = 4; failures 01-003 = 1; enrolled 3
    assert queries.enrollment_counts() == {"screened": 4, "screen_failed": 1, "enrolled": 3, "fas": 3}
    # site 01: 3 screened, 1 failed, 2 enrolled
    assert queries.enrollment_counts(("01",)) == {"screened": 3, "screen_failed": 1, "enrolled": 2, "fas": 2}


def test_primary_endpoint_counts_responders_among_due_only_r_endpoint(wh):
    # week 12: 01-001 due Y, 02-001 due N, 01-002 not yet due -> 1 responder / 2 due, 1 not yet due
    e = queries.endpoint("LLDAS", 12)
    assert (e["responders"], e["due"], e["not_yet_due"], e["fas"]) == (1, 2, 1, 3)
    e = queries.endpoint("LLDAS", 12, ("02",))
    assert (e["responders"], e["due"], e["not_yet_due"]) == (0, 1, 0)


def test_endpoint_without_rows_is_zero_not_an_error(wh):
    assert queries.endpoint("CRIT1", 12)["due"] == 0


def test_enrolled_over_time_is_cumulative_in_date_order(wh):
    df = queries.enrolled_over_time()
    # 2024-01-10 (01-001) -> 1, 2024-01-20 (02-001) -> 2, 2024-02-01 (01-002) -> 3
    assert df["USUBJID"].to_list() == [U1, U4, f"{U1[:-3]}002"]
    assert df["cumulative"].to_list() == [1, 2, 3]


def test_incidence_by_soc_counts_each_subject_once_at_worst_grade_r_ae(wh):
    # 01-001 has grades 2 and 1 in Infections -> counted once at grade 2; 02-001 grade 3
    row = queries.ae_incidence("AEBODSYS").row(0, named=True)
    assert row["term"] == "Infections and infestations"
    assert (row["subjects"], row["grade 1"], row["grade 2"], row["grade 3"]) == (2, 0, 1, 1)


def test_incidence_by_pt(wh):
    pts = {r["term"]: r["subjects"] for r in queries.ae_incidence("AEDECOD").iter_rows(named=True)}
    assert pts == {"Herpes zoster": 1, "Nasopharyngitis": 1, "Pneumonia": 1}


def test_site_filter_applies_to_listings(wh):
    assert queries.adverse_events(("02",))["USUBJID"].to_list() == [U4]
    assert queries.adverse_events(("03",)).height == 0


def test_user_text_reaches_sql_only_as_a_bound_parameter(wh):
    assert queries.adverse_events(usubjid=SQL_TERM).height == 0
    assert queries.adsl(usubjid="' OR '1'='1").height == 0
    assert queries.adverse_events().height == 3  # the table is still there


def test_psl_discontinued_at_week_24_is_the_adeff_endpoint(wh):
    # ADEFF PSLDISC week 24: 02-001 due and Y; 01-001, 01-002 not yet due
    e = queries.endpoint("PSLDISC", 24)
    assert (e["responders"], e["due"], e["not_yet_due"]) == (1, 1, 2)


def test_no_connection_is_held_after_a_query(wh):
    queries.enrollment_counts()
    con = duckdb.connect(str(wh))  # a writer could not open the file under a held reader
    con.close()


def test_a_warehouse_swapped_in_is_picked_up(wh, tmp_path):
    assert queries.enrollment_counts()["enrolled"] == 3
    new = build_warehouse(tmp_path / "new.duckdb")
    con = duckdb.connect(str(new))
    con.execute("DELETE FROM adam.adsl WHERE SITEID = '02'")
    con.close()
    os.replace(new, wh)  # what the loader does
    assert queries.enrollment_counts()["enrolled"] == 2


def test_run_history_newest_first_from_the_run_log(wh):
    h = queries.run_history()
    assert h["run_id"].to_list() == ["run-3", "run-2"]
    assert h["outcome"].to_list() == ["refused", "loaded"]
    assert h["problems"].to_list() == [2, 0]


def test_latest_refused_run_problems(wh):
    run, problems = queries.latest_refused_run()
    assert run["run_id"] == "run-3"
    assert problems["message"].to_list()[0] == "ae.csv:14: AESTDTC=03/02/2024: not an ISO 8601 date"
    assert problems["row"].to_list() == ["14", None]


def test_run_log_is_read_without_a_warehouse(wh):
    wh.unlink()
    assert not queries.warehouse_exists()
    assert queries.run_history().height == 2


def test_data_cuts_and_last_refresh(wh):
    cuts = {r["SITEID"]: str(r["DATACUT"]) for r in queries.data_cuts().iter_rows(named=True)}
    assert cuts == {"01": "2024-06-30", "02": "2024-08-31"}
    assert str(queries.last_refreshed()) == "2024-09-01 09:05:00"


def test_psl_curve_keeps_only_the_points_a_step_line_needs(tmp_path, monkeypatch):
    """Ten daily rows of one subject (R-PSL): days 1-3 30 mg, 4-6 20 mg, day 7 a 625 mg pulse,
    days 8-10 20 mg. A step-after line needs day 1 (first), day 4 (30 -> 20), day 7 (20 -> 625,
    pulse), day 8 (625 -> 20) and day 10 (last): 5 rows, with the doses 30, 20, 625, 20, 20."""
    path = tmp_path / "trial.duckdb"
    con = duckdb.connect(str(path))
    con.execute(open(os.path.join(os.path.dirname(__file__), "..", "warehouse", "schema.sql")).read())
    u = "jRCTs031230358-01-001"
    # ADSL as the ETL derives it: PSLCEIL = 0.6 mg/kg x 50 kg = 30 mg/day (test_derive_build)
    con.execute("INSERT INTO adam.adsl (USUBJID, SITEID, SUBJID, DATACUT, TRTSDT, PSLSTDT, WEIGHTBL, "
                "PSLCEIL) VALUES (?, '01', '001', DATE '2024-03-01', DATE '2024-01-01', "
                "DATE '2024-01-01', 50, 30)", [u])
    doses = [30, 30, 30, 20, 20, 20, 625, 20, 20, 20]
    for day, dose in enumerate(doses, start=1):
        con.execute("INSERT INTO adam.adpsl VALUES (?, '01', DATE '2024-01-01' + ?, ?, ?, 0, 0, ?, '')",
                    [u, day - 1, day, dose, "Y" if dose == 625 else "N"])
    con.close()
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(path))
    curve = queries.psl_curve()
    assert curve["ADY"].to_list() == [1, 4, 7, 8, 10]
    assert curve["PSLDOSE"].to_list() == [30, 20, 625, 20, 20]
    assert queries.psl_curve(subjects=("nobody",)).height == 0
    # the ceiling is read from ADSL, not recomputed by the query
    assert queries.psl_ceilings()["CEILING"].to_list() == [30.0]
