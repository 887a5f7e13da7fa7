"""Efficacy (R-ENDPOINT, R-LLDAS): LLDAS at weeks 12 and 24 as responders / due, the subject x
visit grid of LLDAS and C1-C5, SLEDAI-2K over time, change from week 0, immunosuppressants."""
import polars as pl
import streamlit as st

from pages.common import chart_subjects, frac, linked_table, page_setup, table
from warehouse import charts, queries
from warehouse.study import ENDPOINT_WEEKS, PRIMARY_WEEK

sites = page_setup("efficacy")
c = st.columns(2)
for col, week in zip(c, ENDPOINT_WEEKS):
    e = queries.endpoint("LLDAS", week, sites)
    col.metric(f"LLDAS at week {week}{' (primary)' if week == PRIMARY_WEEK else ''}",
               frac(e["responders"], e["due"]),
               help="Responders / subjects due at the data cut (R-ENDPOINT); subjects not yet due are "
                    "not counted as failures.")
    col.caption(f"Not yet due: {e['not_yet_due']} (shown, not counted as failures) · FAS {e['fas']}"
                + (f" · responders / FAS: {frac(e['responders'], e['fas'])}"
                   if e["fas"] and e["not_yet_due"] == 0 else ""))

summary = queries.endpoint_summary(sites).with_columns(
    pl.struct("responders", "due").map_elements(lambda r: frac(r["responders"], r["due"]),
                                                return_dtype=pl.String).alias("responders / due"))
st.subheader("Secondary endpoints (responders / due)")
table(summary.select("PARAMCD", "PARAM", "AVISITN", "responders / due", "not_yet_due", "fas"),
      "endpoints")

visits = queries.lldas_visits(sites, fas_only=True)   # full analysis set only (R-ENDPOINT)
st.subheader("LLDAS and criteria C1–C5 by visit")
st.caption("Full analysis set: enrolled subjects with at least one infusion (screen failures are not shown).")
drawn = chart_subjects(visits, "efficacy_chart_subjects")   # the grid and SLEDAI-2K panels
grid = drawn.unpivot(index=["USUBJID", "AVISIT", "VISITNUM"],
                      on=["LLDASFL", "CRIT1FL", "CRIT2FL", "CRIT3FL", "CRIT4FL", "CRIT5FL"],
                      variable_name="criterion", value_name="flag").with_columns(
    pl.col("criterion").replace({"LLDASFL": "LLDAS", **{f"CRIT{i}FL": f"C{i}" for i in range(1, 6)}}),
    pl.col("flag").fill_null("missing"))
if grid.height:
    # One small chart per criterion in a wrapping row: three a row on a wide screen, fewer at
    # 1024 px or 768 px, never cut off at the right edge.
    with st.container(horizontal=True, gap="medium"):
        for panel in charts.lldas_grid(grid):
            st.altair_chart(panel, width="content")
linked_table(visits, "lldas_by_visit")

st.subheader("SLEDAI-2K over time")
if drawn.height:
    st.altair_chart(charts.sledai_multiples(drawn))
    st.caption("One panel per subject (site-subject), shared axes; points coloured by LLDAS at the visit.")

st.subheader("Change from week 0 (weeks 12 and 24)")
table(queries.change_from_week0(sites), "change_from_week0")
st.subheader("Concomitant immunosuppressants")
table(queries.immunosuppressant_counts(sites), "immunosuppressant_counts")
linked_table(queries.immunosuppressants(sites), "immunosuppressants")
