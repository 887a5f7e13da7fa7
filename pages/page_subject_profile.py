"""Subject profile: one subject on one page, on a shared time axis (study day). Reachable from
every listing by ``?subject=<USUBJID>``."""
import streamlit as st

from pages.common import last_observed, page_setup, table
from warehouse import charts, queries
from warehouse.labels import short_subject

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


subject = st.selectbox("Subject", subjects, key=PICK, on_change=_picked, format_func=short_subject)
st.query_params["subject"] = subject

s = queries.adsl(usubjid=subject).row(0, named=True)
st.subheader(short_subject(subject), help=f"USUBJID {subject}")   # the short ID; full in help
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
# safety profile (the PSL course included), without the visits' efficacy columns (SLEDAI-2K, LLDAS ...).
psl = queries.psl_curve(subjects=(subject,))
visits = queries.lldas_visits(usubjid=subject)
efficacy = "SLEDAI" in visits.columns
ae = queries.adverse_events(usubjid=subject)
ex = queries.infusions(usubjid=subject)
labs = queries.labs(subject)
domain = charts.day_domain(psl["ADY"], ae["ASTDY"], ex["ADY"], labs["ADY"],
                           visits["ADY"] if efficacy else None)     # one study-day axis for all
timeline = charts.subject_timeline(psl, ex, ae, visits if efficacy else None, domain=domain)
if timeline is not None:
    st.altair_chart(timeline)

st.subheader("Visits: SLEDAI-2K and LLDAS" if efficacy else "Visits")
table(visits.drop("SITEID"), "subject_visits")
st.subheader("Infusions")
table(ex.drop("SITEID"), "subject_infusions")
st.subheader("Adverse events")
table(ae.drop("SITEID"), "subject_adverse_events")
st.subheader("Laboratory results")
# Laboratory panel (R-LAB): the chosen tests on the profile's study-day axis, each with its
# reference range as a band and its points coloured by CTCAE grade (ADLB, via queries.labs).
lab_codes = labs.filter(labs["ADY"].is_not_null())["PARAMCD"].unique(maintain_order=True).to_list()
abnormal = labs.filter(labs["ATOXGR"] >= 1)["PARAMCD"].unique(maintain_order=True).to_list()
chosen_tests = st.multiselect("Tests to plot", lab_codes, default=abnormal or lab_codes[:3],
                              key="profile_lab_tests")
panel = charts.lab_panel(labs, chosen_tests, domain)
if panel is not None:
    st.altair_chart(panel, width="stretch")
    st.caption("Shaded: the reference range. Points coloured by CTCAE v5.0 grade (R-LAB).")
elif not lab_codes:
    st.caption("No laboratory value on a study day (no first infusion).")
table(labs, "subject_labs")
st.subheader("Protocol flags")
table(queries.protocol_flags(usubjid=subject), "subject_flags")
