"""The read-only archive of every accepted export, as delivered: ``<warehouse>.archive/<run_id>/``.

A load copies each export (its folder, or its .zip) there before it builds the new warehouse file;
a load that fails, or is killed before its swap, has its archive removed (``remove_archive``), so
the archive holds exactly the exports of the loads that landed.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import warehouse as wh_paths
from etl import runlog
from etl.model import Export


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def archive_exports(warehouse: Path, run_id: str, exports: list[Export]) -> dict[str, Path]:
    """Copy each export as delivered (its folder, or its .zip) to
    ``<archive>/<run_id>/site<SITEID>/``, read-only and owner-only (files 0400, folders 0500,
    the archive folder itself 0700). Returns the archive path per site.

    The copied CSV files are checked against the fingerprints taken at validation, so what is
    archived is exactly what was validated."""
    root = runlog.private_dir(wh_paths.archive_dir(warehouse)) / run_id
    paths: dict[str, Path] = {}
    for e in exports:
        site_dir = root / f"site{e.siteid}"
        site_dir.mkdir(parents=True)
        source = Path(e.source)
        target = site_dir / source.name
        if source.is_dir():
            shutil.copytree(source, target)
            for f in e.files.values():
                if sha256(target / f.name) != f.sha256:
                    raise RuntimeError(f"{source / f.name} changed while it was being loaded; "
                                       f"run the load again")
        else:
            shutil.copy2(source, target)
        paths[e.siteid] = target
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o400)
        os.chmod(dirpath, 0o500)
    return paths


def remove_archive(warehouse: Path, run_id: str) -> None:
    folder = wh_paths.archive_dir(warehouse) / run_id
    if not folder.exists():
        return
    for root, dirs, _files in os.walk(folder):
        os.chmod(root, 0o700)
        for d in dirs:
            os.chmod(Path(root) / d, 0o700)
    shutil.rmtree(folder)

