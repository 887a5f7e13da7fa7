"""The sections of the committee packet, one function each, in the order of a DSMB report.

Each function lays out query results (``report.source.q``: the pages' own query functions) with
the pages' table layouts (``warehouse.tables``) and chart specifications (``warehouse.charts``),
and returns a section: ``{"title": ..., "blocks": [...]}``, blocks being text, notes, tables
(every cell a string), images and page breaks, which ``report/packet.typ`` typesets. Nothing is
counted here. The packet is the committee's safety view: no efficacy result (LLDAS, C1-C5, DORIS,
endpoints, the week-12 dose target) appears in it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl

from report.source import q
from warehouse import charts, tables
from warehouse.study import FIRST_ENROLLMENT_REGISTRY, TARGET_ENROLLED

# R-PROTOCOL flags that belong in the committee's packet (an allow-list, so a new flag is left out
# until someone decides). PSL_ABOVE_7_5_WK12 is the week-12 LLDAS C4 result: efficacy, the PI's.
SAFETY_FLAGS = ("LATE_FIRST_INFUSION", "PSL_ABOVE_CEILING", "EXDOSE_NOT_300",
                "INFUSION_OUT_OF_WINDOW", "INFUSION_MISSED", "AGE_OUT_OF_RANGE")
CHART_PX = 1000          # printed chart width in Vega-Lite pixels (the page's landscape width)


@dataclasses.dataclass
class Context:
    """What every section may need: where chart images go (the Typst root), the reference of the
    new-and-changed marks (a packet's manifest fields, or None) and a chart counter."""
    workdir: Path
    reference: dict | None = None
    charts: int = 0

    @property
    def reference_run(self) -> str | None:
        return self.reference["run_id"] if self.reference else None

    def chart(self, chart, width: int = 100) -> dict:
        """Render an Altair chart (the pages' specification) to PNG with vl-convert."""
        import vl_convert as vlc
        self.charts += 1
        name = f"chart-{self.charts:03d}.png"
        (self.workdir / name).write_bytes(vlc.vegalite_to_png(chart.to_dict(), scale=2))
        return {"kind": "image", "path": name, "width": width}


def text(s: str) -> dict:
    return {"kind": "text", "text": s}


def note(s: str) -> dict:
    return {"kind": "note", "text": s}


def subheading(s: str) -> dict:
    return {"kind": "subheading", "text": s}


def table(df: pl.DataFrame, widths: list[float] | None = None, right_from: int | None = None,
          marked: list[int] | None = None, size: float | None = None) -> dict:
    """A table block: header = the frame's columns, every cell as text. ``marked``: 0-based data
    rows to highlight (new or changed since the reference)."""
    rows = [[tables.text(v) for v in r] for r in df.iter_rows()]
    block = {"kind": "table", "columns": list(df.columns), "rows": rows,
             "marked": [i + 1 for i in (marked or [])]}
    if widths:
        block["widths"] = widths
    if right_from is not None:
        block["right_from"] = right_from
    if size is not None:
        block["size"] = size        # points; listings are set smaller than tables
    return block


def _changed_rows(df: pl.DataFrame) -> list[int]:
    return [i for i, c in enumerate(df["CHANGE"]) if c is not None] if "CHANGE" in df.columns else []


def _cuts_text(cuts: pl.DataFrame) -> str:
    return ", ".join(f"site {r['SITEID']} {r['DATACUT']}" for r in cuts.iter_rows(named=True))


# ---- the sections, in order ---------------------------------------------------------------------

def study_status(ctx: Context) -> dict:
    cuts = q.data_cuts()
    enr = q.enrollment_counts()
    status = q.status_counts()
    disp = q.disposition()
    return {"title": "1. Study status and disposition", "blocks": [
        subheading("Data in this packet"),
        table(cuts.select(pl.col("SITEID").alias("Site"), pl.col("DATACUT").alias("Data cut"),
                          pl.col("DATACUT_SOURCE").alias("Data cut from"),
                          pl.col("LOADED_AT").dt.strftime("%Y-%m-%d %H:%M UTC").alias("Loaded"),
                          pl.col("RUN_ID").alias("Load run")), widths=[1, 2, 2, 3, 4]),
        text(f"Screened {enr.get('screened', 0)}, screen failures {enr.get('screen_failed', 0)}, "
             f"enrolled {enr.get('enrolled', 0)} (target {TARGET_ENROLLED}), full analysis set "
             f"{enr.get('fas', 0)} (enrolled with at least one infusion)."),
        subheading("Subjects by status"),
        table(status.select(pl.col("SUBJSTAT").alias("Status"), pl.col("n").alias("Subjects")),
              widths=[3, 1], right_from=1),
        subheading("Disposition of enrolled subjects"),
        table(tables.labelled(disp, ["EOSSTT", "DCSREAS", "subjects"]), widths=[2, 2, 1], right_from=2),
    ]}


def enrollment(ctx: Context) -> dict:
    enr = q.enrollment_counts()
    proj = q.enrollment_projection()
    cum = q.enrolled_over_time()
    cuts = q.data_cuts()
    blocks = [text(f"Enrolled {enr.get('enrolled', 0)} of the target {TARGET_ENROLLED}.")]
    if proj.get("REACHEDDT"):
        blocks.append(text(f"Target reached on {proj['REACHEDDT']} (trial-wide)."))
    elif proj.get("PROJDT"):
        blocks.append(text(f"Projection (not a fact): the target would be reached around "
                           f"{proj['PROJDT']} — {proj['METHOD']} (trial-wide, as of {proj['ASOFDT']})."))
    if cum.height and cuts.height:
        blocks += [ctx.chart(charts.enrollment(cum, cuts["DATACUT"].max(), TARGET_ENROLLED,
                                               dt.date.fromisoformat(FIRST_ENROLLMENT_REGISTRY),
                                               width=CHART_PX), width=85),
                   note(f"Red dashed line: target {TARGET_ENROLLED}. Grey line: first enrollment in "
                        f"the registry ({FIRST_ENROLLMENT_REGISTRY}).")]
    by_site = q.enrollment_by_site()
    blocks += [subheading("Per site"),
               table(by_site.select(pl.col("SITEID").alias("Site"), pl.col("screened").alias("Screened"),
                                    pl.col("screen_failed").alias("Screen failures"),
                                    pl.col("enrolled").alias("Enrolled"),
                                    pl.col("first_enrolled").alias("First enrolled"),
                                    pl.col("last_enrolled").alias("Last enrolled"),
                                    pl.col("data_cut").alias("Data cut")))]
    fails = q.screen_failures()
    if fails.height:
        blocks += [subheading("Screen failures and the criterion not met"),
                   table(fails.select(pl.col("USUBJID").alias("Subject"), pl.col("RFICDT").alias("Consent"),
                                      pl.col("SCRFREAS").alias("Criteria"), pl.col("SCRFRTXT").alias("Not met")),
                         widths=[2, 1, 1, 6])]
    return {"title": "2. Enrollment against the target", "blocks": blocks}


def demographics(ctx: Context) -> dict:
    n = q.fas_count()
    per_subject = q.baseline()
    shown = per_subject.select(
        pl.col("USUBJID").alias("Subject"), pl.col("AGE").alias("Age"), pl.col("SEX").alias("Sex"),
        *[pl.col(c).alias(tables.BASELINE_LABELS[c]) for c in
          ("WEIGHTBL", "SLEDAIBL", "PGABL", "C3BL", "C4BL", "CH50BL", "DSDNABL", "PSLDOSBL")])
    return {"title": "3. Demographics and baseline characteristics", "blocks": [
        table(tables.baseline_summary(q.baseline_summary(), n), widths=[4, 1, 2, 2], right_from=1),
        note("Baseline: the latest value on or before day 1 (the first infusion), i.e. the week-0 "
             "assessment, else screening. PSL dose at initiation: prednisolone-equivalent mg/day on "
             "the first day of PSL (R-PSL)."),
        subheading("Per subject"),
        table(shown, widths=[2.2, 0.6, 0.6, 1, 1, 1.4, 1, 1, 1, 1.2, 1.4], right_from=3),
    ]}


def exposure(ctx: Context) -> dict:
    return {"title": "4. Exposure to anifrolumab", "blocks": [
        table(tables.exposure_totals(q.exposure_summary()), widths=[3, 1], right_from=1),
        note(tables.EXPOSURE_NOTE),
        subheading("Per subject"),
        table(tables.exposure_per_subject(q.exposure()), widths=[2.2, 1, 1.2, 1.2, 1.2, 1.2, 1.2, 1],
              right_from=1),
    ]}


def teae_overview(ctx: Context) -> dict:
    return {"title": "5. Overview of treatment-emergent adverse events", "blocks": [
        table(tables.overview(q.ae_overview()), widths=[4, 2, 1], right_from=1),
        note("Treatment-emergent: onset (imputed where partial) on or after the first infusion. "
             "Related: possibly related or related. Fatal: outcome fatal or death as a seriousness "
             "criterion (R-AE)."),
    ]}


def incidence(ctx: Context) -> dict:
    df = q.ae_incidence_soc_pt()
    return {"title": "6. Incidence by system organ class and preferred term, by worst grade", "blocks": [
        table(tables.incidence(df), widths=[5, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2], right_from=1),
        note(tables.incidence_note(df)),
    ]}


def aesi(ctx: Context) -> dict:
    return {"title": "7. Adverse events of special interest: counts and exposure-adjusted rates", "blocks": [
        table(tables.aesi(q.aesi_rates()), widths=[3, 1.5, 1, 1.5, 1.5], right_from=1),
        note(tables.AESI_NOTE),
        note("Categories (R-AE): herpes zoster (any PT containing 'herpes zoster'); infusion-related "
             "reaction; hypersensitivity (Hypersensitivity, Anaphylactic reaction); tuberculosis (any "
             "PT containing 'tuberculosis'); malignancy (SOC Neoplasms benign, malignant and "
             "unspecified); serious infection (SOC Infections and infestations, serious). An event "
             "may fall in two categories."),
    ]}


def serious_and_deaths(ctx: Context) -> dict:
    sae = q.adverse_events(reference=ctx.reference_run, serious_only=True)
    deaths = q.deaths()
    blocks = [subheading("Serious adverse events")]
    if sae.height:
        blocks.append(table(tables.labelled(sae, tables.SAE_LISTING),
                            widths=[2.4, 0.5, 1.8, 1.8, 1.1, 0.7, 0.6, 1.8, 1.4, 1.4, 1.6, 1],
                            marked=_changed_rows(sae), size=7.5))
    else:
        blocks.append(text("No serious adverse event."))
    blocks.append(subheading("Deaths"))
    if deaths.height:
        blocks.append(table(tables.labelled(deaths, tables.DEATHS_LISTING), widths=[2, 1.5, 4, 1.5, 1, 1.5]))
    else:
        blocks.append(text(tables.NO_DEATHS))
    return {"title": "8. Serious adverse events and deaths", "blocks": blocks}


def ae_listing(ctx: Context) -> dict:
    ae = q.adverse_events(reference=ctx.reference_run)
    return {"title": "9. Adverse events: full listing", "blocks": [
        table(tables.labelled(ae, tables.AE_LISTING),
              widths=[2.5, 0.5, 1.6, 1.8, 1.9, 1.2, 0.7, 1.2, 0.7, 0.8, 1.3, 1.3, 1.6, 0.6, 1.3, 1],
              marked=_changed_rows(ae), size=7),
        note("Verbatim terms as the site reported them. Onset: imputed where partial (R-AE); onset "
             "day: study day (day 1 = first infusion). Highlighted rows: new or changed since the "
             "reference (section 12)." if ctx.reference else
             "Verbatim terms as the site reported them. Onset: imputed where partial (R-AE); onset "
             "day: study day (day 1 = first infusion)."),
    ]}


def laboratory(ctx: Context) -> dict:
    """Laboratory abnormalities (R-LAB), from the Labs page's own queries: worst post-baseline
    CTCAE grade by test, shift tables, the liver signal (eDISH quadrants, potential Hy's law) and
    the grade >= 3 values."""
    worst = q.lab_worst_grades()
    if not worst.height:
        return {"title": "10. Laboratory abnormalities", "blocks": [
            text("No post-baseline laboratory value yet.")]}
    grades = [c for c in worst.columns if c.startswith("grade")]
    shift = q.lab_shift()
    hy = q.hy_law_multiples()
    quadrants = q.edish_quadrant_counts()
    points = q.edish_points()
    cases = q.hys_law_cases()
    grade3 = q.lab_grade3_listing()
    blocks = [
        subheading("Worst post-baseline grade by test (CTCAE v5.0), subjects n (%) of N"),
        table(worst.select("PARAMCD", "direction", "N", *grades).rename(
            {"PARAMCD": "Test", "direction": "Direction"}), right_from=2, size=8),
        note("N: subjects with a post-baseline value of the test (after day 1 and within "
             "observation). Increases graded for ALT, AST, BILI, CREAT; decreases for WBC, NEUT, LYM, "
             "PLAT, HGB (HGB has no grade 4). Baseline: the latest value on or before day 1 (R-LAB)."),
        subheading("Shift tables: baseline grade to worst post-baseline grade (subjects)"),
        table(shift.rename({"PARAMCD": "Test", "direction": "Direction"}), right_from=3, size=8),
        subheading("Liver: eDISH (peak values after baseline)"),
    ]
    if points.height:
        blocks.append(ctx.chart(charts.edish(points, quadrants, hy, width=CHART_PX // 2), width=60))
    blocks += [
        table(quadrants.rename({"quadrant": "Quadrant", "subjects": "Subjects"}), right_from=1),
        text("Potential Hy's law (ALT or AST > 3 × ULN and BILI > 2 × ULN on one date, post-baseline): "
             + (", ".join(cases["USUBJID"].to_list()) if cases.height else "none") + "."),
        subheading("Grade 3 or higher values"),
    ]
    if grade3.height:
        cols = [c for c in ("USUBJID", "PARAMCD", "AVISIT", "ADT", "ADY", "AVAL", "AVALU", "ANRLO",
                            "ANRHI", "ATOXGR") if c in grade3.columns]
        blocks.append(table(tables.labelled(grade3, cols), size=8))
    else:
        blocks.append(text("No value of grade 3 or higher."))
    return {"title": "10. Laboratory abnormalities", "blocks": blocks}


def protocol_deviations(ctx: Context) -> dict:
    flags = q.protocol_flags(flags=SAFETY_FLAGS)
    blocks = ([table(tables.labelled(flags, ["USUBJID", "FLAGCD", "ADT", "DETAIL"]), widths=[2, 2, 1, 6])]
              if flags.height else [text("No protocol deviation flagged.")])
    blocks.append(note("R-PROTOCOL flags (for the investigators, never refusals): first infusion more "
                       "than 14 days after PSL initiation, PSL above 0.6 mg/kg/day in its first 14 "
                       "days, infusion dose not 300 mg, infusion out of window or missed though due, "
                       "age outside 18-79. The week-12 dose target is an efficacy criterion and is "
                       "not part of this packet."))
    return {"title": "11. Protocol deviations", "blocks": blocks}


def new_and_changed(ctx: Context) -> dict:
    title = "12. New and changed since the reference packet"
    if not ctx.reference:
        return {"title": title, "blocks": [text(
            "No earlier committee packet to compare with: this is the first. Every adverse event is "
            "in the full listing (section 9).")]}
    ref = ctx.reference
    counts = q.ae_change_counts(ref["run_id"])
    changes = q.ae_changes(ref["run_id"])
    blocks = [
        text(f"Reference: committee packet {ref['packet_id']} (issued {ref['created_at']}, load "
             f"{ref['run_id']}; data cuts {ref['cuts']})."),
        text(f"New events: {counts.get('new', 0)}. Changed events: {counts.get('changed', 0)}. "
             f"Serious, and new or newly serious: {counts.get('serious', 0)}. AESIs, new or newly "
             f"of special interest: {counts.get('aesi', 0)}."),
        note("New: not in the reference. Changed: its grade rose, it became serious, or its outcome "
             "changed. Events are matched on subject, preferred term and onset as reported."),
    ]
    if changes.height:
        blocks.append(table(tables.labelled(changes, tables.CHANGES_LISTING),
                            widths=[2.5, 0.5, 1.7, 1.8, 1.2, 0.7, 0.7, 0.8, 1.7, 1, 3], size=7.5))
    else:
        blocks.append(text("Nothing new or changed since the reference."))
    return {"title": title, "blocks": blocks}


def sae_profiles(ctx: Context) -> dict:
    title = "13. Profiles of the subjects with a serious adverse event"
    subjects = sorted(set(q.adverse_events(serious_only=True)["USUBJID"].to_list()))
    if not subjects:
        return {"title": title, "blocks": [text("No serious adverse event.")]}
    blocks = [note("One page per subject: prednisolone-equivalent dose (steps), infusions (ticks; red: "
                   "missed though due) and adverse events (colour: grade; shape: serious) on one "
                   "study-day axis (day 1 = first infusion).")]
    for i, u in enumerate(subjects):
        s = q.adsl(usubjid=u).row(0, named=True)
        ae = q.adverse_events(usubjid=u, reference=ctx.reference_run)
        if i:
            blocks.append({"kind": "pagebreak"})
        blocks.append(subheading(u))
        blocks.append(text(
            f"Site {s['SITEID']} · age {s['AGE']} · sex {s['SEX']} · first infusion {s['TRTSDT']} · "
            f"last infusion {s['TRTEDT']} · infusions {s['NINFUS']} · end of exposure {s['EXPENDT']} · "
            f"status {s['SUBJSTAT']} · end of observation {s['OBSENDT']} (day {s['OBSENDY']})"))
        chart = charts.subject_timeline(q.psl_curve(subjects=(u,)), q.infusions(usubjid=u), ae,
                                        width=CHART_PX)
        if chart is not None:
            blocks.append(ctx.chart(chart, width=80))
        blocks.append(table(tables.labelled(ae, ["AESEQ", "AETERM", "AEDECOD", "ASTDT", "ASTDY",
                                                 "AEENDTC", "AETOXGR", "AESER", "SERCRIT", "AEACN", "AEOUT"]),
                            widths=[0.5, 1.8, 1.8, 1.1, 0.7, 1.1, 0.7, 0.8, 1.6, 1.4, 1.6],
                            marked=_changed_rows(ae), size=7.5))
    return {"title": title, "blocks": blocks}


SECTIONS = (study_status, enrollment, demographics, exposure, teae_overview, incidence, aesi,
            serious_and_deaths, ae_listing, laboratory, protocol_deviations, new_and_changed,
            sae_profiles)
