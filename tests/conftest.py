"""Shared fixtures and helpers for the test suite.

Sections: test data (hand-made exports) · editing exports · the warehouse (snapshots, a session
warehouse with site 01 loaded) · running the real command line.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "data"
VALID_SITE01 = DATA_DIR / "valid_site01"   # hand-made valid export of site 01 (tests/data)
STUDYID = "jRCTs031230358"


@pytest.fixture(autouse=True)
def _trial_zone_default(monkeypatch):
    """Tests see the trial's default zone (Asia/Tokyo, warehouse/times.py) whatever the machine's
    environment says; a test that needs another sets TRIALDASH_TZ itself."""
    monkeypatch.delenv("TRIALDASH_TZ", raising=False)


# --- test data ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def valid_site01() -> Path:
    """The hand-made valid export of site 01 (read-only: copy it before editing)."""
    if not (VALID_SITE01 / "dm.csv").is_file():
        pytest.fail(f"{VALID_SITE01} is missing: the hand-made valid export is needed")
    return VALID_SITE01


# --- editing exports ---------------------------------------------------------------------------

def read_csv(path: Path) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, encoding) of an export CSV file, decoded as the contract allows."""
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError(f"{path}: neither UTF-8 nor CP932")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:], encoding


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buf.getvalue().encode(encoding))


def edit_csv(path: Path, edit, encoding: str | None = None) -> None:
    """Rewrite an export CSV: ``edit(header, rows)`` changes the lists in place.
    ``encoding`` re-encodes the file (default: keep its own)."""
    header, rows, own = read_csv(path)
    edit(header, rows)
    write_csv(path, header, rows, encoding or ("utf-8" if own == "utf-8-sig" else own))


def copy_export_as_site(src: Path, dest: Path, siteid: str) -> Path:
    """Copy an export folder to ``dest`` as site ``siteid``: SITEID and the USUBJID's site part
    rewritten in every file (and in export.json), nothing else changed."""
    shutil.copytree(src, dest)
    pattern = re.compile(rf"^{STUDYID}-\d\d-")

    def rewrite(header, rows):
        for name in ("SITEID", "USUBJID"):
            if name in header:
                i = header.index(name)
                for r in rows:
                    r[i] = siteid if name == "SITEID" else pattern.sub(f"{STUDYID}-{siteid}-", r[i])

    for f in dest.glob("*.csv"):
        edit_csv(f, rewrite)
    meta = dest / "export.json"
    if meta.exists():
        data = json.loads(meta.read_text(encoding="utf-8"))
        data["siteid"] = siteid
        meta.write_text(json.dumps(data), encoding="utf-8")
    return dest


def latest_date_in(folder: Path) -> dt.date:
    """The latest YYYY-MM-DD written anywhere in an export's CSV files (by text search, so the
    test does not lean on the reader it checks)."""
    found = []
    for f in folder.glob("*.csv"):
        _, rows, _ = read_csv(f)
        for r in rows:
            for v in r:
                found += re.findall(r"\b(\d{4}-\d{2}-\d{2})", v)
    return max(dt.date.fromisoformat(d) for d in found)


def set_data_cut(folder: Path, siteid: str, data_cut: dt.date) -> None:
    (folder / "export.json").write_text(
        json.dumps({"siteid": siteid, "data_cut": data_cut.isoformat()}), encoding="utf-8")


def csv_row_counts(folder: Path) -> dict[str, int]:
    """Data rows per domain in an export folder, counted with the csv module."""
    return {f.stem: len(read_csv(f)[1]) for f in sorted(folder.glob("*.csv"))}


@pytest.fixture
def make_export(tmp_path, valid_site01):
    """``make_export(siteid, name=None, data_cut=None)``: a fresh copy of the valid export as site
    ``siteid`` under tmp_path; ``data_cut`` writes export.json with that cut."""
    def make(siteid: str = "01", name: str | None = None, data_cut: dt.date | None = None) -> Path:
        dest = copy_export_as_site(valid_site01, tmp_path / (name or f"site{siteid}"), siteid)
        if data_cut is not None:
            set_data_cut(dest, siteid, data_cut)
        return dest
    return make


def corrupted(frame: pl.DataFrame, rng, columns=None, share: float = 0.2,
              min_rows: int = 0) -> pl.DataFrame:
    """A reader's frame (all strings) with, on about ``share`` of its rows, each of ``columns``
    (default: every column) given another row's value (right in one context, wrong in another),
    nothing, or a value no rule allows (a word, or a number beyond every range). Repeated first
    to at least ``min_rows`` rows (the demo's files are small)."""
    if min_rows and frame.height:
        frame = pl.concat([frame] * max(1, -(-min_rows // frame.height)))
    data = {c: frame[c].to_list() for c in frame.columns}
    n = frame.height
    for c in columns or frame.columns:
        for i in range(n):
            if rng.random() < share:
                data[c][i] = rng.choice([data[c][rng.randrange(n)], None, "BAD-VALUE", "99999"])
    return pl.DataFrame(data, schema=frame.schema)


# --- the warehouse -----------------------------------------------------------------------------

def table_names(wh: Path) -> list[str]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return [f"{s}.{t}" for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('sdtm', 'adam', 'audit') ORDER BY 1, 2").fetchall()]
    finally:
        con.close()


def snapshot(wh: Path, schemas: tuple[str, ...] = ("sdtm", "adam", "audit"),
             where: str | None = None) -> dict[str, list[tuple]]:
    """Full contents of every table of ``schemas``: table -> its rows, sorted. ``where`` filters
    tables that have the columns it names (e.g. ``"SITEID = '01'"``)."""
    con = duckdb.connect(str(wh), read_only=True)
    try:
        out = {}
        for name in table_names(wh):
            if name.split(".")[0] not in schemas:
                continue
            cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
            q = f"SELECT * FROM {name}"
            if where and "SITEID" in cols:
                q += f" WHERE {where}"
            out[name] = sorted(con.execute(q).fetchall(), key=repr)
        return out
    finally:
        con.close()


def site_counts(wh: Path) -> dict[str, dict[str, int]]:
    """sdtm row counts: domain -> {SITEID: rows}."""
    con = duckdb.connect(str(wh), read_only=True)
    try:
        out = {}
        for name in table_names(wh):
            schema, table = name.split(".")
            if schema == "sdtm" and table != "exports":
                out[table] = dict(con.execute(
                    f"SELECT SITEID, count(*) FROM {name} GROUP BY SITEID").fetchall())
        return out
    finally:
        con.close()


def query(wh: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def site01_warehouse(tmp_path_factory, valid_site01) -> Path:
    """A warehouse folder with site 01 loaded once per session. Copy it (``warehouse_copy``)
    before changing it."""
    from etl.load import load_exports

    folder = tmp_path_factory.mktemp("site01_warehouse")
    wh = folder / "trial.duckdb"
    export = copy_export_as_site(valid_site01, folder / "exports" / "site01", "01")
    result = load_exports([export], wh)
    assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
    return wh


@pytest.fixture
def warehouse_copy(site01_warehouse, tmp_path) -> Path:
    """A private copy of the session's site-01 warehouse with its run log and archive."""
    dest = tmp_path / "wh"
    shutil.copytree(site01_warehouse.parent, dest, symlinks=True)
    return dest / site01_warehouse.name


DEMO_EXPORTS = PROJECT_ROOT / "demo" / "exports"


def copy_warehouse(wh: Path, dest: Path) -> Path:
    """A private copy of warehouse ``wh`` with everything of its folder (run log, archive,
    packets) under the new folder ``dest``; returns the copy's warehouse file."""
    shutil.copytree(wh.parent, dest, symlinks=True)
    return dest / wh.name


@pytest.fixture(scope="session")
def demo_cli_warehouse(tmp_path_factory) -> Path:
    """The committed demo trial as `make run` loads it: `python -m etl load demo/exports/*` by
    the real command line, once per session (read-only: tests copy it with ``copy_warehouse``).

    The data team's order, validate then load: the validation runs in this process (Great
    Expectations starts once per session), and the command-line load reuses its recorded result
    (the same CSV SHA-256s, suites and version: etl.validate.reusable_run), as a load right after
    `python -m etl validate` does."""
    from etl.load import validate_only

    wh = tmp_path_factory.mktemp("demo_cli") / "demo.duckdb"
    sites = sorted(DEMO_EXPORTS.iterdir())
    checked = validate_only(sites, wh)
    assert checked.outcome == "valid", [str(p) for p in checked.problems]
    done = run_etl("load", *map(str, sites), "--warehouse", str(wh))
    assert done.returncode == 0, done.stdout + done.stderr
    return wh


# --- the real command line ---------------------------------------------------------------------

def etl_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TRIALDASH_WAREHOUSE", None)
    env.update(extra)
    return env


def run_etl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m etl ARGS`` in a real process, from the project root."""
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=PROJECT_ROOT,
                          env=env or etl_env(), capture_output=True, text=True)


# --- scheduling ----------------------------------------------------------------------------------

# The longest files first (measured 2026-12-04, seconds on one worker: browser 81, narrow 42,
# report 36, app_pages 22, datateam 21, downloads ~20, validate 12), so that `make test`'s
# workers (pytest-xdist, --dist loadfile, which hands out files in collection order) do not end
# with one of them running alone: one worker sat idle for 21 s. Only the order of the files
# changes; the tests within a file keep theirs.
LONG_FILES_FIRST = ("test_browser.py", "test_browser_narrow.py", "test_report.py",
                    "test_app_pages.py", "test_browser_datateam.py", "test_downloads.py",
                    "test_validate.py")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONG_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # stable sort
