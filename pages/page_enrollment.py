"""Enrollment (R-ENROL): cumulative enrolled against the target, funnel with failure reasons,
per site, and the projected date the target is reached at the rate so far."""
import datetime as dt

import altair as alt
import polars as pl
import streamlit as st

from warehouse.study import FIRST_ENROLLMENT_REGISTRY
from pages.common import TARGET, count_axis, frac, page_setup, table
from warehouse import charts, queries

sites = page_setup("enrollment")
enr = queries.enrollment_counts(sites)
c1, c2, c3 = st.columns(3)
c1.metric("Screened", enr["screened"])
c2.metric("Screen failures", frac(enr["screen_failed"], enr["screened"]))
c3.metric("Enrolled", f"{enr['enrolled']} / {TARGET}")

cum = queries.enrolled_over_time(sites)
first = dt.date.fromisoformat(FIRST_ENROLLMENT_REGISTRY)
cuts = queries.data_cuts()
cut = cuts["DATACUT"].max() if cuts.height else dt.date.today()
projection = queries.enrollment_projection()   # trial-wide, derived by the ETL (R-ENROL)
if cum.height:
    st.altair_chart(charts.enrollment(cum, cut, TARGET, first), width="stretch")
st.caption(f"Red dashed line: target {TARGET}. Grey line: first enrollment in the registry "
           f"({FIRST_ENROLLMENT_REGISTRY}).")
if projection.get("PROJDT"):
    st.info(f"Projection (not a fact): the target of {projection['TARGET']} would be reached "
            f"around {projection['PROJDT']:%Y-%m-%d} — {projection['METHOD']} "
            f"(trial-wide, as of {projection['ASOFDT']}; "
            f"{projection['RATE30']:.1f} enrolled per 30 days).")
elif projection.get("REACHEDDT"):
    st.success(f"Target reached on {projection['REACHEDDT']}: "
               f"{projection['ENROLLED']} / {projection['TARGET']} enrolled (trial-wide).")

st.subheader("Funnel: screened → screen-failed → enrolled")
funnel = pl.DataFrame({"stage": ["Screened", "Screen failed", "Enrolled"],
                       "subjects": [enr["screened"], enr["screen_failed"], enr["enrolled"]]})
st.altair_chart(alt.Chart(funnel).mark_bar().encode(
    x=alt.X("subjects:Q", axis=count_axis("Subjects")), y=alt.Y("stage:N", sort=None, title=None),
    tooltip=["stage", "subjects"]), width="stretch")
st.subheader("Screen failures and the criterion not met")
table(queries.screen_failures(sites), "screen_failures")
st.subheader("Per site")
table(queries.enrollment_by_site(sites), "enrollment_by_site")
