"""Safety (R-AE), in the form the monitoring committee reviews: what is new and changed since a
reference (a committee packet, or an earlier accepted load), the committee packets, the overview
of treatment-emergent AEs, incidence by SOC and PT at the worst grade, AESIs with their
exposure-adjusted rates, serious AEs, deaths, the AE listing with filters, exposure and the
infusion log. Tables are laid out by warehouse.tables, as in the packet; downloads are the
queries' own frames."""
import functools
import os

import polars as pl
import streamlit as st

import auth
from pages.common import (chart_subjects, committee_table, download, linked_table, page_setup,
                          reference_selector, table)
from report.fonts import FontMissing
from report.packet import PACKET_ROLES, PacketError, issue
from warehouse import charts, queries, tables
from warehouse.labels import short_subject
from warehouse.times import local_time

sites = page_setup("safety")


def _packet_pdf(path: str, user: str, packet_id: str) -> bytes:
    """The packet's PDF, read when its download is clicked; the access log records the download
    here, as the bytes are handed over. Not in an on_click: that reruns the page, and a rerun
    that ends before the browser has fetched the file drops it, so a download was logged and
    never arrived (seen in the browser test on a loaded machine)."""
    with open(path, "rb") as f:
        data = f.read()
    auth.log_access("packet_downloaded", user, "safety", packet_id=packet_id)
    return data


role, user = st.session_state["role"], st.session_state["user"]

# ---- new and changed since a reference -------------------------------------------------------
st.subheader("New and changed since a reference")
ref = reference_selector(queries.ae_references())
ref_run = ref["run_id"] if ref else None
if ref:
    n = queries.ae_change_counts(ref_run, sites)
    c = st.columns(4)
    # Short labels (nothing clips at 1024 px); the detail is in each metric's help.
    c[0].metric("New events", n["new"], help="Adverse events not in the reference.")
    c[1].metric("Changed events", n["changed"],
                help="In the reference, and since then the grade rose, it became serious or its outcome changed.")
    c[2].metric("New serious", n["serious"], help="Serious adverse events new, or newly serious, since the reference.")
    c[3].metric("New AESIs", n["aesi"],
                help="Adverse events of special interest new, or newly of special interest, since the reference.")
    changes = queries.ae_changes(ref_run, sites)
    if changes.height:
        linked_table(changes.select(tables.CHANGES_LISTING), "ae_changes")

# ---- committee packets ---------------------------------------------------------------------------
st.subheader("Committee packets")
if role in PACKET_ROLES:                # the page is theirs only; checked again by issue()
    if st.button("Issue a committee packet of the current data", type="primary"):
        with st.spinner("Writing the packet..."):
            try:
                made = issue(created_by=user, role=role, via="app")
                st.success(f"Packet {made['packet_id']} issued (since "
                           f"{made['reference_packet'] or 'nothing: the first packet'}).")
            except (PacketError, FontMissing) as exc:
                st.error(str(exc))
    packets = queries.packets()
    if not packets:
        st.caption("No packet issued yet.")
    for m in packets:
        cuts = ", ".join(f"site {s} {c['data_cut']}" for s, c in sorted(m.get("data_cuts", {}).items()))
        st.text(f"Packet {m['packet_id']} · issued {local_time(m.get('created_at'))} "
                f"by {m.get('created_by')} · "
                f"data cuts {cuts} · load {m.get('run_id')} · since "
                f"{m.get('reference_packet') or '–'} · PDF SHA-256 {m.get('pdf_sha256')}")
        if not os.path.isfile(m["_pdf"]):
            st.caption("Its PDF is missing from the packets folder.")
            continue
        download(f"Download packet {m['packet_id']} (PDF)",
                 functools.partial(_packet_pdf, m["_pdf"], user, m["packet_id"]),
                 f"committee-packet-{m['packet_id']}.pdf", "application/pdf",
                 f"dl_packet_{m['packet_id']}")

# ---- the committee's tables ---------------------------------------------------------------------
st.subheader("Overview of treatment-emergent adverse events")
overview = queries.ae_overview(sites)
committee_table(tables.overview(overview), overview, "teae_overview")

st.subheader("Incidence by SOC and PT, by worst grade")
incidence = queries.ae_incidence_soc_pt(sites)
st.caption(tables.incidence_note(incidence))
committee_table(tables.incidence(incidence), incidence, "incidence_soc_pt")

st.subheader("Adverse events of special interest: counts and exposure-adjusted rates")
rates = queries.aesi_rates(sites)
committee_table(tables.aesi(rates), rates, "aesi_rates")
totals = queries.aesi_totals(sites)
st.caption(f"In all: {totals.get('events', 0)} distinct treatment-emergent events of special interest in "
           f"{totals.get('subjects', 0)} subjects. One event can fall into several categories (a "
           "serious herpes zoster is both HERPES ZOSTER and SERIOUS INFECTION), so the category "
           "rows can add up to more than these totals. " + tables.AESI_NOTE)

st.subheader("Serious adverse events")
linked_table(queries.adverse_events(sites, reference=ref_run, serious_only=True)
             .select(tables.SAE_LISTING + ["AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG",
                                           "AESMIE"]), "serious_adverse_events")
st.subheader("Deaths")
deaths = queries.deaths(sites)
if deaths.height:
    linked_table(deaths.select(tables.DEATHS_LISTING), "deaths")
else:
    st.info(tables.NO_DEATHS)

# ---- the AE listing --------------------------------------------------------------------------------
ae = queries.adverse_events(sites, reference=ref_run)
with st.expander("Filters", expanded=True):
    f1, f2, f3 = st.columns(3)
    subj = f1.multiselect("Subject", sorted(ae["USUBJID"].unique().to_list()), format_func=short_subject)
    soc = f2.multiselect("SOC", sorted(ae["AEBODSYS"].drop_nulls().unique().to_list()))
    pt = f3.multiselect("PT", sorted(ae["AEDECOD"].drop_nulls().unique().to_list()))
    # Two rows of three (six in a row clipped the grade picker at 1024 px)
    g1, g2, g3 = st.columns(3)
    g4, g5, g6 = st.columns(3)
    grades = g1.multiselect("Grade", [1, 2, 3, 4, 5])
    serious = g2.selectbox("Serious", ["Any", "Y", "N"])
    related = g3.selectbox("Related", ["Any", "Y", "N"])
    aesi = g4.selectbox("AESI", ["Any", "Y", "N"])
    teae = g5.selectbox("Treatment-emergent", ["Any", "Y", "N"])
    since = g6.selectbox("Since reference", ["Any", "NEW", "CHANGED", "NEW or CHANGED"], disabled=ref is None)
    dates = ae["ASTDT"].drop_nulls()
    rng = st.date_input("Onset between", (dates.min(), dates.max())) if dates.len() else None

cond = pl.lit(True)
for col, sel in (("USUBJID", subj), ("AEBODSYS", soc), ("AEDECOD", pt), ("AETOXGR", grades)):
    if sel:
        cond &= pl.col(col).is_in(sel)
for col, sel in (("AESER", serious), ("RELFL", related), ("AESIFL", aesi), ("TRTEMFL", teae)):
    if sel != "Any":
        cond &= pl.col(col).fill_null("N") == sel
if since != "Any":
    cond &= pl.col("CHANGE").is_in(["NEW", "CHANGED"] if since == "NEW or CHANGED" else [since])
if rng and len(rng) == 2:
    cond &= pl.col("ASTDT").is_between(rng[0], rng[1])
shown = ae.filter(cond)
st.subheader(f"Adverse events: {shown.height} of {ae.height} events")
if ref:
    st.caption(f"CHANGE: NEW (not in the reference) or CHANGED (grade rose, became serious, outcome "
               f"changed) since {ref['label']}.")
listing = shown.select("USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "ASTDT",
                       "ASTDTF", "AEENDTC", "AETOXGR", "AESER", "SERCRIT", "AEREL", "TRTEMFL",
                       "AESIFL", "AESICAT", "AEACN", "AEOUT", "CHANGE", "CHANGEDESC")
linked_table(listing, "adverse_events")

ex = queries.infusions(sites)
st.subheader("AE timeline against infusions")
if ae.height or ex.height:
    st.altair_chart(charts.ae_timeline(*chart_subjects(ae, "ae_timeline_subjects", ex)),
                    width="stretch")
    st.caption("One row per subject, on study day (day 1 = first infusion). Points: adverse events at "
               "their onset, coloured by CTCAE grade; diamonds are serious. Black ticks: infusions.")

# ---- exposure (R-AE) and the infusion log ---------------------------------------------------------
st.subheader("Exposure to anifrolumab")
summary = queries.exposure_summary(sites)
committee_table(tables.exposure_totals(summary), pl.DataFrame([summary]), "exposure_summary")
st.caption(tables.EXPOSURE_NOTE)
table(queries.exposure(sites), "exposure_per_subject")
st.subheader("Infusion log")
st.caption(f"Missed while due: {ex.filter(pl.col('MISSFL') == 'Y').height} · out of window: "
           f"{ex.filter(pl.col('OOWFL') == 'Y').height} · dose not 300 mg: "
           f"{ex.filter(pl.col('DOSEDVFL') == 'Y').height}")
linked_table(ex, "infusions")
