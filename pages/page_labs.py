"""Laboratory safety (R-LAB): worst post-baseline CTCAE v5.0 grade by test, shift tables (baseline
grade -> worst post-baseline grade), one test's values over study day, the liver signal (eDISH,
potential Hy's law) and the listings of grade >= 3 values and of potential Hy's law cases.
The ETL grades (etl/derive/labs.py); every number here comes from warehouse.queries, the same
functions the committee packet and the CSV downloads read."""
import altair as alt
import polars as pl
import streamlit as st

from pages.common import (PAGES, chart_subjects, count_axis, frac, linked_table, page_setup,
                          pages_for, table)
from warehouse import charts, queries
from warehouse.labels import short_subject

sites = page_setup("labs")
GRADE_COLOURS = {"grade 0": "#9e9e9e", "grade 1": "#fdd835", "grade 2": "#fb8c00",
                 "grade 3": "#e53935", "grade 4": "#6a1b9a", "not graded": "#42a5f5"}
HIGHLIGHT = "background-color: #f8d7da; font-weight: bold"


def grade_label(col: str = "ATOXGR") -> pl.Expr:
    return (pl.when(pl.col(col).is_null()).then(pl.lit("not graded"))
            .otherwise(pl.format("grade {}", pl.col(col))).alias("grade"))


def highlight_grade3(styler):
    """Colour the grade 3 / 4 / >= 3 cells that count a subject (their text says so too)."""
    def colour(column):
        return [HIGHLIGHT if str(v).split(" ")[0] not in ("0", "–", "") else "" for v in column]
    return styler.apply(colour, subset=["grade 3", "grade 4", "grade ≥ 3"])


# --- worst post-baseline grade -------------------------------------------------------------------
st.subheader("Worst post-baseline grade by test (CTCAE v5.0)")
st.caption("Subjects n (% of N) at their worst grade after day 1 and within observation; N = "
           "subjects with a post-baseline value of the test (R-LAB). Increases graded for ALT, AST, "
           "BILI, CREAT; decreases for WBC, NEUT, LYM, PLAT, HGB (HGB has no grade 4).")
worst = queries.lab_worst_grades(sites)
if not worst.height:
    st.info("No post-baseline laboratory value yet.")
else:
    high = worst.filter(pl.col("n3") > 0)
    if high.height:
        st.warning("Grade ≥ 3 after baseline (highlighted below, column 'attention'): " + "; ".join(
            f"{r['PARAMCD']} {r['direction']}: {frac(r['n3'], r['N'])} subjects"
            for r in high.iter_rows(named=True)))
    else:
        st.success("No grade ≥ 3 value after baseline.")
    shown = worst.with_columns(attention=pl.when(pl.col("n3") > 0).then(pl.lit("GRADE ≥ 3"))
                               .otherwise(pl.lit(""))).drop("n3")
    table(shown, "lab_worst_grade", style=highlight_grade3)
    counts = queries.lab_worst_grade_counts(sites).with_columns(grade_label("grade"))
    st.altair_chart(alt.Chart(counts.filter(pl.col("n") > 0)).mark_bar().encode(
        x=alt.X("PARAMCD:N", title="Test", sort=worst["PARAMCD"].to_list()),
        y=alt.Y("n:Q", axis=count_axis("Subjects")),
        color=alt.Color("grade:N", title="Worst grade", scale=alt.Scale(
            domain=list(GRADE_COLOURS), range=list(GRADE_COLOURS.values()))),
        order=alt.Order("grade:N"), tooltip=["PARAMCD", "direction", "grade", "n", "N"]),
        width="stretch")
with st.expander("CTCAE v5.0 criteria used (R-LAB)"):
    table(queries.lab_grade_criteria(), "lab_ctcae_criteria")

st.subheader("Shift tables: baseline grade → worst post-baseline grade")
st.caption("Subjects; baseline = the latest value on or before day 1 (the WEEK 0 sample, else "
           "screening); 'missing' without one.")
table(queries.lab_shift(sites), "lab_shift")

# --- one test over study day -------------------------------------------------------------------
st.subheader("Values over study day")
tests = queries.lab_tests(sites)
if tests.height:
    labels = {r["PARAMCD"]: f"{r['PARAMCD']} ({r['AVALU'] or 'no unit'})" for r in tests.iter_rows(named=True)}
    code = st.selectbox("Test", list(labels), format_func=labels.get, key="lab_test")
    values = chart_subjects(queries.lab_values(code, sites), "lab_chart_subjects").with_columns(
        grade_label(), pl.col("USUBJID").str.slice(-6).alias("subject"))
    # One selection per layer (a line, a point): either names the subject to open.
    picks = [alt.selection_point(fields=["USUBJID"], name=n, on="click") for n in ("line", "point")]
    x = alt.X("ADY:Q", title="Study day")
    ranges = values.select("ANRLO", "ANRHI").drop_nulls().unique()
    band = alt.Chart(ranges).mark_rect(opacity=0.15, color="#2e7d32").encode(y="ANRLO:Q", y2="ANRHI:Q")
    lines = alt.Chart(values).mark_line(strokeWidth=1.5).encode(
        x=x, y=alt.Y("AVAL:Q", title=labels.get(code, code)), detail="USUBJID:N",
        color=alt.value("#607d8b"), opacity=alt.condition(picks[0], alt.value(0.9), alt.value(0.35)))
    points = alt.Chart(values).mark_point(filled=True, size=60).encode(
        x=x, y="AVAL:Q", color=alt.Color("grade:N", title="Grade", scale=alt.Scale(
            domain=list(GRADE_COLOURS), range=list(GRADE_COLOURS.values()))),
        tooltip=["USUBJID", "AVISIT", "ADT", "ADY", "AVAL", "ANRLO", "ANRHI", "grade"])
    layers = [lines.add_params(picks[0]), points.add_params(picks[1])]
    chart = alt.layer(band, *layers) if ranges.height else alt.layer(*layers)
    can_open = "subject" in pages_for(st.session_state.get("role", ""))
    event = st.altair_chart(chart, width="stretch", key="lab_values_chart",
                            on_select="rerun" if can_open else "ignore")
    st.caption("One line per subject; the shaded band is the reference range; points coloured by "
               "grade." + (" Click a subject's line or point to open its profile." if can_open else ""))
    chosen = [p.get("USUBJID") for name in ("line", "point") if can_open and event is not None
              for p in (event["selection"].get(name) or []) if isinstance(p, dict)]
    if chosen and chosen[0]:
        st.switch_page(PAGES["subject"][0], query_params={"subject": chosen[0]})

# --- the liver signal ----------------------------------------------------------------------------
st.subheader("Liver: eDISH (peak values after baseline)")
hy = queries.hy_law_multiples()
quadrants = queries.edish_quadrant_counts(sites)
points = queries.edish_points(sites)
if points.height:
    st.altair_chart(charts.edish(points, quadrants, hy), width="stretch")
st.caption(f"Lines at {hy['aminotransferase']:g} × ULN (ALT or AST) and {hy['bilirubin']:g} × ULN "
           "(bilirubin). Peaks may fall on different dates: a potential Hy's law case (R-LAB) needs "
           "both on one date, so the upper right quadrant alone is not one.")
table(quadrants, "edish_quadrants")
cases = queries.hys_law_cases(sites)
st.text("Potential Hy's law (ALT or AST > 3 × ULN and BILI > 2 × ULN on one date, post-baseline): "
        + (", ".join(short_subject(u) for u in cases["USUBJID"].to_list()) if cases.height else "none"))

st.subheader("Grade ≥ 3 values (FAS, every visit)")
linked_table(queries.lab_grade3_listing(sites), "lab_grade3")
st.subheader("Potential Hy's law cases")
linked_table(cases, "hys_law")
