"""``python -m report``: the monitoring committee's packet (see ``--help``)."""
from __future__ import annotations

import argparse
import os
import sys
import time

import warehouse as wh_paths

DESCRIPTION = """\
Write the monitoring committee's packet: one PDF of the warehouse's current data, for the
committee's meeting. In order: a title page (study, each site's data cut, the load's run ID, the
warehouse file's SHA-256, when and by whom it was generated, "confidential: for the monitoring
committee"); study status and disposition; enrollment against the target; demographics and
baseline characteristics; exposure; the overview of treatment-emergent adverse events; incidence
by system organ class and preferred term at the worst grade; adverse events of special interest
with their exposure-adjusted rates; serious adverse events and deaths; the full adverse-event
listing (Japanese verbatim terms as reported); laboratory abnormalities; protocol deviations;
what is new and changed since a reference packet; and a one-page profile of each subject with a
serious adverse event. Every page carries the data cut and "page n of N".

Every number is the one the dashboard's Safety page shows: the packet calls the same queries and
draws the same charts. It is the committee's view: no efficacy result is in it.
"""

EPILOG = """\
where packets are kept:
  <warehouse>.packets/<packet id>/packet.pdf and manifest.json, beside the run log, read-only
  (e.g. warehouse/trial.packets/ for warehouse/trial.duckdb). The manifest records the packet id,
  each site's data cut, the load's run id, the warehouse's and the PDF's SHA-256, when and by
  whom it was created and its reference packet; the access log records the issue. A packet is
  never overwritten: every issue is a new packet id. The Safety page lists every packet with a
  download button (roles pi and monitor only).

new and changed:
  An adverse event is new if it was not in the reference packet's data, changed if its grade
  rose, it became serious or its outcome changed (matched on subject, preferred term and onset
  as reported). The reference is --since, or by default the previous packet; the first packet
  has none.

examples:
  python -m report packet                                   # prints the PDF's path last
  python -m report packet --warehouse warehouse/demo.duckdb
  python -m report packet --since 20261202T101500.123Z-3f9a1c
  python -m report list                                     # the packets issued so far

exit status: 0 written, 1 not written (the reason is printed), 2 wrong usage.
"""


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m report", description=DESCRIPTION, epilog=EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("packet", help="write a committee packet of the warehouse's current data",
                       description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--warehouse", metavar="PATH",
                   help="the warehouse file (default: $TRIALDASH_WAREHOUSE, else warehouse/trial.duckdb)")
    p.add_argument("--since", metavar="PACKET_ID",
                   help="the packet whose data 'new and changed' compares with (default: the previous packet)")
    p.add_argument("--by", metavar="NAME", help="who issues it (default: your login name)")
    ls = sub.add_parser("list", help="list the packets of the warehouse, newest first")
    ls.add_argument("--warehouse", metavar="PATH", help="as for packet")
    return ap


def _quiet_streamlit() -> None:
    """The queries' st.cache_data works outside a Streamlit run (memory cache); say nothing of it."""
    import logging
    import streamlit.logger
    streamlit.logger.get_logger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _quiet_streamlit()
    if args.warehouse:
        os.environ[wh_paths.ENV_VAR] = str(wh_paths.warehouse_path(args.warehouse))
    from report.source import q
    if args.command == "list":
        for m in q.packets():
            print(f"{m['packet_id']}  {m.get('created_at')}  by {m.get('created_by')}  run {m.get('run_id')}"
                  f"  since {m.get('reference_packet') or '-'}  {m['_pdf']}")
        return 0
    from report.fonts import FontMissing
    from report.packet import PacketError, issue
    t0 = time.monotonic()
    print(f"writing the committee packet of {wh_paths.warehouse_path()}...", file=sys.stderr)
    try:
        manifest = issue(since=args.since, created_by=args.by, via="cli")
    except (PacketError, FontMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"packet {manifest['packet_id']} (run {manifest['run_id']}, since "
          f"{manifest['reference_packet'] or 'nothing: the first packet'}) in "
          f"{time.monotonic() - t0:.1f} s; manifest {os.path.join(os.path.dirname(manifest['_pdf']), 'manifest.json')}")
    print(manifest["_pdf"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
