"""The committee's tables laid out for reading, from the query results of warehouse/queries.py:
counts as "n (%)" of the table's N, the words a clinician uses as column headers. Shared by the
Safety page and the committee packet (report/), so a printed table and its on-screen twin are one
query laid out once (STYLE: one source for every number). No Streamlit here; nothing is counted
here either: every number comes in from a query. CSV downloads keep the query's own frame (CDISC
names, plain numbers).
"""
from __future__ import annotations

import polars as pl

from warehouse.labels import AESI_NAMES, label

INDENT = "\u2003\u2003"   # two em spaces: a PT under its SOC (kept by the grid and by the PDF)

# CDISC name -> the words on screen and on paper (downloads keep the CDISC names): read from the
# one label dictionary, warehouse/labels.py (STYLE "Labels"), for the columns the committee's
# tables and listings print.
LABELS = {n: label(n) for n in (
    "USUBJID", "SITEID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "ASTDT", "ASTDY",
    "AEENDTC", "AETOXGR", "AESER", "SERCRIT", "AEREL", "AEACN", "AEOUT", "TRTEMFL", "AESICAT",
    "CHANGE", "CHANGEDESC", "NINFUS", "TRTSDT", "TRTEDT", "EXPENDT", "OBSENDT", "TRTDURD", "TRTDURY",
    "FLAGCD", "ADT", "DETAIL", "DTHDT", "FATALAE", "AEONSET", "AEONSETDY", "SOURCE", "EOSSTT",
    "DCSREAS", "subjects", "AVISIT", "EXDOSE", "ADY", "PARAMCD", "AVAL", "AVALU", "ANRLO", "ANRHI",
    "ATOXGR")}
BASELINE_LABELS = {n: label(n) for n in (
    "AGE", "WEIGHTBL", "SLEDAIBL", "PGABL", "C3BL", "C4BL", "CH50BL", "DSDNABL", "PSLDOSBL")}


def share(n: int | None, total: int | None, decimals: int = 0) -> str:
    """The one percentage format of the app and the packet: ``share(1, 3) == "33%"``,
    ``share(1, 3, 1) == "33.3%"``; ``"–"`` when the total is 0 (never a division by zero)."""
    n, total = int(n or 0), int(total or 0)
    return "–" if total == 0 else f"{100 * n / total:.{decimals}f}%"


def n_pct(n: int | None, total: int | None) -> str:
    """A count with its share of the table's N, as committee tables print it:
    ``n_pct(3, 10) == "3 (30.0%)"``; ``"0 (–)"`` when N is 0. The N itself is in the column
    header (``of N = 10``)."""
    return f"{int(n or 0)} ({share(n, total, 1)})"


def number(x, digits: int = 1) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def text(x) -> str:
    return "" if x is None else str(x)


def labelled(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``columns`` of ``df`` under their LABELS, as text (dates as YYYY-MM-DD, nulls empty)."""
    return df.select([pl.col(c).cast(pl.String).fill_null("").alias(LABELS.get(c, c)) for c in columns])


def overview(df: pl.DataFrame) -> pl.DataFrame:
    """queries.ae_overview laid out: TEAE category, subjects n (%) of N, events."""
    n = int(df["N"][0]) if df.height else 0
    return pl.DataFrame({
        "Treatment-emergent adverse events": df["category"].to_list(),
        f"Subjects, n (%) of N = {n}": [n_pct(s, n) for s in df["subjects"]],
        "Events": [str(e) for e in df["events"]],
    }, schema={"Treatment-emergent adverse events": pl.String, f"Subjects, n (%) of N = {n}": pl.String,
               "Events": pl.String})


GRADE_COLUMNS = ["subjects", "grade 1", "grade 2", "grade 3", "grade 4", "grade 5"]
GRADE_HEADERS = ["Any grade", "Grade 1", "Grade 2", "Grade 3", "Grade 4", "Grade 5"]
TERM_HEADER = "System organ class / preferred term"


def incidence(df: pl.DataFrame) -> pl.DataFrame:
    """queries.ae_incidence_soc_pt laid out: one term column (a PT indented under its SOC), then
    subjects n (%) of N at any grade and at each worst grade."""
    n = int(df["N"][0]) if df.height else 0
    terms = [soc if pt is None else INDENT + pt for soc, pt in zip(df["SOC"], df["PT"])]
    data = {TERM_HEADER: terms}
    for col, head in zip(GRADE_COLUMNS, GRADE_HEADERS):
        data[head] = [n_pct(v, n) for v in df[col]]
    return pl.DataFrame(data, schema={k: pl.String for k in data})


def incidence_note(df: pl.DataFrame) -> str:
    n = int(df["N"][0]) if df.height else 0
    return (f"Subjects n (%) of N = {n} (FAS); a subject counts once per row, at the worst grade of "
            "that row's treatment-emergent events (R-AE).")


AESI_LABELS = AESI_NAMES   # the AESI categories in words (warehouse/labels.py)


def aesi(df: pl.DataFrame) -> pl.DataFrame:
    """queries.aesi_rates laid out: category, crude count (subjects n (%) of N, events), time at
    risk and the exposure-adjusted incidence rate per 100 patient-years."""
    n = int(df["N"].max() or 0) if df.height else 0
    return pl.DataFrame({
        "AESI category": [AESI_LABELS.get(c, c) for c in df["category"]],
        f"Subjects, n (%) of N = {n}": [n_pct(s, n) for s in df["subjects"]],
        "Events": [str(e) for e in df["events"]],
        "Patient-years at risk": [number(p, 2) for p in df["py_at_risk"]],
        "Rate per 100 patient-years": [number(r, 1) for r in df["rate_per_100py"]],
    })


AESI_NOTE = ("Exposure-adjusted incidence rate = subjects with the event / their patient-years at "
             "risk x 100; a subject's time at risk runs from the first infusion to the first onset "
             "of that event, or to the end of exposure (last infusion + 27 days, cut at the end of "
             "observation) without it; patient-years = days / 365.25 (R-AE).")


def exposure_per_subject(df: pl.DataFrame) -> pl.DataFrame:
    out = labelled(df, ["USUBJID", "NINFUS", "TRTSDT", "TRTEDT", "EXPENDT", "OBSENDT", "TRTDURD"])
    return out.with_columns(pl.Series(LABELS["TRTDURY"], [number(y, 3) for y in df["TRTDURY"]]))


def exposure_totals(s: dict) -> pl.DataFrame:
    """queries.exposure_summary laid out."""
    def rng(a, m, b):
        return "–" if m is None else f"{m:g} ({a}–{b})"
    return pl.DataFrame({
        "Exposure (FAS)": ["Subjects", "Infusions, total", "Infusions per subject, median (min–max)",
                           "Days on treatment, total", "Days per subject, median (min–max)",
                           "Patient-years on treatment"],
        "Value": [str(s.get("subjects", 0)), str(s.get("infusions") or 0),
                  rng(s.get("infusions_min"), s.get("infusions_median"), s.get("infusions_max")),
                  str(s.get("days") or 0),
                  rng(s.get("days_min"), s.get("days_median"), s.get("days_max")),
                  number(s.get("patient_years") or 0.0, 2)],
    })


EXPOSURE_NOTE = ("Exposure runs from the first infusion to the last infusion + 27 days (one dosing "
                 "interval), cut at the end of observation (end of study or data cut, whichever is "
                 "first); patient-years = days / 365.25 (R-AE).")

AE_LISTING = ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "ASTDT", "ASTDY", "AEENDTC",
              "AETOXGR", "AESER", "AEREL", "AEACN", "AEOUT", "TRTEMFL", "AESICAT", "CHANGE"]
SAE_LISTING = ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "ASTDT", "ASTDY", "AETOXGR", "SERCRIT",
               "AEREL", "AEACN", "AEOUT", "CHANGE"]
CHANGES_LISTING = ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "ASTDT", "ASTDY", "AETOXGR", "AESER",
                   "AEOUT", "CHANGE", "CHANGEDESC"]
DEATHS_LISTING = ["USUBJID", "DTHDT", "FATALAE", "AEONSET", "AEONSETDY", "SOURCE"]
NO_DEATHS = "No deaths: no fatal adverse event and no death in the disposition records."


def baseline_summary(df: pl.DataFrame, n: int) -> pl.DataFrame:
    """queries.baseline_summary laid out: continuous variables as mean (SD) and median (min–max)
    with the number of subjects measured; sex as n (%) of N."""
    rows = []
    for r in df.iter_rows(named=True):
        if r["variable"].startswith("SEX "):
            sex = {"F": "Female", "M": "Male"}.get(r["variable"][4:], r["variable"][4:])
            rows.append((f"Sex: {sex}", n_pct(r["n"], n), "", ""))
            continue
        label = BASELINE_LABELS.get(r["variable"], r["variable"])
        if not r["n"]:
            rows.append((label, "0", "–", "–"))
            continue
        rows.append((label, str(r["n"]), f"{number(r['mean'])} ({number(r['sd'])})",
                     f"{r['median']:g} ({r['min']:g}–{r['max']:g})"))
    return pl.DataFrame(rows, orient="row", schema={
        f"Characteristic (FAS, N = {n})": pl.String, "n": pl.String, "Mean (SD)": pl.String,
        "Median (min–max)": pl.String})
