"""Safety (R-AE): AE listing with filters (verbatim beside MedDRA), SAEs, AESIs by category,
incidence by SOC and PT counting subjects at their worst grade, AE timeline against infusions,
infusion log."""
import altair as alt
import polars as pl
import streamlit as st

from pages.common import linked_table, page_setup, table
from warehouse import queries

sites = page_setup("safety")
ae = queries.adverse_events(sites)
ex = queries.infusions(sites)

with st.expander("Filters", expanded=True):
    f1, f2, f3 = st.columns(3)
    subj = f1.multiselect("Subject", sorted(ae["USUBJID"].unique().to_list()))
    soc = f2.multiselect("SOC", sorted(ae["AEBODSYS"].drop_nulls().unique().to_list()))
    pt = f3.multiselect("PT", sorted(ae["AEDECOD"].drop_nulls().unique().to_list()))
    g1, g2, g3, g4, g5 = st.columns(5)
    grades = g1.multiselect("Grade", [1, 2, 3, 4, 5])
    serious = g2.selectbox("Serious", ["Any", "Y", "N"])
    related = g3.selectbox("Related", ["Any", "Y", "N"])
    aesi = g4.selectbox("AESI", ["Any", "Y", "N"])
    teae = g5.selectbox("Treatment-emergent", ["Any", "Y", "N"])
    dates = ae["ASTDT"].drop_nulls()
    rng = st.date_input("Onset between", (dates.min(), dates.max())) if dates.len() else None

cond = pl.lit(True)
for col, sel in (("USUBJID", subj), ("AEBODSYS", soc), ("AEDECOD", pt), ("AETOXGR", grades)):
    if sel:
        cond &= pl.col(col).is_in(sel)
for col, sel in (("AESER", serious), ("RELFL", related), ("AESIFL", aesi), ("TRTEMFL", teae)):
    if sel != "Any":
        cond &= pl.col(col).fill_null("N") == sel
if rng and len(rng) == 2:
    cond &= pl.col("ASTDT").is_between(rng[0], rng[1])
shown = ae.filter(cond)
st.subheader(f"Adverse events: {shown.height} of {ae.height} events")
listing = shown.select("USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "ASTDT",
                       "ASTDTF", "AEENDTC", "AETOXGR", "AESER", "AEREL", "TRTEMFL", "AESIFL",
                       "AESICAT", "AEACN", "AEOUT")
linked_table(listing, "adverse_events")

st.subheader("Serious adverse events")
linked_table(listing.filter(pl.col("AESER") == "Y"), "serious_adverse_events")
st.subheader("Adverse events of special interest, by category")
aesis = ae.filter(pl.col("AESIFL") == "Y")
totals = queries.aesi_totals(sites)
st.caption(f"In all: {totals.get('events', 0)} distinct events of special interest in "
           f"{totals.get('subjects', 0)} subjects. One event can fall into several categories (a "
           "serious herpes zoster is both HERPES ZOSTER and SERIOUS INFECTION), so the rows below "
           "can add up to more than these totals.")
table(queries.aesi_by_category(sites), "aesi_by_category")
linked_table(aesis.select(listing.columns), "aesi_listing")

st.subheader("Incidence (treatment-emergent; subjects counted once, at their worst grade)")
st.caption(f"Subjects with at least one TEAE: {queries.ae_subject_count(sites)}")
i1, i2 = st.columns(2)
with i1:
    st.write("By system organ class")
    table(queries.ae_incidence("AEBODSYS", sites).rename({"term": "SOC"}), "incidence_soc")
with i2:
    st.write("By preferred term")
    table(queries.ae_incidence("AEDECOD", sites).rename({"term": "PT"}), "incidence_pt")

st.subheader("AE timeline against infusions")
if ae.height or ex.height:
    short = pl.col("USUBJID").str.slice(-6).alias("subject")  # site-subject, e.g. 01-003
    aes = alt.Chart(ae.filter(pl.col("ASTDY").is_not_null()).with_columns(
        pl.col("AENDT").fill_null(pl.col("ASTDT")), short)).mark_bar(height=8).encode(
        x=alt.X("ASTDT:T", title="Date"), x2="AENDT:T", y=alt.Y("subject:N", title=None),
        color=alt.Color("AETOXGR:O", title="Grade"), tooltip=["USUBJID", "AEDECOD", "AETERM", "AETOXGR", "ASTDT"])
    inf = alt.Chart(ex.filter(pl.col("ADT").is_not_null()).with_columns(short)).mark_tick(
        color="black", thickness=2).encode(x="ADT:T", y="subject:N", tooltip=["USUBJID", "AVISIT", "ADT", "EXDOSE"])
    st.altair_chart(aes + inf, width="stretch")
    st.caption("Bars: adverse events (onset to end). Black ticks: infusions.")
st.subheader("Infusion log")
st.caption(f"Missed while due: {ex.filter(pl.col('MISSFL') == 'Y').height} · out of window: "
           f"{ex.filter(pl.col('OOWFL') == 'Y').height} · dose not 300 mg: "
           f"{ex.filter(pl.col('DOSEDVFL') == 'Y').height}")
linked_table(ex, "infusions")
