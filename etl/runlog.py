"""The run log: the permanent record of every ``validate`` and ``load`` run.

It lives beside the warehouse, never inside it (``warehouse.runs_dir(wh)/<run_id>/``), so that a
``validate`` or a refused ``load`` leaves the warehouse file untouched. Each run folder holds
``run.json`` (what ran, by whom, on which files, with which outcome and problems) and
``report.html`` (the same, for people). A folder appears whole or not at all: it is written under
a temporary name and renamed into place. Owner-only: folders 0700, files 0600.

An accepted load writes its record first as ``.pending-<run_id>`` (outcome ``loaded``) and renames
it into place after the warehouse swap. A load killed in between leaves the pending folder; the
next load settles it (``etl.swap.recover``): ``loaded`` if the warehouse holds that run, else
``failed``.
"""
from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import secrets
import shutil
import socket
import sys
from pathlib import Path

from etl.model import Problem, ValidationResult

OUTCOMES = ("valid", "refused", "loaded", "failed")
RUN_FILE = "run.json"
REPORT_FILE = "report.html"
PENDING_PREFIX = ".pending-"
TMP_PREFIX = ".tmp-"
RUN_USER_ENV = "TRIALDASH_RUN_USER"   # the app user who started the run (issue 13)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(stamp: dt.datetime) -> str:
    """UTC timestamp as ISO 8601 with a ``Z``, millisecond precision."""
    return stamp.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_run_id(now: dt.datetime | None = None) -> str:
    """A run id that sorts by start time: ``20261125T131502.123Z-3f9a1c``."""
    now = now or utcnow()
    return now.strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z-" + secrets.token_hex(3)


def run_started_at(run_id: str) -> str:
    """The start time encoded in a run id, as :func:`iso` writes it."""
    stamp = dt.datetime.strptime(run_id.split("Z-")[0], "%Y%m%dT%H%M%S.%f")
    return iso(stamp.replace(tzinfo=dt.timezone.utc))


def problem_record(p: Problem) -> dict:
    return {"export": p.export, "file": p.file, "row": p.row, "column": p.column,
            "value": p.value, "rule": p.rule, "message": str(p)}


def exports_record(result: ValidationResult | None) -> list[dict]:
    """The ``exports`` part of run.json: one entry per export read, with its files' fingerprints."""
    if result is None:
        return []
    out = []
    for e in result.exports:
        out.append({
            "source": str(e.source),
            "siteid": e.siteid,
            "data_cut": e.data_cut.isoformat() if e.data_cut else None,
            "data_cut_source": e.data_cut_source,
            "notes": list(e.notes),
            "files": [{"file": f.name, "sha256": f.sha256, "rows": f.rows, "encoding": f.encoding}
                      for f in sorted(e.files.values(), key=lambda f: f.name)],
        })
    return out


def new_record(run_id: str, command: str, argv: list[str] | None = None) -> dict:
    """A run record with the who/when/where filled in; the caller adds outcome and results."""
    try:
        os_user = getpass.getuser()
    except Exception:  # no login name (e.g. a container without a passwd entry)
        os_user = str(os.getuid())
    # A run the dashboard started (intake.py) is the signed-in user's: RUN_USER_ENV names them;
    # the account that ran the process is kept beside it (os_user).
    user = os.environ.get(RUN_USER_ENV) or os_user
    return {
        "run_id": run_id,
        "command": command,
        "argv": list(sys.argv if argv is None else argv),
        "started_at": run_started_at(run_id),
        "finished_at": None,
        "user": user,
        "host": socket.gethostname(),
        "os_user": os_user,
        "outcome": None,
        "error": None,
        "exports": [],
        "problems": [],
        "timings": {},
    }


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (the directory entry itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(path: Path) -> Path:
    """``path`` as an owner-only folder (0700): made so, or tightened if it exists (an older
    version made these 0755)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def _write_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _write_folder(folder: Path, record: dict, report_html: str) -> None:
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    _write_file(folder / RUN_FILE, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    _write_file(folder / REPORT_FILE, report_html)
    fsync_dir(folder)


def write_run(runs: Path, record: dict, report_html: str, *, pending: bool = False) -> Path:
    """Write a run's folder atomically (temporary folder, then rename). Returns the folder.

    ``pending=True`` writes ``.pending-<run_id>`` instead, replacing an earlier pending folder
    of the same run; :func:`promote_pending` later renames it to its final name.
    """
    private_dir(runs)
    run_id = record["run_id"]
    tmp = runs / f"{TMP_PREFIX}{run_id}"
    if tmp.exists():
        shutil.rmtree(tmp)
    _write_folder(tmp, record, report_html)
    final = runs / (f"{PENDING_PREFIX}{run_id}" if pending else run_id)
    if final.exists():
        old = runs / f"{TMP_PREFIX}{run_id}.old"
        os.rename(final, old)          # a directory cannot be renamed over a non-empty one
        os.rename(tmp, final)
        shutil.rmtree(old)
    else:
        os.rename(tmp, final)
    fsync_dir(runs)
    return final


def promote_pending(runs: Path, run_id: str) -> Path:
    """``.pending-<run_id>`` -> ``<run_id>``: the load it records has reached the warehouse."""
    final = runs / run_id
    os.rename(runs / f"{PENDING_PREFIX}{run_id}", final)
    fsync_dir(runs)
    return final


def read_record(folder: Path) -> dict:
    return json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))


def list_runs(runs: Path, *, include_pending: bool = False) -> list[dict]:
    """Every recorded run, oldest first. Pending records (a load under way, or killed and not yet
    settled) are included only on request, with ``"pending": True``."""
    if not runs.is_dir():
        return []
    out = []
    for folder in sorted(runs.iterdir(), key=lambda p: p.name.removeprefix(PENDING_PREFIX)):
        if not (folder / RUN_FILE).is_file():
            continue
        if folder.name.startswith(TMP_PREFIX):
            continue
        if folder.name.startswith(PENDING_PREFIX):
            if include_pending:
                out.append(read_record(folder) | {"pending": True})
            continue
        out.append(read_record(folder))
    return out


def run_ids(runs: Path) -> list[str]:
    """The ids of every recorded run (not pending, not half-written), oldest first, without
    reading their records."""
    if not runs.is_dir():
        return []
    return sorted(p.name for p in runs.iterdir()
                  if not p.name.startswith((TMP_PREFIX, PENDING_PREFIX)) and (p / RUN_FILE).is_file())


def pending_runs(runs: Path) -> list[str]:
    if not runs.is_dir():
        return []
    return sorted(p.name.removeprefix(PENDING_PREFIX) for p in runs.iterdir()
                  if p.name.startswith(PENDING_PREFIX) and (p / RUN_FILE).is_file())


def remove_stale_tmp(runs: Path) -> None:
    """Half-written run folders of a killed process never became records: remove them."""
    if not runs.is_dir():
        return
    for p in runs.iterdir():
        if p.name.startswith(TMP_PREFIX):
            shutil.rmtree(p, ignore_errors=True)
