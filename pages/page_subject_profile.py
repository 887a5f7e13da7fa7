"""Subject profile: one subject on one page, on a shared time axis (study day). Reachable from
every listing by ``?subject=<USUBJID>``."""
import altair as alt
import polars as pl
import streamlit as st

from pages.common import last_observed, page_setup, table
from warehouse import access, queries

sites = page_setup("subject")
subjects = queries.subjects(sites)
if not subjects:
    st.info("No subjects.")
    st.stop()
# One source of truth for the subject shown: the selector's own state (key PICK). A ?subject=
# that differs from it (a listing row, a link) is adopted before the widget is drawn; a pick in
# the selector writes the query parameter back in its callback, before the page runs again. So the
# selector, the URL and the heading always name the same subject, however many picks in a row.
PICK = "subject_pick"
wanted = st.query_params.get("subject")
if wanted in subjects and wanted != st.session_state.get(PICK):
    st.session_state[PICK] = wanted
elif st.session_state.get(PICK) not in subjects:
    st.session_state[PICK] = subjects[0]


def _picked() -> None:
    st.query_params["subject"] = st.session_state[PICK]


subject = st.selectbox("Subject", subjects, key=PICK, on_change=_picked)
st.query_params["subject"] = subject

s = queries.adsl(usubjid=subject).row(0, named=True)
st.subheader(subject)
c = st.columns([3, 2, 3, 2])   # the status and the last observed day are the long values
c[0].metric("Status", s["SUBJSTAT"] or "–")
c[1].metric("First infusion (day 1)", str(s["TRTSDT"] or "–"))
last_day, why = last_observed(s)
c[2].metric("Last observed study day", last_day, delta=why, delta_color="off", delta_arrow="off",
            help="R-DAY: observation ends at the end of study or at the data cut, whichever is "
                 "first; nothing is derived after it (ADSL.OBSENDY).")
c[3].metric("Baseline weight (kg)", s["WEIGHTBL"] if s["WEIGHTBL"] is not None else "–")
st.caption(f"Site {s['SITEID']} · age {s['AGE']} · sex {s['SEX']} · consent {s['RFICDT']} · "
           f"enrolled {s['ENRLDT']} · end of study status {s['EOSSTT']}"
           + (f" on {s['EOSDT']}" if s["EOSDT"] and s["EOSSTT"] != "SCREEN FAILURE" else "")
           + f" · observed to {s['OBSENDT']} · data cut {s['DATACUT']}")

# What the role may read (warehouse/access.py): the monitoring committee sees the subject's
# safety profile, without the PSL course and the visits' efficacy columns (SLEDAI-2K, LLDAS ...).
psl = queries.psl_curve(subjects=(subject,)) if access.permitted(queries.psl_curve) else None
visits = queries.lldas_visits(usubjid=subject)
efficacy = "SLEDAI" in visits.columns
ae = queries.adverse_events(usubjid=subject)
ex = queries.infusions(usubjid=subject)
labs = queries.labs(subject)
days = [d for d in ((psl["ADY"] if psl is not None else None), visits["ADY"], ae["ASTDY"], ex["ADY"],
                    labs["ADY"]) if d is not None and d.drop_nulls().len()]
day_min = min([d.min() for d in days] or [-28])
day_max = max([d.max() for d in days] or [169])
x = alt.X("ADY:Q", title="Study day", scale=alt.Scale(domain=[day_min, day_max]))
charts = []
if psl is not None and psl.height:
    charts.append(alt.Chart(psl).mark_line(interpolate="step-after").encode(
        x=x, y=alt.Y("PSLDOSE:Q", title="PSL mg/day"), tooltip=["ADT", "PSLDOSE", "DRUGS"]).properties(height=140))
if efficacy and visits.height:
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

st.subheader("Visits: SLEDAI-2K and LLDAS" if efficacy else "Visits")
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
