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

from warehouse import access, runs_dir, warehouse_path
from warehouse.access import readable_by

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

@readable_by(*access.EFFICACY)
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
def protocol_flags(sites: Sites = None, usubjid: str | None = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, FLAGCD, ADT, DETAIL FROM adam.protocol_flags "
              "WHERE {site} AND ($u IS NULL OR USUBJID = $u) ORDER BY ADT, USUBJID",
              sites, u=usubjid)


@readable_by(*access.DATA_QUALITY)
def dq_warnings(sites: Sites = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, VISIT, ADT, ITEM, DETAIL FROM adam.dq_warnings "
              "WHERE {site} ORDER BY ADT, USUBJID", sites)


@readable_by(*access.EVERY_ROLE)
def dq_warning_count(sites: Sites = None) -> int:
    """How many SLEDAI-2K consistency warnings there are (the overview's count)."""
    return _scalar_row(_q("SELECT count(*) AS n FROM adam.dq_warnings WHERE {site}", sites)).get("n", 0)


# ---- safety (R-AE) ---------------------------------------------------------------------------

@readable_by(*access.SAFETY)
def adverse_events(sites: Sites = None, usubjid: str | None = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, AESEQ, AETERM, AEDECOD, AEBODSYS, AESTDTC, AEENDTC, ASTDT, "
              "ASTDTF, AENDT, ASTDY, AETOXGR, AESER, AEREL, RELFL, TRTEMFL, AESIFL, AESICAT, AEACN, "
              "AEOUT FROM adam.adae WHERE {site} AND ($u IS NULL OR USUBJID = $u) "
              "ORDER BY ASTDT, USUBJID, AESEQ", sites, u=usubjid)


@readable_by(*access.SAFETY)
def ae_incidence(level: str, sites: Sites = None, teae_only: bool = True) -> pl.DataFrame:
    """Subjects with at least one event per SOC (level 'AEBODSYS') or PT ('AEDECOD'), each subject
    counted once at its worst grade (R-AE); one column per worst grade and the total."""
    if level not in ("AEBODSYS", "AEDECOD"):
        raise ValueError(level)
    return _q(
        f"WITH worst AS (SELECT {level} AS term, USUBJID, max(AETOXGR) AS grade FROM adam.adae "
        "WHERE {site} AND (NOT $teae OR TRTEMFL = 'Y') GROUP BY ALL) "
        "SELECT term, count(*) AS subjects, "
        + ", ".join(f"count(*) FILTER (grade = {g}) AS \"grade {g}\"" for g in range(1, 6))
        + " FROM worst GROUP BY term ORDER BY subjects DESC, term", sites, teae=teae_only)


@readable_by(*access.SAFETY)
def aesi_by_category(sites: Sites = None) -> pl.DataFrame:
    """R-AE AESIs per category (AESICAT holds every category of an event, '; '-joined): events and
    subjects per category. One event can be in several categories, so the rows can add up to more
    than :func:`aesi_totals`."""
    return _q("WITH c AS (SELECT USUBJID, AESEQ, unnest(string_split(AESICAT, '; ')) AS AESICAT "
              "FROM adam.adae WHERE AESIFL = 'Y' AND {site}) "
              "SELECT AESICAT, count(*) AS events, count(DISTINCT USUBJID) AS subjects FROM c "
              "GROUP BY AESICAT ORDER BY AESICAT", sites)


@readable_by(*access.SAFETY)
def aesi_totals(sites: Sites = None) -> dict:
    """R-AE: distinct AESI events and distinct subjects with any AESI (each counted once)."""
    return _scalar_row(_q("SELECT count(*) AS events, count(DISTINCT USUBJID) AS subjects "
                          "FROM adam.adae WHERE AESIFL = 'Y' AND {site}", sites))


@readable_by(*access.SAFETY)
def ae_subject_count(sites: Sites = None) -> int:
    return _scalar_row(_q("SELECT count(DISTINCT USUBJID) AS n FROM adam.adae "
                          "WHERE TRTEMFL = 'Y' AND {site}", sites)).get("n", 0)


@readable_by(*access.SAFETY)
def infusions(sites: Sites = None, usubjid: str | None = None) -> pl.DataFrame:
    return _q("SELECT USUBJID, SITEID, EXSEQ, AVISIT, AVISITN, ADT, ADY, ASTDTM, AENDTM, EXDOSE, "
              "DURMIN, OOWFL, MISSFL, DOSEDVFL FROM adam.adex "
              "WHERE {site} AND ($u IS NULL OR USUBJID = $u) ORDER BY USUBJID, VISITNUM",
              sites, u=usubjid)


@readable_by(*access.SAFETY)
def labs(usubjid: str) -> pl.DataFrame:
    return _q("SELECT USUBJID, PARAMCD, PARAM, AVISIT, ADT, ADY, AVAL, AVALU, ANRLO, ANRHI, ANRIND, "
              "BASE, CHG FROM adam.adlb WHERE USUBJID = $u ORDER BY PARAMCD, ADT", u=usubjid)


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
    """One row per run: who, when, outcome, files, problems, report path."""
    rows = [{
        "run_id": r.get("run_id"), "command": r.get("command"), "started_at": r.get("started_at"),
        "finished_at": r.get("finished_at"), "user": r.get("user"), "host": r.get("host"),
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


@readable_by(*access.SAFETY)
def new_safety_events(sites: Sites = None) -> dict:
    """Serious AEs and AESIs new since each site's previous data cut (ADAE's SAENEWFL, AESINWFL:
    new, or newly serious / newly an AESI); a site loaded once counts all its events.
    Also ``previous_cuts``: {site: previous data cut} for the sites that have one."""
    counts = _scalar_row(_q(
        "SELECT count(*) FILTER (SAENEWFL = 'Y' OR (SAENEWFL IS NULL AND AESER = 'Y')) AS sae, "
        "count(*) FILTER (AESINWFL = 'Y' OR (AESINWFL IS NULL AND AESIFL = 'Y')) AS aesi "
        "FROM adam.adae WHERE {site}", sites))
    cuts = _q("SELECT SITEID, PREV_DATACUT FROM sdtm.exports WHERE {site} "
              "AND PREV_DATACUT IS NOT NULL ORDER BY SITEID", sites)
    return {"sae": counts.get("sae", 0), "aesi": counts.get("aesi", 0),
            "previous_cuts": dict(cuts.iter_rows())}