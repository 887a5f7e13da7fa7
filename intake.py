"""The dashboard's one door to the ETL (issue 13): a site export uploaded on the Data quality page
is stored, validated and loaded by exactly what the command line runs.

- ``store``: one export per upload, either ONE ``.zip`` (holding one folder) or the CSV files and
  ``export.json`` of one folder. Bounded before anything is written (``MAX_UPLOAD_BYTES``, file
  names plain: no folder part, nothing hidden), written owner-only into the upload's own folder
  ``<WH>.uploads/<upload_id>/`` and nowhere else; a zip is not opened here: the ETL's reader
  (``etl/read.py``) refuses an unsafe one (``..``, absolute paths, links, bombs) as it does for the
  CLI, extracting only into its own temporary folder.
- ``validate`` / ``load``: run ``python -m etl validate|load <export> --warehouse WH`` as a
  subprocess (one implementation; Great Expectations stays out of the app process), with the
  signed-in user in ``TRIALDASH_RUN_USER`` so the run log records the app user (and the host).
  Progress lines (the CLI's stderr) are handed to ``progress`` as they come.
- A load is refused unless the upload's bytes are those of a successful validation: the upload's
  SHA-256 digest (over each file's name and bytes) is recomputed from disk and must equal the one
  the valid run was made on (``validated.json``) and the one the page holds.

A refused or abandoned upload never touches the warehouse (only ``load`` does, through the CLI's
atomic build-and-swap). An upload's folder is removed once it is loaded (the archive keeps the
loaded export, the run log its report); one left behind (refused, or never loaded) is removed by
the next upload once nothing was written to it for ``ABANDONED_AFTER_SECONDS``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import warehouse as wh_paths
from etl.limits import MAX_UPLOAD_BYTES, size

Progress = Callable[[str], None] | None
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MANIFEST = "manifest.json"
VALIDATED = "validated.json"
EXPORT_FOLDER = "export"          # the folder the CSV files of an upload are written to
ABANDONED_AFTER_SECONDS = 24 * 3600   # an upload untouched this long is swept by the next one


class UploadRefused(ValueError):
    """An upload refused before it reached the ETL (size, names, more than one export)."""


@dataclasses.dataclass
class Upload:
    upload_id: str
    folder: Path                  # <WH>.uploads/<upload_id>/
    source: Path                  # what the CLI is given: the zip, or the export folder
    digest: str
    names: list[str]


@dataclasses.dataclass
class IntakeRun:
    command: str                  # 'validate' or 'load'
    outcome: str                  # 'valid', 'loaded', 'refused', 'failed'
    run_id: str | None
    record: dict                  # run.json
    report: Path | None           # its report.html
    output: str                   # the CLI's stdout


def uploads_dir(warehouse: Path) -> Path:
    return warehouse.parent / f"{warehouse.stem}.uploads"


def digest_of(files: list[tuple[str, bytes]]) -> str:
    """SHA-256 over the files' names and bytes, in name order."""
    h = hashlib.sha256()
    for name, data in sorted(files):
        h.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def check(files: list[tuple[str, bytes]]) -> None:
    """Refuse (``UploadRefused``) an upload that is not one bounded export of plain file names."""
    if not files:
        raise UploadRefused("nothing uploaded: choose one .zip, or the CSV files and export.json "
                            "of one export folder")
    total = sum(len(data) for _, data in files)
    if total > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"upload refused: {total:,} bytes, more than {size(MAX_UPLOAD_BYTES)} "
                            "(MAX_UPLOAD_BYTES in etl/limits.py)")
    names = [n for n, _ in files]
    bad = [n for n in names if not SAFE_NAME.match(n)]
    if bad:
        raise UploadRefused("upload refused: file name " + ", ".join(repr(n) for n in bad)
                            + " is not a plain file name (letters, digits, . _ -)")
    if len(set(names)) != len(names):
        raise UploadRefused("upload refused: the same file name twice")
    zips = [n for n in names if n.lower().endswith(".zip")]
    if zips and len(names) > 1:
        raise UploadRefused("upload refused: one export per upload: either one .zip, or the "
                            "files of one folder (not both, not two zips)")


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=False, exist_ok=False)
    os.chmod(path, 0o700)
    return path


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def sweep(warehouse: Path, now: float | None = None) -> list[str]:
    """Remove the upload folders nothing was written to for ``ABANDONED_AFTER_SECONDS`` (by the
    folder's modification time; ``now``: seconds since the epoch, default the clock). Returns the
    upload ids removed. Only folders directly under ``uploads_dir`` are touched, never a link."""
    root = uploads_dir(warehouse)
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    for folder in sorted(root.iterdir()):
        if folder.is_symlink() or not folder.is_dir():
            continue
        if now - folder.stat().st_mtime > ABANDONED_AFTER_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def discard(upload: Upload) -> None:
    """Remove the upload's own folder (after a load: the archive holds the loaded export)."""
    shutil.rmtree(upload.folder, ignore_errors=True)


def store(files: list[tuple[str, bytes]], warehouse: Path) -> Upload:
    """Check the upload (``check``) and write it into its own new folder (module docstring);
    abandoned uploads are swept first (``sweep``)."""
    check(files)
    root = uploads_dir(warehouse)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    sweep(warehouse)
    upload_id = secrets.token_hex(8)
    folder = _private_dir(root / upload_id)
    names = sorted(n for n, _ in files)
    if len(files) == 1 and names[0].lower().endswith(".zip"):
        source = folder / names[0]
        _write(source, files[0][1])
    else:
        source = _private_dir(folder / EXPORT_FOLDER)
        for name, data in files:
            _write(source / name, data)
    upload = Upload(upload_id, folder, source, digest_of(files), names)
    (folder / MANIFEST).write_text(json.dumps({"digest": upload.digest, "names": names,
                                               "source": source.name}), encoding="utf-8")
    return upload


def _disk_digest(upload: Upload) -> str:
    if upload.source.is_file():
        return digest_of([(upload.source.name, upload.source.read_bytes())])
    return digest_of([(p.name, p.read_bytes()) for p in sorted(upload.source.iterdir())])


def _run_cli(command: str, upload: Upload, warehouse: Path, user: str,
             progress: Progress) -> IntakeRun:
    env = {**os.environ, "TRIALDASH_RUN_USER": user, wh_paths.ENV_VAR: str(warehouse)}
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", "etl", command, str(upload.source),
                                 "--warehouse", str(warehouse)],
                                cwd=wh_paths.PROJECT_ROOT, env=env, stdout=out,
                                stderr=subprocess.PIPE, text=True, encoding="utf-8")
        assert proc.stderr is not None
        for line in proc.stderr:
            if progress is not None and line.strip():
                progress(line.rstrip())
        proc.wait()
        out.seek(0)
        output = out.read()
    report = next((Path(line.removeprefix("report: ").strip()) for line in output.splitlines()
                   if line.startswith("report: ")), None)
    record: dict = {}
    if report is not None and (report.parent / "run.json").is_file():
        record = json.loads((report.parent / "run.json").read_text(encoding="utf-8"))
    outcome = record.get("outcome") or ("failed" if proc.returncode else "valid")
    return IntakeRun(command, outcome, record.get("run_id"), record, report, output)


def validate(upload: Upload, warehouse: Path, user: str, progress: Progress = None) -> IntakeRun:
    """``python -m etl validate`` of the upload, as ``user``; a valid run is remembered with the
    digest it was made on (``validated.json``), the only ticket to ``load``."""
    run = _run_cli("validate", upload, warehouse, user, progress)
    if run.outcome == "valid":
        (upload.folder / VALIDATED).write_text(json.dumps({"run_id": run.run_id,
                                                           "digest": _disk_digest(upload)}),
                                               encoding="utf-8")
    return run


def load(upload: Upload, validated_digest: str, warehouse: Path, user: str,
         progress: Progress = None) -> IntakeRun:
    """``python -m etl load`` of the upload, as ``user``, only if its bytes are those a valid run
    was made on (module docstring); else ``UploadRefused`` and nothing runs."""
    ticket = upload.folder / VALIDATED
    validated = json.loads(ticket.read_text(encoding="utf-8")) if ticket.is_file() else {}
    on_disk = _disk_digest(upload)
    if not validated or not (validated.get("digest") == on_disk == validated_digest == upload.digest):
        raise UploadRefused("load refused: these bytes are not the ones validated; validate the "
                            "upload again")
    run = _run_cli("load", upload, warehouse, user, progress)
    if run.outcome == "loaded":
        discard(upload)
    return run


def problem_rows(upload: Upload, problems: list[dict]) -> list[dict]:
    """The run's problems with the subject and visit of the row each names, where the row has
    them (read from the upload with the ETL's reader, extracting a zip inside the upload's own
    folder): file, row, subject, visit, column, value, rule."""
    from etl.read import read_export  # no Great Expectations in the reader

    work = upload.folder / "read"
    work.mkdir(mode=0o700, exist_ok=True)
    export, _ = read_export(upload.source, work)
    frames = {f.name: f.frame for f in export.files.values()}
    out = []
    for p in problems:
        frame, row = frames.get(p.get("file") or ""), p.get("row")
        subject = visit = None
        if frame is not None and isinstance(row, int) and 0 <= row - 2 < frame.height:
            record = frame.row(row - 2, named=True)
            subject, visit = record.get("USUBJID"), record.get("VISIT")
        out.append({"file": p.get("file"), "row": row, "subject": subject, "visit": visit,
                    "column": p.get("column"),
                    "value": None if p.get("value") is None else str(p.get("value")),
                    "rule": p.get("rule")})
    return out
