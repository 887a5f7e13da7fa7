"""Subject profile: one subject on one page, on a shared time axis (study day). Reachable from
every listing by ``?subject=<USUBJID>``."""
import altair as alt
import polars as pl
import streamlit as st

from pages.common import page_setup, table
from warehouse import queries

sites = page_setup("subject")
subjects = queries.subjects(sites)
wanted = st.query_params.get("subject")
if not subjects:
    st.info("No subjects.")
    st.stop()
subject = st.selectbox("Subject", subjects, index=subjects.index(wanted) if wanted in subjects else 0)
st.query_params["subject"] = subject

s = queries.adsl(usubjid=subject).row(0, named=True)
st.subheader(subject)
c = st.columns(4)
c[0].metric("Status", s["SUBJSTAT"] or "–")
c[1].metric("First infusion (day 1)", str(s["TRTSDT"] or "–"))
c[2].metric("Study day at data cut", s["CUTDY"] if s["CUTDY"] is not None else "–")
c[3].metric("Baseline weight (kg)", s["WEIGHTBL"] if s["WEIGHTBL"] is not None else "–")
st.caption(f"Site {s['SITEID']} · age {s['AGE']} · sex {s['SEX']} · consent {s['RFICDT']} · "
           f"enrolled {s['ENRLDT']} · end of study status {s['EOSSTT']} · data cut {s['DATACUT']}")

psl = queries.psl_curve(subjects=(subject,))
visits = queries.lldas_visits(usubjid=subject)
ae = queries.adverse_events(usubjid=subject)
ex = queries.infusions(usubjid=subject)
labs = queries.labs(subject)
day_min = min([d.min() for d in (psl["ADY"], visits["ADY"], ae["ASTDY"], ex["ADY"], labs["ADY"])
               if d.drop_nulls().len()] or [-28])
day_max = max([d.max() for d in (psl["ADY"], visits["ADY"], ae["ASTDY"], ex["ADY"], labs["ADY"])
               if d.drop_nulls().len()] or [169])
x = alt.X("ADY:Q", title="Study day", scale=alt.Scale(domain=[day_min, day_max]))
charts = []
if psl.height:
    charts.append(alt.Chart(psl).mark_line(interpolate="step-after").encode(
        x=x, y=alt.Y("PSLDOSE:Q", title="PSL mg/day"), tooltip=["ADT", "PSLDOSE", "DRUGS"]).properties(height=140))
if visits.height:
    charts.append(alt.Chart(visits).mark_line(point=True).encode(
        x=x, y=alt.Y("SLEDAI:Q", title="SLEDAI-2K"),
        tooltip=["AVISIT", "ADT", "SLEDAI", "LLDASFL"]).properties(height=120))
    charts.append(alt.Chart(visits.with_columns(pl.col("LLDASFL").fill_null("missing"))).mark_square(size=120).encode(
        x=x, color=alt.Color("LLDASFL:N", title="LLDAS", scale=alt.Scale(
            domain=["Y", "N", "missing"], range=["#2e7d32", "#c62828", "#bdbdbd"])),
        tooltip=["AVISIT", "LLDASFL"]).properties(height=40))
if ex.height:
    charts.append(alt.Chart(ex.filter(pl.col("ADY").is_not_null())).mark_tick(thickness=2).encode(
        x=x, tooltip=["AVISIT", "ADT", "EXDOSE"]).properties(height=30, title="Infusions"))
if ae.height:
    charts.append(alt.Chart(ae).mark_point(filled=True).encode(
        x=alt.X("ASTDY:Q", title="Study day", scale=alt.Scale(domain=[day_min, day_max])),
        y=alt.Y("AEDECOD:N", title=None), color=alt.Color("AETOXGR:O", title="Grade"),
        tooltip=["AEDECOD", "AETERM", "AETOXGR", "ASTDT"]).properties(height=80))
if charts:
    st.altair_chart(alt.vconcat(*charts).resolve_scale(color="independent"))

st.subheader("Visits: SLEDAI-2K and LLDAS")
table(visits.drop("SITEID"), "subject_visits")
st.subheader("Infusions")
table(ex.drop("SITEID"), "subject_infusions")
st.subheader("Adverse events")
table(ae.drop("SITEID"), "subject_adverse_events")
st.subheader("Laboratory results")
# Laboratory panel (R-LAB): the chosen tests on the profile's study-day axis (x above), each with
# its reference range as a band and its points coloured by CTCAE grade (ADLB, via queries.labs).
lab_days = labs.filter(pl.col("ADY").is_not_null() & pl.col("AVAL").is_not_null())
lab_codes = lab_days["PARAMCD"].unique(maintain_order=True).to_list()
abnormal = lab_days.filter(pl.col("ATOXGR") >= 1)["PARAMCD"].unique(maintain_order=True).to_list()
chosen_tests = st.multiselect("Tests to plot", lab_codes, default=abnormal or lab_codes[:3],
                              key="profile_lab_tests")
lab_panels = []
for code in chosen_tests:
    one = lab_days.filter(pl.col("PARAMCD") == code).with_columns(
        pl.when(pl.col("ATOXGR").is_null()).then(pl.lit("not graded"))
        .otherwise(pl.format("grade {}", pl.col("ATOXGR"))).alias("grade"))
    unit = one["AVALU"].drop_nulls().first() if one["AVALU"].drop_nulls().len() else ""
    layers = [alt.Chart(one).mark_line(color="#607d8b").encode(
                  x=x, y=alt.Y("AVAL:Q", title=f"{code} {unit}".strip())),
              alt.Chart(one).mark_point(filled=True, size=60).encode(
                  x=x, y="AVAL:Q", color=alt.Color("grade:N", title="Grade", scale=alt.Scale(
                      domain=["grade 0", "grade 1", "grade 2", "grade 3", "grade 4", "not graded"],
                      range=["#9e9e9e", "#fdd835", "#fb8c00", "#e53935", "#6a1b9a", "#42a5f5"])),
                  tooltip=["AVISIT", "ADT", "ADY", "AVAL", "ANRLO", "ANRHI", "grade"])]
    band = one.select("ANRLO", "ANRHI").drop_nulls().unique()
    if band.height:
        layers.insert(0, alt.Chart(band).mark_rect(opacity=0.15, color="#2e7d32").encode(
            y="ANRLO:Q", y2="ANRHI:Q"))
    lab_panels.append(alt.layer(*layers).properties(height=110))
if lab_panels:
    st.altair_chart(alt.vconcat(*lab_panels), width="stretch")
    st.caption("Shaded: the reference range. Points coloured by CTCAE v5.0 grade (R-LAB).")
elif not lab_days.height:
    st.caption("No laboratory value on a study day (no first infusion).")
table(labs, "subject_labs")
st.subheader("Protocol flags")
table(queries.protocol_flags(usubjid=subject), "subject_flags")
