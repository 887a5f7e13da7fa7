"""ETL hardening (issue 17): inputs bounded before they are read (zip bomb, file, export, line and
value limits), problems capped per file and rule, the audit history appended rather than
re-inserted, Windows-1252 text refused rather than read as CP932, and everything written beside
the warehouse owner-only, the load lock out of other accounts' reach. Real exports, real loads;
each refusal leaves the warehouse byte-identical."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

import warehouse as wh_paths
from etl import limits, runlog
from etl import load as etl_load
from etl.__main__ import build_parser
from etl.load import load_exports, validate_only
from etl.read import read_export
from tests.conftest import PROJECT_ROOT, edit_csv, query

DEMO_SITE02 = PROJECT_ROOT / "demo" / "exports" / "site02"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def texts(problems) -> list[str]:
    return [str(p) for p in problems]


@pytest.fixture
def bytes_unzipped(monkeypatch):
    """How many bytes reading zip members produced (zipfile's own reads, counted)."""
    count = [0]
    real = zipfile.ZipExtFile.read

    def read(self, n=-1):
        data = real(self, n)
        count[0] += len(data)
        return data
    monkeypatch.setattr(zipfile.ZipExtFile, "read", read)
    return count


# --- 13. inputs bounded ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def gigabyte_zip_bomb(tmp_path_factory, valid_site01) -> Path:
    """site01/dm.csv (valid) and site01/ae.csv: 1 GiB of zeros, about 1 MB zipped."""
    bomb = tmp_path_factory.mktemp("bomb") / "site01.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(valid_site01 / "dm.csv", "site01/dm.csv")
        with zf.open("site01/ae.csv", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(1024):
                member.write(block)
    assert bomb.stat().st_size < 5_000_000
    return bomb


def test_a_gigabyte_zip_bomb_is_refused_before_anything_is_extracted(gigabyte_zip_bomb, tmp_path,
                                                                     bytes_unzipped):
    export, problems = read_export(gigabyte_zip_bomb, tmp_path / "work")
    assert texts(problems) == ["site01.zip: zip refused: member site01/ae.csv expands to more than "
                               "200 MB, the limit per file (MAX_FILE_BYTES in etl/limits.py)"]
    assert bytes_unzipped[0] == 0 and export.files == {}
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").rglob("*.csv"))


def test_a_zip_bomb_load_is_refused_and_recorded_and_changes_nothing(gigabyte_zip_bomb,
                                                                     warehouse_copy):
    before = sha256_of(warehouse_copy)
    result = load_exports([gigabyte_zip_bomb], warehouse_copy)
    assert result.outcome == "refused" and result.exit_code == 1
    assert "MAX_FILE_BYTES" in texts(result.problems)[0]
    assert sha256_of(warehouse_copy) == before
    assert runlog.list_runs(wh_paths.runs_dir(warehouse_copy))[-1]["outcome"] == "refused"


def test_zip_members_that_expand_over_the_export_limit_together_are_refused(
        valid_site01, tmp_path, monkeypatch, bytes_unzipped):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1_000_000)
    monkeypatch.setattr(limits, "MAX_EXPORT_BYTES", 2_500_000)
    z = tmp_path / "site01.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(valid_site01 / "dm.csv", "site01/dm.csv")
        for name in ("ae.csv", "cm.csv", "lb.csv"):
            zf.writestr(f"site01/{name}", bytes(900_000))         # each under the file limit
    _, problems = read_export(z, tmp_path / "work")
    assert texts(problems) == ["site01.zip: zip refused: its files expand to more than 2,500,000 "
                               "bytes, the limit per export (MAX_EXPORT_BYTES in etl/limits.py)"]
    assert bytes_unzipped[0] == 0


def test_a_zip_with_too_many_members_is_refused(valid_site01, tmp_path):
    z = tmp_path / "site01.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(valid_site01 / "dm.csv", "site01/dm.csv")
        for i in range(limits.MAX_ZIP_MEMBERS):
            zf.writestr(f"site01/x{i}.txt", b"")
    _, problems = read_export(z, tmp_path / "work")
    assert texts(problems) == [f"site01.zip: zip refused: {limits.MAX_ZIP_MEMBERS + 1} members, "
                               f"more than {limits.MAX_ZIP_MEMBERS} members, the limit per zip "
                               "(MAX_ZIP_MEMBERS in etl/limits.py)"]


def test_a_zip_member_larger_than_its_header_says_is_refused_and_extraction_stops(
        valid_site01, tmp_path, bytes_unzipped):
    z = tmp_path / "site01.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(valid_site01 / "dm.csv", "site01/dm.csv")
        zf.writestr("site01/ae.csv", bytes(5_000_000))
    info = zipfile.ZipFile(z).getinfo("site01/ae.csv")
    raw = bytearray(z.read_bytes())
    lie = (1000).to_bytes(4, "little")                             # declared: 1,000 bytes
    raw[info.header_offset + 22:info.header_offset + 26] = lie     # local header: size field
    entry = raw.find(b"site01/ae.csv", raw.find(b"PK\x01\x02")) - 46  # its central directory entry
    assert raw[entry:entry + 4] == b"PK\x01\x02"
    raw[entry + 24:entry + 28] = lie                               # central directory: size field
    z.write_bytes(bytes(raw))
    export, problems = read_export(z, tmp_path / "work")
    assert len(problems) == 1 and str(problems[0]).startswith("site01.zip: not a readable zip file")
    assert bytes_unzipped[0] < 100_000                             # stopped at about 1,000 bytes
    assert export.files == {} and not any((tmp_path / "work").rglob("*.csv"))


def grow(csv_path: Path, rows: int) -> None:
    def edit(header, body):
        body += [list(body[0]) for _ in range(rows)]
    edit_csv(csv_path, edit)


def test_a_file_over_the_file_limit_is_refused_and_the_warehouse_unchanged(
        warehouse_copy, make_export, monkeypatch):
    export = make_export("02")
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 5_000)
    grow(export / "lb.csv", 100)
    assert (export / "lb.csv").stat().st_size > 5_000 > max(
        p.stat().st_size for p in export.iterdir() if p.name != "lb.csv")
    before = sha256_of(warehouse_copy)
    result = load_exports([export], warehouse_copy)
    assert texts(result.problems) == ["lb.csv: larger than 5,000 bytes, the limit per file "
                                      "(MAX_FILE_BYTES in etl/limits.py)"]
    assert result.outcome == "refused" and sha256_of(warehouse_copy) == before


def test_an_export_over_the_export_limit_is_refused_whole(make_export, tmp_path, monkeypatch):
    export = make_export("01")
    total = sum(p.stat().st_size for p in export.iterdir())
    monkeypatch.setattr(limits, "MAX_EXPORT_BYTES", total - 1)
    read, problems = read_export(export, tmp_path / "work")
    assert texts(problems) == [f"site01: the export's files add up to more than {total - 1:,} "
                               "bytes, the limit per export (MAX_EXPORT_BYTES in etl/limits.py)"]
    assert read.files == {}


def test_too_many_lines_are_refused_before_parsing(make_export, tmp_path, monkeypatch):
    export = make_export("01")
    monkeypatch.setattr(limits, "MAX_LINES_PER_FILE", 1_000)
    with open(export / "vs.csv", "ab") as f:
        f.write(b"\n" * 5_000)                                     # blank lines, the cheapest bomb
    read, problems = read_export(export, tmp_path / "work")
    assert texts(problems) == ["vs.csv: more than 1,000 lines, the limit per file "
                               "(MAX_LINES_PER_FILE in etl/limits.py)"]
    assert "vs" not in read.files and "dm" in read.files


def test_a_line_over_the_line_limit_is_refused(make_export, tmp_path, monkeypatch):
    export = make_export("01")
    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 1_000)

    def long_term(header, rows):
        rows[0][header.index("AETERM")] = "x" * 1_500
    edit_csv(export / "ae.csv", long_term)
    _, problems = read_export(export, tmp_path / "work")
    assert texts(problems) == ["ae.csv: a line longer than 1,000 bytes, the limit per line "
                               "(MAX_LINE_BYTES in etl/limits.py)"]


def test_a_value_over_the_value_limit_is_refused(make_export, tmp_path, monkeypatch):
    export = make_export("01")
    monkeypatch.setattr(limits, "MAX_FIELD_CHARS", 50)

    def long_term(header, rows):
        rows[1][header.index("AETERM")] = "帯状疱疹" * 15              # 60 characters
    edit_csv(export / "ae.csv", long_term)
    _, problems = read_export(export, tmp_path / "work")
    assert texts(problems) == ["ae.csv: a value of column AETERM is longer than 50 characters, "
                               "the limit per value (MAX_FIELD_CHARS in etl/limits.py)"]


def test_the_manual_lists_every_limit():
    manual = build_parser().format_help()
    for name in ("MAX_FILE_BYTES", "MAX_EXPORT_BYTES", "MAX_ZIP_MEMBERS", "MAX_LINES_PER_FILE",
                 "MAX_LINE_BYTES", "MAX_FIELD_CHARS", "MAX_PROBLEMS_PER_RULE"):
        assert name in manual
    assert "200 MB per file" in manual and "1 GB per export" in manual


# --- 14. problems capped; audit appended, not re-inserted ---------------------------------------

def test_problems_are_capped_per_file_and_rule_with_the_count_of_the_rest(make_export, tmp_path):
    export = make_export("01")
    n_bad = limits.MAX_PROBLEMS_PER_RULE + 150

    def bad_dates(header, rows):
        first = rows[0]
        for i in range(n_bad):
            row = list(first)
            row[header.index("AESEQ")] = str(100 + i)
            row[header.index("AESTDTC")] = "03/02/2024"
            rows.append(row)
    edit_csv(export / "ae.csv", bad_dates)
    result = validate_only([export], tmp_path / "wh" / "trial.duckdb")
    dates = [p for p in result.problems if p.file == "ae.csv" and p.column == "AESTDTC"]
    assert len(dates) == limits.MAX_PROBLEMS_PER_RULE
    assert len({p.rule for p in dates}) == 1
    more = [str(p) for p in result.problems if "more rows break this rule" in p.rule]
    assert more == [f"ae.csv: … and 150 more rows break this rule: AESTDTC: {dates[0].rule}"]
    recorded = json.loads((result.report.parent / "run.json").read_text(encoding="utf-8"))
    assert len(recorded["problems"]) == len(result.problems) < n_bad


def test_a_load_adds_only_new_runs_to_the_audit_and_keeps_the_history(make_export, tmp_path,
                                                                      monkeypatch):
    wh = tmp_path / "wh" / "trial.duckdb"
    bad = make_export("01", name="site01_bad")
    edit_csv(bad / "dm.csv", lambda h, rows: rows[0].__setitem__(h.index("RFICDTC"), "03/02/2024"))
    refused = validate_only([bad], wh)
    first = load_exports([make_export("01")], wh)
    # Edit the refused run's record on disk: a load that re-read the history would copy this.
    record_file = wh_paths.runs_dir(wh) / refused.run_id / "run.json"
    record = json.loads(record_file.read_text(encoding="utf-8"))
    record["outcome"], record["problems"] = "edited", []
    os.chmod(record_file, 0o600)
    record_file.write_text(json.dumps(record), encoding="utf-8")
    read = []
    real = runlog.read_record
    monkeypatch.setattr(runlog, "read_record", lambda folder: read.append(folder.name) or real(folder))
    site02 = make_export("02")
    valid = validate_only([site02], wh)
    second = load_exports([site02], wh)

    assert second.outcome == "loaded"
    assert read == [valid.run_id]                   # only the run the warehouse did not hold
    assert query(wh, "SELECT RUN_ID, OUTCOME FROM audit.runs ORDER BY RUN_ID") == [
        (refused.run_id, "refused"), (first.run_id, "loaded"), (valid.run_id, "valid"),
        (second.run_id, "loaded")]
    assert query(wh, "SELECT count(*) FROM audit.run_problems WHERE RUN_ID = ?",
                 [refused.run_id]) == [(len(refused.problems),)]
    assert query(wh, "SELECT count(*), count(DISTINCT RUN_ID) FROM audit.run_files")[0][1] == 4


# --- 15. Windows-1252 is not CP932 ---------------------------------------------------------

@pytest.mark.parametrize("term", ["Érythème fébrile", "fébrile", "Température 38°C"])
def test_windows_1252_text_is_refused_not_stored_as_mojibake(make_export, tmp_path, term):
    export = make_export("01")
    edit_csv(export / "ae.csv", lambda h, rows: rows[0].__setitem__(h.index("AETERM"), term),
             encoding="cp1252")
    raw = (export / "ae.csv").read_bytes()
    raw.decode("cp932")                               # valid CP932 bytes: the accident
    read, problems = read_export(export, tmp_path / "work")
    assert texts(problems) == [
        "ae.csv: not UTF-8, and valid Shift_JIS (CP932) only by accident of its bytes (no "
        "Japanese text, or Japanese characters inside Latin words: e.g. a Windows-1252 file): "
        "save the file as UTF-8"]
    assert "ae" not in read.files


def test_the_demo_site_written_in_cp932_still_loads(tmp_path):
    result = load_exports([DEMO_SITE02], tmp_path / "wh" / "trial.duckdb")
    assert result.outcome == "loaded", texts(result.problems)
    notes = result.record["exports"][0]["notes"]
    assert sorted(notes) == ["ae.csv read as Shift_JIS (CP932)", "cm.csv read as Shift_JIS (CP932)"]
    terms = {t for (t,) in query(tmp_path / "wh" / "trial.duckdb", "SELECT AETERM FROM sdtm.ae")}
    assert any("\u3040" <= ch <= "\u9fff" for t in terms for ch in t)


# --- 16. owner-only files, a lock no other account can hold ---------------------------------------

def modes_under(folder: Path) -> dict[str, int]:
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            out[str(p.relative_to(folder))] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


def test_everything_the_etl_writes_is_owner_only(make_export, tmp_path):
    wh = tmp_path / "wh" / "trial.duckdb"
    old = os.umask(0o022)                                   # the usual umask: files 0644
    try:
        validate_only([make_export("02")], wh)
        result = load_exports([make_export("01")], wh)
    finally:
        os.umask(old)
    assert result.outcome == "loaded"
    modes = modes_under(wh.parent)
    assert modes, "nothing written?"
    assert {p: oct(m) for p, m in modes.items() if m & 0o077} == {}
    assert modes["trial.duckdb"] == 0o600
    assert modes["trial.runs"] == 0o700 and modes["trial.runs/.load.lock"] == 0o600
    assert modes[f"trial.runs/{result.run_id}/run.json"] == 0o600
    assert modes["trial.archive"] == 0o700
    assert modes[f"trial.archive/{result.run_id}/site01/site01/dm.csv"] == 0o400


def test_an_old_world_readable_run_log_and_archive_are_closed_by_the_next_load(warehouse_copy,
                                                                               make_export):
    runs, archive = wh_paths.runs_dir(warehouse_copy), wh_paths.archive_dir(warehouse_copy)
    os.chmod(runs, 0o755)
    os.chmod(archive, 0o755)                                 # as an older version left them
    assert load_exports([make_export("02")], warehouse_copy).outcome == "loaded"
    assert stat.S_IMODE(runs.stat().st_mode) == 0o700
    assert stat.S_IMODE(archive.stat().st_mode) == 0o700
    assert stat.S_IMODE(warehouse_copy.stat().st_mode) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another account (nobody)")
def test_another_account_can_neither_read_the_trial_nor_hold_the_load_lock(make_export):
    base = Path(tempfile.mkdtemp(prefix="trialdash-modes-"))
    try:
        os.chmod(base, 0o755)                                # a folder other accounts can enter
        wh = base / "trial.duckdb"
        assert load_exports([make_export("01")], wh).outcome == "loaded"
        targets = [wh, etl_load.lock_path(wh),
                   next(wh_paths.runs_dir(wh).glob("*/run.json")),
                   next(wh_paths.archive_dir(wh).rglob("dm.csv"))]
        code = ("import fcntl, os, sys\n"
                "for p in sys.argv[1:]:\n"
                "    try:\n"
                "        fd = os.open(p, os.O_RDONLY)\n"
                "    except PermissionError:\n"
                "        print('refused'); continue\n"
                "    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('OPENED', p)\n")
        out = subprocess.run(["/usr/bin/python3", "-c", code, *map(str, targets)], user=65534,
                             group=65534, capture_output=True, text=True, cwd="/")
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["refused"] * len(targets)
        assert load_exports([make_export("01", name="again")], wh).outcome == "loaded"
    finally:
        for root, dirs, _ in os.walk(base):
            for d in dirs:
                os.chmod(Path(root) / d, 0o700)
        shutil.rmtree(base)
