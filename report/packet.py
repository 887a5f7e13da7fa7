"""Issuing a committee packet: one PDF of the warehouse's current data, kept read-only beside the
run log as ``<warehouse>.packets/<packet id>/`` (``packet.pdf`` and ``manifest.json``).

A packet is never overwritten: its id is new at every issue (the issue time, sortable, and a
random suffix, as run ids are), its folder is written under a temporary name and renamed into
place whole, and an existing folder is never replaced. Issuing again for the same data (and the
same reference) gives the same tables: every table is a sorted query result. The manifest and an
access-log entry (``auth.log_access``, event ``packet_issued``) are its audit trail.
"""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
from pathlib import Path

import auth
from etl import runlog
from etl.archive import sha256 as sha256_file
from etl.contract import STUDY_TITLE, STUDYID
from etl.workdir import work_folder
from report.render import compile_pdf
from report.sections import SECTIONS, Context
from report.source import q
from warehouse import packets_dir, warehouse_path
from warehouse.queries import PACKET_MANIFEST, PACKET_PDF

PACKET_ROLES = ("pi", "monitor")     # the data team neither issues nor downloads packets
CONFIDENTIAL = "Confidential: for the monitoring committee"
TMP_PREFIX = ".tmp-"


class PacketError(RuntimeError):
    """Why a packet could not be issued, in words for the person who asked."""


def new_packet_id(now: dt.datetime | None = None) -> str:
    """``20261202T101500.123Z-3f9a1c``: sorts by issue time, never reused."""
    return runlog.new_run_id(now)


def _reference(since: str | None, existing: list[dict]) -> dict | None:
    """The packet the new-and-changed section compares with: ``since`` (a packet id), else the
    previous packet (the newest), else None (the first packet)."""
    if since is None:
        if not existing:
            return None
        ref = existing[0]
    else:
        ref = next((m for m in existing if m.get("packet_id") == since), None)
        if ref is None:
            known = ", ".join(m["packet_id"] for m in existing) or "none yet"
            raise PacketError(f"--since {since}: no such packet of this warehouse (packets: {known})")
    loads = q.load_snapshots()
    cuts = dict(zip(loads["RUN_ID"], loads["CUTS"]))
    if ref.get("run_id") not in cuts:
        raise PacketError(f"packet {ref['packet_id']} was issued on load {ref.get('run_id')}, whose "
                          "snapshot this warehouse does not keep (was it rebuilt from scratch?); "
                          "choose another packet with --since")
    return {"packet_id": ref["packet_id"], "run_id": ref["run_id"],
            "created_at": ref.get("created_at"), "cuts": cuts[ref["run_id"]]}


def _write_read_only(root: Path, packet_id: str, pdf: bytes, manifest: dict) -> Path:
    """``root/<packet_id>/`` with packet.pdf and manifest.json, files 0444 and folder 0555,
    appearing whole (temporary folder, then rename) and never over an existing packet."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / packet_id
    if final.exists():
        raise PacketError(f"packet {packet_id} exists already: a packet is never overwritten")
    tmp = root / f"{TMP_PREFIX}{packet_id}"
    tmp.mkdir()
    for name, data in ((PACKET_PDF, pdf),
                       (PACKET_MANIFEST, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())):
        fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    os.chmod(tmp, 0o555)
    if final.exists():
        raise PacketError(f"packet {packet_id} exists already: a packet is never overwritten")
    os.rename(tmp, final)
    runlog.fsync_dir(root)
    return final


def issue(*, since: str | None = None, created_by: str | None = None, role: str | None = None,
          packet_id: str | None = None, via: str = "cli") -> dict:
    """Write a packet of the current warehouse (``warehouse.warehouse_path()``) and return its
    manifest (plus ``_pdf``, the PDF's path). ``since``: the packet the new-and-changed section
    compares with (default: the previous packet). ``role``: the signed-in role when issued from
    the app (only PACKET_ROLES may). ``packet_id``: for tests; normally a new one."""
    if role is not None and role not in PACKET_ROLES:
        raise PermissionError(f"the {role} role cannot issue a committee packet")
    wh = warehouse_path()
    if not wh.exists():
        raise PacketError(f"no warehouse at {wh}: load the exports first (python -m etl load ...)")
    created_by = created_by or _login_name()
    before = sha256_file(wh)
    existing = q.packets()
    reference = _reference(since, existing)
    run_id = q.current_run()
    cuts = q.data_cuts()
    now = runlog.utcnow()
    packet_id = packet_id or new_packet_id(now)
    created_at = runlog.iso(now)
    cut_text = ", ".join(f"site {r['SITEID']} {r['DATACUT']}" for r in cuts.iter_rows(named=True))
    meta = {
        "document_title": f"{STUDYID} committee packet {packet_id}",
        "title": "Monitoring committee packet",
        "study_id": STUDYID, "study_title": STUDY_TITLE, "confidential": CONFIDENTIAL,
        "created_by": created_by,
        "header": f"{STUDYID} · committee packet {packet_id} · data cut: {cut_text} · {CONFIDENTIAL.lower()}",
        "title_rows": [
            ["Study", STUDYID],
            *[[f"Site {r['SITEID']}", f"data cut {r['DATACUT']} (loaded by run {r['RUN_ID']})"]
              for r in cuts.iter_rows(named=True)],
            ["Load run ID", str(run_id)],
            ["Warehouse file", str(wh)],
            ["Warehouse SHA-256", before],
            ["Packet ID", packet_id],
            ["Generated", f"{created_at} by {created_by}"],
            ["New and changed since", f"packet {reference['packet_id']} (load {reference['run_id']})"
             if reference else "nothing: the first packet"],
        ],
    }
    with work_folder("packet") as work:       # swept by the next run if this one is killed
        ctx = Context(workdir=work, reference=reference)
        sections = [section(ctx) for section in SECTIONS]
        pdf = compile_pdf(work, meta, sections, now)
    if sha256_file(wh) != before:
        raise PacketError("the warehouse was refreshed while the packet was being written: issue it again")
    manifest = {
        "packet_id": packet_id, "study": STUDYID, "created_at": created_at, "created_by": created_by,
        "issued_via": via, "warehouse": str(wh), "warehouse_sha256": before, "run_id": run_id,
        "data_cuts": {r["SITEID"]: {"data_cut": str(r["DATACUT"]), "run_id": r["RUN_ID"]}
                      for r in cuts.iter_rows(named=True)},
        "reference_packet": reference["packet_id"] if reference else None,
        "reference_run_id": reference["run_id"] if reference else None,
        "pdf_sha256": hashlib.sha256(pdf).hexdigest(), "pdf_bytes": len(pdf),
    }
    folder = _write_read_only(packets_dir(wh), packet_id, pdf, manifest)
    auth.log_access("packet_issued", created_by, "safety", packet_id=packet_id, run_id=run_id,
                    pdf_sha256=manifest["pdf_sha256"], via=via)
    return manifest | {"_pdf": str(folder / PACKET_PDF)}


def _login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return str(os.getuid())
