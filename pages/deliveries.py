"""The data team's deliveries on the Data quality page (issue 13): receive a site export (upload,
validate, load, through ``intake``, the same ETL as the command line), which delivery of each site
is live, which were refused (and which of those a later load resolved), and what each accepted
delivery changed. Drawn by pages/page_data_quality.py; every number comes from warehouse.queries.

Text from exports and run records (values, rules, user names) is shown through st.dataframe /
st.text, never as Markdown."""
from __future__ import annotations

import polars as pl
import streamlit as st
import streamlit.components.v1 as components

import auth
import intake
from pages.common import download, table
from warehouse import queries, warehouse_path
from warehouse.times import trial_zone

STATE = "intake"
PROBLEM_SCHEMA = {"file": pl.String, "row": pl.Int64, "subject": pl.String, "visit": pl.String,
                  "column": pl.String, "value": pl.String, "rule": pl.String}


def _progress(box):
    line = st.empty()

    def show(message: str) -> None:
        line.text(message)
    return show


def _validate(files: list[tuple[str, bytes]], user: str) -> None:
    wh = warehouse_path()
    try:
        upload = intake.store(files, wh)
    except intake.UploadRefused as exc:
        st.session_state[STATE] = {"refused": str(exc), "digest": intake.digest_of(files)}
        auth.log_access("upload_refused", user, "data_quality", reason=str(exc))
        return
    with st.status("Validating the export against the contract...", expanded=True) as box:
        run = intake.validate(upload, wh, user, _progress(box))
        box.update(label=f"Validation: {run.outcome}", expanded=False,
                   state="complete" if run.outcome == "valid" else "error")
    problems = intake.problem_rows(upload, run.record.get("problems") or [])
    auth.log_access("etl_validate", user, "data_quality", run_id=run.run_id, outcome=run.outcome)
    st.session_state[STATE] = {"upload": upload, "digest": upload.digest, "validation": run,
                               "problems": problems}


def _load(state: dict, user: str) -> None:
    wh = warehouse_path()
    try:
        with st.status("Loading: the dashboard keeps serving the previous data until the swap...",
                       expanded=True) as box:
            run = intake.load(state["upload"], state["digest"], wh, user, _progress(box))
            box.update(label=f"Load: {run.outcome}", expanded=False,
                       state="complete" if run.outcome == "loaded" else "error")
    except intake.UploadRefused as exc:
        state["load_refused"] = str(exc)
        return
    auth.log_access("etl_load", user, "data_quality", run_id=run.run_id, outcome=run.outcome)
    state["load"] = run
    st.rerun()   # every part of the page (header, site filter) redrawn from the new warehouse


def intake_panel() -> None:
    """Upload one export, validate it, load it (module docstring)."""
    user = st.session_state.get("user") or ""
    st.subheader("Receive a site export")
    st.caption("One export per upload: a .zip holding one export folder, or the CSV files and "
               f"export.json of one folder (at most {intake.size(intake.MAX_UPLOAD_BYTES)}). "
               "Validate runs the same checks as `python -m etl validate`; Load is offered only "
               "after these exact files passed, and loads them as `python -m etl load` does. "
               "The run is recorded as yours.")
    uploaded = st.file_uploader("Site export", accept_multiple_files=True, key="intake_files")
    files = [(f.name, f.getvalue()) for f in uploaded or []]
    digest = intake.digest_of(files) if files else None
    state = st.session_state.get(STATE) or {}
    if state and state.get("digest") != digest and "load" not in state:
        state = {}                      # other files chosen: the last validation is not theirs
        st.session_state.pop(STATE, None)
    if st.button("Validate", disabled=not files, type="primary"):
        _validate(files, user)
        state = st.session_state.get(STATE) or {}
    if state.get("refused"):
        st.error(state["refused"])
        return
    run = state.get("validation")
    if run is None:
        return
    loaded = state.get("load")
    if loaded is not None:
        if loaded.outcome == "loaded":
            st.success(f"Loaded: run {loaded.run_id}. Every page shows the new data at its next run.")
        else:
            st.error(f"The load ended {loaded.outcome}; the warehouse was not changed. "
                     "See the run's report below.")
        report = loaded.report
    else:
        report = run.report
        if run.outcome == "valid":
            st.success(f"Valid: run {run.run_id}. Nothing was written to the warehouse yet.")
            if st.button("Load", type="primary"):
                _load(state, user)
            if state.get("load_refused"):
                st.error(state["load_refused"])
        elif run.outcome == "refused":
            st.error(f"Refused: {len(state['problems'])} problem(s) (run {run.run_id}). "
                     "The warehouse was not changed. Send the problems to the site.")
        else:
            st.error(f"Validation failed ({run.outcome}); the warehouse was not changed.")
            st.text(run.output[-2000:])
    if state.get("problems"):
        table(pl.DataFrame(state["problems"], schema=PROBLEM_SCHEMA), "upload_problems")
    if report is not None and report.is_file():
        html = report.read_text(encoding="utf-8")
        with st.expander("The run's HTML report", expanded=run.outcome != "valid" and loaded is None):
            components.html(html, height=480, scrolling=True)
        download("Download the run's HTML report", lambda: html.encode("utf-8"),
                 f"report-{report.parent.name}.html", "text/html", "dl_upload_report")


def delivery_panels() -> None:
    """Which delivery of each site is live; refused deliveries; what each accepted one changed."""
    zone = trial_zone()
    st.subheader("Deliveries: which one is live")
    st.caption(f"Times in the trial's time zone ({zone}). A refused delivery stays 'open' until "
               "a later accepted load of that site replaces it, then it is 'resolved'.")
    table(queries.delivery_status(), "delivery_status")
    st.markdown("**Refused deliveries**")
    table(queries.refused_deliveries(), "refused_deliveries")

    st.subheader("What each delivery changed")
    st.caption("Each accepted load compared with the site's previous accepted delivery, on each "
               "domain's natural key (e.g. subject + test + date for questionnaires, subject + "
               "preferred term + onset for AEs). A site's first delivery has no comparison.")
    dels = queries.deliveries()
    table(dels, "deliveries")
    retro = queries.delivery_changes(retro_only=True)
    if retro.height:
        st.warning(f"{retro.height} retroactive change(s): records dated on or before the previous "
                   "delivery's data cut were changed or removed by a later delivery "
                   "(data-integrity warnings).")
        table(retro, "retroactive_changes")
    if not dels.height:
        return
    labels = {r["RUN_ID"] + "|" + r["SITEID"]: f"site {r['SITEID']}, data cut {r['DATACUT']}, "
              f"loaded {r['LOADED_AT']} (run {r['RUN_ID']})" for r in dels.iter_rows(named=True)}
    # keyed by the newest delivery, so that a new load shows its own changes first
    key = st.selectbox("Delivery", list(labels), format_func=labels.__getitem__,
                       key=f"dl_delivery_{next(iter(labels))}")
    chosen = dels.filter(pl.col("RUN_ID") + "|" + pl.col("SITEID") == key).row(0, named=True)
    if chosen["COMPARED"] != "Y":
        st.text(f"Site {chosen['SITEID']}: first delivery (or its previous one is not archived): "
                "nothing to compare with.")
        return
    changes = queries.delivery_changes(run_id=chosen["RUN_ID"]).filter(
        pl.col("SITEID") == chosen["SITEID"])
    subjects = ["All subjects"] + sorted(changes["USUBJID"].unique().drop_nulls().to_list())
    subject = st.selectbox("Subject", subjects, key=f"dl_subject_{key}")
    if subject != "All subjects":
        changes = changes.filter(pl.col("USUBJID") == subject)
    st.text(f"{changes.height} change row(s) against delivery {chosen['PREV_RUN_ID']} "
            f"(data cut {chosen['PREV_DATACUT']}).")
    table(changes, "delivery_changes")
