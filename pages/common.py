"""Shared page parts: the page registry and roles, the header, the site filter, tables with a CSV
download, and the one formatter for counts with their denominators.

Text that comes from exports (AE verbatim terms, criterion texts, run problems) is only ever
shown through st.dataframe / st.text, never as Markdown or HTML.

Every CSV download goes through ``download`` (``table`` and ``linked_table`` call it):
- its cells are neutralised against spreadsheet formulas (``csv_bytes``);
- its file is made only when the signed-in session clicks the button (a deferred
  ``st.download_button``: the data is a callable, run through the session's own connection; a
  session that signed out or left no longer has it), and the file made is dropped soon after:
  Streamlit drops a download no session refers to at its second clean-up, which it runs only at
  the end of a page run, so ``start_download_sweeper`` also runs one every
  ``DOWNLOAD_SWEEP_SECONDS`` (``$TRIALDASH_DOWNLOAD_SWEEP_SECONDS``): a ``/media/...`` address
  stops working at most twice that long after its click, whether or not anyone is still there.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

import polars as pl
import streamlit as st
from streamlit.errors import StreamlitAPIException

import auth
from warehouse.charts import count_axis  # noqa: F401  (the pages' count axis, re-exported)
from warehouse.study import STUDY_TITLE, STUDYID, TARGET_ENROLLED
from warehouse import labels, queries, tables, warehouse_path
from warehouse.times import local_time

# key -> (script, title, icon, roles). The navigation of a role lists exactly its pages (issue 6).
PAGES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "overview": ("pages/page_overview.py", "Overview", ":material/home:", ("pi", "monitor")),
    "enrollment": ("pages/page_enrollment.py", "Enrollment", ":material/group_add:", ("pi", "monitor", "data")),
    "efficacy": ("pages/page_efficacy.py", "Efficacy (LLDAS)", ":material/monitoring:", ("pi",)),
    "glucocorticoids": ("pages/page_glucocorticoids.py", "Glucocorticoids (PSL)", ":material/medication:", ("pi",)),
    "safety": ("pages/page_safety.py", "Safety", ":material/health_and_safety:", ("pi", "monitor")),
    "labs": ("pages/page_labs.py", "Labs", ":material/biotech:", ("pi", "monitor")),
    "subject": ("pages/page_subject_profile.py", "Subject profile", ":material/person:", ("pi", "monitor")),
    "data_quality": ("pages/page_data_quality.py", "Data quality", ":material/fact_check:", ("pi", "data")),
}
HOME = {"pi": "overview", "monitor": "overview", "data": "data_quality"}
ALL_SITES = "All sites"


def pages_for(role: str) -> list[str]:
    return [k for k, spec in PAGES.items() if role in spec[3]]


def frac(n: int | None, d: int | None) -> str:
    """A count with its denominator: ``frac(3, 9) == "3 / 9 (33%)"``; ``"0 / 0 (–)"`` when empty.
    Never a bare percentage (issue 5)."""
    return f"{int(n or 0)} / {int(d or 0)} ({tables.share(n, d)})"


def last_observed(adsl_row: dict) -> tuple[str, str | None]:
    """The last observed study day and why observation ended, from ADSL (R-DAY: the end of
    observation is the end of study or the data cut, whichever is first): ("Day 171",
    "completed"), ("Day 70", "discontinued"), ("Day 50", "data cut"); ("–", None) without a first
    infusion."""
    day = adsl_row.get("OBSENDY")
    if day is None:
        return "–", None
    why = {"COMPLETED": "completed", "DISCONTINUED": "discontinued"}.get(adsl_row.get("EOSSTT"), "data cut")
    return f"Day {day}", why


def selected_sites() -> tuple[str, ...] | None:
    """The sidebar site filter as the query layer takes it (None = every site)."""
    site = st.session_state.get("site_filter", ALL_SITES)
    return None if site in (None, ALL_SITES) else (site,)


def site_filter() -> None:
    """The sidebar site selector (drawn by app.py, read by every page through selected_sites)."""
    options = [ALL_SITES] + (queries.sites() if queries.warehouse_exists() else [])
    if st.session_state.get("site_filter") not in options:
        st.session_state["site_filter"] = ALL_SITES
    st.sidebar.selectbox("Site", options, key="site_filter")


def page_setup(key: str, *, need_warehouse: bool = True) -> tuple[str, ...] | None:
    """Role guard, access-log entry, header. Returns the site filter. Stops the page when the
    user's role may not see it (even when opened by URL) or when there is no warehouse yet."""
    role, user = st.session_state.get("role"), st.session_state.get("user")
    if role is None:
        # The first run of a fresh server can still resolve a pages/ URL straight to its file
        # (Streamlit's pages-folder mode until app.py's st.navigation has run once): send the
        # visitor to the sign-in. Under st.navigation app.py is no page, and switch_page raises.
        try:
            st.switch_page("app.py")
        except StreamlitAPIException:
            pass
    if role not in PAGES[key][3]:
        auth.log_access("denied", user, key)
        st.error("This page is not available to your role.")
        st.stop()
    if st.session_state.get("_last_page") != key:
        auth.log_access("view", user, key)
        st.session_state["_last_page"] = key
    header(PAGES[key][1], need_warehouse=need_warehouse)
    return selected_sites()


def header(title: str, *, need_warehouse: bool = True) -> None:
    st.title(title)
    st.caption(f"{STUDYID} — {STUDY_TITLE}")
    if not queries.warehouse_exists():
        st.warning(f"No warehouse yet at {warehouse_path()}. Build it with `make run` (demo data) "
                   "or `python -m etl load EXPORT [EXPORT ...] --warehouse PATH`.", icon="⚠️")
        if need_warehouse:
            st.stop()
        return
    cuts = queries.data_cuts()
    refreshed = queries.last_refreshed()
    parts = [f"Site {r['SITEID']}: data cut {r['DATACUT']}" for r in cuts.iter_rows(named=True)]
    if refreshed:
        parts.append(f"Warehouse last refreshed {local_time(refreshed)}")
    st.caption(" · ".join(parts or ["No site loaded"]))
    sites = selected_sites()
    if sites:
        st.caption(f"Showing site {', '.join(sites)} only (sidebar filter).")


def _date_columns(df: pl.DataFrame) -> dict:
    """Dates shown as dates (not midnight timestamps); the subject column pinned, so it stays
    visible while a wide listing scrolls sideways."""
    out = {c: st.column_config.DateColumn(c, format="YYYY-MM-DD")
           for c, t in df.schema.items() if t == pl.Date}
    for subject in ("USUBJID", "Subject"):
        if subject in df.columns:
            out[subject] = st.column_config.TextColumn(subject, pinned=True)
    return out


# Committee tables (warehouse.tables): the term column pinned and wide enough for MedDRA terms,
# the count columns narrow, so SOC/PT incidence at every worst grade reads without scrolling at
# 1440 px.
COUNT_COLUMN_PX = 92
TERM_COLUMN_PX = 360


def committee_table(shown: pl.DataFrame, data: pl.DataFrame, name: str, *,
                    key: str | None = None) -> None:
    """A committee table laid out by warehouse.tables (``shown``: text, n (%) cells) with the CSV
    download of the query result it was laid out from (``data``: CDISC names, plain numbers)."""
    first = shown.columns[0]
    config = {first: st.column_config.TextColumn(first, pinned=True, width=TERM_COLUMN_PX)}
    config |= {c: st.column_config.TextColumn(c, width=COUNT_COLUMN_PX) for c in shown.columns[1:]}
    st.dataframe(shown, width="stretch", hide_index=True, column_config=config, key=key)
    csv_download(data, name, f"dl_{name}")


REFERENCE_KEY = "ae_reference"


def chosen_reference(refs: list[dict]) -> dict | None:
    """The reference of "new and changed" the reader chose on the Safety page (kept for the
    session, so the Overview counts against the same one), else the default
    (queries.default_reference: the last committee packet, else the previous accepted load)."""
    chosen = st.session_state.get(REFERENCE_KEY)
    return next((r for r in refs if r["key"] == chosen), None) or queries.default_reference(refs)


def reference_selector(refs: list[dict]) -> dict | None:
    """The Safety page's choice of reference; None when there is nothing to compare with."""
    if not refs:
        st.caption("Nothing to compare with yet: no committee packet and no earlier accepted load "
                   "(every event is shown, none is marked new).")
        return None
    current = chosen_reference(refs)
    keys = [r["key"] for r in refs]
    labels = {r["key"]: r["label"] for r in refs}
    if st.session_state.get(REFERENCE_KEY) not in keys:
        st.session_state[REFERENCE_KEY] = current["key"]
    key = st.selectbox("New and changed since", keys, key=REFERENCE_KEY,
                       format_func=labels.__getitem__,
                       help="An event is new if it was not in the reference, changed if its grade "
                            "rose, it became serious or its outcome changed (matched on subject, "
                            "preferred term and onset as reported).")
    return next(r for r in refs if r["key"] == key)


# OWASP "CSV injection": a cell starting with one of these is run as a formula by spreadsheet
# software. The full-width forms (a Japanese IME's) are treated the same, to be safe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def neutralise_formulas(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells that start like a formula get a leading ``'`` (shown by spreadsheets as the
    text itself, never run). Only text columns: a negative number in a numeric column is a
    number, and stays one."""
    starts = "^[" + "".join("\\" + c if c in "-\\^]" else c for c in FORMULA_STARTS) + "]"
    text = [c for c, t in df.schema.items() if t in (pl.String, pl.Categorical) or isinstance(t, pl.Enum)]
    return df.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(starts))
        .then(pl.lit("'") + pl.col(c).cast(pl.String)).otherwise(pl.col(c).cast(pl.String)).alias(c)
        for c in text)


def csv_bytes(df: pl.DataFrame) -> bytes:
    """The CSV file of a download: UTF-8, header row, formulas neutralised."""
    return neutralise_formulas(df).write_csv().encode("utf-8")


DOWNLOAD_SWEEP_SECONDS = 15.0


@st.cache_resource(show_spinner=False)
def start_download_sweeper() -> threading.Thread | None:
    """Once per server process: a daemon thread running Streamlit's clean-up of the media files
    no session refers to (the downloads made by clicks) every DOWNLOAD_SWEEP_SECONDS."""
    from streamlit import config, runtime

    if config.get_option("global.appTest") or not runtime.exists():
        return None
    interval = float(os.environ.get("TRIALDASH_DOWNLOAD_SWEEP_SECONDS") or DOWNLOAD_SWEEP_SECONDS)

    def sweep() -> None:
        while True:
            time.sleep(interval)
            if runtime.exists():
                runtime.get_instance().media_file_mgr.remove_orphaned_files()

    thread = threading.Thread(target=sweep, name="trialdash-download-sweeper", daemon=True)
    thread.start()
    return thread


def download(label: str, make: "Callable[[], bytes]", file_name: str, mime: str, key: str) -> None:
    """A download whose file is made on click, within the signed-in session (module docstring).
    Whatever must happen on the click (an access-log entry) happens in ``make``.

    A download never reruns the page (``on_click="ignore"``): a rerun replaces every deferred
    button's file id and drops the old ones at its end, so a second download clicked while the
    first click's rerun was still going asked for an id that no longer existed and got nothing
    (seen in CI: the fourth of five quick downloads in a row), and a download whose own click
    reran the page could lose its file before the browser fetched it (the committee packet's,
    logged as downloaded, seen on a loaded machine)."""
    st.download_button(label, data=make, file_name=file_name, mime=mime, key=key, on_click="ignore")


def csv_download(df: pl.DataFrame, name: str, key: str) -> None:
    download(f"Download {name} (CSV)", lambda: csv_bytes(df), f"{name}.csv", "text/csv", key)


# Charts that draw every subject (a panel, row or line per subject: the LLDAS grid, SLEDAI-2K
# panels, lab values, PSL curves, the AE timeline) draw at most this many subjects at once; beyond
# it the user picks which (issue 15: at 10,000 subjects the Efficacy page drew 10,000 panels,
# 14 s in the browser, and no one can read them). 30: the Glucocorticoids page's first limit.
CHART_SUBJECTS = 30


def pick_subjects(subjects: list[str], key: str) -> list[str] | None:
    """None (draw every subject) while ``subjects`` are at most CHART_SUBJECTS; beyond that, the
    subjects picked in a box shown here (the first CHART_SUBJECTS by ID until the user picks
    others), with a line saying how many of how many are drawn."""
    subjects = sorted(set(subjects))
    if len(subjects) <= CHART_SUBJECTS:
        return None
    first = subjects[:CHART_SUBJECTS]
    label = f"Subjects drawn in the charts below ({len(subjects)} in all)"
    if key in st.session_state:
        # The box keeps the user's picks across reruns; when some of them are no longer offered
        # (another site chosen in the sidebar), the rest stay, or, if none does, the first
        # CHART_SUBJECTS again (Streamlit alone would leave the box, and the charts, empty).
        old, offered = list(st.session_state[key]), set(subjects)
        kept = [u for u in old if u in offered]
        if len(kept) < len(old):
            st.session_state[key] = kept or first
        picked = st.multiselect(label, subjects, format_func=labels.short_subject, key=key)
    else:
        picked = st.multiselect(label, subjects, default=first, format_func=labels.short_subject,
                                key=key)
    st.caption(f"The charts draw {len(picked)} of {len(subjects)} subjects (at most "
               f"{CHART_SUBJECTS} at first); the tables list every subject.")
    return picked


def chart_subjects(frame: pl.DataFrame, key: str, *also: pl.DataFrame):
    """The rows of ``frame`` (a USUBJID column) for the per-subject charts under it, thinned by
    ``pick_subjects`` (every row when nothing is to pick); with ``also``, the other frames of the
    same charts, the tuple of all of them thinned to the same subjects. Tables and downloads keep
    every subject: only the charts are thinned."""
    frames = (frame, *also)
    picked = pick_subjects([u for f in frames for u in f.get_column("USUBJID").drop_nulls()], key)
    if picked is not None:
        frames = tuple(f.filter(pl.col("USUBJID").is_in(picked)) for f in frames)
    return frames if also else frames[0]


def table(df: pl.DataFrame, name: str, *, column_config: dict | None = None, key: str | None = None,
          height: int | None = None, style=None, data: pl.DataFrame | None = None) -> None:
    """A table with its CSV download. Shown under the words of warehouse/labels.py (the CDISC
    name in each header's help), subjects by their short ID, flag codes by name; the CSV keeps
    the CDISC names and full USUBJIDs (``data``: another frame to download, e.g. the query
    result a display was laid out from). ``style``: a function taking and returning a pandas
    Styler of the shown frame (cell colours only: what a colour says must also be in the cells'
    text); the CSV is unstyled."""
    kwargs = {"height": height} if height else {}
    view, config, order = labelled_view(df)
    shown = style(view.to_pandas().style) if style is not None else view
    st.dataframe(shown, width="stretch", hide_index=True, column_order=order,
                 column_config=config | (column_config or {}), **kwargs)
    csv_download(df if data is None else data, name, key or f"dl_{name}")


def linked_table(df: pl.DataFrame, name: str, key: str | None = None, *, style=None,
                 data: pl.DataFrame | None = None) -> None:
    """A table whose rows open the subject profile when selected (within the signed-in session:
    a plain link would open a new tab, i.e. a new session that must sign in again). Shown and
    downloaded as :func:`table` does."""
    key = key or f"tbl_{name}"
    can_open = "subject" in pages_for(st.session_state.get("role", ""))
    view, config, order = labelled_view(df)
    shown = style(view.to_pandas().style) if style is not None else view
    event = st.dataframe(shown, width="stretch", hide_index=True, key=key, column_config=config,
                         column_order=order,
                         on_select="rerun" if can_open else "ignore", selection_mode="single-row")
    if can_open:
        st.caption("Select a row to open that subject's profile.")
        rows = event.selection.rows if event is not None else []
        if rows:
            st.switch_page(PAGES["subject"][0], query_params={"subject": df["USUBJID"][rows[0]]})
    csv_download(df if data is None else data, name, f"dl_{name}")


SHORT_SUBJECT = "SUBJECT_SHORT"     # the displayed subject column (USUBJID stays in the data)


def _name_column(code: str) -> str:
    return f"{code}_NAME"


def labelled_view(df: pl.DataFrame) -> tuple[pl.DataFrame, dict, list[str]]:
    """(frame to show, column_config, column_order) of a query result: every column under its
    label with its help (the CDISC name said there, warehouse.labels); USUBJID shown as the short
    site-subject ID (``01-001``, pinned) and each flag-code column by its readable name, in the
    original column's place (the original stays in the frame, hidden, for selections and tests);
    dates as YYYY-MM-DD."""
    view = df
    order: list[str] = []
    config: dict = {}
    for c, t in df.schema.items():
        if c == "USUBJID":
            view = view.with_columns(pl.col(c).map_elements(labels.short_subject, return_dtype=pl.String)
                                     .alias(SHORT_SUBJECT))
            order.append(SHORT_SUBJECT)
            config[SHORT_SUBJECT] = st.column_config.TextColumn(
                labels.label(c), pinned=True,
                help="Site-subject; the full ID (jRCTs031230358-site-subject) is column USUBJID in downloads")
            continue
        if c in labels.CODE_COLUMNS:
            shown = _name_column(c)
            view = view.with_columns(pl.col(c).map_elements(labels.flag_name, return_dtype=pl.String).alias(shown))
            order.append(shown)
            config[shown] = st.column_config.TextColumn(labels.label(c), help=labels.help_text(c))
            continue
        order.append(c)
        if t == pl.Date:
            config[c] = st.column_config.DateColumn(labels.label(c), format="YYYY-MM-DD",
                                                    help=labels.help_text(c))
        else:
            config[c] = st.column_config.Column(labels.label(c), help=labels.help_text(c))
    return view, config, order


TARGET = TARGET_ENROLLED


def delivery_banner() -> list[str]:
    """The header lines of every page (app.py) for the sites whose newest delivery was refused
    (queries.delivery_warnings: site and data cuts only); none when the run log cannot be read."""
    try:
        return queries.delivery_warnings()
    except Exception:   # the banner never stops a page
        return []
