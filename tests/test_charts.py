"""warehouse/charts.py, the specifications the pages and the committee packet draw, read through
``chart.to_dict()`` (the Vega-Lite the browser and vl-convert get): the AE timeline on onset study
day with a fixed colour per CTCAE grade and serious events as diamonds, infusions on the same
axis, the subject profile's panels on one study-day domain, the SLEDAI-2K small multiples, and
integer ticks on every count axis the pages draw (AppTest, every page)."""
from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from warehouse import charts

D = dt.date.fromisoformat
U1, U2 = "jRCTs031230358-01-001", "jRCTs031230358-02-003"


def ae_frame(rows):
    """rows: (USUBJID, ASTDY, grade, serious Y/N)."""
    return pl.DataFrame(
        {"USUBJID": [r[0] for r in rows], "AEDECOD": [f"Term {i}" for i, _ in enumerate(rows)],
         "AETERM": ["t"] * len(rows), "AETOXGR": [r[2] for r in rows], "AESER": [r[3] for r in rows],
         "ASTDY": [r[1] for r in rows], "ASTDT": [D("2024-01-01")] * len(rows),
         "AENDT": [None] * len(rows)},
        schema_overrides={"ASTDY": pl.Int32, "AETOXGR": pl.Int32, "AENDT": pl.Date})


def ex_frame(rows):
    """rows: (USUBJID, ADY); ADY None for a missed infusion."""
    return pl.DataFrame({"USUBJID": [r[0] for r in rows], "AVISIT": ["WEEK 0"] * len(rows),
                         "ADY": [r[1] for r in rows], "ADT": [D("2024-01-01")] * len(rows),
                         "EXDOSE": [300.0] * len(rows), "MISSFL": ["N"] * len(rows)},
                        schema_overrides={"ADY": pl.Int32})


def layers(spec: dict) -> list[dict]:
    """Every unit spec (with a mark) inside a spec: through layer / vconcat / hconcat / facet."""
    out = []
    if "mark" in spec:
        out.append(spec)
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for sub in spec.get(key, []):
            out += layers(sub)
    if "spec" in spec:
        out += layers(spec["spec"])
    return out


def mark(unit: dict) -> str:
    m = unit["mark"]
    return m if isinstance(m, str) else m["type"]


def test_ae_timeline_is_on_onset_study_day_with_fixed_grade_colours_and_serious_diamonds():
    # Only grades 2 and 3 in the data: the colour scale still lists all five grades, in order, so
    # grade 3 keeps its colour on every page and packet. Onsets on days 5 and 40, infusions on
    # days 1 and 29 and one missed (no day): the shared axis runs from 1 to 40.
    ae = ae_frame([(U1, 5, 2, "N"), (U2, 40, 3, "Y")])
    ex = ex_frame([(U1, 1), (U1, 29), (U2, None)])
    spec = charts.ae_timeline(ae, ex).to_dict()
    inf, aes = spec["layer"]
    assert aes["encoding"]["x"]["field"] == "ASTDY" and aes["encoding"]["x"]["type"] == "quantitative"
    assert inf["encoding"]["x"]["field"] == "ADY"
    assert aes["encoding"]["x"]["scale"]["domain"] == inf["encoding"]["x"]["scale"]["domain"] == [1, 40]
    colour = aes["encoding"]["color"]
    assert colour["scale"]["domain"] == ["Grade 1", "Grade 2", "Grade 3", "Grade 4", "Grade 5"]
    assert len(set(colour["scale"]["range"])) == 5          # five distinct colours
    assert colour["title"] == "CTCAE grade" and colour.get("legend", {}) is not None
    shape = aes["encoding"]["shape"]
    assert dict(zip(shape["scale"]["domain"], shape["scale"]["range"])) == {
        "Serious": "diamond", "Not serious": "circle"}
    # the data the browser gets: the serious grade-3 event of 02-003 as "Grade 3" / "Serious"
    rows = next(v for k, v in spec["datasets"].items() if any("seriousness" in r for r in v))
    assert {(r["subject"], r["grade"], r["seriousness"]) for r in rows} == {
        ("01-001", "Grade 2", "Not serious"), ("02-003", "Grade 3", "Serious")}


def test_subject_timeline_ae_panel_shares_the_study_day_domain_with_psl_and_infusions():
    psl = pl.DataFrame({"ADY": [-6, 85], "PSLDOSE": [30.0, 7.5], "ADT": [D("2024-01-06")] * 2,
                        "DRUGS": ["P", "P"]}, schema_overrides={"ADY": pl.Int32})
    ae = ae_frame([(U1, 50, 4, "Y")])
    ex = ex_frame([(U1, 1), (U1, 29)])
    domain = charts.day_domain(psl["ADY"], ae["ASTDY"], ex["ADY"])
    assert domain == [-6, 85]                                # by hand: min -6 (PSL), max 85 (PSL)
    spec = charts.subject_timeline(psl, ex, ae, domain=domain).to_dict()
    units = layers(spec)
    xs = {mark(u): u["encoding"]["x"] for u in units}
    assert xs["point"]["field"] == "ASTDY"
    assert xs["line"]["scale"]["domain"] == xs["tick"]["scale"]["domain"] == xs["point"]["scale"]["domain"] == [-6, 85]
    ae_unit = next(u for u in units if mark(u) == "point")
    assert ae_unit["encoding"]["color"]["scale"]["domain"][3] == "Grade 4"
    assert ae_unit["encoding"]["shape"]["field"] == "seriousness"


def test_sledai_small_multiples_one_panel_per_subject_wrapped():
    subjects = [f"jRCTs031230358-01-{i:03d}" for i in range(1, 11)]
    visits = pl.DataFrame({"USUBJID": [u for u in subjects for _ in (0, 1)],
                           "AVISIT": ["WEEK 0", "WEEK 12"] * 10, "ADY": [1, 85] * 10,
                           "ADT": [D("2024-01-01")] * 20, "SLEDAI": [10, 4] * 10,
                           "LLDASFL": ["N", "Y"] * 10}, schema_overrides={"ADY": pl.Int32})
    spec = charts.sledai_multiples(visits).to_dict()
    assert spec["facet"]["field"] == "subject" and spec["columns"] == 3    # 10 subjects: 4 rows of 3, 3, 3, 1
    for unit in layers(spec["spec"]):
        colour = unit["encoding"].get("color")
        assert colour is None or colour.get("field") != "USUBJID"         # no colour per subject
    rows = next(iter(spec["datasets"].values()))
    assert sorted({r["subject"] for r in rows}) == [f"01-{i:03d}" for i in range(1, 11)]


def count_axis_ok(enc: dict) -> bool:
    axis = enc.get("axis") or {}
    return axis.get("format") == "d" and axis.get("tickMinStep") == 1


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from tests.app_fixtures import hand_built_files
    return hand_built_files(tmp_path_factory, "charts")


def test_every_bar_chart_on_every_page_has_integer_count_ticks(files, tmp_path, monkeypatch):
    """Every bar mark the pages draw (enrollment funnel, lab worst grades ...) counts something:
    its quantitative axis must have format "d" and tickMinStep 1; so must the cumulative
    enrollment line. Walks every page as the PI (who sees all pages) on the hand-built warehouse."""
    from pages.common import pages_for
    from tests.app_fixtures import page_opener

    wh, users = files
    open_page = page_opener(wh, users, tmp_path / "access.log", monkeypatch)
    bars = 0
    for page in pages_for("pi"):
        at = open_page(page)
        for chart in at.get("vega_lite_chart"):
            for unit in layers(json.loads(chart.proto.spec)):
                enc = unit.get("encoding", {})
                counted = [enc[k] for k in ("x", "y") if k in enc and enc[k].get("type") == "quantitative"]
                if mark(unit) == "bar":
                    bars += 1
                    assert counted and all(count_axis_ok(e) for e in counted), (page, unit)
                if any(e.get("field") == "cumulative" for e in counted):
                    assert all(count_axis_ok(e) for e in counted if e.get("field") == "cumulative"), page
    assert bars >= 2        # the enrollment funnel and the lab worst-grade bars at least


def test_lldas_grid_is_one_chart_per_criterion_to_wrap_with_one_legend():
    # two subjects x one visit x LLDAS, C1..C5 -> six panels in the order LLDAS, C1 .. C5
    grid = pl.DataFrame({"USUBJID": [u for _ in range(6) for u in (U1, U2)],
                         "AVISIT": ["WEEK 12"] * 12, "VISITNUM": [5] * 12,
                         "criterion": [c for c in ("C3", "LLDAS", "C1", "C5", "C2", "C4") for _ in (U1, U2)],
                         "flag": ["Y", "missing"] * 6})
    panels = [p.to_dict() for p in charts.lldas_grid(grid)]
    assert [p["title"] for p in panels] == ["LLDAS", "C1", "C2", "C3", "C4", "C5"]
    colours = [p["encoding"]["color"] for p in panels]
    assert all(c["scale"]["domain"] == ["Y", "N", "missing"] for c in colours)
    assert colours[0]["legend"] is not None and all(c["legend"] is None for c in colours[1:])
    assert all(isinstance(p["width"], int) for p in panels)     # fixed width: the page's row wraps them
