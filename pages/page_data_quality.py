"""Data quality (home of the data team): validation and load runs from the run log (the live
record, refused runs included), the latest refused run's problems, SLEDAI-2K consistency warnings
(R-SLEDAI), protocol flags (R-PROTOCOL), the access log."""
from pathlib import Path

import polars as pl
import streamlit as st

from pages.common import download, page_setup, table
from pages.deliveries import delivery_panels, intake_panel
from warehouse import queries
from warehouse.times import local_time

sites = page_setup("data_quality", need_warehouse=False)
intake_panel()

st.subheader("Validation and load runs")
runs = queries.run_history()
if runs.height:
    last = runs.row(0, named=True)
    st.metric("Latest run", f"{last['outcome']}", help="The outcome of the newest run in the run log.")
    # Values from run.json files (user, host, ids) are shown as text, never as Markdown.
    st.text(f"Latest run {last['run_id']} ({last['command']}) by {last['user']} on {last['host']}, "
            f"started {last['started_at']}: {last['outcome']} ({last['problems']} problems).")
table(runs, "run_history")
delivery_panels()

run, problems = queries.latest_refused_run()
st.subheader("Problems of the latest refused run")
if run is None:
    st.write("No refused run in the run log.")
else:
    st.text(f"Run {run.get('run_id')} ({local_time(run.get('started_at'))}): {problems.height} problems. "
            f"HTML report: {run['_report']}")
    refusal = queries.refused_deliveries().filter(pl.col("run_id") == run.get("run_id"))
    for r in refusal.iter_rows(named=True):
        st.text(f"Site {r['site']}: " + (f"resolved by the accepted load {r['resolved_by']} "
                                          f"({r['resolved_at']})" if r["status"] == "resolved"
                                          else "open: no later accepted load of this site"))
    st.code("\n".join(problems["message"].head(50).fill_null("").to_list())
            + (f"\n... and {problems.height - 50} more (download the table)" if problems.height > 50 else ""),
            language=None)
    table(problems, "refused_run_problems")
    report = Path(run["_report"])
    if report.is_file():
        download("Open the HTML validation report (download)", report.read_bytes,
                 f"report-{run.get('run_id')}.html", "text/html", "dl_report")
    else:
        st.caption("The report file is not there.")

if queries.warehouse_exists():
    st.subheader("Data-quality warnings (loaded, not refused)")
    st.caption("SLEDAI-2K items that disagree with the same visit's laboratory values (R-SLEDAI), and "
               "enrolled subjects without any glucocorticoid row in cm.csv, whose PSL dose is therefore "
               "unknown (R-PSL): ask the site for the missing rows.")
    table(queries.dq_warnings(sites), "consistency_warnings")
    st.subheader("Protocol flags (R-PROTOCOL)")
    table(queries.protocol_flags(sites), "protocol_flags")

st.subheader("Access log")
log, malformed = queries.access_log(limit=500)
st.caption("The newest 500 entries, newest first. A user name that is no account's is shown "
           "masked (it may be a password typed into the wrong field); the file keeps it whole.")
if malformed:
    st.warning(f"{malformed} malformed line{'s' if malformed != 1 else ''} of the access log "
               f"{'were' if malformed != 1 else 'was'} skipped.")
table(log, "access_log")
