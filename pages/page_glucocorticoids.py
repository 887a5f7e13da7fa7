"""Glucocorticoids (R-PSL, R-PROTOCOL): daily prednisolone-equivalent dose per subject against
weeks since the first infusion, with the 7.5 mg/day line, weeks 12 and 24, each subject's
0.6 mg/kg/day ceiling and pulse days; doses at weeks 12 and 24; taper flags."""
import altair as alt
import polars as pl
import streamlit as st

from pages.common import frac, page_setup, pick_subjects, table
from warehouse import queries
from warehouse.study import CEILING_MG_PER_KG, ENDPOINT_WEEKS, PSL_TARGET_MG, PULSE_MG

sites = page_setup("glucocorticoids")
ceilings = queries.psl_ceilings(sites)
# Beyond CHART_SUBJECTS the PI picks the subjects drawn; the daily rows are read for those only.
chosen = pick_subjects(ceilings["USUBJID"].to_list(), "psl_chart_subjects")
if chosen is not None:
    ceilings = ceilings.filter(pl.col("USUBJID").is_in(chosen))
psl = queries.psl_curve(sites, None if chosen is None else tuple(chosen))
log = st.toggle("Logarithmic dose scale", value=True)
if psl.height:
    plot = psl.with_columns(pl.col("PSLDOSE").clip(lower_bound=0.5).alias("DOSE_PLOT"))
    y = alt.Y("DOSE_PLOT:Q", title="Prednisolone-equivalent mg/day",
              scale=alt.Scale(type="log") if log else alt.Scale(type="linear"))
    base = alt.Chart(plot)
    curves = base.mark_line(interpolate="step-after").encode(
        x=alt.X("WEEKS:Q", title="Weeks since first infusion"), y=y, color="USUBJID:N",
        tooltip=["USUBJID", "ADT", "ADY", "PSLDOSE", "CUMDOSE", "DRUGS"])
    pulses = base.transform_filter("datum.PULSEFL == 'Y'").mark_point(
        shape="triangle-up", size=80, filled=True).encode(x="WEEKS:Q", y=y, color="USUBJID:N")
    ceiling = alt.Chart(ceilings).mark_rule(strokeDash=[2, 2]).encode(
        y="CEILING:Q", color="USUBJID:N", tooltip=["USUBJID", "WEIGHTBL", "CEILING"])
    rules = pl.DataFrame({"dose": [PSL_TARGET_MG]})
    weeks = pl.DataFrame({"week": list(ENDPOINT_WEEKS)})
    st.altair_chart(curves + pulses + ceiling
                    + alt.Chart(rules).mark_rule(color="red").encode(y="dose:Q")
                    + alt.Chart(weeks).mark_rule(color="gray", strokeDash=[4, 4]).encode(x="week:Q"),
                    width="stretch")
    st.caption(f"Red: {PSL_TARGET_MG:g} mg/day. Grey dashed: weeks "
               f"{' and '.join(str(w) for w in ENDPOINT_WEEKS)}. Dotted per subject: "
               f"{CEILING_MG_PER_KG:g} mg/kg/day ceiling (baseline weight). Triangles: pulse days "
               f"(IV ≥ {PULSE_MG:g} mg PSL-eq). On the log scale a dose of 0 is drawn at 0.5.")
else:
    st.info("No glucocorticoid data.")

wk = queries.psl_weeks(sites)
st.subheader("Dose and cumulative dose at weeks 12 and 24")
table(wk, "psl_weeks")
d = queries.endpoint("PSLDISC", 24, sites)  # R-ENDPOINT: discontinued the study = not a responder
st.metric("PSL discontinued at week 24 (subjects / due)", frac(d["responders"], d["due"]))
st.caption(f"Not yet due: {d['not_yet_due']} · a subject who left the study before week 24 is due "
           "and counts as a non-responder (R-ENDPOINT); DISCFL in the table above is only the dose "
           "on the week-24 date.")
st.subheader("Taper flags (R-PROTOCOL)")
flags = queries.protocol_flags(sites)
table(flags.filter(pl.col("FLAGCD").is_in(["LATE_FIRST_INFUSION", "PSL_ABOVE_CEILING",
                                           "PSL_ABOVE_7_5_WK12"])), "taper_flags")
