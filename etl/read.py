"""Read one site export (a folder, or a .zip holding one folder) into string frames.

Site export contract, "Delivery": file names, encodings (UTF-8 with or without BOM, else CP932
with a note in the run report, else refused), RFC 4180 CSV with one header row, empty field =
missing value. Nothing here judges the values: that is ``etl.validate`` (GX suites) and
``etl.rules`` (rules across rows and files). Great Expectations is not imported here.

Row numbers follow the contract: the header is row 1, so row i of ``ExportFile.frame`` is record
i + 2 (a quoted field holding a line break makes file lines differ from records; the record number
is what the contract means by "row").

Data cut when ``export.json`` is absent: the latest date in the export's rows across every date
column of every file (``etl.contract.DATE_COLUMNS``). A datetime counts by its date; a partial
date (``2024-05``, ``2024``) counts by its EARLIEST possible day, so a partial date never moves
the cut later than anything the site actually dated. Values that are not valid dates are ignored
here (the validator refuses them).

Sizes are checked before anything is read (``etl.limits``, listed by ``python -m etl --help``):
a zip's member count and declared expanded sizes before extraction, and its actual expanded
bytes while extracting (extraction stops, and what it wrote is removed, as soon as a limit is
passed); each file's size and the export's total before reading; a CSV file's line count and
longest line before parsing; its longest value after. A refusal names the limit.

CP932 is accepted only when the text is recognisably Japanese, since many byte sequences of
other encodings decode as CP932 by accident (Windows-1252 ``Érythème fébrile`` decodes to
``ﾉryth鑪e f饕rile``). The decoded text must contain at least one Japanese character (hiragana,
full-width katakana or a CJK ideograph), and none of the marks of an accident: half-width katakana
touching a Latin letter, a kana or ideograph with Latin letters on both sides, or a character of
CP932's user-defined (private-use) area. A real Japanese file that trips this (rare) is refused
with the advice to save it as UTF-8, which the contract always accepts.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import polars as pl

from etl import limits
from etl.contract import DATE_COLUMNS, DOMAINS, EXPORT_META_FILE, REQUIRED_DOMAINS
from etl.dates import earliest_day
from etl.model import Export, ExportFile, Problem

ALLOWED_FILES = tuple(f"{d}.csv" for d in DOMAINS) + (EXPORT_META_FILE,)
_BOM = b"\xef\xbb\xbf"
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def read_export(source: Path, workdir: Path) -> tuple[Export, list[Problem]]:
    """Read ``source`` (folder or .zip) and return the export and every delivery problem found.

    A zip is extracted into a new folder under ``workdir``; a zip with any member that would land
    outside that folder (absolute path, ``..``, symbolic link) is refused whole. Problems returned
    here are delivery problems (file names, encodings, CSV syntax, export.json); the values are
    checked by ``etl.validate``.
    """
    source = Path(source)
    label = source.name
    problems: list[Problem] = []

    def problem(file: str, rule: str, column: str | None = None, value: str | None = None) -> None:
        problems.append(Problem(label, file, None, column, value, rule))

    export = Export(source=source, folder=source, files={})
    if not source.exists():
        problem(label, "export not found (expected a folder or a .zip file)")
        return export, problems
    if source.is_file():
        if source.suffix.lower() != ".zip":
            problem(label, "an export is a folder or a .zip file holding one folder")
            return export, problems
        folder = _extract_zip(source, Path(workdir), problem)
        if folder is None:
            return export, problems
        export.folder = folder
    folder = export.folder

    names = sorted(p.name for p in folder.iterdir())
    too_big = _check_sizes(folder, names, label, problem)
    if too_big is None:
        return export, problems
    for name in names:
        path = folder / name
        if name not in ALLOWED_FILES or not path.is_file() or path.is_symlink():
            hint = " (file names are lower case)" if name.lower() in ALLOWED_FILES else ""
            problem(name, "file not in the export contract: only "
                    + ", ".join(ALLOWED_FILES) + " are allowed" + hint)
    for domain in REQUIRED_DOMAINS:
        if f"{domain}.csv" not in names:
            problem(f"{domain}.csv", "required file missing")

    for domain in DOMAINS:
        name = f"{domain}.csv"
        path = folder / name
        if name not in names or not path.is_file() or path.is_symlink() or name in too_big:
            continue
        raw = _read_capped(path)
        if raw is None:
            problem(name, _over("larger than", limits.MAX_FILE_BYTES, "per file", "MAX_FILE_BYTES"))
            continue
        line_problem = _check_lines(raw)
        if line_problem:
            problem(name, line_problem)
            continue
        text, encoding = _decode(raw)
        if text is None:
            problem(name, "not UTF-8 and not Shift_JIS (CP932) text: save the file as UTF-8")
            continue
        if encoding == "cp932" and not looks_japanese(text):
            problem(name, "not UTF-8, and valid Shift_JIS (CP932) only by accident of its bytes "
                    "(no Japanese text, or Japanese characters inside Latin words: e.g. a "
                    "Windows-1252 file): save the file as UTF-8")
            continue
        if encoding == "cp932":
            export.notes.append(f"{name} read as Shift_JIS (CP932)")
        frame, error = _parse_csv(text)
        if frame is None:
            problem(name, error)
            continue
        long_values = _long_values(frame)
        if long_values:
            for column in long_values:
                problem(name, f"a value of column {column} is "
                        + _over("longer than", limits.MAX_FIELD_CHARS, "per value", "MAX_FIELD_CHARS",
                                unit="characters"))
            continue
        export.files[domain] = ExportFile(name=name, domain=domain,
                                          sha256=hashlib.sha256(raw).hexdigest(),
                                          encoding=encoding, frame=frame)

    meta = _read_meta(folder, names, problem)
    export.siteid = _siteid(export, meta)
    if meta and meta.get("data_cut") is not None:
        export.data_cut, export.data_cut_source = meta["data_cut"], "export.json"
    else:
        export.data_cut, export.data_cut_source = latest_row_date(export), "rows"
    return export, problems


def _over(what: str, limit: int, per: str, name: str, unit: str = "") -> str:
    amount = f"{limit:,} {unit}" if unit else limits.size(limit)
    return f"{what} {amount}, the limit {per} ({name} in etl/limits.py)"


def _check_sizes(folder: Path, names: list[str], label: str, problem) -> set[str] | None:
    """Files of the contract over the per-file limit (each refused by name), or None when the
    export's files together are over the per-export limit (refused whole, nothing read)."""
    too_big, total = set(), 0
    for name in names:
        if name not in ALLOWED_FILES:
            continue
        try:
            st = (folder / name).lstat()
        except OSError:
            continue
        total += st.st_size
        if st.st_size > limits.MAX_FILE_BYTES:
            too_big.add(name)
            problem(name, _over("larger than", limits.MAX_FILE_BYTES, "per file", "MAX_FILE_BYTES"))
    if total > limits.MAX_EXPORT_BYTES:
        problem(label, "the export's files add up to more than "
                + _over("", limits.MAX_EXPORT_BYTES, "per export", "MAX_EXPORT_BYTES").lstrip())
        return None
    return too_big


def _read_capped(path: Path) -> bytes | None:
    """The file's bytes, or None when it is over MAX_FILE_BYTES (never reads more than that)."""
    with open(path, "rb") as f:
        raw = f.read(limits.MAX_FILE_BYTES + 1)
    return None if len(raw) > limits.MAX_FILE_BYTES else raw


def _check_lines(raw: bytes) -> str | None:
    """Line count and longest line of the raw bytes (b"\\n" is a line break in UTF-8 and CP932
    alike), before anything is decoded or parsed."""
    breaks = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 0x0A)
    if len(breaks) + 1 > limits.MAX_LINES_PER_FILE:
        return "more than " + _over("", limits.MAX_LINES_PER_FILE, "per file",
                                    "MAX_LINES_PER_FILE", unit="lines").lstrip()
    ends = np.concatenate([breaks, [len(raw)]])
    starts = np.concatenate([[0], breaks + 1])
    if len(raw) and int((ends - starts).max()) > limits.MAX_LINE_BYTES:
        return "a line " + _over("longer than", limits.MAX_LINE_BYTES, "per line", "MAX_LINE_BYTES")
    return None


def _long_values(frame: pl.DataFrame) -> list[str]:
    """Columns holding a value over MAX_FIELD_CHARS characters."""
    if frame.height == 0:
        return []
    longest = frame.select(pl.all().str.len_chars().max()).row(0, named=True)
    return [c for c, n in longest.items() if n is not None and n > limits.MAX_FIELD_CHARS]


def _extract_zip(source: Path, workdir: Path, problem) -> Path | None:
    """Extract a zip safely; None (with a problem) when it is refused."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        problem(source.name, f"not a readable zip file ({exc})")
        return None
    with zf:
        members = zf.infolist()
        unsafe = []
        for info in members:
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if name.startswith("/") or _WINDOWS_DRIVE.match(name) or ".." in parts or is_link:
                unsafe.append(info.filename)
        if unsafe:
            problem(source.name, "zip refused: member " + ", ".join(unsafe)
                    + " would leave the extraction folder (absolute path, '..' or symbolic link)")
            return None
        if len(members) > limits.MAX_ZIP_MEMBERS:
            problem(source.name, f"zip refused: {len(members)} members, more than "
                    + _over("", limits.MAX_ZIP_MEMBERS, "per zip", "MAX_ZIP_MEMBERS",
                            unit="members").lstrip())
            return None
        files = [i for i in members if not i.is_dir()]
        big = [i.filename for i in files if i.file_size > limits.MAX_FILE_BYTES]
        if big:
            problem(source.name, "zip refused: member " + ", ".join(big) + " expands to more than "
                    + _over("", limits.MAX_FILE_BYTES, "per file", "MAX_FILE_BYTES").lstrip())
            return None
        if sum(i.file_size for i in files) > limits.MAX_EXPORT_BYTES:
            problem(source.name, "zip refused: its files expand to more than "
                    + _over("", limits.MAX_EXPORT_BYTES, "per export", "MAX_EXPORT_BYTES").lstrip())
            return None
        paths = [[p for p in i.filename.replace("\\", "/").split("/") if p not in ("", ".")]
                 for i in files]
        if not files:
            problem(source.name, "zip refused: it holds no files")
            return None
        tops = {p[0] for p in paths}
        if all(len(p) == 1 for p in paths):
            strip = 0
        elif len(tops) == 1 and all(len(p) >= 2 for p in paths):
            strip = 1
        else:
            problem(source.name, "zip refused: it must hold one export folder "
                    "(or the CSV files at its root)")
            return None
        workdir.mkdir(parents=True, exist_ok=True)
        dest = Path(tempfile.mkdtemp(prefix=f"{source.stem}-", dir=workdir)).resolve()
        folder = dest / (paths[0][0] if strip else "")
        folder.mkdir(parents=True, exist_ok=True)
        total = 0
        for info, parts in zip(files, paths):
            target = (dest / Path(*parts)).resolve()
            if dest not in target.parents:  # belt and braces after the checks above
                problem(source.name, f"zip refused: member {info.filename} would leave the "
                        "extraction folder")
                shutil.rmtree(dest, ignore_errors=True)
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                written = _extract_member(zf, info, target, limits.MAX_EXPORT_BYTES - total)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
                problem(source.name, f"not a readable zip file ({exc})")
                shutil.rmtree(dest, ignore_errors=True)
                return None
            if written is None:
                # The declared sizes were within the limits but the data expands further.
                problem(source.name, f"zip refused: member {info.filename} expands to more than "
                        "its declared size and the limits allow ("
                        f"{limits.size(limits.MAX_FILE_BYTES)} per file, "
                        f"{limits.size(limits.MAX_EXPORT_BYTES)} per export: MAX_FILE_BYTES, "
                        "MAX_EXPORT_BYTES in etl/limits.py)")
                shutil.rmtree(dest, ignore_errors=True)
                return None
            total += written
        return folder


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                    export_left: int) -> int | None:
    """Stream one member to ``target``, counting what it expands to; None (target removed) as
    soon as that passes its declared size, MAX_FILE_BYTES or what is left of MAX_EXPORT_BYTES."""
    cap = min(info.file_size, limits.MAX_FILE_BYTES, export_left)
    written = 0
    with zf.open(info) as src, open(target, "wb") as out:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > cap:
                break
            out.write(chunk)
    if written > cap:
        target.unlink()
        return None
    return written


def _decode(raw: bytes) -> tuple[str | None, str]:
    """UTF-8 (with/without BOM), else CP932, else (None, '')."""
    if raw.startswith(_BOM):
        try:
            return raw[len(_BOM):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            return None, ""
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp932"), "cp932"
    except UnicodeDecodeError:
        return None, ""


_KANA_OR_IDEOGRAPH = "\u3041-\u3096\u30a1-\u30fa\u30fc\u3400-\u4dbf\u4e00-\u9fff"
_JAPANESE = re.compile(f"[{_KANA_OR_IDEOGRAPH}]")
_ACCIDENT = re.compile(
    "[A-Za-z][\uff61-\uff9f]|[\uff61-\uff9f][A-Za-z]"          # half-width katakana touching Latin
    f"|[A-Za-z][{_KANA_OR_IDEOGRAPH}][A-Za-z]"                   # Japanese inside a Latin word
    "|[\ue000-\uf8ff]")                                         # CP932's user-defined area


def looks_japanese(text: str) -> bool:
    """Is text that decoded as CP932 really Japanese (module docstring)?"""
    return bool(_JAPANESE.search(text)) and not _ACCIDENT.search(text)


def _parse_csv(text: str) -> tuple[pl.DataFrame | None, str]:
    """RFC 4180 CSV -> all-String frame, values stripped, empty -> null."""
    try:
        header = next(csv.reader(io.StringIO(text)))
    except StopIteration:
        return None, "empty file (no header row)"
    except csv.Error as exc:
        return None, f"not a valid CSV header ({exc})"
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        return None, "duplicate column " + ", ".join(dupes)
    if any(h == "" for h in header):
        return None, "a column without a name in the header row"
    try:
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False,
                            has_header=True, new_columns=header)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"not a valid CSV file ({first})"
    frame = frame.with_columns(
        [pl.col(c).str.strip_chars().replace("", None).alias(c) for c in frame.columns])
    # Blank lines at the end of a file (spreadsheets leave them) are not records; dropping only
    # trailing ones keeps "frame row i = record i + 2". A blank line inside is kept (and refused).
    filled = frame.select(pl.any_horizontal(pl.all().is_not_null()).alias("x")).get_column("x")
    last = filled.arg_true().max() if filled.any() else -1
    if last is not None and last + 1 < frame.height:
        frame = frame.head(last + 1)
    return frame, ""


def _read_meta(folder: Path, names: list[str], problem) -> dict | None:
    if EXPORT_META_FILE not in names:
        return None
    try:
        meta = json.loads((folder / EXPORT_META_FILE).read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem(EXPORT_META_FILE, f"not valid UTF-8 JSON ({exc})")
        return None
    if not isinstance(meta, dict) or set(meta) - {"siteid", "data_cut"}:
        problem(EXPORT_META_FILE, 'must be {"siteid": "..", "data_cut": "YYYY-MM-DD"} '
                "with no other keys")
        return None
    out: dict = {"siteid": None, "data_cut": None}
    siteid = meta.get("siteid")
    if not isinstance(siteid, str) or not re.fullmatch(r"\d{2}", siteid):
        problem(EXPORT_META_FILE, "siteid must be two digits", "siteid", str(siteid))
    else:
        out["siteid"] = siteid
    cut = meta.get("data_cut")
    try:
        out["data_cut"] = dt.date.fromisoformat(cut) if re.fullmatch(
            r"\d{4}-\d{2}-\d{2}", str(cut)) else None
    except ValueError:
        out["data_cut"] = None
    if out["data_cut"] is None:
        problem(EXPORT_META_FILE, "data_cut must be a full ISO 8601 date YYYY-MM-DD",
                "data_cut", str(cut))
    return out


def _siteid(export: Export, meta: dict | None) -> str | None:
    """export.json's siteid, else the single SITEID of dm.csv's rows (None if several/none)."""
    if meta and meta.get("siteid"):
        return meta["siteid"]
    dm = export.files.get("dm")
    if dm is None or "SITEID" not in dm.frame.columns:
        return None
    values = dm.frame.get_column("SITEID").drop_nulls().unique()
    return values[0] if len(values) == 1 else None


def latest_row_date(export: Export) -> dt.date | None:
    """The latest date in the rows (partial dates by their earliest day); None if no dates."""
    best: dt.date | None = None
    for domain, ef in export.files.items():
        cols = [c for c in DATE_COLUMNS[domain] if c in ef.frame.columns]
        if not cols or ef.frame.height == 0:
            continue
        found = ef.frame.select(pl.max_horizontal([earliest_day(pl.col(c)).max() for c in cols]))
        value = found.item()
        if value is not None and (best is None or value > best):
            best = value
    return best
