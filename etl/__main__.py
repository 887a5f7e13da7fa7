"""``python -m etl``: the data team's command line. ``python -m etl --help`` is its manual."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

if __name__ == "__main__" and sys.argv[1:2] == ["validate"]:
    # A validate always runs Great Expectations: its host process starts first, before this
    # process imports Polars and DuckDB (about 0.3 s of the demo's 4 s; etl.gx_engine).
    from etl import gx_engine
    gx_engine.start_early()

import warehouse as wh_paths  # noqa: E402
from etl import limits  # noqa: E402

DESCRIPTION = """\
Check site exports against the site-export contract and load them into the trial warehouse.

A site export is one folder, or one .zip holding one folder, with one CSV file per domain
(dm.csv is required). The contract is ../shared/spec/site-export-contract.md.

commands:
  validate EXPORT...   Check exports only. Nothing is written to the warehouse; the run is
                       recorded in the run log with its report.
  load EXPORT...       Check exports and, only if EVERY export passes, replace those sites' data
                       in the warehouse and rebuild the derived (adam) tables, in one step.
                       Other sites stay as they were. A reader (the dashboard) sees either the
                       previous or the new warehouse, never a mix, and keeps working meanwhile.
  runs                 List every validate and load run, oldest first, with its outcome and report.

Run `python -m etl COMMAND --help` for the details of one command.
"""

EPILOG = """\
examples:
  python -m etl validate incoming/site01            check a delivery before anything else
  python -m etl load incoming/site01 incoming/site02.zip
  python -m etl load demo/exports/site01 --warehouse warehouse/demo.duckdb
  python -m etl runs                                 who loaded what, when, with which outcome

exit status:
  0  loaded (load) / every export valid (validate) / history listed (runs)
  1  refused: an export breaks a contract rule, a file cannot be read, or a .zip is unsafe.
     Every problem is printed, one per line, as <file>:<row>: <column>=<value>: <rule>
     or <file>: <rule> (at most MAX_PROBLEMS_PER_RULE per file, column and rule, then
     "<file>: … and N more rows break this rule: ..."). The warehouse was not changed.
  2  wrong usage (unknown command or option, no EXPORT given)
  3  failed: the exports were valid but the load could not complete (e.g. disk full, a
     derivation error). The warehouse was not changed; the error is in the run's report.

where things go (WH is the warehouse file; default warehouse/trial.duckdb, or --warehouse PATH,
or the environment variable TRIALDASH_WAREHOUSE):
  WH                          the warehouse the dashboard reads (schemas sdtm, adam, audit)
  <WH without .duckdb>.runs/  the run log: one folder per run with run.json and report.html
                              (open report.html in a browser; it works offline)
  <WH without .duckdb>.archive/<run_id>/site<SITEID>/
                              read-only copy of every export accepted by a load, as delivered,
                              so any data cut can be rebuilt
  $TMPDIR/trialdash-load-*/   a run's work folder (an extracted .zip), removed when the run
  (and -validate-*)           ends; one left by a killed run is removed by the next run

what to do next:
  refused  open the report, send the problems to the site (or fix the export with them), then
           run `python -m etl validate EXPORT` again until it says valid, then `load`.
  failed   read the error in the report; nothing needs undoing. Fix the cause and run `load`
           again. An interrupted load (killed, power cut) is tidied up by the next `load`.
  loaded   the dashboard shows the new data at its next page load.

limits (etl/limits.py; a delivery over one is refused, naming it, before it is read):
{limits}

files: everything the ETL writes beside the warehouse (WH, the run log, the archive, the lock
  <WH without .duckdb>.runs/.load.lock) is owner-only (files 0600, archive 0400, folders 0700,
  archive folders 0500): no other account of the machine can read the trial's data or hold the
  lock. Run the ETL and the dashboard as the same account.

speed: Great Expectations runs each domain's suite in a worker process, one per CPU (at most
  4); TRIALDASH_GX_WORKERS=N sets how many, 1 keeps it in this process.

progress is written to stderr; problems, summaries and the report path to stdout.
"""

EPILOG = EPILOG.replace("{limits}", limits.describe())

EXPORT_HELP = "a site export: a folder, or a .zip holding one folder"
WAREHOUSE_HELP = ("the warehouse file (default: $TRIALDASH_WAREHOUSE, else "
                  f"{wh_paths.DEFAULT_WAREHOUSE.relative_to(wh_paths.PROJECT_ROOT)})")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="python -m etl", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=fmt)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "validate", help="check exports only; write nothing to the warehouse",
        formatter_class=fmt, epilog=EPILOG,
        description="Check each EXPORT against the site-export contract and print every problem "
                    "found.\nNothing is written to the warehouse. The run is recorded in the run "
                    "log beside the warehouse\n(run.json and report.html).")
    p.add_argument("exports", nargs="+", metavar="EXPORT", type=Path, help=EXPORT_HELP)
    p.add_argument("--warehouse", metavar="PATH",
                   help=WAREHOUSE_HELP + "; used only to find the run log")

    p = sub.add_parser(
        "load", help="check exports and, if all pass, load them atomically",
        formatter_class=fmt, epilog=EPILOG,
        description="Check each EXPORT; only if every one passes, replace those sites' data in "
                    "the warehouse\nand rebuild the derived tables, in one atomic step. A site's "
                    "newer export replaces its\nolder one whole; sites not named keep their data. "
                    "Each accepted export is archived\nread-only beside the warehouse.")
    p.add_argument("exports", nargs="+", metavar="EXPORT", type=Path, help=EXPORT_HELP)
    p.add_argument("--warehouse", metavar="PATH", help=WAREHOUSE_HELP)

    p = sub.add_parser("runs", help="list the history of validate and load runs",
                       formatter_class=fmt,
                       description="List every validate and load run recorded in the run log "
                                   "beside the warehouse, oldest first.")
    p.add_argument("--warehouse", metavar="PATH", help=WAREHOUSE_HELP)
    return parser


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _warehouse_option(result) -> str:
    """`` --warehouse PATH`` when the run used a warehouse other than the default (given by
    --warehouse or $TRIALDASH_WAREHOUSE), so that the copied hint acts on the same warehouse."""
    used = result.record.get("warehouse")
    if not used or Path(used).resolve() == wh_paths.DEFAULT_WAREHOUSE.resolve():
        return ""
    return " --warehouse " + shlex.quote(str(Path(used).resolve()))


def _print_outcome(result) -> None:
    exports = result.record.get("exports") or []
    if result.problems:
        by_export: dict[str, list] = {}
        for p in result.problems:
            by_export.setdefault(p.export, []).append(p)
        for export, problems in by_export.items():
            print(f"== {export}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
            for p in problems:
                print(p)
    n_bad = len({p.export for p in result.problems})
    sites = ", ".join(f"site {e['siteid']} (data cut {e['data_cut']})" for e in exports
                      if e.get("siteid"))
    if result.outcome == "valid":
        print(f"valid: {len(exports)} export(s) meet the contract: {sites}. "
              "Nothing was written to the warehouse.")
        print(f"report: {result.report}")
        print("next: python -m etl load " + " ".join(shlex.quote(e["source"]) for e in exports)
              + _warehouse_option(result))
    elif result.outcome == "loaded":
        print(f"loaded: {sites} into {result.record['warehouse']}")
        print(f"report: {result.report}")
        print("next: the dashboard shows the new data at its next page load.")
    elif result.outcome == "refused":
        print(f"refused: {len(result.problems)} problem(s) in {n_bad} of "
              f"{max(len(exports), n_bad)} export(s). The warehouse was not changed.")
        print(f"report: {result.report}")
        print("next: send these problems to the site or fix the export, then run "
              "`python -m etl validate EXPORT` again.")
    else:
        print(f"failed: {result.error}")
        print("The warehouse was not changed.")
        print(f"report: {result.report}")
        print("next: fix the cause of the error above and run the same command again.")


def _print_runs(warehouse: Path) -> int:
    from etl import runlog

    runs = runlog.list_runs(wh_paths.runs_dir(warehouse), include_pending=True)
    if not runs:
        print(f"no runs recorded yet for {warehouse} (run log: {wh_paths.runs_dir(warehouse)})")
        return 0
    header = ("run_id", "command", "outcome", "sites", "problems", "user", "started (UTC)")
    rows = []
    for r in runs:
        outcome = "in progress or interrupted" if r.get("pending") else r["outcome"]
        sites = ",".join(sorted(e["siteid"] for e in r.get("exports") or [] if e.get("siteid")))
        rows.append((r["run_id"], r["command"], outcome, sites or "-",
                     str(len(r.get("problems") or [])), r.get("user") or "",
                     (r.get("started_at") or "")[:19].replace("T", " ")))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    for row in (header, *rows):
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    print(f"\n{len(runs)} run(s). Reports: {wh_paths.runs_dir(warehouse)}/<run_id>/report.html")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    warehouse = wh_paths.warehouse_path(args.warehouse)
    if args.command == "runs":
        return _print_runs(warehouse)

    from etl import load

    full_argv = ["python -m etl", *argv]
    if args.command == "validate":
        _progress(f"validating {len(args.exports)} export(s)...")
        result = load.validate_only(args.exports, warehouse, progress=_progress, argv=full_argv)
    else:
        _progress(f"loading {len(args.exports)} export(s) into {warehouse}...")
        result = load.load_exports(args.exports, warehouse, progress=_progress, argv=full_argv)
    _print_outcome(result)
    return result.exit_code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the warehouse was not changed by an unfinished load.", file=sys.stderr)
        sys.exit(130)
