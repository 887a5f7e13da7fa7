"""The Altair specifications shared by the pages and the committee packet: a chart on screen and
its printed twin are one specification (STYLE: one source for every number). Builders take query
results (warehouse/queries.py) and return charts; they compute nothing clinical. No Streamlit
here: the pages draw them with ``st.altair_chart``, report/ renders them with vl-convert.

``width``: None lets the page's container decide; a number of pixels for a printed chart.
"""
from __future__ import annotations

import datetime as dt

import altair as alt
import polars as pl


def count_axis(title: str | None = None) -> alt.Axis:
    """The axis of a count (subjects, events): whole-number ticks only, never 2.5 subjects."""
    return alt.Axis(title=title, format="d", tickMinStep=1)


def _sized(chart, width: int | None, **props):
    return chart.properties(**({"width": width} if width else {}), **props)


def enrollment(cum: pl.DataFrame, cut: dt.date, target: int, first: dt.date,
               width: int | None = None) -> alt.LayerChart:
    """Cumulative enrolled (queries.enrolled_over_time) as steps to the data cut, against the
    target (red dashed) and the registry's first enrollment (grey)."""
    steps = pl.concat([cum.select("ENRLDT", "cumulative"),
                       pl.DataFrame({"ENRLDT": [cut], "cumulative": [cum["cumulative"].max()]})])
    line = alt.Chart(steps).mark_line(interpolate="step-after", point=True).encode(
        x=alt.X("ENRLDT:T", title="Date"), y=alt.Y("cumulative:Q", axis=count_axis("Enrolled (cumulative)"),
                                                  scale=alt.Scale(domain=[0, target + 1])))
    goal = alt.Chart(pl.DataFrame({"y": [target]})).mark_rule(color="red", strokeDash=[4, 4]).encode(y="y:Q")
    reg = alt.Chart(pl.DataFrame({"x": [first], "label": [f"Registry first enrollment {first}"]})).mark_rule(
        color="gray").encode(x="x:T", tooltip="label:N")
    return _sized(line + goal + reg, width)


def day_domain(*days: pl.Series) -> list[int]:
    """The study-day range of a subject's charts, so every panel shares one axis (default -28..169)."""
    days = [d for d in days if d is not None and d.drop_nulls().len()]
    return [min([d.min() for d in days] or [-28]), max([d.max() for d in days] or [169])]


def subject_timeline(psl: pl.DataFrame, ex: pl.DataFrame, ae: pl.DataFrame,
                     visits: pl.DataFrame | None = None, width: int | None = None,
                     domain: list[int] | None = None):
    """One subject on one study-day axis: the PSL-equivalent dose as steps (queries.psl_curve),
    SLEDAI-2K and LLDAS at visits when ``visits`` (queries.lldas_visits) is given (the PI's
    profile; the committee packet leaves them out), infusions as ticks (queries.infusions) and
    adverse events at their onset study day (ASTDY), coloured by CTCAE grade, serious ones as
    diamonds (ae_marks; queries.adverse_events). Every panel on the one study-day ``domain``
    (day_domain). None when there is nothing to draw."""
    day_min, day_max = domain or day_domain(psl["ADY"], ae["ASTDY"], ex["ADY"],
                                            visits["ADY"] if visits is not None else None)
    x = alt.X("ADY:Q", title="Study day", scale=alt.Scale(domain=[day_min, day_max]))
    charts = []
    if psl.height:
        charts.append(_sized(alt.Chart(psl).mark_line(interpolate="step-after").encode(
            x=x, y=alt.Y("PSLDOSE:Q", title="PSL mg/day"), tooltip=["ADT", "PSLDOSE", "DRUGS"]),
            width, height=140))
    if visits is not None and visits.height:
        charts.append(_sized(alt.Chart(visits).mark_line(point=True).encode(
            x=x, y=alt.Y("SLEDAI:Q", title="SLEDAI-2K"),
            tooltip=["AVISIT", "ADT", "SLEDAI", "LLDASFL"]), width, height=120))
        charts.append(_sized(alt.Chart(visits.with_columns(pl.col("LLDASFL").fill_null("missing")))
                             .mark_square(size=120).encode(
            x=x, color=alt.Color("LLDASFL:N", title="LLDAS", scale=alt.Scale(
                domain=["Y", "N", "missing"], range=["#2e7d32", "#c62828", "#bdbdbd"])),
            tooltip=["AVISIT", "LLDASFL"]), width, height=40))
    given = ex.filter(pl.col("ADY").is_not_null())
    if given.height:
        charts.append(_sized(alt.Chart(given).mark_tick(thickness=2).encode(
            x=x, color=alt.Color("MISSFL:N", title="Infusion missed", scale=alt.Scale(
                domain=["N", "Y"], range=["black", "#c62828"])),
            tooltip=["AVISIT", "ADT", "EXDOSE"]), width, height=30, title="Infusions"))
    onset = ae.filter(pl.col("ASTDY").is_not_null())
    if onset.height:
        charts.append(_sized(ae_marks(onset, alt.X("ASTDY:Q", title="Study day (onset)",
                                                   scale=alt.Scale(domain=[day_min, day_max])),
                                      alt.Y("AEDECOD:N", title=None)),
                             width, height=max(80, 18 * onset["AEDECOD"].n_unique()), title="Adverse events"))
    if not charts:
        return None
    return alt.vconcat(*charts).resolve_scale(color="independent", shape="independent")


GRADE_COLOURS = {"grade 0": "#9e9e9e", "grade 1": "#fdd835", "grade 2": "#fb8c00",
                 "grade 3": "#e53935", "grade 4": "#6a1b9a", "not graded": "#42a5f5"}


def lab_panel(labs: pl.DataFrame, codes: list[str], domain: list[int], width: int | None = None):
    """R-LAB on a subject's study-day axis (queries.labs): one panel per test in ``codes``, its
    reference range as a band, points coloured by CTCAE grade. None when nothing is chosen."""
    days = labs.filter(pl.col("ADY").is_not_null() & pl.col("AVAL").is_not_null())
    x = alt.X("ADY:Q", title="Study day", scale=alt.Scale(domain=domain))
    panels = []
    for code in codes:
        one = days.filter(pl.col("PARAMCD") == code).with_columns(
            pl.when(pl.col("ATOXGR").is_null()).then(pl.lit("not graded"))
            .otherwise(pl.format("grade {}", pl.col("ATOXGR"))).alias("grade"))
        unit = one["AVALU"].drop_nulls().first() if one["AVALU"].drop_nulls().len() else ""
        layers = [alt.Chart(one).mark_line(color="#607d8b").encode(
                      x=x, y=alt.Y("AVAL:Q", title=f"{code} {unit}".strip())),
                  alt.Chart(one).mark_point(filled=True, size=60).encode(
                      x=x, y="AVAL:Q", color=alt.Color("grade:N", title="Grade", scale=alt.Scale(
                          domain=list(GRADE_COLOURS), range=list(GRADE_COLOURS.values()))),
                      tooltip=["AVISIT", "ADT", "ADY", "AVAL", "ANRLO", "ANRHI", "grade"])]
        band = one.select("ANRLO", "ANRHI").drop_nulls().unique()
        if band.height:
            layers.insert(0, alt.Chart(band).mark_rect(opacity=0.15, color="#2e7d32").encode(
                y="ANRLO:Q", y2="ANRHI:Q"))
        panels.append(_sized(alt.layer(*layers), width, height=110))
    return alt.vconcat(*panels) if panels else None


def edish(points: pl.DataFrame, quadrants: pl.DataFrame, multiples: dict, width: int | None = None):
    """R-LAB's liver signal (queries.edish_points, edish_quadrant_counts, hy_law_multiples): peak
    ALT-or-AST x ULN against peak bilirubin x ULN per subject, log axes, reference lines at the
    Hy's law multiples, the quadrant's subject count in the legend, potential Hy's law cases named."""
    legend = {r["quadrant"]: f"{r['quadrant']}: {r['subjects']}" for r in quadrants.iter_rows(named=True)}
    pts = points.with_columns(pl.col("USUBJID").str.slice(-6).alias("subject"),
                              pl.col("EDISHQ").replace_strict(legend, default=None).alias("quadrant (subjects)"))
    ref = pl.DataFrame({"x": [multiples["aminotransferase"]], "y": [multiples["bilirubin"]]})
    xs = alt.X("AMTPKULN:Q", title="Peak ALT or AST (× ULN)", scale=alt.Scale(type="log"))
    ys = alt.Y("BILPKULN:Q", title="Peak total bilirubin (× ULN)", scale=alt.Scale(type="log"))
    dots = alt.Chart(pts).mark_point(filled=True, size=80).encode(
        x=xs, y=ys, color=alt.Color("quadrant (subjects):N", title="Quadrant: subjects",
                                    scale=alt.Scale(domain=[legend[q] for q in multiples["quadrants"] if q in legend])),
        tooltip=["USUBJID", "AMTPKULN", "AMTPKCD", "BILPKULN", "EDISHQ", "HYLAWFL"])
    named = alt.Chart(pts.filter(pl.col("HYLAWFL") == "Y")).mark_text(dx=8, align="left").encode(
        x=xs, y=ys, text="subject:N")
    vline = alt.Chart(ref).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    hline = alt.Chart(ref).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
    return _sized(alt.layer(dots, named, vline, hline), width)


# CTCAE grade -> colour: one fixed scale (the domain is always all five grades, so a grade keeps
# its colour whichever grades a subject or a site has), distinct hues, darker as the grade rises.
AE_GRADE_COLOURS = {"Grade 1": "#1e88e5", "Grade 2": "#fdd835", "Grade 3": "#fb8c00",
                    "Grade 4": "#d32f2f", "Grade 5": "#212121"}
AE_SERIOUS_SHAPES = {"Serious": "diamond", "Not serious": "circle"}
AE_SERIOUS_SIZES = {"Serious": 200, "Not serious": 90}    # a diamond drawn as large as it matters
FLAG_COLOURS = {"Y": "#2e7d32", "N": "#c62828", "missing": "#bdbdbd"}    # LLDAS / criterion met


def ae_marks(ae: pl.DataFrame, x: alt.X, y: alt.Y) -> alt.Chart:
    """Adverse events as points at ``x`` (their onset study day) on row ``y``: colour = CTCAE grade
    (AE_GRADE_COLOURS, fixed domain, legend "CTCAE grade"), shape = serious or not
    (AE_SERIOUS_SHAPES, legend "Seriousness"): the same marks on the Safety page's timeline, the
    subject profile and the packet."""
    shown = ae.with_columns(
        pl.format("Grade {}", pl.col("AETOXGR")).alias("grade"),
        pl.when(pl.col("AESER") == "Y").then(pl.lit("Serious")).otherwise(pl.lit("Not serious")).alias("seriousness"),
        pl.col("USUBJID").str.slice(-6).alias("subject"))
    return alt.Chart(shown).mark_point(filled=True, opacity=0.9, stroke="black", strokeWidth=0.5).encode(
        x=x, y=y,
        color=alt.Color("grade:N", title="CTCAE grade", scale=alt.Scale(
            domain=list(AE_GRADE_COLOURS), range=list(AE_GRADE_COLOURS.values()))),
        shape=alt.Shape("seriousness:N", title="Seriousness", scale=alt.Scale(
            domain=list(AE_SERIOUS_SHAPES), range=list(AE_SERIOUS_SHAPES.values()))),
        size=alt.Size("seriousness:N", legend=None, scale=alt.Scale(
            domain=list(AE_SERIOUS_SIZES), range=list(AE_SERIOUS_SIZES.values()))),
        tooltip=[alt.Tooltip("USUBJID", title="Subject"), alt.Tooltip("AEDECOD", title="Preferred term"),
                 alt.Tooltip("AETERM", title="Verbatim term"), alt.Tooltip("AETOXGR", title="Grade"),
                 alt.Tooltip("seriousness", title="Seriousness"), alt.Tooltip("ASTDY", title="Onset day"),
                 alt.Tooltip("ASTDT", title="Onset"), alt.Tooltip("AENDT", title="End")])


def ae_timeline(ae: pl.DataFrame, ex: pl.DataFrame, width: int | None = None):
    """Every subject's adverse events at their onset study day (ae_marks: colour = grade, diamond =
    serious) and their infusions (black ticks at the infusion's study day) on one study-day axis
    (day_domain), one row per subject (site-subject ID)."""
    short = pl.col("USUBJID").str.slice(-6).alias("subject")  # site-subject, e.g. 01-003
    onset = ae.filter(pl.col("ASTDY").is_not_null())
    given = ex.filter(pl.col("ADY").is_not_null()).with_columns(short)
    domain = day_domain(onset["ASTDY"], given["ADY"])
    y = alt.Y("subject:N", title=None)
    aes = ae_marks(onset, alt.X("ASTDY:Q", title="Study day (day 1 = first infusion)",
                                scale=alt.Scale(domain=domain)), y)
    inf = alt.Chart(given).mark_tick(color="black", thickness=2, opacity=0.6).encode(
        x=alt.X("ADY:Q", scale=alt.Scale(domain=domain)), y=y,
        tooltip=[alt.Tooltip("USUBJID", title="Subject"), alt.Tooltip("AVISIT", title="Visit"),
                 alt.Tooltip("ADY", title="Study day"), alt.Tooltip("ADT", title="Date"),
                 alt.Tooltip("EXDOSE", title="Dose (mg)")])
    return _sized(alt.layer(inf, aes), width)


def sledai_multiples(visits: pl.DataFrame, columns: int = 3, width: int = 140) -> alt.FacetChart:
    """SLEDAI-2K over study day (queries.lldas_visits), one small panel per subject (site-subject
    ID, wrapped ``columns`` a row) on shared axes: readable for ten subjects or more, where one
    colour per subject would repeat. Points coloured by LLDAS at the visit, the legend below the
    panels. Three panels of 140 px a row (about 530 px in all) fit the page's content at 1024 px
    with the sidebar open (about 575 px; tests/test_browser_narrow.py)."""
    shown = visits.filter(pl.col("ADY").is_not_null()).with_columns(
        pl.col("USUBJID").str.slice(-6).alias("subject"), pl.col("LLDASFL").fill_null("missing"))
    x = alt.X("ADY:Q", title="Study day")
    y = alt.Y("SLEDAI:Q", title="SLEDAI-2K", axis=alt.Axis(format="d", tickMinStep=1))
    line = alt.Chart().mark_line(color="#607d8b").encode(x=x, y=y)
    dots = alt.Chart().mark_point(filled=True, size=40).encode(
        x=x, y=y, color=alt.Color("LLDASFL:N", title="LLDAS at the visit", scale=alt.Scale(
            domain=list(FLAG_COLOURS), range=list(FLAG_COLOURS.values())),
            legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("USUBJID", title="Subject"), alt.Tooltip("AVISIT", title="Visit"),
                 alt.Tooltip("ADT", title="Date"), alt.Tooltip("SLEDAI", title="SLEDAI-2K"),
                 alt.Tooltip("LLDASFL", title="LLDAS")])
    return alt.layer(line, dots, data=shown).properties(width=width, height=110).facet(
        facet=alt.Facet("subject:N", title=None, header=alt.Header(labelFontWeight="bold")),
        columns=columns)


LLDAS_PANELS = ("LLDAS", "C1", "C2", "C3", "C4", "C5")


def lldas_grid(grid: pl.DataFrame, width: int = 200) -> list[alt.Chart]:
    """The subject x visit grid of LLDAS and each criterion C1-C5 (the Efficacy page's unpivoted
    queries.lldas_visits: USUBJID, AVISIT, VISITNUM, criterion, flag), one chart per panel so the
    page can wrap them to the screen's width; every panel says met Y / N / missing in the same
    colours and names its criterion in its title."""
    shown = grid.with_columns(pl.col("USUBJID").str.slice(-6).alias("subject"))   # site-subject
    out = []
    for name in LLDAS_PANELS:
        one = shown.filter(pl.col("criterion") == name)
        if not one.height:
            continue
        out.append(alt.Chart(one).mark_rect(stroke="white").encode(
            x=alt.X("AVISIT:N", sort=alt.EncodingSortField("VISITNUM"), title=None),
            y=alt.Y("subject:N", title=None),
            color=alt.Color("flag:N", title="Met", scale=alt.Scale(
                domain=list(FLAG_COLOURS), range=list(FLAG_COLOURS.values())),
                legend=alt.Legend(orient="bottom", direction="vertical") if not out else None),  # one, under panel 1
            tooltip=[alt.Tooltip("USUBJID", title="Subject"), alt.Tooltip("AVISIT", title="Visit"),
                     alt.Tooltip("criterion", title="Criterion"), alt.Tooltip("flag", title="Met")])
            .properties(width=width, title=name))
    return out
