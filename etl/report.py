"""The HTML report of one run: a self-contained page the data team opens from the run log.

No CDN, no script, no external font: the hospital intranet may have no internet. Every value
that came from an export (file names, cell values, rules quoting them) is escaped.
"""
from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path

OUTCOME_TEXT = {
    "valid": ("Valid", "Every export meets the site-export contract. Nothing was written to the "
                       "warehouse (validate only)."),
    "refused": ("Refused", "At least one export breaks the site-export contract. Nothing was "
                           "written to the warehouse. Fix the problems below at the site (or ask "
                           "the site to resend its export), then validate again."),
    "loaded": ("Loaded", "Every export met the contract; the warehouse now holds these sites' "
                         "data and freshly derived tables."),
    "failed": ("Failed", "The exports were valid but the load did not complete. The warehouse "
                         "was left as it was before this run. See the error below."),
}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1a1a1a;
max-width:72rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}h3{font-size:1rem;margin-top:1.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right}code,.mono{font-family:ui-monospace,monospace}
.outcome{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;font-weight:bold}
.valid,.loaded{background:#dff0d8;color:#1e5e1e}.refused,.failed{background:#f8d7da;color:#7a1c24}
.muted{color:#666}
"""


def _e(value) -> str:
    return "" if value is None else html.escape(str(value))


def _table(headers: list[str], rows: list[list], num: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="{"num" if i in num else "mono" if headers[i] in ("sha256", "value") else ""}">'
            f"{_e(v)}</td>" for i, v in enumerate(r)) + "</tr>"
        for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(record: dict) -> str:
    """The report page of a run record (the dict written to run.json)."""
    outcome = record.get("outcome") or "failed"
    title, meaning = OUTCOME_TEXT.get(outcome, (outcome, ""))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>trialdash run {_e(record['run_id'])}: {_e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>trialdash {_e(record['command'])} run <code>{_e(record['run_id'])}</code></h1>",
        f'<p><span class="outcome {_e(outcome)}">{_e(title)}</span> {_e(meaning)}</p>',
        _table(["started (UTC)", "finished (UTC)", "user", "host", "command line"],
               [[record.get("started_at"), record.get("finished_at"), record.get("user"),
                 record.get("host"), " ".join(record.get("argv") or [])]]),
    ]
    if record.get("validation"):
        parts.append(f"<p>Validation: {_e(record['validation'])}</p>")
    if record.get("error"):
        parts.append(f"<h2>Error</h2><pre>{_e(record['error'])}</pre>")

    problems = record.get("problems") or []
    by_export: dict[str, list[dict]] = defaultdict(list)
    for p in problems:
        by_export[p.get("export") or ""].append(p)

    parts.append("<h2>Exports</h2>")
    exports = record.get("exports") or []
    if not exports:
        parts.append('<p class="muted">No export could be read.</p>')
    for e in exports:
        n = len(by_export.get(e["source"], [])) + len(by_export.get(Path(e["source"]).name, []))
        parts.append(f"<h3>{_e(e['source'])}</h3>")
        parts.append(_table(
            ["site", "data cut", "data cut from", "problems"],
            [[e.get("siteid"), e.get("data_cut"), e.get("data_cut_source"), n]], num={3}))
        if e.get("notes"):
            parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in e["notes"]) + "</ul>")
        parts.append(_table(["file", "rows", "encoding", "sha256"],
                            [[f["file"], f["rows"], f["encoding"], f["sha256"]]
                             for f in e.get("files", [])], num={1}))

    parts.append(f"<h2>Problems ({len(problems)})</h2>")
    if not problems:
        parts.append('<p class="muted">None.</p>')
    for export in sorted(by_export):
        parts.append(f"<h3>{_e(export)}</h3>")
        by_file: dict[str, list[dict]] = defaultdict(list)
        for p in by_export[export]:
            by_file[p.get("file") or ""].append(p)
        for file in sorted(by_file):
            rows = sorted(by_file[file], key=lambda p: (p.get("row") is not None, p.get("row") or 0))
            parts.append(f"<h4>{_e(file)} ({len(rows)})</h4>")
            parts.append(_table(["row", "column", "value", "rule"],
                                [[p.get("row"), p.get("column"), p.get("value"), p.get("rule")]
                                 for p in rows], num={0}))

    timings = record.get("timings") or {}
    if timings:
        parts.append("<h2>Timings</h2>")
        parts.append(_table(["stage", "seconds"],
                            [[k, f"{v:.2f}"] for k, v in timings.items()], num={1}))
    parts.append("</body></html>\n")
    return "\n".join(parts)
