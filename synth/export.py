"""Writing synthetic trials as site exports (site-export-contract.md, "Delivery").

One folder per site holding ``<domain>.csv`` (RFC 4180, header row, ``\\n`` line ends, empty field
= missing value) and, when a data cut is given, ``export.json`` ``{"siteid", "data_cut"}``. Bytes
depend only on the frames (columns as the frames hold them: generate_trial gives the contract's
order) and a fixed key order in export.json.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl

from etl.contract import DOMAINS, EXPORT_META_FILE


def csv_text(frame: pl.DataFrame) -> str:
    """The CSV text of one domain frame (polars quotes fields holding commas, quotes, line breaks)."""
    return frame.write_csv(line_terminator="\n", quote_style="necessary", null_value="")


def write_export(frames: dict[str, pl.DataFrame], folder: Path, encoding: str = "utf-8", *,
                 siteid: str | None = None, data_cut: dt.date | None = None,
                 domains: tuple[str, ...] | None = None) -> Path:
    """Write one site's export into ``folder`` (created); returns the folder.

    ``encoding`` is ``utf-8`` or ``cp932`` (as spreadsheet software in Japan writes). With
    ``data_cut`` (and the site ID, taken from dm.csv when not given) an ``export.json`` is written.
    Every domain present in ``frames`` is written, in contract order, unless ``domains`` narrows it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for domain in DOMAINS:
        if domain not in frames or (domains is not None and domain not in domains):
            continue
        (folder / f"{domain}.csv").write_bytes(csv_text(frames[domain]).encode(encoding))
    if data_cut is not None:
        if siteid is None:
            siteid = frames["dm"].get_column("SITEID")[0]
        meta = {"siteid": siteid, "data_cut": data_cut.isoformat()}
        (folder / EXPORT_META_FILE).write_bytes((json.dumps(meta) + "\n").encode("utf-8"))
    return folder


def site_folder_name(siteid: str) -> str:
    return f"site{siteid}"


def write_trial(trial: dict[str, dict[str, pl.DataFrame]], out: Path, data_cut: dt.date | None,
                encodings: dict[str, str] | None = None) -> list[Path]:
    """Write every site of ``trial`` to ``out/site<SITEID>/``; returns the folders in site order."""
    encodings = encodings or {}
    return [write_export(frames, Path(out) / site_folder_name(siteid),
                         encodings.get(siteid, "utf-8"), siteid=siteid, data_cut=data_cut)
            for siteid, frames in sorted(trial.items())]
