"""Overview (home of the PI and the monitoring committee): enrollment, the primary endpoint (PI
only), subjects by status, serious AEs and AESIs new or changed since the reference chosen on the
Safety page (default: the last committee packet, else the previous accepted load), open flags."""
import streamlit as st

from pages.common import TARGET, chosen_reference, frac, page_setup, table
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

ref = chosen_reference(queries.ae_references())   # the Safety page's choice, else the default
new = queries.ae_change_counts(ref["run_id"] if ref else None, sites)
since = "since the reference" if ref else "(all: nothing to compare with)"
cols[-1].metric(f"Serious AEs new or newly serious {since}" if ref else f"Serious AEs {since}",
                new["serious"])
cols[-1].metric(f"AESIs new {since}" if ref else f"AESIs {since}", new["aesi"])
cols[-1].caption(f"New events {new['new']}, changed {new['changed']} (grade rose, became serious or "
                 f"outcome changed) since {ref['label']}; the reference is chosen on the Safety page."
                 if ref else "No committee packet and no earlier accepted load yet: every event counts.")
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
