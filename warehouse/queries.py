"""Every read the pages make: the one query layer between the warehouse and ``pages/``.

The app only reads. Each query opens a short-lived read-only DuckDB connection and closes it
(STACK-NOTES: a held reader would block the ETL's writer); results are cached with
``st.cache_data`` keyed on the warehouse file's mtime and size, so a warehouse the ETL swaps in
(``os.replace``) is picked up on the next run of a page. User input (site filter, subject) reaches
SQL only as bound parameters. Pages never compute clinical results: they read ``adam.*``; counting
flagged rows (responders = RESPFL 'Y', due = DUEFL 'Y') under the site filter is done here.

``sites`` everywhere: a tuple of SITEIDs to keep, or None for every site.

Roles are enforced here, not only by the pages (``warehouse/access.py``): every public query
says which roles may read it (``@readable_by``), refuses any other (``access.AccessDenied``) and
returns to a role without full access its result without the efficacy columns and flags.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from etl.contract import (CTCAE_GRADES, HY_LAW_AMINOTRANSFERASE_X_ULN, HY_LAW_BILIRUBIN_X_ULN,
                          R2A1HI_TESTS)
from etl.derive.labs import EDISH_QUADRANTS
from warehouse import access, packets_dir, runs_dir, tables, warehouse_path
from warehouse.access import readable_by
from warehouse.times import local_time

Sites = tuple[str, ...] | None


def version(path: Path) -> tuple[int, int] | None:
    """(mtime_ns, size) of the warehouse file, or None when there is none yet."""
    try:
        s = path.stat()
    except FileNotFoundError:
        return None
    return s.st_mtime_ns, s.st_size


@st.cache_data(show_spinner=False, max_entries=512)
def _read(path: str, ver: tuple[int, int], sql: str, params: dict) -> pl.DataFrame:
    con = duckdb.connect(path, read_only=True)
    try:
        return con.sql(sql, params=params).pl()
    finally:
        con.close()


def _q(sql: str, sites: Sites = None, **params) -> pl.DataFrame:
    """Run one read. ``{site}`` in the SQL becomes the site-filter predicate on SITEID."""
    path = warehouse_path()
    ver = version(path)
    if ver is None:
        raise FileNotFoundError(path)
    if "{site" in sql:
        sql = (sql.replace("{site}", "($all_sites OR list_contains($sites, SITEID))")
               .replace("{site_p}", "($all_sites OR list_contains($sites, p.SITEID))"))
        params |= {"all_sites": sites is None, "sites": list(sites or [])}
    return _read(str(path), ver, sql, params)


def _scalar_row(df: pl.DataFrame) -> dict:
    return df.row(0, named=True) if df.height else {}


# ---- the warehouse itself ------------------------------------------------------------------

def warehouse_exists() -> bool:
    return version(warehouse_path()) is not None


@readable_by(*access.EVERY_ROLE)
def data_cuts() -> pl.DataFrame:
    """One row per site in the warehouse: SITEID, DATACUT, DATACUT_SOURCE, LOADED_AT, RUN_ID."""
    return _q("SELECT SITEID, DATACUT, DATACUT_SOURCE, LOADED_AT, RUN_ID FROM sdtm.exports "
              "ORDER BY SITEID")


@readable_by(*access.EVERY_ROLE)
def last_refreshed() -> dt.datetime | None:
    """When the warehouse was last refreshed (audit.refresh, else the latest site load)."""
    row = _scalar_row(_q("SELECT coalesce((SELECT max(REFRESHED_AT) FROM audit.refresh), "
                         "(SELECT max(LOADED_AT) FROM sdtm.exports)) AS at"))
    return row.get("at")


@readable_by(*access.EVERY_ROLE)
def sites() -> list[str]:
    return _q("SELECT SITEID FROM sdtm.exports UNION SELECT SITEID FROM adam.adsl "
              "ORDER BY SITEID")["SITEID"].to_list()


@readable_by(*access.SAFETY)
def current_run() -> str | None:
    """The accepted load that built this warehouse (audit.refresh): the packet's "load run ID"."""
    return _scalar_row(_q("SELECT RUN_ID FROM audit.refresh ORDER BY REFRESHED_AT DESC LIMIT 1")
                       ).get("RUN_ID")


@readable_by(*access.SAFETY)
def load_snapshots() -> pl.DataFrame:
    """Every accepted load whose snapshot this warehouse keeps (audit.load_snapshots), newest
    first: RUN_ID, LOADED_AT, CUTS (each site's data cut then, e.g. '01: 2026-11-01, 02: ...')."""
    return _q("SELECT RUN_ID, max(LOADED_AT) AS LOADED_AT, "
              "string_agg(SITEID || ': ' || DATACUT, ', ' ORDER BY SITEID) AS CUTS "
              "FROM audit.load_snapshots GROUP BY RUN_ID ORDER BY LOADED_AT DESC, RUN_ID DESC")


@readable_by(*access.SAFETY)
def subjects(sites: Sites = None) -> list[str]:
    return _q("SELECT USUBJID FROM adam.adsl WHERE {site} ORDER BY USUBJID", sites)["USUBJID"].to_list()


# ---- enrollment (R-ENROL) --------------------------------------------------------------------

@readable_by(*access.ENROLLMENT)
def enrollment_counts(sites: Sites = None) -> dict:
    """screened, screen_failed, enrolled, fas counts from ADSL."""
    return _scalar_row(_q(
        "SELECT count(*) AS screened, count(*) FILTER (SCRFFL = 'Y') AS screen_failed, "
        "count(*) FILTER (ENRLFL = 'Y') AS enrolled, count(*) FILTER (FASFL = 'Y') AS fas "
        "FROM adam.adsl WHERE {site}", sites))


@readable_by(*access.ENROLLMENT)
def enrollment_projection() -> dict:
    """R-ENROL, trial-wide (the target is the trial's): ENROLLED, TARGET, ASOFDT, RATE30,
    REACHEDDT, PROJDT, METHOD; empty when nothing is loaded."""
    return _scalar_row(_q("SELECT * FROM adam.enrollment_projection"))


@readable_by(*access.ENROLLMENT)
def enrollment_by_site(sites: Sites = None) -> pl.DataFrame:
    return _q(
        "SELECT a.SITEID, count(*) AS screened, count(*) FILTER (SCRFFL = 'Y') AS screen_failed, "
        "count(*) FILTER (ENRLFL = 'Y') AS enrolled, min(ENRLDT) AS first_enrolled, "
        "max(ENRLDT) AS last_enrolled, any_value(e.DATACUT) AS data_cut "
        "FROM adam.adsl a LEFT JOIN sdtm.exports e USING (SITEID) WHERE {site} "
        "GROUP BY a.SITEID ORDER BY a.SITEID", sites)


@readable_by(*access.ENROLLMENT)
def enrolled_over_time(sites: Sites = None) -> pl.DataFrame:
    """One row per enrolled subject in date order with the running count (cumulative enrolled)."""
    return _q(
        "SELECT USUBJID, SITEID, ENRLDT, "
        "count(*) OVER (ORDER BY ENRLDT, USUBJID ROWS UNBOUNDED PRECEDING) AS cumulative "
        "FROM adam.adsl WHERE ENRLFL = 'Y' AND ENRLDT IS NOT NULL AND {site} ORDER BY ENRLDT, USUBJID",
        sites)


@readable_by(*access.ENROLLMENT)
def screen_failures(sites: Sites = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, RFICDT, SCRFREAS, SCRFRTXT FROM adam.adsl "
              "WHERE SCRFFL = 'Y' AND {site} ORDER BY USUBJID", sites)


@readable_by(*access.SAFETY)
def status_counts(sites: Sites = None) -> pl.DataFrame:
    """Subjects by ADSL.SUBJSTAT."""
    return _q("SELECT SUBJSTAT, count(*) AS n FROM adam.adsl WHERE {site} "
              "GROUP BY SUBJSTAT ORDER BY SUBJSTAT", sites)


@readable_by(*access.SAFETY)
def disposition(sites: Sites = None) -> pl.DataFrame:
    """Enrolled subjects by end-of-study status (ADSL EOSSTT: ONGOING, COMPLETED, DISCONTINUED)
    and, for a discontinuation, its reason (DCSREAS)."""
    return _q("SELECT EOSSTT, DCSREAS, count(*) AS subjects FROM adam.adsl "
              "WHERE ENRLFL = 'Y' AND {site} GROUP BY ALL ORDER BY EOSSTT, DCSREAS NULLS FIRST", sites)


BASELINE_VARIABLES = ("AGE", "WEIGHTBL", "SLEDAIBL", "PGABL", "C3BL", "C4BL", "CH50BL", "DSDNABL",
                      "PSLDOSBL")


@readable_by(*access.SAFETY)
def baseline(sites: Sites = None) -> pl.DataFrame:
    """Demographics and baseline characteristics of each FAS subject, as ADSL derived them: AGE,
    SEX, WEIGHTBL, SLEDAIBL, PGABL, C3BL, C4BL, CH50BL, DSDNABL (anti-dsDNA), PSLDOSBL."""
    return _q("SELECT USUBJID, SITEID, AGE, SEX, " + ", ".join(BASELINE_VARIABLES[1:])
              + " FROM adam.adsl WHERE FASFL = 'Y' AND {site} ORDER BY USUBJID", sites)


@readable_by(*access.SAFETY)
def baseline_summary(sites: Sites = None) -> pl.DataFrame:
    """One row per BASELINE_VARIABLES entry over the FAS: n (non-missing), mean, sd, median, min,
    max; and one row per sex (n only, in ``n``)."""
    parts = [f"SELECT {i} AS ord, '{v}' AS variable, count({v}) AS n, avg({v}) AS mean, "
             f"stddev_samp({v}) AS sd, median({v}) AS median, min({v}) AS min, max({v}) AS max "
             f"FROM f" for i, v in enumerate(BASELINE_VARIABLES)]
    parts.append("SELECT 100 AS ord, 'SEX ' || SEX, count(*), NULL, NULL, NULL, NULL, NULL "
                 "FROM f GROUP BY SEX")
    return _q("WITH f AS (SELECT * FROM adam.adsl WHERE FASFL = 'Y' AND {site}) "
              "SELECT variable, n, mean, sd, median, min, max FROM (" + " UNION ALL ".join(parts)
              + ") ORDER BY ord, variable", sites)


@readable_by(*access.SAFETY)
def adsl(sites: Sites = None, usubjid: str | None = None) -> pl.DataFrame:
    return _q("SELECT * FROM adam.adsl WHERE {site} AND ($u IS NULL OR USUBJID = $u) "
              "ORDER BY USUBJID", sites, u=usubjid)


# ---- efficacy (R-ENDPOINT, R-LLDAS) ------------------------------------------------------------

@readable_by(*access.EFFICACY)
def endpoint_summary(sites: Sites = None) -> pl.DataFrame:
    """Per ADEFF parameter and week: responders (RESPFL 'Y'), due (DUEFL 'Y'), not yet due, FAS."""
    return _q(
        "SELECT PARAMCD, any_value(PARAM) AS PARAM, AVISITN, "
        "count(*) FILTER (RESPFL = 'Y') AS responders, count(*) FILTER (DUEFL = 'Y') AS due, "
        "count(*) FILTER (DUEFL <> 'Y') AS not_yet_due, count(*) AS fas "
        "FROM adam.adeff WHERE {site} GROUP BY PARAMCD, AVISITN ORDER BY PARAMCD, AVISITN", sites)


@readable_by(*access.EFFICACY)
def endpoint(paramcd: str, week: int, sites: Sites = None) -> dict:
    """responders, due, not_yet_due, fas for one endpoint at one week (zeros when no row)."""
    df = endpoint_summary(sites).filter((pl.col("PARAMCD") == paramcd) & (pl.col("AVISITN") == week))
    if not df.height:
        return {"responders": 0, "due": 0, "not_yet_due": 0, "fas": 0}
    return df.row(0, named=True)


@readable_by(*access.EFFICACY)
def endpoint_subjects(sites: Sites = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, PARAMCD, AVISITN, WKDT, DUEFL, RESPFL, REASON "
              "FROM adam.adeff WHERE {site} ORDER BY USUBJID, PARAMCD, AVISITN", sites)


@readable_by(*access.SAFETY)
def lldas_visits(sites: Sites = None, usubjid: str | None = None,
                 fas_only: bool = False) -> pl.DataFrame:
    """ADLLDAS rows; ``fas_only``: the full analysis set only (R-ENDPOINT: efficacy displays never
    show screen failures or enrolled subjects who were not dosed)."""
    return _q("SELECT USUBJID, SITEID, AVISIT, AVISITN, VISITNUM, ADT, ADY, SLEDAI, SLEDAIPR, PGA, "
              "PSLDOSE, CRIT1FL, CRIT2FL, CRIT3FL, CRIT4FL, CRIT5FL, LLDASFL, DORISFL, OOWFL "
              "FROM adam.adlldas WHERE {site} AND ($u IS NULL OR USUBJID = $u) "
              "AND (NOT $fas OR USUBJID IN (SELECT USUBJID FROM adam.adsl WHERE FASFL = 'Y')) "
              "ORDER BY USUBJID, VISITNUM", sites, u=usubjid, fas=fas_only)


@readable_by(*access.EFFICACY)
def change_from_week0(sites: Sites = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, PARAMCD, PARAM, AVISITN, DUEFL, BASE, AVAL, CHG "
              "FROM adam.adchg WHERE {site} ORDER BY PARAMCD, AVISITN, USUBJID", sites)


_FAS = "USUBJID IN (SELECT USUBJID FROM adam.adsl WHERE FASFL = 'Y')"


@readable_by(*access.EFFICACY)
def immunosuppressants(sites: Sites = None) -> pl.DataFrame:
    """Concomitant immunosuppressants of the full analysis set (R-ENDPOINT secondary)."""
    return _q("SELECT USUBJID, SITEID, CMDECOD, CMTRT, ASTDT, ASTDY, AENDT FROM adam.adcmis "
              f"WHERE {{site}} AND {_FAS} ORDER BY USUBJID, ASTDT", sites)


@readable_by(*access.EFFICACY)
def immunosuppressant_counts(sites: Sites = None) -> pl.DataFrame:
    """Subjects of the full analysis set on each immunosuppressant (R-ENDPOINT secondary)."""
    return _q("SELECT CMDECOD, count(DISTINCT USUBJID) AS subjects FROM adam.adcmis "
              f"WHERE {{site}} AND {_FAS} GROUP BY CMDECOD ORDER BY CMDECOD", sites)


# ---- glucocorticoids (R-PSL) -----------------------------------------------------------------

# The daily prednisolone course is the committee's safety context too (glucocorticoid exposure
# beside infections; the packet's SAE profiles, issue 11): the monitor reads this curve, while
# the doses on assessment dates, the week-12/24 doses and every criterion stay the PI's.
@readable_by(*access.SAFETY, keep=("PSLDOSE", "CUMDOSE"))
def psl_curve(sites: Sites = None, subjects: tuple[str, ...] | None = None) -> pl.DataFrame:
    """ADPSL reduced to what a step-after line needs: each subject's first day, every day whose
    dose differs from the day before, pulse days, and the last day. Drawn as steps, it is the
    same curve as every daily row, at a fraction of the rows (a 10,000-subject trial has millions
    of daily rows). ``subjects`` restricts to those USUBJIDs (None: all)."""
    return _q("WITH d AS (SELECT p.USUBJID, p.SITEID, p.ADT, p.ADY, p.PSLDOSE, p.CUMDOSE, "
              "p.PULSEFL, p.DRUGS, (p.ADT - s.TRTSDT) / 7.0 AS WEEKS, "
              "lag(p.PSLDOSE) OVER w AS PREV, lead(p.ADT) OVER w AS NEXT "
              "FROM adam.adpsl p JOIN adam.adsl s USING (USUBJID) "
              "WHERE {site_p} AND ($all_subj OR list_contains($subj, p.USUBJID)) "
              "WINDOW w AS (PARTITION BY p.USUBJID ORDER BY p.ADT)) "
              "SELECT USUBJID, SITEID, ADT, ADY, WEEKS, PSLDOSE, CUMDOSE, PULSEFL, DRUGS FROM d "
              "WHERE PREV IS NULL OR NEXT IS NULL OR PSLDOSE <> PREV OR PULSEFL = 'Y' "
              "ORDER BY USUBJID, ADT", sites,
              all_subj=subjects is None, subj=list(subjects or []))


@readable_by(*access.EFFICACY)
def psl_ceilings(sites: Sites = None) -> pl.DataFrame:
    """Each dosed subject's 0.6 mg/kg/day ceiling (R-PROTOCOL), as ADSL derived it."""
    return _q("SELECT USUBJID, SITEID, WEIGHTBL, PSLCEIL AS CEILING FROM adam.adsl "
              "WHERE {site} AND PSLSTDT IS NOT NULL ORDER BY USUBJID", sites)


@readable_by(*access.EFFICACY)
def psl_weeks(sites: Sites = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, AVISITN, WKDT, DUEFL, PSLDOSE, CUMDOSE, CUMDOSNP, DISCFL "
              "FROM adam.adpslwk WHERE {site} ORDER BY AVISITN, USUBJID", sites)


# ---- protocol flags, warnings ----------------------------------------------------------------

@readable_by(*access.EVERY_ROLE)
def protocol_flags(sites: Sites = None, usubjid: str | None = None,
                   flags: tuple[str, ...] | None = None) -> pl.DataFrame:
    """R-PROTOCOL flags; ``flags`` keeps only those FLAGCDs (None: every flag)."""
    return _q("SELECT USUBJID, SITEID, FLAGCD, ADT, DETAIL FROM adam.protocol_flags "
              "WHERE {site} AND ($u IS NULL OR USUBJID = $u) "
              "AND ($all_flags OR list_contains($flags, FLAGCD)) ORDER BY ADT, USUBJID",
              sites, u=usubjid, all_flags=flags is None, flags=list(flags or []))


@readable_by(*access.DATA_QUALITY)
def dq_warnings(sites: Sites = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, VISIT, ADT, ITEM, DETAIL FROM adam.dq_warnings "
              "WHERE {site} ORDER BY ADT, USUBJID", sites)


@readable_by(*access.EVERY_ROLE)
def dq_warning_count(sites: Sites = None) -> int:
    """How many SLEDAI-2K consistency warnings there are (the overview's count)."""
    return _scalar_row(_q("SELECT count(*) AS n FROM adam.dq_warnings WHERE {site}", sites)).get("n", 0)


# ---- safety (R-AE) ---------------------------------------------------------------------------

# ADAE with each event's change against a reference snapshot (audit.ae_snapshots of the load
# $ref; no reference: $ref NULL and every change column null). Events are matched across loads as
# ADAE always matched them: USUBJID + AEDECOD + AESTDTC (AESEQ is not promised stable between
# deliveries; a recoded term or corrected onset shows as new, the safe side). Several reference
# events with one key compare as one: its highest grade, serious if any was, its outcomes.
_AE_WITH_CHANGES = """
WITH ref AS (
    SELECT USUBJID, AEDECOD, AESTDTC, max(AETOXGR) AS REFGR, bool_or(AESER = 'Y') AS REFSER,
           bool_or(AESIFL = 'Y') AS REFAESI, list_sort(list(DISTINCT AEOUT)) AS REFOUT
    FROM audit.ae_snapshots WHERE RUN_ID = $ref GROUP BY ALL),
a AS (
    SELECT ae.*, r.REFGR, r.REFSER, r.REFAESI, r.REFOUT, r.USUBJID IS NULL AS ISNEW,
           coalesce(ae.AETOXGR > r.REFGR, false) AS GRUP,
           coalesce(ae.AESER = 'Y' AND NOT r.REFSER, false) AS SERUP,
           coalesce(NOT list_contains(r.REFOUT, ae.AEOUT), false) AS OUTCHG
    FROM adam.adae ae LEFT JOIN ref r ON ae.USUBJID = r.USUBJID
         AND ae.AEDECOD IS NOT DISTINCT FROM r.AEDECOD AND ae.AESTDTC IS NOT DISTINCT FROM r.AESTDTC),
c AS (
    SELECT *,
      CASE WHEN $ref IS NULL THEN NULL WHEN ISNEW THEN 'NEW'
           WHEN GRUP OR SERUP OR OUTCHG THEN 'CHANGED' END AS CHANGE,
      CASE WHEN $ref IS NULL THEN NULL WHEN ISNEW THEN 'not in the reference'
           ELSE nullif(concat_ws('; ',
             CASE WHEN GRUP THEN 'grade ' || REFGR || ' -> ' || AETOXGR END,
             CASE WHEN SERUP THEN 'became serious' END,
             CASE WHEN OUTCHG THEN 'outcome ' || array_to_string(REFOUT, ' / ') || ' -> ' || AEOUT END),
             '') END AS CHANGEDESC,
      concat_ws('; ', CASE WHEN AESDTH = 'Y' THEN 'death' END,
                CASE WHEN AESLIFE = 'Y' THEN 'life-threatening' END,
                CASE WHEN AESHOSP = 'Y' THEN 'hospitalisation' END,
                CASE WHEN AESDISAB = 'Y' THEN 'disability' END,
                CASE WHEN AESCONG = 'Y' THEN 'congenital anomaly' END,
                CASE WHEN AESMIE = 'Y' THEN 'medically important' END) AS SERCRIT
    FROM a)
"""
AE_LISTING_COLUMNS = ("USUBJID, SITEID, AESEQ, AETERM, AEDECOD, AEBODSYS, AESTDTC, AEENDTC, ASTDT, "
                      "ASTDTF, AENDT, ASTDY, AETOXGR, AESER, SERCRIT, AESDTH, AESLIFE, AESHOSP, "
                      "AESDISAB, AESCONG, AESMIE, AEREL, RELFL, TRTEMFL, AESIFL, AESICAT, AEACN, "
                      "AEOUT, CHANGE, CHANGEDESC")


@readable_by(*access.SAFETY)
def adverse_events(sites: Sites = None, usubjid: str | None = None, *, reference: str | None = None,
                   serious_only: bool = False) -> pl.DataFrame:
    """The AE listing (ADAE): every event, with SERCRIT (the seriousness criteria that apply:
    death, life-threatening, hospitalisation, disability, congenital anomaly, medically important)
    and, against the snapshot of the load ``reference`` (a RUN_ID; None: no comparison, the change
    columns are null), CHANGE 'NEW' (not in the reference) / 'CHANGED' (grade rose, became
    serious, or outcome changed) / null, and CHANGEDESC saying what changed.
    ``serious_only``: the serious AE listing (AESER = 'Y')."""
    return _q(_AE_WITH_CHANGES + f"SELECT {AE_LISTING_COLUMNS} FROM c WHERE {{site}} "
              "AND ($u IS NULL OR USUBJID = $u) AND (NOT $ser OR AESER = 'Y') "
              "ORDER BY ASTDT, USUBJID, AESEQ", sites, u=usubjid, ref=reference, ser=serious_only)


@readable_by(*access.SAFETY)
def ae_changes(reference: str, sites: Sites = None) -> pl.DataFrame:
    """The events new or changed since the snapshot of the load ``reference`` (a RUN_ID): the rows
    of :func:`adverse_events` whose CHANGE is set, new ones first."""
    return _q(_AE_WITH_CHANGES + f"SELECT {AE_LISTING_COLUMNS} FROM c WHERE {{site}} "
              "AND CHANGE IS NOT NULL ORDER BY CHANGE DESC, ASTDT, USUBJID, AESEQ",
              sites, ref=reference)


@readable_by(*access.SAFETY)
def ae_change_counts(reference: str | None, sites: Sites = None) -> dict:
    """Counts since the snapshot of the load ``reference`` (a RUN_ID): ``new`` and ``changed``
    events, ``serious`` (serious now, and new or not serious in the reference) and ``aesi`` (an
    AESI now, and new or not an AESI in the reference). ``reference`` None: compared with nothing
    (no packet, no earlier load), every event counts as new."""
    return _scalar_row(_q(_AE_WITH_CHANGES +
        "SELECT count(*) FILTER (ISNEW) AS new, count(*) FILTER (CHANGE = 'CHANGED') AS changed, "
        "count(*) FILTER (AESER = 'Y' AND (ISNEW OR SERUP)) AS serious, "
        "count(*) FILTER (AESIFL = 'Y' AND (ISNEW OR NOT coalesce(REFAESI, false))) AS aesi "
        "FROM c WHERE {site}", sites, ref=reference))


# R-AE overview of treatment-emergent AEs: (row label, condition on ADAE), in the committee's order.
AE_OVERVIEW_ROWS = (
    ("Any TEAE", "true"),
    ("Related TEAE", "RELFL = 'Y'"),
    ("Serious TEAE", "AESER = 'Y'"),
    ("TEAE of grade 3 or higher", "AETOXGR >= 3"),
    ("TEAE leading to anifrolumab withdrawn", "AEACN = 'DRUG WITHDRAWN'"),
    ("TEAE leading to interruption", "AEACN = 'DRUG INTERRUPTED'"),
    ("Fatal TEAE", "(AEOUT = 'FATAL' OR AESDTH = 'Y')"),
    ("Any AESI (treatment-emergent)", "AESIFL = 'Y'"),
)


@readable_by(*access.SAFETY)
def fas_count(sites: Sites = None) -> int:
    """N of the committee's tables: FAS subjects (R-ENDPOINT: enrolled with at least one infusion)."""
    return _scalar_row(_q("SELECT count(*) AS n FROM adam.adsl WHERE FASFL = 'Y' AND {site}",
                          sites)).get("n", 0)


@readable_by(*access.SAFETY)
def ae_overview(sites: Sites = None) -> pl.DataFrame:
    """R-AE overview of treatment-emergent AEs: one row per AE_OVERVIEW_ROWS entry with
    ``subjects`` (with at least one such TEAE), ``events`` and ``N`` (FAS)."""
    parts = [f"SELECT {i} AS ord, '{label}' AS category, count(DISTINCT USUBJID) FILTER ({cond}) "
             f"AS subjects, count(*) FILTER ({cond}) AS events FROM t"
             for i, (label, cond) in enumerate(AE_OVERVIEW_ROWS)]
    return _q("WITH t AS (SELECT * FROM adam.adae WHERE TRTEMFL = 'Y' AND {site}), "
              "n AS (SELECT count(*) AS N FROM adam.adsl WHERE FASFL = 'Y' AND {site}) "
              "SELECT category, subjects, events, (SELECT N FROM n) AS N FROM ("
              + " UNION ALL ".join(parts) + ") ORDER BY ord", sites)


def _worst_grade_sql(groups: list[str]) -> str:
    """Subjects counted once per group (e.g. SOC, or SOC and PT) at their worst grade (R-AE):
    subjects, "grade 1" ... "grade 5". Reads the CTE ``t`` (treatment-emergent events)."""
    g = ", ".join(groups)
    return (f"SELECT {g}, count(*) AS subjects, "
            + ", ".join(f"count(*) FILTER (grade = {k}) AS \"grade {k}\"" for k in range(1, 6))
            + f" FROM (SELECT {g}, USUBJID, max(AETOXGR) AS grade FROM t GROUP BY ALL) GROUP BY ALL")


@readable_by(*access.SAFETY)
def ae_incidence(level: str, sites: Sites = None, teae_only: bool = True) -> pl.DataFrame:
    """Subjects with at least one event per SOC (level 'AEBODSYS') or PT ('AEDECOD'), each subject
    counted once at its worst grade (R-AE); one column per worst grade and the total."""
    if level not in ("AEBODSYS", "AEDECOD"):
        raise ValueError(level)
    return _q("WITH t AS (SELECT *, " + level + " AS term FROM adam.adae WHERE {site} "
              "AND (NOT $teae OR TRTEMFL = 'Y')) "
              + _worst_grade_sql(["term"]) + " ORDER BY subjects DESC, term", sites, teae=teae_only)


@readable_by(*access.SAFETY)
def ae_incidence_soc_pt(sites: Sites = None) -> pl.DataFrame:
    """The committee's incidence table of treatment-emergent AEs (R-AE): a first row for any TEAE
    (SOC 'Any TEAE', PT null), then each SOC (PT null) followed by its PTs; subjects counted once
    per row at their worst grade; ``N`` the FAS. SOCs by subjects descending, PTs likewise."""
    return _q(
        "WITH t AS (SELECT *, 'Any TEAE' AS ANYTEAE FROM adam.adae WHERE TRTEMFL = 'Y' AND {site}), "
        "n AS (SELECT count(*) AS N FROM adam.adsl WHERE FASFL = 'Y' AND {site}), "
        "anyrow AS (" + _worst_grade_sql(["ANYTEAE"]) + "), "
        "soc AS (" + _worst_grade_sql(["AEBODSYS"]) + "), "
        "pt AS (" + _worst_grade_sql(["AEBODSYS", "AEDECOD"]) + "), "
        "r AS (SELECT 0 AS lvl, ANYTEAE AS SOC, NULL AS PT, * EXCLUDE (ANYTEAE), 1e9 AS socn FROM anyrow "
        "  UNION ALL SELECT 1, AEBODSYS, NULL, * EXCLUDE (AEBODSYS), subjects FROM soc "
        "  UNION ALL SELECT 2, pt.AEBODSYS, pt.AEDECOD, pt.* EXCLUDE (AEBODSYS, AEDECOD), soc.subjects "
        "    FROM pt JOIN soc USING (AEBODSYS)) "
        "SELECT SOC, PT, subjects, \"grade 1\", \"grade 2\", \"grade 3\", \"grade 4\", \"grade 5\", "
        "(SELECT N FROM n) AS N FROM r "
        "ORDER BY socn DESC, SOC, lvl, subjects DESC, PT", sites)


@readable_by(*access.SAFETY)
def aesi_totals(sites: Sites = None) -> dict:
    """R-AE: distinct treatment-emergent AESI events, and distinct subjects with any, each counted
    once although an event can be in several categories (the rows of :func:`aesi_rates`)."""
    return _scalar_row(_q("SELECT count(*) AS events, count(DISTINCT USUBJID) AS subjects "
                          "FROM adam.adae WHERE AESIFL = 'Y' AND TRTEMFL = 'Y' AND {site}", sites))


@readable_by(*access.SAFETY)
def ae_subject_count(sites: Sites = None) -> int:
    return _scalar_row(_q("SELECT count(DISTINCT USUBJID) AS n FROM adam.adae "
                          "WHERE TRTEMFL = 'Y' AND {site}", sites)).get("n", 0)


@readable_by(*access.SAFETY)
def deaths(sites: Sites = None) -> pl.DataFrame:
    """Every death, one row per subject: from ADAE (a fatal event: AEOUT FATAL or AESDTH Y) and from
    disposition (ADSL.DTHFL, ds.csv DSDECOD DEATH). Empty when nobody died."""
    return _q(
        "WITH ae AS (SELECT USUBJID, any_value(SITEID) AS SITEID, "
        "  string_agg(AEDECOD || ' (' || coalesce(AETERM, '') || ')', '; ' ORDER BY ASTDT) AS FATALAE, "
        "  min(ASTDT) AS AEONSET, min(ASTDY) AS AEONSETDY FROM adam.adae "
        "  WHERE (AEOUT = 'FATAL' OR AESDTH = 'Y') AND {site} GROUP BY USUBJID), "
        "ds AS (SELECT USUBJID, SITEID, DTHDT FROM adam.adsl WHERE DTHFL = 'Y' AND {site}) "
        "SELECT coalesce(ae.USUBJID, ds.USUBJID) AS USUBJID, coalesce(ae.SITEID, ds.SITEID) AS SITEID, "
        "ds.DTHDT, ae.FATALAE, ae.AEONSET, ae.AEONSETDY, "
        "concat_ws(' and ', CASE WHEN ae.USUBJID IS NOT NULL THEN 'adverse event' END, "
        "          CASE WHEN ds.USUBJID IS NOT NULL THEN 'disposition' END) AS SOURCE "
        "FROM ae FULL JOIN ds USING (USUBJID) ORDER BY 1", sites)


# ---- exposure and exposure-adjusted rates (R-AE) ---------------------------------------------

@readable_by(*access.SAFETY)
def exposure(sites: Sites = None) -> pl.DataFrame:
    """Per FAS subject, as ADSL derived it (R-AE): infusions given, first and last infusion, end
    of exposure (last + 27 days, cut at the end of observation), days and patient-years."""
    return _q("SELECT USUBJID, SITEID, NINFUS, TRTSDT, TRTEDT, EXPENDT, OBSENDT, TRTDURD, TRTDURY "
              "FROM adam.adsl WHERE FASFL = 'Y' AND {site} ORDER BY USUBJID", sites)


@readable_by(*access.SAFETY)
def exposure_summary(sites: Sites = None) -> dict:
    """subjects, infusions (total, and per subject min / median / max), days (total, and per
    subject min / median / max) and patient-years (total days / 365.25) over the FAS."""
    return _scalar_row(_q(
        "SELECT count(*) AS subjects, sum(NINFUS)::BIGINT AS infusions, min(NINFUS) AS infusions_min, "
        "median(NINFUS) AS infusions_median, max(NINFUS) AS infusions_max, sum(TRTDURD)::BIGINT AS days, "
        "min(TRTDURD) AS days_min, median(TRTDURD) AS days_median, max(TRTDURD) AS days_max, "
        "sum(TRTDURD) / 365.25 AS patient_years FROM adam.adsl WHERE FASFL = 'Y' AND {site}", sites))


@readable_by(*access.SAFETY)
def aesi_rates(sites: Sites = None) -> pl.DataFrame:
    """Each AESI category (and ANY AESI) with its crude count and exposure-adjusted incidence rate
    (R-AE), from ADTTE: ``subjects`` with a treatment-emergent event of the category, ``events``
    (its treatment-emergent events), ``N`` (FAS subjects with an exposure), ``days_at_risk`` (sum
    of AVAL), ``py_at_risk`` (days / 365.25) and ``rate_per_100py`` (subjects / py_at_risk x 100)."""
    from etl.derive.ae import AESI_CATEGORIES   # the categories' order (a constant, no I/O)
    order = [*AESI_CATEGORIES, "ANY AESI"]
    return _q(
        "WITH e AS (SELECT PARAMCD, count(*) FILTER (CNSR = 0) AS subjects, count(*) AS N, "
        "  sum(AVAL)::BIGINT AS days_at_risk FROM adam.adtte_aesi WHERE {site} GROUP BY PARAMCD), "
        "ev AS (SELECT p.PARAMCD, count(a.USUBJID) AS events FROM (SELECT unnest($order) AS PARAMCD) p "
        "  LEFT JOIN adam.adae a ON a.TRTEMFL = 'Y' AND a.AESIFL = 'Y' AND {site} AND "
        "  (p.PARAMCD = 'ANY AESI' OR list_contains(string_split(a.AESICAT, '; '), p.PARAMCD)) "
        "  GROUP BY p.PARAMCD) "
        "SELECT ev.PARAMCD AS category, coalesce(e.subjects, 0) AS subjects, ev.events, "
        "coalesce(e.N, 0) AS N, coalesce(e.days_at_risk, 0) AS days_at_risk, "
        "coalesce(e.days_at_risk, 0) / 365.25 AS py_at_risk, "
        "CASE WHEN e.days_at_risk > 0 THEN 100.0 * e.subjects / (e.days_at_risk / 365.25) END "
        "AS rate_per_100py FROM ev LEFT JOIN e USING (PARAMCD) "
        "ORDER BY list_position($order, ev.PARAMCD)", sites, order=order)


@readable_by(*access.SAFETY)
def infusions(sites: Sites = None, usubjid: str | None = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, EXSEQ, AVISIT, AVISITN, ADT, ADY, ASTDTM, AENDTM, EXDOSE, "
              "DURMIN, OOWFL, MISSFL, DOSEDVFL FROM adam.adex "
              "WHERE {site} AND ($u IS NULL OR USUBJID = $u) ORDER BY USUBJID, VISITNUM",
              sites, u=usubjid)


@readable_by(*access.SAFETY)
def labs(usubjid: str) -> pl.DataFrame:
    """One subject's ADLB records, with R-LAB's ratio to the ULN, the grade of the direction the
    test is graded for (ATOXGR, :data:`_GRADE`), the baseline flag and the post-baseline flag."""
    return _q("SELECT USUBJID, PARAMCD, PARAM, AVISIT, ADT, ADY, AVAL, AVALU, ANRLO, ANRHI, ANRIND, "
              f"BASE, CHG, R2A1HI, {_GRADE} AS ATOXGR, ABLFL, POSTBLFL FROM adam.adlb "
              "WHERE USUBJID = $u ORDER BY PARAMCD, ADT", u=usubjid)


# ---- run log (live record, beside the warehouse; read even when no warehouse exists) ----------

def _run_log_version(folder: Path) -> tuple:
    return tuple(sorted((p.parent.name, p.stat().st_mtime_ns) for p in folder.glob("*/run.json")
                        if not p.parent.name.startswith(".")))


@st.cache_data(show_spinner=False, max_entries=16)
def _read_run_log(folder: str, ver: tuple) -> list[dict]:
    from etl.runlog import REPORT_FILE, list_runs  # the run log's own reader (no GX)
    runs = [r | {"_report": str(Path(folder) / r["run_id"] / REPORT_FILE)}
            for r in list_runs(Path(folder))]
    return sorted(runs, key=lambda r: str(r.get("started_at") or ""), reverse=True)


@readable_by(*access.DATA_QUALITY)
def run_log() -> list[dict]:
    """Every run.json of the run log, newest first (``_report``: path of its report.html)."""
    folder = runs_dir(warehouse_path())
    return _read_run_log(str(folder), _run_log_version(folder))


@readable_by(*access.DATA_QUALITY)
def run_history() -> pl.DataFrame:
    """One row per run: who, when (started / finished in the trial's zone, labelled with it:
    warehouse/times.py), outcome, files, problems, report path."""
    rows = [{
        "run_id": r.get("run_id"), "command": r.get("command"),
        "started_at": local_time(r.get("started_at")) or None,
        "finished_at": local_time(r.get("finished_at")) or None,
        "user": r.get("user"), "host": r.get("host"),
        "outcome": r.get("outcome"),
        "files": sum(len(e.get("files") or []) for e in r.get("exports") or []),
        "exports": ", ".join(str(e.get("source") or e.get("export") or e.get("siteid") or "")
                             for e in r.get("exports") or []),
        "problems": len(r.get("problems") or []), "report": r["_report"],
    } for r in run_log()]
    schema = {"run_id": pl.String, "command": pl.String, "started_at": pl.String,
              "finished_at": pl.String, "user": pl.String, "host": pl.String,
              "outcome": pl.String, "files": pl.Int64, "exports": pl.String,
              "problems": pl.Int64, "report": pl.String}
    return pl.DataFrame(rows, schema=schema)


@readable_by(*access.DATA_QUALITY)
def latest_refused_run() -> tuple[dict | None, pl.DataFrame]:
    """The newest run with outcome 'refused' and its problems (export, file, row, column, value,
    rule, message)."""
    cols = ["export", "file", "row", "column", "value", "rule", "message"]
    for r in run_log():
        if r.get("outcome") == "refused":
            probs = [{c: (None if p.get(c) is None else str(p.get(c))) for c in cols}
                     for p in r.get("problems") or []]
            return r, pl.DataFrame(probs, schema={c: pl.String for c in cols})
    return None, pl.DataFrame(schema={c: pl.String for c in cols})


# ---- access log (auth's file, apart from the warehouse) -------------------------------------

@readable_by(*access.DATA_QUALITY)
def access_log(limit: int = 500) -> tuple[pl.DataFrame, int]:
    """The newest ``limit`` access-log entries, newest first (at, event, user, page, source;
    names that are no account's masked), and how many malformed lines were skipped."""
    import auth

    rows, malformed = auth.access_log_for_display(limit)
    schema = {c: pl.String for c in ("at", "event", "user", "page", "source")}
    return pl.DataFrame(rows, schema=schema), malformed



# ---- laboratory safety (R-LAB) -------------------------------------------------------------
# The grades, the baseline, the post-baseline window, the worst grade and Hy's law are ADLB's and
# adam.edish's (etl/derive/labs.py); here they are only counted. No test is graded in both
# directions, so the grade of a record is the one of its test's direction: ATOXGR below.

_GRADE = "coalesce(ATOXGRL, ATOXGRH)"
DIRECTION = {"L": "decreased", "H": "increased"}
GRADES = (0, 1, 2, 3, 4)


@readable_by(*access.SAFETY)
def lab_grade_criteria() -> pl.DataFrame:
    """R-LAB's CTCAE v5.0 table as text, one row per graded test (etl.contract.CTCAE_GRADES, the
    table the ETL grades with): PARAMCD, direction, 'grade 1' .. 'grade 4' ('–' where the grade
    does not exist, e.g. HGB grade 4)."""
    rows = []
    for code, (d, _scale, bounds) in CTCAE_GRADES.items():
        row = {"PARAMCD": code, "direction": DIRECTION[d]}
        for g in range(1, 5):
            lo, hi = bounds[g - 1], bounds[g] if g < 4 else None
            if lo is None and g > 1:
                text = "–"
            elif d == "H":
                a = "ULN" if lo == 1.0 else f"{_num(lo)}×ULN"
                text = f"> {a} – {_num(hi)}×ULN" if hi is not None else f"> {a}"
            else:
                a = "LLN" if lo is None else _num(lo)
                text = f"< {a} – {_num(hi)}" if hi is not None else f"< {a}"
            row[f"grade {g}"] = text
        rows.append(row)
    return pl.DataFrame(rows)


def _num(x: float) -> str:
    """As R-LAB writes its bounds: '3.0', '0.5', '20.0', but platelets' '75'."""
    return f"{x:g}" if x >= 25 else f"{x:.1f}"


@readable_by(*access.SAFETY)
def hy_law_multiples() -> dict:
    """R-LAB's potential Hy's law multiples of the ULN (the eDISH reference lines), the eDISH
    quadrant names in order upper right, upper left, lower right, lower left, and the tests that
    have a ratio to the ULN."""
    return {"aminotransferase": HY_LAW_AMINOTRANSFERASE_X_ULN, "bilirubin": HY_LAW_BILIRUBIN_X_ULN,
            "quadrants": EDISH_QUADRANTS, "ratio_tests": R2A1HI_TESTS}


@readable_by(*access.SAFETY)
def lab_tests(sites: Sites = None) -> pl.DataFrame:
    """The tests in ADLB: PARAMCD, PARAM, AVALU, GRADED (the R-LAB table grades it); graded tests
    first in the table's order, then the others by code."""
    order = {c: i for i, c in enumerate(CTCAE_GRADES)}
    df = _q("SELECT PARAMCD, any_value(PARAM) AS PARAM, any_value(AVALU) AS AVALU FROM adam.adlb "
            "WHERE {site} GROUP BY PARAMCD", sites)
    return (df.with_columns(GRADED=pl.col("PARAMCD").is_in(list(CTCAE_GRADES)),
                            _o=pl.col("PARAMCD").replace_strict(order, default=len(order),
                                                                return_dtype=pl.Int32))
            .sort("_o", "PARAMCD").drop("_o"))


def _worst(sites: Sites) -> pl.DataFrame:
    """One row per subject, graded test and direction: the worst post-baseline grade (the WGRLOFL /
    WGRHIFL record) and the baseline grade (BTOXGRL / BTOXGRH), with N per test: subjects with a
    post-baseline value of that test (R-LAB's denominator)."""
    return _q(
        "WITH n AS (SELECT PARAMCD, count(DISTINCT USUBJID) AS N FROM adam.adlb "
        "  WHERE POSTBLFL = 'Y' AND AVAL IS NOT NULL AND {site} GROUP BY PARAMCD), "
        "w AS (SELECT USUBJID, PARAMCD, 'decreased' AS direction, ATOXGRL AS WORST, BTOXGRL AS BASEGR "
        "  FROM adam.adlb WHERE WGRLOFL = 'Y' AND {site} "
        "  UNION ALL SELECT USUBJID, PARAMCD, 'increased', ATOXGRH, BTOXGRH "
        "  FROM adam.adlb WHERE WGRHIFL = 'Y' AND {site}) "
        "SELECT w.*, n.N FROM w JOIN n USING (PARAMCD) ORDER BY PARAMCD, USUBJID", sites)


def _graded_order(df: pl.DataFrame) -> pl.DataFrame:
    order = {c: i for i, c in enumerate(CTCAE_GRADES)}
    return df.with_columns(_o=pl.col("PARAMCD").replace_strict(order, default=len(order),
                                                               return_dtype=pl.Int32))


@readable_by(*access.SAFETY)
def lab_worst_grade_counts(sites: Sites = None) -> pl.DataFrame:
    """R-LAB worst post-baseline grade by test, long: PARAMCD, direction, grade (0-4; only the
    grades the table has for the test), n (subjects whose worst grade it is), N (subjects with a
    post-baseline value of the test). Every grade has a row, 0 included."""
    w = _worst(sites)
    counts = w.group_by("PARAMCD", "direction", "WORST").agg(n=pl.len())
    rows = []
    for code, (d, _scale, bounds) in CTCAE_GRADES.items():
        sub = w.filter(pl.col("PARAMCD") == code)
        if not sub.height:
            continue
        top = max(g for g in range(1, 5) if g == 1 or bounds[g - 1] is not None)
        for g in range(0, top + 1):
            hit = counts.filter((pl.col("PARAMCD") == code) & (pl.col("WORST") == g))
            rows.append({"PARAMCD": code, "direction": DIRECTION[d], "grade": g,
                         "n": int(hit["n"].sum()), "N": int(sub["N"][0])})
    return pl.DataFrame(rows, schema={"PARAMCD": pl.String, "direction": pl.String,
                                      "grade": pl.Int64, "n": pl.Int64, "N": pl.Int64})


@readable_by(*access.SAFETY)
def lab_worst_grades(sites: Sites = None) -> pl.DataFrame:
    """R-LAB worst post-baseline grade by test, one row per graded test with a post-baseline value:
    PARAMCD, direction, N, 'grade 0' .. 'grade 4' as 'n (% of N)' ('–' for a grade the table does
    not have), 'grade ≥ 3' likewise, and n3 (the number of subjects at grade 3 or 4)."""
    long = lab_worst_grade_counts(sites)
    rows = []
    for (code, direction), g in long.group_by("PARAMCD", "direction", maintain_order=True):
        N = int(g["N"][0])
        row = {"PARAMCD": code, "direction": direction, "N": N}
        for grade in GRADES:
            hit = g.filter(pl.col("grade") == grade)
            row[f"grade {grade}"] = tables.n_pct(int(hit["n"][0]), N) if hit.height else "–"
        n3 = int(g.filter(pl.col("grade") >= 3)["n"].sum())
        row["grade ≥ 3"], row["n3"] = tables.n_pct(n3, N), n3
        rows.append(row)
    schema = {"PARAMCD": pl.String, "direction": pl.String, "N": pl.Int64,
              **{f"grade {g}": pl.String for g in GRADES}, "grade ≥ 3": pl.String, "n3": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


@readable_by(*access.SAFETY)
def lab_shift(sites: Sites = None) -> pl.DataFrame:
    """R-LAB shift table: subjects by baseline grade -> worst post-baseline grade, per graded test:
    PARAMCD, direction, 'baseline grade' ('0'..'4', or 'missing' without a baseline value),
    'worst 0' .. 'worst 4' (subjects), total. Only combinations of the test's subjects."""
    w = _graded_order(_worst(sites)).with_columns(
        pl.col("BASEGR").cast(pl.String).fill_null("missing").alias("baseline grade"))
    if not w.height:
        return pl.DataFrame(schema={"PARAMCD": pl.String, "direction": pl.String,
                                    "baseline grade": pl.String,
                                    **{f"worst {g}": pl.Int64 for g in GRADES}, "total": pl.Int64})
    return (w.group_by("_o", "PARAMCD", "direction", "baseline grade")
            .agg(*[(pl.col("WORST") == g).sum().cast(pl.Int64).alias(f"worst {g}") for g in GRADES],
                 total=pl.len().cast(pl.Int64))
            .sort("_o", "baseline grade").drop("_o"))


@readable_by(*access.SAFETY)
def lab_values(paramcd: str, sites: Sites = None) -> pl.DataFrame:
    """One test's values of dosed subjects over study day (R-DAY), for the values-over-time chart:
    USUBJID, SITEID, AVISIT, ADT, ADY, AVAL, AVALU, ANRLO, ANRHI, R2A1HI, ATOXGR, ABLFL,
    POSTBLFL."""
    return _q("SELECT USUBJID, SITEID, AVISIT, ADT, ADY, AVAL, AVALU, ANRLO, ANRHI, R2A1HI, "
              f"{_GRADE} AS ATOXGR, ABLFL, POSTBLFL FROM adam.adlb "
              "WHERE PARAMCD = $p AND ADY IS NOT NULL AND AVAL IS NOT NULL AND {site} "
              "ORDER BY USUBJID, ADT", sites, p=paramcd)


_FAS_SUBJECTS = "USUBJID IN (SELECT USUBJID FROM adam.adsl WHERE FASFL = 'Y')"


@readable_by(*access.SAFETY)
def lab_grade3_listing(sites: Sites = None) -> pl.DataFrame:
    """R-LAB: every value of grade 3 or 4 of a FAS subject, baseline and screening included (the
    POSTBLFL column tells them apart), in date order."""
    return _q("SELECT USUBJID, SITEID, PARAMCD, PARAM, AVISIT, ADT, ADY, AVAL, AVALU, ANRLO, ANRHI, "
              f"R2A1HI, {_GRADE} AS ATOXGR, ABLFL, POSTBLFL FROM adam.adlb "
              f"WHERE {_GRADE} >= 3 AND {{site}} AND {_FAS_SUBJECTS} ORDER BY ADT, USUBJID, PARAMCD",
              sites)



@readable_by(*access.SAFETY)
def edish_points(sites: Sites = None) -> pl.DataFrame:
    """R-LAB eDISH, one point per FAS subject with both post-baseline peaks: USUBJID, SITEID,
    AMTPKULN (peak ALT or AST x ULN), AMTPKCD, BILPKULN (peak BILI x ULN), EDISHQ, HYLAWFL."""
    return _q("SELECT USUBJID, SITEID, AMTPKULN, AMTPKCD, BILPKULN, EDISHQ, HYLAWFL FROM adam.edish "
              "WHERE AMTPKULN IS NOT NULL AND BILPKULN IS NOT NULL AND {site} ORDER BY USUBJID", sites)


@readable_by(*access.SAFETY)
def edish_quadrant_counts(sites: Sites = None) -> pl.DataFrame:
    """Subjects per eDISH quadrant (every quadrant, 0 included), with N = subjects plotted."""
    pts = edish_points(sites)
    return pl.DataFrame({"quadrant": list(EDISH_QUADRANTS),
                         "subjects": [int((pts["EDISHQ"] == q).sum()) for q in EDISH_QUADRANTS],
                         "N": [pts.height] * len(EDISH_QUADRANTS)})


@readable_by(*access.SAFETY)
def hys_law_cases(sites: Sites = None) -> pl.DataFrame:
    """R-LAB potential Hy's law: the FAS subjects with ALT or AST > 3 x ULN and BILI > 2 x ULN on
    one post-baseline date (ADSL.HYLAWFL 'Y'), with their first such date and its ratios."""
    return _q("SELECT USUBJID, SITEID, HYLAWDT, HYLAWDY, HYAMTULN, HYBILULN, AMTPKULN, BILPKULN "
              "FROM adam.edish WHERE HYLAWFL = 'Y' AND {site} ORDER BY USUBJID", sites)


# ---- committee packets and the references of "new and changed" ---------------------------------

PACKET_MANIFEST = "manifest.json"
PACKET_PDF = "packet.pdf"


def _packets_version(folder: Path) -> tuple:
    return tuple(sorted((p.parent.name, p.stat().st_mtime_ns) for p in folder.glob(f"*/{PACKET_MANIFEST}")
                        if not p.parent.name.startswith(".")))


@st.cache_data(show_spinner=False, max_entries=16)
def _read_packets(folder: str, ver: tuple) -> list[dict]:
    import json
    out = []
    for name, _ in ver:
        d = Path(folder) / name
        try:
            manifest = json.loads((d / PACKET_MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        out.append(manifest | {"_pdf": str(d / PACKET_PDF)})
    return sorted(out, key=lambda m: (str(m.get("created_at") or ""), m.get("packet_id", "")),
                  reverse=True)


@readable_by(*access.SAFETY)
def packets() -> list[dict]:
    """Every committee packet of this warehouse (its manifest.json, plus ``_pdf``: the PDF's
    path), newest first. Read from the packets folder beside the run log, like the run log."""
    folder = packets_dir(warehouse_path())
    return _read_packets(str(folder), _packets_version(folder))


@readable_by(*access.SAFETY)
def ae_references() -> list[dict]:
    """What the committee can compare the current AEs with: each packet whose load this warehouse
    still keeps a snapshot of (newest first), then each accepted load before the current one
    (newest first). Each entry: ``key`` ('packet:<id>' / 'load:<run id>'), ``kind``, ``run_id``
    (the snapshot compared with), ``label``."""
    loads = load_snapshots()
    cuts = dict(zip(loads["RUN_ID"], loads["CUTS"]))
    current = current_run()
    refs = [{"key": f"packet:{m['packet_id']}", "kind": "packet", "run_id": m["run_id"],
             "label": f"committee packet {m['packet_id']} (issued "
                      f"{local_time(m.get('created_at'))}; data cuts {cuts[m['run_id']]})"}
            for m in packets() if m.get("run_id") in cuts]
    refs += [{"key": f"load:{r['RUN_ID']}", "kind": "load", "run_id": r["RUN_ID"],
              "label": f"accepted load {r['RUN_ID']} (loaded {local_time(r['LOADED_AT'])}; "
                       f"data cuts {r['CUTS']})"}
             for r in loads.iter_rows(named=True) if r["RUN_ID"] != current]
    return refs


@readable_by(*access.SAFETY)
def default_reference(refs: list[dict]) -> dict | None:
    """The reference shown unless the reader chooses another: the last committee packet once one
    exists, else the accepted load before the current one; None when there is neither (a
    warehouse loaded once: nothing to compare with)."""
    return next((r for r in refs if r["kind"] == "packet"), None) or (refs[0] if refs else None)


# ---- deliveries: which one is live, which were refused, what each changed (issue 13) ----------
# Accepted deliveries and their changes are in the warehouse (audit.deliveries, audit.changes,
# written by etl/deliveries.py); refused ones only in the run log. Times are shown in the trial's
# zone (warehouse/times.py), labelled with it.

def _audit_q(sql: str, schema: dict, **params) -> pl.DataFrame:
    """A read of an audit table that a warehouse built before issue 13 lacks: empty, not an error."""
    if not warehouse_exists():
        return pl.DataFrame(schema=schema)
    try:
        return _q(sql, **params)
    except duckdb.CatalogException:
        return pl.DataFrame(schema=schema)


def _site_refusals(records: list[dict]) -> list[dict]:
    """Every site export a run refused, oldest first, from run records (any order): site, data
    cut, run, when, by whom, its problems, and the later accepted load of that site that resolved
    it (None while open). An export counts as refused when a problem names it; a refused run's
    export without a site (unreadable) is kept with site None."""
    ordered = sorted(records, key=lambda r: str(r.get("run_id") or ""))
    out = []
    for i, r in enumerate(ordered):
        if r.get("outcome") != "refused":
            continue
        bad = {p.get("export") for p in r.get("problems") or []}
        for e in r.get("exports") or []:
            if Path(str(e.get("source") or "")).name not in bad:
                continue
            site = e.get("siteid")
            later = next((x for x in ordered[i + 1:] if x.get("outcome") == "loaded" and site
                          and site in {y.get("siteid") for y in x.get("exports") or []}), None)
            out.append({"site": site, "data_cut": e.get("data_cut"), "run_id": r.get("run_id"),
                        "command": r.get("command"), "started_at": r.get("started_at"),
                        "user": r.get("user"), "host": r.get("host"),
                        "problems": sum(1 for p in r.get("problems") or []
                                        if p.get("export") == Path(str(e.get("source"))).name),
                        "resolved_by": later.get("run_id") if later else None,
                        "resolved_at": later.get("started_at") if later else None})
    return out


def _all_runs() -> list[dict]:
    folder = runs_dir(warehouse_path())
    return _read_run_log(str(folder), _run_log_version(folder))


@readable_by(*access.DATA_QUALITY)
def refused_deliveries() -> pl.DataFrame:
    """Every refused site export, newest first, with its status: 'open', or 'resolved' by the
    later accepted load of that site (run id and time)."""
    rows = [{"site": r["site"], "data_cut": r["data_cut"], "run_id": r["run_id"],
             "command": r["command"], "refused_at": local_time(r["started_at"]), "user": r["user"],
             "host": r["host"], "problems": r["problems"],
             "status": "resolved" if r["resolved_by"] else "open",
             "resolved_by": r["resolved_by"], "resolved_at": local_time(r["resolved_at"]) or None}
            for r in reversed(_site_refusals(_all_runs()))]
    schema = {"site": pl.String, "data_cut": pl.String, "run_id": pl.String, "command": pl.String,
              "refused_at": pl.String, "user": pl.String, "host": pl.String, "problems": pl.Int64,
              "status": pl.String, "resolved_by": pl.String, "resolved_at": pl.String}
    return pl.DataFrame(rows, schema=schema)


def _open_refusals() -> dict[str, dict]:
    """Each site's newest refused export not resolved by a later accepted load."""
    open_: dict[str, dict] = {}
    for r in _site_refusals(_all_runs()):
        if r["site"] and not r["resolved_by"]:
            open_[r["site"]] = r
    return open_


def _live_deliveries() -> pl.DataFrame:
    schema = {"SITEID": pl.String, "DATACUT": pl.Date, "RUN_ID": pl.String,
              "LOADED_AT": pl.Datetime("us"), "LOADED_BY": pl.String, "HOSTNAME": pl.String}
    if not warehouse_exists():
        return pl.DataFrame(schema=schema)
    return _q("SELECT e.SITEID, e.DATACUT, e.RUN_ID, e.LOADED_AT, r.USERNAME AS LOADED_BY, "
              "r.HOSTNAME FROM sdtm.exports e LEFT JOIN audit.runs r ON r.RUN_ID = e.RUN_ID "
              "ORDER BY e.SITEID")


@readable_by(*access.DATA_QUALITY)
def delivery_status() -> pl.DataFrame:
    """One row per site: the live delivery (data cut, run, loaded at in the trial's zone, loaded
    by, host) and the newest refused delivery not yet replaced, if any (its data cut and run)."""
    live = {r["SITEID"]: r for r in _live_deliveries().iter_rows(named=True)}
    refused = _open_refusals()
    rows = []
    for site in sorted(set(live) | set(refused)):
        lv, rf = live.get(site, {}), refused.get(site, {})
        rows.append({"site": site,
                     "live_data_cut": lv["DATACUT"].isoformat() if lv.get("DATACUT") else None,
                     "live_run_id": lv.get("RUN_ID"), "loaded_at": local_time(lv.get("LOADED_AT")) or None,
                     "loaded_by": lv.get("LOADED_BY"), "host": lv.get("HOSTNAME"),
                     "refused_data_cut": rf.get("data_cut"), "refused_run_id": rf.get("run_id"),
                     "refused_at": local_time(rf.get("started_at")) or None})
    schema = {c: pl.String for c in ("site", "live_data_cut", "live_run_id", "loaded_at",
                                     "loaded_by", "host", "refused_data_cut", "refused_run_id",
                                     "refused_at")}
    return pl.DataFrame(rows, schema=schema)


@readable_by(*access.EVERY_ROLE)
def delivery_warnings() -> list[str]:
    """The header's line per site whose newest delivery is refused (site and data cuts only, so
    every role may read it): "site 02: delivery with data cut 2026-12-01 refused; showing
    2026-11-01"."""
    import re

    live = {r["SITEID"]: r["DATACUT"] for r in _live_deliveries().iter_rows(named=True)}
    out = []
    for site, r in sorted(_open_refusals().items()):
        # A refused export's site and cut are the site's text: only a plain id and an ISO date
        # reach the banner (it is drawn as Markdown).
        site = site if re.fullmatch(r"[0-9A-Za-z]{1,10}", site) else "?"
        cut = r.get("data_cut") or ""
        cut = cut if re.fullmatch(r"\d{4}-\d{2}-\d{2}", cut) else "unknown"
        shown = live.get(site)
        out.append(f"site {site}: delivery with data cut {cut} refused; "
                   + (f"showing {shown.isoformat()}" if shown else "no delivery of this site is loaded"))
    return out


DELIVERY_SCHEMA = {"RUN_ID": pl.String, "SITEID": pl.String, "DATACUT": pl.Date,
                   "LOADED_AT": pl.String, "LOADED_BY": pl.String, "HOSTNAME": pl.String,
                   "PREV_RUN_ID": pl.String, "PREV_DATACUT": pl.Date, "COMPARED": pl.String,
                   "N_ADDED": pl.Int32, "N_REMOVED": pl.Int32, "N_CHANGED": pl.Int32,
                   "N_RETRO": pl.Int32}


@readable_by(*access.DATA_QUALITY)
def deliveries() -> pl.DataFrame:
    """Every accepted delivery, newest first, with what it changed against the site's previous
    one (COMPARED 'N': the site's first delivery, nothing to compare); LOADED_AT in the trial's
    zone."""
    df = _audit_q("SELECT * FROM audit.deliveries ORDER BY LOADED_AT DESC, SITEID",
                  {**DELIVERY_SCHEMA, "LOADED_AT": pl.Datetime("us")})
    return df.with_columns(pl.col("LOADED_AT").map_elements(local_time, return_dtype=pl.String))


CHANGES_SCHEMA = {c: pl.String for c in ("RUN_ID", "SITEID", "PREV_RUN_ID", "DOMAIN", "USUBJID",
                                         "RECORD_KEY", "VISIT", "RECORD_DATE", "CHANGE",
                                         "COLUMN_NAME", "OLD_VALUE", "NEW_VALUE", "RETROFL",
                                         "CONTEXT")}


@readable_by(*access.DATA_QUALITY)
def delivery_changes(run_id: str | None = None, usubjid: str | None = None,
                     retro_only: bool = False) -> pl.DataFrame:
    """The changes of accepted deliveries (audit.changes), of one load (``run_id``) and/or one
    subject; ``retro_only``: only the retroactive ones (the data-integrity warnings)."""
    return _audit_q(
        "SELECT RUN_ID, SITEID, PREV_RUN_ID, DOMAIN, USUBJID, RECORD_KEY, VISIT, RECORD_DATE, "
        "CHANGE, COLUMN_NAME, OLD_VALUE, NEW_VALUE, RETROFL, CONTEXT FROM audit.changes "
        "WHERE ($run IS NULL OR RUN_ID = $run) AND ($u IS NULL OR USUBJID = $u) "
        "AND (NOT $retro OR RETROFL = 'Y') ORDER BY RUN_ID DESC, SITEID, DOMAIN, USUBJID, "
        "RECORD_KEY, CHANGE, COLUMN_NAME", CHANGES_SCHEMA, run=run_id, u=usubjid, retro=retro_only)

# ---- the PI's one-minute view (issue 14) -----------------------------------------------------

@readable_by(*access.EFFICACY)
def status_board(sites: Sites = None) -> pl.DataFrame:
    """The subject status board (adam.adstatus, etl/derive/status.py): one row per enrolled
    subject. "Today" is the site's data cut. PI only: it carries the week-12/24 LLDAS status."""
    board = _q(_STATUS_BOARD, sites)
    names = [None if f is None else "; ".join(labels.flag_name(c) for c in f.split("; "))
             for f in board["FLAGS"].to_list()]
    return board.with_columns(FLAGTX=pl.Series(names, dtype=pl.String).fill_null("none"))


# The board's cells in words (what the page shows; the CDISC columns stay for the download).
_STATUS_BOARD = """
SELECT *,
  CASE WHEN OBSREAS = 'not dosed' THEN 'not dosed'
       WHEN OBSREAS = 'data cut' THEN 'week ' || STUDYWK || ' (day ' || OBSENDY || ')'
       ELSE 'ended week ' || STUDYWK || ' (day ' || OBSENDY || '): ' || OBSREAS || ' ' || OBSENDT END AS WEEKTX,
  CASE WHEN NXTVIS IS NOT NULL THEN NXTVIS || ' on ' || NXTVISDT || ' (window ' || NXTWINLO || ' to ' || NXTWINHI || ')'
       WHEN OBSREAS = 'data cut' THEN 'none scheduled' ELSE '–' END
    || coalesce('; overdue: ' || OVRDVIS, '') AS NXTVISTX,
  CASE WHEN PSLCUR IS NULL THEN 'unknown' ELSE CAST(PSLCUR AS VARCHAR) || ' mg/day' END
    || ' (target ≤ ' || PSLTGT || ')' || CASE WHEN PSLABFL = 'Y' THEN ': above target' ELSE '' END AS PSLTX,
  CASE WHEN NSAE = 0 THEN 'none' ELSE SAETEXT END AS AETX
FROM adam.adstatus WHERE {site} ORDER BY USUBJID
"""


# Needs attention: (TOPIC, its order on the page, the SQL of its rows: USUBJID, SITEID, ADT, REASON).
# Each item is read from a derived table; the words say why the subject is listed.
_ATTENTION = """
WITH ae AS ({ae_with_changes} SELECT * FROM c),
pulses AS (
    SELECT USUBJID, SITEID, ADT, ADY, PSLDOSE, DRUGS,
           ADT - CAST(row_number() OVER (PARTITION BY USUBJID ORDER BY ADT) AS INTEGER) AS RUN
    FROM adam.adpsl WHERE PULSEFL = 'Y'),
items AS (
    SELECT 1 AS ORD, 'Serious or grade ≥ 3 AE' AS TOPIC, USUBJID, SITEID, ASTDT AS ADT,
           coalesce(AEDECOD, AETERM) || ' (grade ' || coalesce(CAST(AETOXGR AS VARCHAR), '?')
           || CASE WHEN AESER = 'Y' THEN ', serious' ELSE '' END
           || ', onset ' || coalesce(CAST(ASTDT AS VARCHAR), AESTDTC, '?')
           || coalesce(', day ' || ASTDY, '') || ')'
           || CASE WHEN CHANGE = 'NEW' THEN ': new since the reference'
                   WHEN CHANGE = 'CHANGED' THEN ': changed since the reference (' || CHANGEDESC || ')'
                   ELSE '' END AS REASON
    FROM ae WHERE AESER = 'Y' OR AETOXGR >= 3
    UNION ALL
    SELECT 2, 'Adverse event of special interest', USUBJID, SITEID, ASTDT,
           'AESI ' || lower(coalesce(AESICAT, '')) || ': ' || coalesce(AEDECOD, AETERM)
           || ' (grade ' || coalesce(CAST(AETOXGR AS VARCHAR), '?') || ', onset '
           || coalesce(CAST(ASTDT AS VARCHAR), AESTDTC, '?') || ')'
           || CASE WHEN CHANGE = 'NEW' THEN ': new since the reference' ELSE '' END
    FROM ae WHERE AESIFL = 'Y'
    UNION ALL
    SELECT 3, 'Glucocorticoid pulse', USUBJID, SITEID, min(ADT),
           'IV glucocorticoid pulse (≥ {pulse} mg PSL-eq): ' || count(*) || ' day'
           || CASE WHEN count(*) > 1 THEN 's' ELSE '' END || ' from ' || min(ADT) || ' (day '
           || min(ADY) || '), up to ' || max(PSLDOSE) || ' mg/day PSL-eq; ' || min(DRUGS)
    FROM pulses GROUP BY USUBJID, SITEID, RUN
    UNION ALL
    SELECT 4, 'Withdrawal or discontinuation', USUBJID, SITEID, EOSDT,
           'Discontinued the study on ' || EOSDT || coalesce(' (day ' || OBSENDY || ')', '')
           || coalesce(': ' || lower(DCSREAS), '')
    FROM adam.adsl WHERE EOSSTT = 'DISCONTINUED'
    UNION ALL
    SELECT 4, 'Withdrawal or discontinuation', USUBJID, SITEID, ASTDT,
           'Anifrolumab withdrawn for ' || coalesce(AEDECOD, AETERM) || ' (onset '
           || coalesce(CAST(ASTDT AS VARCHAR), AESTDTC, '?') || ')'
    FROM ae WHERE AEACN = 'DRUG WITHDRAWN'
    UNION ALL
    SELECT 5, 'Visit overdue', USUBJID, SITEID, DATACUT,
           'Overdue, no visit recorded: ' || OVRDVIS
    FROM adam.adstatus WHERE OVRDVIS IS NOT NULL
    UNION ALL
    SELECT 5, 'Visit due within {soon} days', USUBJID, SITEID, NXTVISDT,
           NXTVIS || ' due on ' || NXTVISDT || ' (window ' || NXTWINLO || ' to ' || NXTWINHI
           || '; data cut ' || DATACUT || ')'
    FROM adam.adstatus WHERE NXTWINLO <= DATACUT + {soon}
    UNION ALL
    SELECT 6, 'PSL above target at week 12', USUBJID, SITEID, ADT,
           'PSL above the {target} mg/day target on the week-12 date (' || ADT || '): ' || DETAIL
    FROM adam.protocol_flags WHERE FLAGCD = 'PSL_ABOVE_7_5_WK12'
    UNION ALL
    SELECT 7, 'No SLEDAI-2K improvement at week 12', USUBJID, SITEID, NULL,
           'SLEDAI-2K ' || CAST(AVAL AS INTEGER) || ' at week 12, ' || CAST(BASE AS INTEGER)
           || ' at week 0: no improvement'
    FROM adam.adchg WHERE PARAMCD = 'SLEDAI' AND AVISITN = 12 AND CHG >= 0
    UNION ALL
    SELECT 8, 'Data-quality warning', USUBJID, SITEID, ADT,
           coalesce(VISIT || ': ', '') || DETAIL
    FROM adam.dq_warnings)
SELECT TOPIC, USUBJID, SITEID, ADT, REASON FROM items WHERE {{site}}
ORDER BY ORD, ADT DESC NULLS LAST, USUBJID
"""
ATTENTION_SOON_DAYS = 14
from etl.contract import PSL_TARGET_MG, PULSE_MG  # noqa: E402  (kept beside its use: issue 14's block)
from warehouse import labels  # noqa: E402


@readable_by(*access.EFFICACY)
def attention(sites: Sites = None, reference: str | None = None) -> pl.DataFrame:
    """Needs attention (issue 14): one row per item, TOPIC, USUBJID, SITEID, ADT, REASON (in
    words), in this order: serious or grade >= 3 AEs (R-AE; marked new or changed since the load
    ``reference``, as the Safety page compares), AESIs, glucocorticoid pulses (R-PSL: consecutive
    pulse days as one), withdrawals and discontinuations (ADSL, ADAE AEACN DRUG WITHDRAWN),
    visits overdue (window closed before the data cut without a visit) or due within 14 days of
    the data cut (adam.adstatus, R-DAY), PSL above 7.5 mg/day on the week-12 date (R-PROTOCOL),
    no SLEDAI-2K improvement since week 0 at week 12 (ADCHG CHG >= 0, R-ENDPOINT), data-quality
    warnings. Empty when there is nothing. PI only: it names efficacy results."""
    sql = _ATTENTION.format(ae_with_changes=_AE_WITH_CHANGES, pulse=f"{PULSE_MG:g}",
                            soon=ATTENTION_SOON_DAYS, target=f"{PSL_TARGET_MG:g}")
    return _q(sql, sites, ref=reference)
