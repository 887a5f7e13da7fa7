"""Every page through the real app (AppTest), on the hand-built warehouse of tests/app_fixtures.py:
the figures shown, worked out by hand there (see its docstring), not only that the page runs."""
from __future__ import annotations

import json

import duckdb
import pytest

from warehouse import runs_dir
from tests.app_fixtures import (hand_built_files, page_opener, MD_TERM, PAGE_FILES, SCRIPT_TERM,
                                SQL_TERM, U1, U2, U3, U4, build_warehouse, metric, new_app, sign_in,
                                texts, write_run_log)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return hand_built_files(tmp_path_factory, "pages")


@pytest.fixture
def app(files, tmp_path, monkeypatch):
    wh, users = files
    return page_opener(wh, users, tmp_path / "access.log", monkeypatch)


def choose_site(at, site: str):
    at.sidebar.selectbox(key="site_filter").select(site).run()
    return at


def chart_specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def chart_rows(at) -> list[list[dict]]:
    """Per chart, the rows of data it was drawn from (Streamlit ships them as Arrow IPC)."""
    import pyarrow as pa
    out = []
    for c in at.get("vega_lite_chart"):
        rows = []
        for ds in c.proto.datasets:
            rows += pa.ipc.open_stream(ds.data.data).read_all().to_pylist()
        if c.proto.data.data:
            rows += pa.ipc.open_stream(c.proto.data.data).read_all().to_pylist()
        out.append(rows)
    return out


def test_header_shows_study_data_cuts_and_refresh(app):
    at = app("home")
    t = texts(at)
    assert "jRCTs031230358 — Exploratory study for the usefulness of early introduction" in t
    assert "Site 01: data cut 2024-06-30 · Site 02: data cut 2024-08-31" in t
    # audit.refresh holds 2024-09-01 09:05 UTC (tests/app_fixtures.py); Tokyo is UTC+9 all year:
    # 09:05 + 9 h = 18:05, shown with the zone's name (warehouse/times.py, default Asia/Tokyo).
    assert "Warehouse last refreshed 2024-09-01 18:05 (Asia/Tokyo)" in t


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "UTC"])
def test_times_are_shown_in_the_configured_trial_zone(app, monkeypatch, zone):
    """TRIALDASH_TZ moves every shown time: the header's refresh time and the run history's start
    times, each computed here from the stored UTC with zoneinfo (not with warehouse/times.py)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    monkeypatch.setenv("TRIALDASH_TZ", zone)
    utc = dt.datetime(2024, 9, 1, 9, 5, tzinfo=dt.timezone.utc)     # audit.refresh, app_fixtures
    expected = f"{utc.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"
    assert f"Warehouse last refreshed {expected}" in texts(app("home"))

    # the run history: run-2 started 2024-09-01T09:00, run-3 2024-09-10T10:00 (UTC, app_fixtures)
    at = app("data_quality", role="data")
    [runs] = [d.value for d in at.dataframe if "run_id" in d.value.columns and "started_at" in d.value.columns]
    want = {f"{dt.datetime(*t, tzinfo=dt.timezone.utc).astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"
            for t in ((2024, 9, 1, 9, 0), (2024, 9, 10, 10, 0))}
    assert set(runs["started_at"]) == want


def test_overview_enrolled_primary_endpoint_and_safety_counts(app):
    at = app("home")
    assert at.title[0].value == "Overview"
    assert metric(at, "Enrolled") == "3 / 10"
    # LLDAS wk12: 01-001 Y (due), 02-001 N (due), 01-002 not yet due -> 1 / 2 (50%)
    assert metric(at, "LLDAS at week 12") == "1 / 2 (50%)"
    assert "Not yet due: 1 · FAS 3" in texts(at)
    # one loaded run in the run log -> no previous data cut -> every event counts: 1 SAE, 2 AESIs
    assert metric(at, "Serious AEs") == "1"
    assert metric(at, "AESIs") == "2"
    status = frame_with(at, "status", "subjects")   # the PI's status board now comes first (issue 14)
    assert dict(zip(status["status"], status["subjects"])) == {
        "COMPLETED WEEK 24": 1, "ON TREATMENT": 1, "REACHED WEEK 12": 1, "SCREEN FAILED": 1}


def test_site_filter_changes_the_figures(app):
    at = choose_site(app("home"), "02")
    # site 02: only 02-001, enrolled and due at week 12 with LLDAS N -> 0 / 1 (0%)
    assert metric(at, "Enrolled") == "1 / 10"
    assert metric(at, "LLDAS at week 12") == "0 / 1 (0%)"
    assert "Showing site 02 only (sidebar filter)." in texts(at)
    at.switch_page(PAGE_FILES["safety"]).run()  # the filter holds on every page
    assert "Adverse events: 1 of 1 events" in texts(at)


def test_enrollment_counts_funnel_and_projection(app):
    at = app("enrollment")
    assert metric(at, "Screened") == "4"
    assert metric(at, "Screen failures") == "1 / 4 (25%)"
    assert metric(at, "Enrolled") == "3 / 10"
    # the trial-wide projection row of the fixture (3 enrolled in 250 days -> 2026-04-07), shown
    # as a projection with its method, never as a fact
    assert any("Projection (not a fact)" in i.value and "2026-04-07" in i.value
               and "same rate" in i.value and "trial-wide" in i.value for i in at.info)
    fails = at.dataframe[0].value
    assert fails["SCRFRTXT"].tolist() == ["SLEDAI-2K score of 4 or higher"]
    layered = chart_specs(at)[0]
    assert any(layer.get("encoding", {}).get("y", {}).get("field") == "y" for layer in layered["layer"])
    # counts of subjects: whole-number ticks on the cumulative line and on the funnel
    cumulative = next(la for la in layered["layer"] if la["encoding"]["y"]["field"] == "cumulative")
    funnel = chart_specs(at)[1]
    for axis in (cumulative["encoding"]["y"]["axis"], funnel["encoding"]["x"]["axis"]):
        assert axis["format"] == "d" and axis["tickMinStep"] == 1
    per_site = at.dataframe[1].value
    assert per_site["enrolled"].tolist() == [2, 1]


def test_efficacy_endpoints_with_denominators(app):
    at = app("efficacy")
    assert metric(at, "LLDAS at week 12 (primary)") == "1 / 2 (50%)"
    # week 24: 02-001 due and Y; 01-001 and 01-002 not yet due -> 1 / 1 (100%)
    assert metric(at, "LLDAS at week 24") == "1 / 1 (100%)"
    assert "Not yet due: 2 (shown, not counted as failures) · FAS 3" in texts(at)
    assert len(chart_specs(at)) == 7  # the criteria grid (LLDAS, C1-C5: one chart each) and SLEDAI-2K over time


def test_efficacy_displays_show_the_full_analysis_set_only_R_ENDPOINT(app):
    """01-003 failed screening (its SCREENING assessment is in ADLLDAS): not in the FAS (enrolled
    with at least one infusion), so neither in the LLDAS grid nor in the SLEDAI-2K plot nor in
    the visit table; the FAS subjects 01-001 and 02-001 are."""
    at = app("efficacy")
    table = next(d.value for d in at.dataframe if "LLDASFL" in d.value.columns)
    assert sorted(set(table["USUBJID"])) == [U1, U4]
    charts = chart_rows(at)
    assert len(charts) == 7       # the criteria grid (LLDAS, C1-C5: one chart each) and SLEDAI-2K over time
    for rows in charts:
        shown = {r.get("USUBJID") for r in rows}
        assert U1 in shown and U4 in shown and U3 not in shown


def test_glucocorticoids_curve_threshold_and_week24_discontinuation(app):
    at = app("glucocorticoids")
    # ADEFF PSLDISC week 24: 02-001 due and Y; the two site-01 subjects not yet due -> 1 / 1
    assert metric(at, "PSL discontinued at week 24") == "1 / 1 (100%)"
    spec = chart_specs(at)[0]
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    # the 7.5 mg/day rule is a layer of its own (its value travels in the chart's data)
    assert [la["encoding"]["y"]["field"] for la in spec["layer"] if la["mark"]["type"] == "rule"
            and "y" in la["encoding"]] == ["CEILING", "dose"]
    at.toggle[0].set_value(False).run()
    assert chart_specs(at)[0]["layer"][0]["encoding"]["y"]["scale"]["type"] == "linear"


def frame_with(at, *columns: str):
    """The first table of the page that has all these columns."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def test_safety_listing_filters_and_incidence(app):
    at = app("safety")
    assert "Adverse events: 3 of 3 events" in texts(at)
    serious = next(s for s in at.selectbox if s.label == "Serious")
    serious.select("Y").run()
    assert "Adverse events: 1 of 3 events" in texts(at)
    # Committee form (issue 11): n (%) of N = 3 FAS subjects. Infections: 01-001 worst grade 2,
    # 02-001 grade 3 -> 2 subjects = 66.7%, 1 at grade 2 and 1 at grade 3 = 33.3% each.
    # (Before issue 11 the SOC table showed bare counts: subjects [2], grade 2 [1], grade 3 [1].)
    inc = frame_with(at, "System organ class / preferred term", "Any grade")
    soc = inc[inc["System organ class / preferred term"] == "Infections and infestations"]
    assert (soc["Any grade"].tolist(), soc["Grade 2"].tolist(), soc["Grade 3"].tolist()) == (
        ["2 (66.7%)"], ["1 (33.3%)"], ["1 (33.3%)"])


def test_aesis_counted_in_each_of_their_categories_with_exposure_adjusted_rates(app):
    at = app("safety")
    # 2 AESIs: 01-001's herpes zoster and 02-001's pneumonia, one category each
    assert "In all: 2 distinct treatment-emergent events of special interest in 2 subjects" in texts(at)
    assert "One event can fall into several categories" in texts(at)
    cats = frame_with(at, "AESI category", "Events")
    # 01-001 herpes zoster (HERPES ZOSTER), 02-001 pneumonia (SERIOUS INFECTION); every category
    # is listed, with none; ANY AESI counts both events.
    assert dict(zip(cats["AESI category"], cats["Events"])) == {
        "Herpes zoster": "1", "Infusion-related reaction": "0", "Hypersensitivity": "0",
        "Tuberculosis": "0", "Malignancy": "0", "Serious infection": "1", "Any AESI": "2"}
    hz = cats[cats["AESI category"] == "Herpes zoster"].iloc[0]
    # app_fixtures: 1 subject over 106 days at risk = 0.29 patient-years -> 344.6 per 100 PY
    assert (hz["Subjects, n (%) of N = 3"], hz["Patient-years at risk"],
            hz["Rate per 100 patient-years"]) == ("1 (33.3%)", "0.29", "344.6")


def test_hostile_verbatim_terms_are_shown_as_literal_text(app):
    at = app("safety")
    listing = frame_with(at, "AETERM", "AEBODSYS")          # the AE listing
    assert set(listing["AETERM"]) == {SCRIPT_TERM, MD_TERM, SQL_TERM}
    rendered = "\n".join(str(e.value) for kind in ("markdown", "caption", "text")
                         for e in getattr(at, kind))
    assert SCRIPT_TERM not in rendered and "click me" not in rendered


def test_subject_profile_opened_by_link(app, files, monkeypatch):
    at = sign_in(new_app().run(), "monitor")
    at.query_params["subject"] = U4
    at.switch_page(PAGE_FILES["subject"]).run()
    assert not at.exception
    assert at.subheader[0].value == U4[-6:]                # the short ID, 02-001
    assert metric(at, "Status") == "COMPLETED WEEK 24"
    assert metric(at, "First infusion (day 1)") == "2024-01-22"


def test_subject_profile_shows_the_last_observed_study_day_R_DAY(app):
    """02-001 completed on 2024-07-08 = day 169 (ADSL.OBSENDY), though its cut is day 223; 01-001
    is still in the study: its last observed day is the cut's, day 171."""
    at = sign_in(new_app().run(), "pi")
    at.query_params["subject"] = U4
    at.switch_page(PAGE_FILES["subject"]).run()
    last = next(m for m in at.metric if m.label == "Last observed study day")
    assert (last.value, last.delta) == ("Day 169", "completed")
    at.selectbox(key="subject_pick").select(U1).run()
    last = next(m for m in at.metric if m.label == "Last observed study day")
    assert (last.value, last.delta) == ("Day 171", "data cut")


def test_picking_subjects_in_a_row_shows_each_one(app):
    """The selector, ?subject= and the heading agree on every pick (the bug: every second pick
    was ignored)."""
    at = sign_in(new_app().run(), "pi")
    at.switch_page(PAGE_FILES["subject"]).run()
    for pick in (U2, U3, U4, U1):
        next(s for s in at.selectbox if s.label == "Subject").select(pick).run()
        assert not at.exception
        assert at.subheader[0].value == pick[-6:]          # the short ID (site-subject)
        assert at.query_params["subject"] == [pick] or at.query_params["subject"] == pick


def test_selecting_a_listing_row_opens_the_subject_profile(app):
    at = app("safety")
    # the serious AE listing's only row is 02-001's pneumonia; select it as the browser would
    sae = next(d for d in at.dataframe if "SERCRIT" in d.value.columns and "AEBODSYS" not in d.value.columns)
    assert sae.value["USUBJID"].tolist() == [U4]
    at.session_state["tbl_serious_adverse_events"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert at.title[0].value == "Subject profile"
    assert metric(at, "Status") == "COMPLETED WEEK 24"  # 02-001, not the first subject (01-001)


def test_data_quality_shows_runs_latest_refusal_and_warnings(app):
    at = app("home", role="data")
    assert at.title[0].value == "Data quality"
    assert metric(at, "Latest run") == "refused"
    frames = [d.value for d in at.dataframe]
    runs = next(f for f in frames if "run_id" in f.columns)
    assert runs["outcome"].tolist() == ["refused", "loaded"]
    # the refusal reads as the contract's messages, as literal text
    assert at.code[0].value.splitlines() == [
        "ae.csv:14: AESTDTC=03/02/2024: not an ISO 8601 date",
        "dm.csv: column PATIENT_NAME is not in the export contract (possible personal data)"]
    problems = next(f for f in frames if "message" in f.columns)
    assert "ae.csv:14: AESTDTC=03/02/2024: not an ISO 8601 date" in problems["message"].tolist()
    warnings = next(f for f in frames if "ITEM" in f.columns)
    assert warnings["ITEM"].tolist() == ["LOWCOMP"]
    access = next(f for f in frames if "event" in f.columns)
    assert access["event"].tolist()[-1] == "signin"  # newest first: the view, then the sign-in


def test_every_table_has_a_csv_download(app):
    for page in ("home", "enrollment", "efficacy", "safety"):
        at = app(page)
        assert len(at.get("download_button")) >= len(at.dataframe) > 0


def test_no_warehouse_notice(app, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(tmp_path / "none.duckdb"))
    at = sign_in(new_app().run(), "pi")
    warning = at.warning[0].value
    assert warning.startswith("No warehouse yet") and "make run" in warning and "python -m etl load" in warning
    assert len(at.metric) == 0


def test_subject_profile_of_a_screen_failure(app):
    at = sign_in(new_app().run(), "pi")
    at.query_params["subject"] = U3
    at.switch_page(PAGE_FILES["subject"]).run()
    assert not at.exception
    assert metric(at, "Status") == "SCREEN FAILED"
    assert metric(at, "First infusion (day 1)") == "–"


def test_data_team_without_warehouse_still_sees_the_run_log(app, files, tmp_path, monkeypatch):
    # a first load that was refused leaves a run log but no warehouse
    wh = tmp_path / "trial.duckdb"
    write_run_log(wh)
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(wh))
    at = sign_in(new_app().run(), "data")
    assert at.warning[0].value.startswith("No warehouse yet")
    assert metric(at, "Latest run") == "refused"


def test_overview_counts_saes_and_aesis_since_the_previous_load(app, tmp_path, monkeypatch):
    # Issue 11 replaces "since each site's previous data cut" (sdtm.ae_previous + ADAE flags, which
    # counted a site loaded once in full) by a comparison with the snapshot of an earlier load.
    # The earlier load run-1 (2024-04-01) held site 01 only (data cut 2024-03-31) with both its
    # events; run-2 (the fixture's current load) added site 02. Against run-1, the default
    # reference: site 02's pneumonia is new, serious and an AESI -> 1 SAE, 1 AESI; site 01's herpes
    # zoster is an AESI but was there (2 AESIs if it counted). Same figures as before issue 11.
    wh = build_warehouse(tmp_path / "trial.duckdb")
    write_run_log(wh)
    con = duckdb.connect(str(wh))
    con.execute("INSERT INTO audit.load_snapshots VALUES ('run-1', TIMESTAMP '2024-04-01 09:00', '01', "
                "DATE '2024-03-31', 'run-1')")
    con.execute("INSERT INTO audit.ae_snapshots (RUN_ID, USUBJID, SITEID, AESEQ, AETERM, AEDECOD, "
                "AEBODSYS, AESTDTC, ASTDT, AETOXGR, AESER, AEOUT, TRTEMFL, AESIFL) "
                "SELECT 'run-1', USUBJID, SITEID, AESEQ, AETERM, AEDECOD, AEBODSYS, AESTDTC, ASTDT, "
                "AETOXGR, AESER, AEOUT, TRTEMFL, AESIFL FROM adam.adae WHERE SITEID = '01'")
    con.close()
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(wh))
    at = sign_in(new_app().run(), "pi")
    # the label was shortened for 1024 px (issue 14): "new or newly serious" is now its help text
    assert metric(at, "Serious AEs new") == "1"
    assert metric(at, "AESIs new") == "1"
    assert "accepted load run-1" in texts(at) and "data cuts 01: 2024-03-31" in texts(at)


def test_wide_listings_pin_the_subject_column_and_committee_tables_their_term(app):
    at = app("safety")
    frames = {d.key: json.loads(d.proto.columns) for d in at.dataframe if d.key}
    for key in ("tbl_adverse_events", "tbl_serious_adverse_events", "tbl_infusions"):
        # the subject is shown as its short ID in its own pinned column (issue 14); USUBJID stays hidden
        assert frames[key]["SUBJECT_SHORT"]["pinned"] is True, key
    incidence = next(json.loads(d.proto.columns) for d in at.dataframe
                     if "System organ class / preferred term" in d.value.columns)
    assert incidence["System organ class / preferred term"]["pinned"] is True


def test_enrolled_counts_enrolled_subjects_not_dosed_ones_R_ENROL(tmp_path, files, monkeypatch):
    """R-ENROL: enrolled = ARMCD ANIFRO on its ENROLLED date, dosed or not. A fourth enrolled
    subject 02-002 who never had an infusion (FASFL N) makes Enrolled 4 / 10 on the Overview and
    the Enrollment page, while the primary endpoint's FAS stays 3 (enrolled with an infusion)."""
    wh = build_warehouse(tmp_path / "trial.duckdb")
    write_run_log(wh)
    con = duckdb.connect(str(wh))
    con.execute("""INSERT INTO adam.adsl (USUBJID, SITEID, SUBJID, AGE, SEX, ARMCD, SCRNFL, SCRFFL,
                   ENRLFL, ENRLDT, RFICDT, FASFL, EOSSTT, DATACUT, SUBJSTAT) VALUES
                   ('jRCTs031230358-02-002', '02', '002', 45, 'F', 'ANIFRO', 'Y', 'N', 'Y',
                    '2024-08-20', '2024-08-15', 'N', 'ONGOING', '2024-08-31', 'ENROLLED, NOT DOSED')""")
    con.close()
    open_page = page_opener(wh, files[1], tmp_path / "access.log", monkeypatch)
    at = open_page("home")
    assert metric(at, "Enrolled") == "4 / 10"
    assert "FAS 3" in texts(at)
    assert metric(open_page("enrollment"), "Enrolled") == "4 / 10"


def drawn_subjects(at) -> list[set]:
    """Per chart, the subjects (USUBJID) of the rows it was drawn from."""
    return [{r["USUBJID"] for r in rows if r.get("USUBJID")} for rows in chart_rows(at)]


def test_per_subject_charts_draw_a_chosen_few_beyond_the_limit(app, monkeypatch):
    """pages.common.chart_subjects: the FAS here is 2 subjects (U1, U4). With the limit at 2 the
    charts draw both and no picker is shown; at 1 a picker appears holding the first subject by
    ID (U1), the grid and the SLEDAI-2K panels draw U1 only, the visit table still lists both, and
    picking U4 draws U4 only."""
    import pages.common as common

    monkeypatch.setattr(common, "CHART_SUBJECTS", 2)
    at = app("efficacy")
    assert not [m for m in at.multiselect if m.key == "efficacy_chart_subjects"]
    assert drawn_subjects(at) == [{U1, U4}] * 7

    monkeypatch.setattr(common, "CHART_SUBJECTS", 1)
    at = app("efficacy")
    picker = at.multiselect(key="efficacy_chart_subjects")
    assert picker.value == [U1]
    assert "The charts draw 1 of 2 subjects (at most 1 at first); the tables list every subject." in texts(at)
    assert drawn_subjects(at) == [{U1}] * 7
    table = next(d.value for d in at.dataframe if "LLDASFL" in d.value.columns)
    assert sorted(set(table["USUBJID"])) == [U1, U4]
    picker.set_value([U4]).run()
    assert drawn_subjects(at) == [{U4}] * 7


def test_lab_values_chart_draws_a_chosen_few_beyond_the_limit(app, monkeypatch):
    """Labs page, charts in order: worst-grade counts (no subject), values over study day,
    eDISH. The hand-built trial's first test has values of U1 and U4: all drawn under the limit;
    with the limit at 1 the values chart draws U1 only, and eDISH (one point per subject, a
    trial-wide signal) still draws both."""
    import pages.common as common

    at = app("labs")
    assert drawn_subjects(at) == [set(), {U1, U4}, {U1, U4}]
    assert not [m for m in at.multiselect if m.key == "lab_chart_subjects"]
    monkeypatch.setattr(common, "CHART_SUBJECTS", 1)
    at = app("labs")
    assert at.multiselect(key="lab_chart_subjects").value == [U1]
    assert drawn_subjects(at) == [set(), {U1}, {U1, U4}]


@pytest.mark.parametrize("page, key, everyone", [
    # the AE timeline: subjects with an adverse event or an infusion (U1, U4)
    ("safety", "ae_timeline_subjects", {U1, U4}),
    # the PSL curves: subjects with glucocorticoid data (U1, U2, U4); the daily rows are read
    # for the picked subjects only (queries.psl_curve)
    ("glucocorticoids", "psl_chart_subjects", {U1, U2, U4}),
])
def test_the_other_per_subject_charts_draw_a_chosen_few_beyond_the_limit(app, monkeypatch, page,
                                                                          key, everyone):
    import pages.common as common

    at = app(page)
    assert drawn_subjects(at) == [everyone]
    assert not [m for m in at.multiselect if m.key == key]
    monkeypatch.setattr(common, "CHART_SUBJECTS", 1)
    at = app(page)
    assert at.multiselect(key=key).value == [U1]
    assert drawn_subjects(at) == [{U1}]
    at.multiselect(key=key).set_value([U4]).run()
    assert drawn_subjects(at) == [{U4}]


def test_picks_that_another_site_filter_no_longer_offers_give_way_to_the_first_subjects(
        app, monkeypatch):
    """pages.common.pick_subjects on the Glucocorticoids page (U1, U2 at site 01, U4 at site 02),
    limit 1: U4 picked, then site 01 chosen: the box holds U1 (the first of site 01), not nothing,
    and the curves draw U1; U2 picked, then all sites again: U2 is still offered, so it stays
    (a fresh start would hold U1; the hand-built ADPSL has no rows of U2, so nothing is drawn).
    A box the user empties stays empty (nothing of it left the options)."""
    import pages.common as common

    monkeypatch.setattr(common, "CHART_SUBJECTS", 1)
    at = app("glucocorticoids")
    at.multiselect(key="psl_chart_subjects").set_value([U4]).run()
    assert drawn_subjects(at) == [{U4}]
    choose_site(at, "01")
    assert at.multiselect(key="psl_chart_subjects").value == [U1]
    assert drawn_subjects(at) == [{U1}]
    at.multiselect(key="psl_chart_subjects").set_value([U2]).run()
    choose_site(at, common.ALL_SITES)
    assert at.multiselect(key="psl_chart_subjects").value == [U2]
    assert drawn_subjects(at) == []
    at.multiselect(key="psl_chart_subjects").set_value([]).run()
    at.run()
    assert at.multiselect(key="psl_chart_subjects").value == []
    assert not at.exception and not [w for w in at.warning if "Session State" in w.value]
