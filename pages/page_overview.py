"""Overview (home of the PI and the monitoring committee): enrollment, the primary endpoint (PI
only), subjects by status, serious AEs and AESIs since the previous data cut, open flags."""
import streamlit as st

from pages.common import TARGET, frac, page_setup, table
from warehouse import queries
from warehouse.study import PRIMARY_WEEK

sites = page_setup("overview")
role = st.session_state["role"]

enr = queries.enrollment_counts(sites)
cols = st.columns(3 if role == "pi" else 2)
cols[0].metric("Enrolled", f"{enr['enrolled']} / {TARGET}",
               help=f"Screened {enr['screened']}, screen failures {enr['screen_failed']}")
cols[0].page_link("pages/page_enrollment.py", label="Enrollment")
if role == "pi":  # efficacy results are the PI's only (issue 6)
    wk12 = queries.endpoint("LLDAS", PRIMARY_WEEK, sites)
    cols[1].metric(f"LLDAS at week {PRIMARY_WEEK} (responders / due)", frac(wk12["responders"], wk12["due"]),
                   help="Primary endpoint, R-ENDPOINT")
    cols[1].caption(f"Not yet due: {wk12['not_yet_due']} · FAS {wk12['fas']}")
    cols[1].page_link("pages/page_efficacy.py", label="Efficacy (LLDAS)")

new = queries.new_safety_events(sites)
if new["previous_cuts"]:
    label = "since the previous data cut"
    since = ", ".join(f"site {k}: {v}" for k, v in new["previous_cuts"].items())
    note = (f"New, or newly serious / newly of special interest, since the previous data cut "
            f"({since}); a site's first export counts whole.")
else:
    label, note = "(no previous data cut: all)", "Every site has been loaded once: all events count."
cols[-1].metric(f"Serious AEs {label}", new["sae"])
cols[-1].metric(f"AESIs {label}", new["aesi"])
cols[-1].caption(note)
cols[-1].page_link("pages/page_safety.py", label="Safety")

st.subheader("Subjects by status")
table(queries.status_counts(sites).rename({"SUBJSTAT": "status", "n": "subjects"}), "status")

flags, warns = queries.protocol_flags(sites), queries.dq_warning_count(sites)
st.subheader("Needs attention")
st.write(f"Open protocol flags: {flags.height} · data-quality warnings: {warns}")
if role == "pi":
    st.page_link("pages/page_data_quality.py", label="Data quality (flags and warnings)")
    st.page_link("pages/page_glucocorticoids.py", label="Glucocorticoids (taper flags)")
table(flags, "protocol_flags")
