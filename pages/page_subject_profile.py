"""Subject profile: one subject on one page, on a shared time axis (study day). Reachable from
every listing by ``?subject=<USUBJID>``."""
import streamlit as st

from pages.common import page_setup, table
from warehouse import charts, queries

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
timeline = charts.subject_timeline(psl, ex, ae, visits)
if timeline is not None:
    st.altair_chart(timeline)

st.subheader("Visits: SLEDAI-2K and LLDAS")
table(visits.drop("SITEID"), "subject_visits")
st.subheader("Infusions")
table(ex.drop("SITEID"), "subject_infusions")
st.subheader("Adverse events")
table(ae.drop("SITEID"), "subject_adverse_events")
st.subheader("Laboratory results")
table(labs, "subject_labs")
st.subheader("Protocol flags")
table(queries.protocol_flags(usubjid=subject), "subject_flags")
