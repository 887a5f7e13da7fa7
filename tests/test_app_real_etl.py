"""The app on a warehouse built by the real ETL (etl.load.load_exports) from the small known export
tests/data/valid_site01, loaded as site 01 (data cut 2024-03-01) and as site 02 with a later data
cut (2024-05-01), followed by a refused load of a broken copy. Figures worked out by hand from the
CSV files:

- dm: per site 001 enrolled (ANIFRO, first infusion 2024-01-15), 002 screen failure (IN03, EX08)
  -> screened 4, screen failures 2 / 4 (50%), enrolled 2 / 10; site 01 alone 1 / 10.
- R-ENDPOINT week 12: due when day 7*12+1+7 = 92 is on or before the cut; day 92 = 2024-01-15 + 91
  = 2024-04-15. Site 01 (cut 03-01): not yet due. Site 02 (cut 05-01): due, no WEEK 12 visit
  -> non-responder. LLDAS wk12 = 0 / 1 (0%), 1 not yet due.
- ae: per site Headache grade 1 (not serious) and Herpes zoster grade 3 serious -> 4 events,
  2 serious; incidence: Infections and infestations 2 subjects at worst grade 3; Nervous system
  disorders 2 subjects at grade 1.
- R-PSL, 02-001 at week 12 (visit not done -> nominal day 85 = 2024-04-08): PREDNISOLONE 15 mg QD
  ongoing -> 15 mg/day; cumulative 20 mg BID 2024-01-10..02-06 = 28 d x 40 = 1120, plus 15 mg
  2024-02-07..04-08 = (23 + 31 + 8) d x 15 = 930 -> 2050 mg.
"""
from __future__ import annotations

import datetime as dt

import pytest

from tests.app_fixtures import page_opener, PAGE_FILES, metric, new_app, sign_in, texts, write_users
from tests.conftest import copy_export_as_site, edit_csv, set_data_cut

S = "jRCTs031230358"


@pytest.fixture(scope="module")
def real(tmp_path_factory, valid_site01):
    from etl.load import load_exports

    d = tmp_path_factory.mktemp("real_etl")
    wh = d / "trial.duckdb"
    site01 = copy_export_as_site(valid_site01, d / "exports" / "site01", "01")
    site02 = copy_export_as_site(valid_site01, d / "exports" / "site02", "02")
    set_data_cut(site02, "02", dt.date(2024, 5, 1))
    result = load_exports([site01, site02], wh)
    assert result.outcome == "loaded", [str(p) for p in result.problems]
    broken = copy_export_as_site(valid_site01, d / "exports" / "broken", "02")

    def bad_date(header, rows):
        rows[0][header.index("AESTDTC")] = "20/01/2024"
    edit_csv(broken / "ae.csv", bad_date)
    refused = load_exports([broken], wh)
    assert refused.outcome == "refused"
    return wh, write_users(d / "users.toml")


@pytest.fixture
def app(real, tmp_path, monkeypatch):
    wh, users = real
    return page_opener(wh, users, tmp_path / "access.log", monkeypatch)


def test_real_overview_figures(app):
    at = app("home")
    assert "Site 01: data cut 2024-03-01 · Site 02: data cut 2024-05-01" in texts(at)
    assert metric(at, "Enrolled") == "2 / 10"
    assert metric(at, "LLDAS at week 12") == "0 / 1 (0%)"
    assert "Not yet due: 1 · FAS 2" in texts(at)
    assert metric(at, "Serious AEs") == "2"


def test_real_site_filter(app):
    at = app("home")
    at.sidebar.selectbox(key="site_filter").select("01").run()
    assert metric(at, "Enrolled") == "1 / 10"
    assert metric(at, "LLDAS at week 12") == "0 / 0 (–)"


def test_real_enrollment(app):
    at = app("enrollment")
    assert metric(at, "Screened") == "4"
    assert metric(at, "Screen failures") == "2 / 4 (50%)"
    fails = at.dataframe[0].value
    assert fails["SCRFREAS"].tolist() == ["IN03; EX08", "IN03; EX08"]


def test_real_efficacy(app):
    at = app("efficacy")
    assert metric(at, "LLDAS at week 12 (primary)") == "0 / 1 (0%)"
    # week 24 due at day 176 = 2024-07-08: after both cuts -> nobody due
    assert metric(at, "LLDAS at week 24") == "0 / 0 (–)"


def test_real_psl_at_week_12(app):
    at = app("glucocorticoids")
    wk = next(d.value for d in at.dataframe if "CUMDOSE" in d.value.columns)
    row = wk[(wk["USUBJID"] == f"{S}-02-001") & (wk["AVISITN"] == 12)]
    assert (row["PSLDOSE"].tolist(), row["CUMDOSE"].tolist()) == ([15.0], [2050.0])
    # week 24 (day 176 = 2024-07-08) is after both cuts: nobody due
    assert metric(at, "PSL discontinued at week 24") == "0 / 0 (–)"


def test_real_safety_counts(app):
    at = app("safety")
    assert "Adverse events: 4 of 4 events" in texts(at)
    # Committee form (issue 11): n (%) of N = 2 FAS subjects, a PT indented under its SOC.
    # (Before issue 11: bare counts, Infections 2 subjects / 2 at grade 3, Nervous 2 / 2 at grade 1.)
    inc = next(d.value for d in at.dataframe if "System organ class / preferred term" in d.value.columns)
    rows = inc.set_index("System organ class / preferred term")
    assert rows.loc["Infections and infestations", "Any grade"] == "2 (100.0%)"
    assert rows.loc["Infections and infestations", "Grade 3"] == "2 (100.0%)"
    assert rows.loc["Nervous system disorders", "Any grade"] == "2 (100.0%)"
    assert rows.loc["Nervous system disorders", "Grade 1"] == "2 (100.0%)"
    # R-AE: the serious herpes zoster is both HERPES ZOSTER and SERIOUS INFECTION (SOC Infections,
    # AESER Y); one event per site -> each category 2 events in 2 subjects
    cats = next(d.value for d in at.dataframe if "AESI category" in d.value.columns)
    got = {c: (n, e) for c, n, e in zip(cats["AESI category"], cats["Subjects, n (%) of N = 2"], cats["Events"])}
    assert got["Herpes zoster"] == got["Serious infection"] == ("2 (100.0%)", "2")
    assert got["Malignancy"] == ("0 (0.0%)", "0")
    # the serious herpes zoster is in two categories (4 category-events) while there are 2
    # distinct AESIs in 2 subjects: said on the page
    assert "In all: 2 distinct treatment-emergent events of special interest in 2 subjects" in texts(at)


def test_real_data_quality_shows_the_refused_run(app):
    at = app("home", role="data")
    assert metric(at, "Latest run") == "refused"
    problems = next(d.value for d in at.dataframe if "message" in d.value.columns)
    bad = problems[problems["column"] == "AESTDTC"]
    assert bad[["file", "row", "value"]].values.tolist() == [["ae.csv", "2", "20/01/2024"]]
    runs = next(d.value for d in at.dataframe if "run_id" in d.value.columns)
    assert runs["outcome"].tolist() == ["refused", "loaded"]


def test_real_subject_profile(app):
    at = sign_in(new_app().run(), "pi")
    at.query_params["subject"] = f"{S}-01-001"
    at.switch_page(PAGE_FILES["subject"]).run()
    assert not at.exception
    assert metric(at, "First infusion (day 1)") == "2024-01-15"
