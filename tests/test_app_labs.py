"""The Labs page and the subject profile's laboratory panel through the real app (AppTest), on the
hand-built warehouse of tests/app_fixtures.py, whose lab figures are worked out there by hand
(R-LAB): worst NEUT grade 3 for 01-001 and 2 for 02-001 (N 2), ALT grade 2 for both, 02-001 a
potential Hy's law case (ALT 3.25 x and BILI 2.083 x ULN on day 57), 01-001 in Temple's corollary."""
from __future__ import annotations

import json

import pytest

from tests.app_fixtures import (PAGE_FILES, U1, U4, hand_built_files, metric, new_app, page_opener,
                                sign_in, texts)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return hand_built_files(tmp_path_factory, "labs")


@pytest.fixture
def app(files, tmp_path, monkeypatch):
    wh, users = files
    return page_opener(wh, users, tmp_path / "access.log", monkeypatch)


def frame(at, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def test_worst_grade_by_test_counts_subjects_of_n_and_says_grade_3_in_words(app):
    at = app("labs")
    assert at.title[0].value == "Labs"
    worst = frame(at, "grade ≥ 3").set_index("PARAMCD")
    # NEUT: 01-001 worst 0.8 (grade 3), 02-001 worst 1.2 (grade 2); N = 2 subjects.
    assert worst.loc["NEUT", ["N", "grade 0", "grade 1", "grade 2", "grade 3", "grade 4", "grade ≥ 3",
                              "attention"]].tolist() == [2, "0 (0.0%)", "0 (0.0%)", "1 (50.0%)", "1 (50.0%)",
                                                         "0 (0.0%)", "1 (50.0%)", "GRADE ≥ 3"]
    # ALT: both subjects 130 U/L with ULN 40 = 3.25 x: grade 2. BILI: 0.5 x (grade 0), 2.083 x (grade 2).
    assert worst.loc["ALT", ["N", "grade 2", "grade ≥ 3", "attention"]].tolist() == [2, "2 (100.0%)", "0 (0.0%)", ""]
    assert worst.loc["BILI", ["grade 0", "grade 2"]].tolist() == ["1 (50.0%)", "1 (50.0%)"]
    assert sorted(worst.index) == ["ALT", "BILI", "NEUT"]          # only tests with post-baseline values
    assert "Grade ≥ 3 after baseline (highlighted below, column 'attention'): NEUT decreased: " \
           "1 / 2 (50%) subjects" in [w.value for w in at.warning]


def test_grade_3_cells_are_highlighted(app):
    at = app("labs")
    table = next(d for d in at.dataframe if "grade ≥ 3" in d.value.columns)
    styles = json.dumps(table.proto.arrow_data.styler.styles)
    assert "background-color: #f8d7da" in styles


def test_shift_table_baseline_grade_to_worst_post_baseline_grade(app):
    at = app("labs")
    shift = frame(at, "baseline grade")
    rows = shift[["PARAMCD", "baseline grade", "worst 2", "worst 3", "total"]].values.tolist()
    # NEUT: 01-001 baseline 0 -> worst 3, 02-001 baseline 2 -> worst 2. ALT: 01-001 0 -> 2,
    # 02-001 without a baseline value -> 'missing' -> 2. BILI: 01-001 no baseline -> 0; 02-001 -> 2.
    assert rows == [["ALT", "0", 1, 0, 1], ["ALT", "missing", 1, 0, 1], ["BILI", "missing", 1, 0, 2],
                    ["NEUT", "0", 0, 1, 1], ["NEUT", "2", 1, 0, 1]]


def test_edish_log_axes_reference_lines_quadrants_and_hy_law_named(app):
    at = app("labs")
    quadrants = frame(at, "quadrant")
    assert dict(zip(quadrants["quadrant"], quadrants["subjects"])) == {
        "Possible Hy's law range": 1, "Hyperbilirubinemia": 0, "Temple's corollary": 1, "Normal range": 0}
    assert set(quadrants["N"]) == {2}
    edish = next(s for s in specs(at) if any(la.get("encoding", {}).get("x", {}).get("field") == "AMTPKULN"
                                             for la in s.get("layer", [])))
    scatter = edish["layer"][0]["encoding"]
    assert scatter["x"]["scale"]["type"] == "log" and scatter["y"]["scale"]["type"] == "log"
    rules = [la for la in edish["layer"] if la["mark"]["type"] == "rule"]
    assert len(rules) == 2                       # the 3 x ULN and 2 x ULN lines
    # the subject by its short site-subject ID (issue 14)
    assert f"Potential Hy's law (ALT or AST > 3 × ULN and BILI > 2 × ULN on one date, post-baseline): {U4[-6:]}" \
        in [t.value for t in at.text]
    cases = frame(at, "HYLAWDT")
    assert cases[["USUBJID", "HYLAWDY", "HYAMTULN"]].values.tolist() == [[U4, 57, 3.25]]


def test_grade_3_listing_and_integer_count_axis(app):
    at = app("labs")
    listing = frame(at, "ATOXGR")
    assert listing[["USUBJID", "PARAMCD", "AVAL", "ATOXGR", "POSTBLFL"]].values.tolist() == [
        [U1, "NEUT", 0.8, 3, "Y"]]
    bars = next(s for s in specs(at) if s.get("encoding", {}).get("y", {}).get("field") == "n")
    axis = bars["encoding"]["y"]["axis"]
    assert (axis["format"], axis["tickMinStep"]) == ("d", 1)      # whole subjects only
    assert len(at.get("download_button")) >= len(at.dataframe) > 0


def test_site_filter_on_the_labs_page(app):
    at = app("labs")
    at.sidebar.selectbox(key="site_filter").select("02").run()
    worst = frame(at, "grade ≥ 3").set_index("PARAMCD")
    # site 02: only 02-001, NEUT worst grade 2 -> 1 (100%) of N 1; no grade >= 3 anywhere.
    assert worst.loc["NEUT", ["N", "grade 2", "grade ≥ 3"]].tolist() == [1, "1 (100.0%)", "0 (0.0%)"]
    assert "No grade ≥ 3 value after baseline." in [s.value for s in at.success]


def test_values_over_study_day_chart_and_a_selected_point_opens_the_profile(app):
    at = app("labs")
    at.selectbox(key="lab_test").select("NEUT").run()
    chart = next(s for s in specs(at) if {p["name"] for p in s.get("params", [])} >= {"line", "point"})
    marks = [la["mark"]["type"] for la in chart["layer"]]
    assert marks == ["rect", "line", "point"]    # reference band, one line per subject, graded points
    assert chart["layer"][2]["encoding"]["color"]["field"] == "grade"
    at.session_state["lab_values_chart"] = {"selection": {"point": [{"USUBJID": U4}], "line": {}}}
    at.run()
    assert at.title[0].value == "Subject profile"
    assert metric(at, "First infusion (day 1)") == "2024-01-22"      # 02-001


def test_selecting_a_line_opens_the_profile_too(app):
    at = app("labs")
    at.session_state["lab_values_chart"] = {"selection": {"line": [{"USUBJID": U1}], "point": {}}}
    at.run()
    assert at.title[0].value == "Subject profile"
    assert metric(at, "First infusion (day 1)") == "2024-01-12"      # 01-001


def test_monitor_sees_the_labs_page_and_the_data_team_does_not(app, files):
    at = app("labs", role="monitor")
    assert at.title[0].value == "Labs" and not at.exception
    data = sign_in(new_app().run(), "data")
    with pytest.raises(ValueError):
        data.switch_page(PAGE_FILES["labs"])


def test_subject_profile_laboratory_panel_on_the_shared_study_day_axis(app):
    at = sign_in(new_app().run(), "pi")
    at.query_params["subject"] = U1
    at.switch_page(PAGE_FILES["subject"]).run()
    assert not at.exception
    # 01-001's tests with a grade >= 1 are chosen by default: ALT (grade 2) and NEUT (3, 1).
    tests = at.multiselect(key="profile_lab_tests")
    assert tests.value == ["ALT", "NEUT"]
    top, panel = specs(at)[0], specs(at)[-1]
    domain = top["vconcat"][0]["encoding"]["x"]["scale"]["domain"]
    panels = panel["vconcat"]
    assert len(panels) == 2
    for p in panels:
        assert [la["mark"]["type"] for la in p["layer"]] == ["rect", "line", "point"]
        assert p["layer"][1]["encoding"]["x"]["scale"]["domain"] == domain
    tests.set_value(["NEUT"]).run()
    assert len(specs(at)[-1]["vconcat"]) == 1
    assert "Shaded: the reference range" in texts(at)
