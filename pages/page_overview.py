"""Overview (home of the PI and the monitoring committee): enrollment, the primary endpoint (PI
only), subjects by status, serious AEs and AESIs new or changed since the reference chosen on the
Safety page (default: the last committee packet, else the previous accepted load), open flags.
The PI also gets the one-minute view (issue 14): the subject status board (adam.adstatus) and
"Needs attention" (queries.attention), both as of the data cut ("today" for the warehouse)."""
import streamlit as st

from pages.common import TARGET, chosen_reference, frac, linked_table, page_setup, table
from warehouse.labels import short_subject
from warehouse import queries
from warehouse.study import PRIMARY_WEEK

# Status colours (cell background only; each cell's text says the same thing).
STATUS_COLOURS = {"responder": "#c8e6c9", "not met": "#ffcdd2", "missing": "#ffe0b2",
                  "not yet due": "#eeeeee"}


def status_colours(styler):
    def colour(cell):
        text = str(cell or "")
        return next((f"background-color: {c}" for w, c in STATUS_COLOURS.items() if text.startswith(w)), "")
    return styler.map(colour, subset=["L12TEXT", "L24TEXT"])


sites = page_setup("overview")
role = st.session_state["role"]

enr = queries.enrollment_counts(sites)
cols = st.columns(3 if role == "pi" else 2)
cols[0].metric("Enrolled", f"{enr['enrolled']} / {TARGET}",
               help=f"Screened {enr['screened']}, screen failures {enr['screen_failed']}")
cols[0].page_link("pages/page_enrollment.py", label="Enrollment")
if role == "pi":  # efficacy results are the PI's only (issue 6)
    wk12 = queries.endpoint("LLDAS", PRIMARY_WEEK, sites)
    cols[1].metric(f"LLDAS at week {PRIMARY_WEEK}", frac(wk12["responders"], wk12["due"]),
                   help="Primary endpoint (R-ENDPOINT): responders / subjects due at the data cut.")
    cols[1].caption(f"Not yet due: {wk12['not_yet_due']} · FAS {wk12['fas']}")
    board = queries.status_board(sites)
    waiting = board.filter(board["L12STAT"] == "NOT YET DUE")
    if waiting.height:
        cols[1].caption("Not yet due: " + ", ".join(
            f"{short_subject(r['USUBJID'])} (due {r['L12DUEDT']})" for r in waiting.iter_rows(named=True)))
    cols[1].page_link("pages/page_efficacy.py", label="Efficacy (LLDAS)")

ref = chosen_reference(queries.ae_references())   # the Safety page's choice, else the default
new = queries.ae_change_counts(ref["run_id"] if ref else None, sites)
# Short labels (nothing clips at 1024 px): what they count against is in the help and the caption.
cols[-1].metric("Serious AEs new" if ref else "Serious AEs", new["serious"],
                help=("New since the reference, or serious now and not serious in it." if ref
                      else "All serious adverse events: nothing to compare with yet."))
cols[-1].metric("AESIs new" if ref else "AESIs", new["aesi"],
                help=("Adverse events of special interest new since the reference, or newly of special interest."
                      if ref else "All adverse events of special interest: nothing to compare with yet."))
cols[-1].caption(f"New events {new['new']}, changed {new['changed']} (grade rose, became serious or "
                 f"outcome changed) since {ref['label']}; the reference is chosen on the Safety page."
                 if ref else "No committee packet and no earlier accepted load yet: every event counts.")
cols[-1].page_link("pages/page_safety.py", label="Safety")

flags, warns = queries.protocol_flags(sites), queries.dq_warning_count(sites)
if role == "pi":
    cuts = ", ".join(sorted({str(c) for c in board["DATACUT"].to_list()})) or "–"
    st.subheader("Subject status board")
    st.caption(f"As of the data cut ({cuts}): the warehouse has no other clock, so \"today\" is the "
               "data cut. Colour repeats the words: green responder, red not met, amber missing, "
               "grey not yet due. Select a row to open the subject's profile.")
    linked_table(board.select("USUBJID", "SITEID", "WEEKTX", "NXTVISTX", "L12TEXT", "L24TEXT", "PSLTX",
                              "FLAGTX", "AETX"), "status_board", style=status_colours, data=board)
    items = queries.attention(sites, reference=ref["run_id"] if ref else None)
    st.subheader("Needs attention")
    if items.height:
        st.caption(f"{items.height} item(s), as of the data cut; serious AEs marked new against "
                   + (ref["label"] if ref else "nothing (no earlier load or packet)") + ".")
        linked_table(items, "needs_attention")
    else:
        st.success("Nothing needs attention at the data cut.")
st.subheader("Subjects by status")
table(queries.status_counts(sites).rename({"SUBJSTAT": "status", "n": "subjects"}), "status")
if role == "pi":
    st.subheader("Open flags and warnings")
st.write(f"Open protocol flags: {flags.height} · data-quality warnings: {warns}")
if role == "pi":
    st.page_link("pages/page_data_quality.py", label="Data quality (flags and warnings)")
    st.page_link("pages/page_glucocorticoids.py", label="Glucocorticoids (taper flags)")
table(flags, "protocol_flags")
