"""The load path, in process (etl.load): refusals change nothing, sites load in turn, a newer
export replaces its site whole, CP932 text survives, accepted exports are archived read-only,
every run is recorded. Real exports, real DuckDB files; expected values come from the export
files themselves (csv module, hashlib), never from the code under test."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

import warehouse as wh_paths
from etl import load as etl_load
from etl import runlog
from etl.load import load_exports, validate_only
from tests.conftest import (csv_row_counts, edit_csv, latest_date_in, query, read_csv,
                            site_counts, snapshot, table_names)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_json(result) -> dict:
    return json.loads((result.report.parent / "run.json").read_text(encoding="utf-8"))


def corrupt(folder: Path) -> None:
    """Two contract breaks: a day/month date in dm.csv row 2 and a stray personal-data column."""
    def bad_date(header, rows):
        rows[0][header.index("RFICDTC")] = "03/02/2024"

    def stray_column(header, rows):
        header.append("PATIENT_NAME")
        for r in rows:
            r.append("Yamada Taro")

    edit_csv(folder / "dm.csv", bad_date)
    edit_csv(folder / "dm.csv", stray_column)


# --- refusals change nothing -------------------------------------------------------------------

def test_refused_export_leaves_warehouse_unchanged(warehouse_copy, make_export):
    wh = warehouse_copy
    bytes_before = sha256_of(wh)
    tables_before = table_names(wh)
    contents_before = snapshot(wh)
    archive_before = sorted(p.name for p in wh_paths.archive_dir(wh).iterdir())
    bad = make_export("01", name="site01_bad")
    corrupt(bad)

    result = load_exports([bad], wh)

    assert result.outcome == "refused"
    messages = [str(p) for p in result.problems]
    # Contract, "What a refusal must say": <file>:<row>: <column>=<value>: <rule>; the first
    # data row is row 2 (header = row 1).
    assert any(m.startswith("dm.csv:2: RFICDTC=03/02/2024: ") for m in messages), messages
    assert any(m.startswith("dm.csv: ") and "PATIENT_NAME" in m for m in messages), messages
    assert sha256_of(wh) == bytes_before
    assert table_names(wh) == tables_before
    assert snapshot(wh) == contents_before
    assert sorted(p.name for p in wh_paths.archive_dir(wh).iterdir()) == archive_before
    assert not list(wh.parent.glob(wh.name + ".tmp-*"))

    recorded = run_json(result)
    assert recorded["outcome"] == "refused" and recorded["command"] == "load"
    assert {p["message"] for p in recorded["problems"]} == set(messages)
    assert runlog.list_runs(wh_paths.runs_dir(wh))[-1]["run_id"] == result.run_id


def test_failed_derivation_leaves_warehouse_unchanged_and_is_recorded(warehouse_copy, make_export,
                                                                      monkeypatch):
    wh = warehouse_copy
    bytes_before = sha256_of(wh)

    def broken_build_adam(con):
        raise RuntimeError("derivation exploded")

    monkeypatch.setattr(etl_load, "_build_adam_function", lambda: broken_build_adam)
    result = load_exports([make_export("02")], wh)

    assert result.outcome == "failed" and result.exit_code == 3
    assert "derivation exploded" in result.error
    assert sha256_of(wh) == bytes_before
    assert not list(wh.parent.glob(wh.name + ".tmp-*"))
    assert not (wh_paths.archive_dir(wh) / result.run_id).exists()
    assert run_json(result)["outcome"] == "failed"
    assert not (wh_paths.runs_dir(wh) / f".pending-{result.run_id}").exists()


def test_report_escapes_values_from_the_export(warehouse_copy, make_export):
    bad = make_export("01", name="site01_html")
    edit_csv(bad / "dm.csv", lambda h, rows: rows[0].__setitem__(h.index("SEX"), "<b>X</b>"))

    result = validate_only([bad], warehouse_copy)

    assert result.outcome == "refused"
    page = result.report.read_text(encoding="utf-8")
    assert "&lt;b&gt;X&lt;/b&gt;" in page
    assert "<b>X</b>" not in page
    assert "http://" not in page and "https://" not in page  # self-contained: works offline


# --- sites load in turn ------------------------------------------------------------------------

def test_loading_site_02_leaves_site_01_unchanged(warehouse_copy, make_export):
    wh = warehouse_copy
    site01_before = snapshot(wh, schemas=("sdtm",), where="SITEID = '01'")
    site01_before.pop("sdtm.exports")
    exports_before = query(wh, "SELECT SITEID, DATACUT, RUN_ID FROM sdtm.exports")
    site02 = make_export("02")
    # An explicit cut ten days after the latest date written in the files.
    cut02 = latest_date_in(site02) + dt.timedelta(days=10)
    (site02 / "export.json").write_text(json.dumps({"siteid": "02", "data_cut": cut02.isoformat()}))

    result = load_exports([site02], wh)

    assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
    after = snapshot(wh, schemas=("sdtm",), where="SITEID = '01'")
    after.pop("sdtm.exports")
    assert after == site01_before
    assert [r[0] for r in exports_before] == ["01"]
    rows = {r[0]: r[1:] for r in query(wh, "SELECT SITEID, DATACUT, RUN_ID FROM sdtm.exports")}
    assert rows == {"01": exports_before[0][1:], "02": (cut02, result.run_id)}
    expected02 = csv_row_counts(site02)
    counts = site_counts(wh)
    for domain, n in expected02.items():
        assert counts[domain].get("02") == n, domain
        assert counts[domain].get("01") == n, domain  # site 02 is a copy of site 01


def test_newer_export_of_a_site_replaces_it_whole(warehouse_copy, make_export, valid_site01):
    wh = warehouse_copy
    load_exports([make_export("02")], wh)
    site02_before = snapshot(wh, schemas=("sdtm",), where="SITEID = '02'")
    domain = next(d for d in ("ae", "lb", "qs", "vs", "cm", "ds") if (valid_site01 / f"{d}.csv").exists()
                  and len(read_csv(valid_site01 / f"{d}.csv")[1]) >= 2)
    seq_col = f"{domain.upper()}SEQ"
    newer = make_export("01", name="site01_newer")
    header, rows, _ = read_csv(newer / f"{domain}.csv")
    dropped = rows[-1]
    dropped_key = (dropped[header.index("USUBJID")], int(dropped[header.index(seq_col)]))
    edit_csv(newer / f"{domain}.csv", lambda h, r: r.pop())
    cut = latest_date_in(valid_site01) + dt.timedelta(days=30)
    (newer / "export.json").write_text(json.dumps({"siteid": "01", "data_cut": cut.isoformat()}))

    result = load_exports([newer], wh)

    assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
    keys = query(wh, f"SELECT USUBJID, {seq_col} FROM sdtm.{domain} WHERE SITEID = '01'")
    assert dropped_key not in keys
    assert len(keys) == len(rows) - 1
    assert query(wh, "SELECT DATACUT, RUN_ID FROM sdtm.exports WHERE SITEID = '01'") == [
        (cut, result.run_id)]
    after02 = snapshot(wh, schemas=("sdtm",), where="SITEID = '02'")
    after02.pop("sdtm.exports"), site02_before.pop("sdtm.exports")
    assert after02 == site02_before


def test_cp932_export_keeps_japanese_text(tmp_path, make_export):
    wh = tmp_path / "wh" / "trial.duckdb"
    export = make_export("01")
    ae = export / "ae.csv"
    if not ae.exists():
        pytest.fail("the valid export needs an ae.csv for this test")
    header, rows, _ = read_csv(ae)
    rows[0][header.index("AETERM")] = "帯状疱疹"
    usubjid, aeseq = rows[0][header.index("USUBJID")], int(rows[0][header.index("AESEQ")])
    edit_csv(ae, lambda h, r: r.__setitem__(0, rows[0]), encoding="cp932")
    raw = ae.read_bytes()
    assert "帯状疱疹".encode("cp932") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")

    result = load_exports([export], wh)

    assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
    assert query(wh, "SELECT USUBJID, AESEQ FROM sdtm.ae WHERE AETERM = '帯状疱疹'") == [
        (usubjid, aeseq)]
    files = {f["file"]: f for f in run_json(result)["exports"][0]["files"]}
    assert files["ae.csv"]["encoding"] == "cp932"
    assert files["ae.csv"]["sha256"] == hashlib.sha256(raw).hexdigest()


# --- archive and run log -----------------------------------------------------------------------

def test_accepted_export_is_archived_read_only_as_delivered(tmp_path, make_export):
    wh = tmp_path / "wh" / "trial.duckdb"
    export = make_export("01")

    result = load_exports([export], wh)

    assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
    archived = wh_paths.archive_dir(wh) / result.run_id / "site01" / export.name
    assert query(wh, "SELECT ARCHIVE_PATH FROM sdtm.exports") == [(str(archived),)]
    delivered = sorted(p.name for p in export.iterdir())
    assert sorted(p.name for p in archived.iterdir()) == delivered
    for name in delivered:
        assert sha256_of(archived / name) == sha256_of(export / name)
        assert stat.S_IMODE(os.stat(archived / name).st_mode) == 0o400   # read-only, owner-only
    for d in (archived, archived.parent, archived.parent.parent):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o500


def test_a_file_changed_after_validation_fails_the_load_at_its_archive(
        warehouse_copy, make_export, monkeypatch):
    """The archive's copy checks each copied CSV file against the SHA-256 taken at validation
    (etl.archive): a file that changes between the validation and the copy ends the load failed
    with that message; the warehouse and the archive are as before, and the run is recorded. The
    file is changed just before the real archive step runs."""
    wh = warehouse_copy
    bytes_before = sha256_of(wh)
    archive_before = sorted(p.name for p in wh_paths.archive_dir(wh).iterdir())
    export = make_export("02")
    real_archive = etl_load.archive_exports

    def change_then_archive(warehouse, run_id, exports):
        with open(export / "ae.csv", "a", encoding="utf-8") as f:
            f.write("\n")
        return real_archive(warehouse, run_id, exports)
    monkeypatch.setattr(etl_load, "archive_exports", change_then_archive)
    result = load_exports([export], wh)

    assert result.outcome == "failed"
    assert f"{export / 'ae.csv'} changed while it was being loaded" in result.error
    assert sha256_of(wh) == bytes_before
    assert not list(wh.parent.glob(wh.name + ".tmp-*"))
    assert sorted(p.name for p in wh_paths.archive_dir(wh).iterdir()) == archive_before
    assert run_json(result)["outcome"] == "failed"


def test_zip_export_loads_and_is_archived_as_the_zip(tmp_path, make_export):
    wh = tmp_path / "wh" / "trial.duckdb"
    folder = make_export("01")
    archive = tmp_path / "site01.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted(folder.iterdir()):
            z.write(f, f"site01/{f.name}")

    result = load_exports([archive], wh)

    assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
    copy = wh_paths.archive_dir(wh) / result.run_id / "site01" / "site01.zip"
    assert sha256_of(copy) == sha256_of(archive)
    assert site_counts(wh)["dm"] == {"01": csv_row_counts(folder)["dm"]}


def test_audit_tables_hold_every_run_with_file_fingerprints(tmp_path, make_export):
    wh = tmp_path / "wh" / "trial.duckdb"
    good = make_export("01")
    bad = make_export("01", name="site01_bad")
    corrupt(bad)

    refused = validate_only([bad], wh)
    loaded = load_exports([good], wh)

    assert (refused.outcome, loaded.outcome) == ("refused", "loaded")
    assert query(wh, "SELECT RUN_ID, COMMAND, OUTCOME FROM audit.runs ORDER BY RUN_ID") == [
        (refused.run_id, "validate", "refused"), (loaded.run_id, "load", "loaded")]
    expected_files = {(f.name, sha256_of(f), len(read_csv(f)[1]))
                      for f in good.glob("*.csv")}
    assert set(query(wh, "SELECT FILE, SHA256, N_ROWS FROM audit.run_files WHERE RUN_ID = ?",
                     [loaded.run_id])) == expected_files
    assert {r[0] for r in query(wh, "SELECT MESSAGE FROM audit.run_problems WHERE RUN_ID = ?",
                                [refused.run_id])} == {str(p) for p in refused.problems}
    assert query(wh, "SELECT RUN_ID FROM audit.refresh") == [(loaded.run_id,)]


def test_stale_tmp_file_of_a_killed_load_is_removed_by_the_next_load(tmp_path, make_export):
    wh = tmp_path / "wh" / "trial.duckdb"
    wh.parent.mkdir()
    stale = wh.with_name(wh.name + ".tmp-20200101T000000.000Z-dead00")
    stale.write_bytes(b"half a database")

    result = load_exports([make_export("01")], wh)

    assert result.outcome == "loaded"
    assert not stale.exists()


# --- validate writes nothing -------------------------------------------------------------------

def test_validate_does_not_create_the_warehouse(tmp_path, make_export):
    wh = tmp_path / "wh" / "trial.duckdb"

    result = validate_only([make_export("01")], wh)

    assert result.outcome == "valid", [str(p) for p in result.problems]
    assert not wh.exists()
    assert not wh_paths.archive_dir(wh).exists()
    assert [r["outcome"] for r in runlog.list_runs(wh_paths.runs_dir(wh))] == ["valid"]


def test_validate_leaves_an_existing_warehouse_byte_identical(warehouse_copy, make_export):
    wh = warehouse_copy
    before = sha256_of(wh)
    bad = make_export("01", name="site01_bad")
    corrupt(bad)

    ok = validate_only([make_export("02")], wh)
    refused = validate_only([bad], wh)

    assert (ok.outcome, refused.outcome) == ("valid", "refused")
    assert sha256_of(wh) == before
    outcomes = {r["run_id"]: r["outcome"] for r in runlog.list_runs(wh_paths.runs_dir(wh))}
    assert outcomes[ok.run_id] == "valid" and outcomes[refused.run_id] == "refused"


def test_a_second_load_waits_for_the_lock_of_the_first(warehouse_copy, make_export):
    import fcntl
    import threading

    wh = warehouse_copy
    before = sha256_of(wh)
    waiting = threading.Event()
    results = []

    def progress(message: str) -> None:
        if message.startswith("waiting: another load"):
            waiting.set()

    fd = os.open(etl_load.lock_path(wh), os.O_RDWR)   # stands for a load in progress
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        second = threading.Thread(
            target=lambda: results.append(load_exports([make_export("02")], wh, progress)))
        second.start()
        while not waiting.wait(0.05):
            assert second.is_alive(), "the second load ran without waiting for the lock"
        assert sha256_of(wh) == before
        assert not list(wh.parent.glob(wh.name + ".tmp-*"))
    finally:
        os.close(fd)
    second.join()

    assert results[0].outcome == "loaded", (results[0].error, [str(p) for p in results[0].problems])
    assert sorted(site_counts(wh)["dm"]) == ["01", "02"]


def test_missing_derivation_module_fails_the_load_loudly(warehouse_copy, make_export, monkeypatch):
    import sys

    wh = warehouse_copy
    before = sha256_of(wh)
    monkeypatch.setitem(sys.modules, "etl.derive.build", None)   # import now raises ImportError

    result = load_exports([make_export("02")], wh)

    assert result.outcome == "failed" and result.exit_code != 0
    assert "etl.derive.build" in result.error
    assert sha256_of(wh) == before
