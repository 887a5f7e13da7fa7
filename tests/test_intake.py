"""The browser's door to the ETL (intake.py, issue 13): what an upload may be, and that a refused or
abandoned upload leaves the warehouse byte-identical and writes nothing outside its own folder.

Each refusal is checked three ways: the message names the problem; the warehouse file's SHA-256
is the one taken before; the file tree beside the warehouse changed at most inside the upload's
own folder ``<WH>.uploads/<id>/`` (or not at all when the upload was refused before storing).
Validation and load are the real command line (intake runs ``python -m etl``), on the session's
site-01 warehouse copied per test (tests/conftest.py ``warehouse_copy``).
"""
from __future__ import annotations

import hashlib
import io
import os
import time
import zipfile
from pathlib import Path

import pytest

import intake
import warehouse as wh_paths
from tests.conftest import copy_export_as_site, query


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> set[str]:
    """Every path under ``folder`` (files and folders), relative to it."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def export_files(folder: Path) -> list[tuple[str, bytes]]:
    """An export folder as the page's uploader hands it over: (file name, bytes) per file."""
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def site02(tmp_path, valid_site01) -> Path:
    """A valid export of site 02 (the hand-made site-01 export renamed: tests/conftest.py)."""
    return copy_export_as_site(valid_site01, tmp_path / "site02", "02")


def assert_untouched(wh: Path, before_sha: str, before_tree: set[str], upload_id: str | None = None):
    """The warehouse is byte-identical; nothing new beside it but the upload's own folder and the
    run log's records of the runs made (every run is recorded: warehouse.runs_dir)."""
    assert sha(wh) == before_sha
    allowed = [intake.uploads_dir(wh).name, wh_paths.runs_dir(wh).name]
    if upload_id:
        allowed.append(f"{intake.uploads_dir(wh).name}/{upload_id}")
    outside = {p for p in tree(wh.parent) - before_tree
               if p not in allowed and not any(p.startswith(a + "/") for a in allowed[1:])}
    assert outside == set(), outside


# --- refused before anything is written ---------------------------------------------------------

def test_an_upload_over_the_size_limit_is_refused_naming_the_limit(warehouse_copy, site02, monkeypatch):
    files = export_files(site02)
    total = sum(len(d) for _, d in files)
    monkeypatch.setattr(intake, "MAX_UPLOAD_BYTES", total - 1)      # one byte short
    before_sha, before_tree = sha(warehouse_copy), tree(warehouse_copy.parent)
    with pytest.raises(intake.UploadRefused) as refused:
        intake.store(files, warehouse_copy)
    assert f"{total:,} bytes" in str(refused.value) and "MAX_UPLOAD_BYTES" in str(refused.value)
    assert_untouched(warehouse_copy, before_sha, before_tree)
    assert not intake.uploads_dir(warehouse_copy).exists()
    monkeypatch.setattr(intake, "MAX_UPLOAD_BYTES", total)          # exactly at the limit: stored
    assert intake.store(files, warehouse_copy).folder.is_dir()


@pytest.mark.parametrize("name", ["../dm.csv", "/tmp/dm.csv", "sub/dm.csv", "sub\\dm.csv", ".dm.csv",
                                  "dm.csv\x00.zip", ""])
def test_a_file_name_that_is_not_plain_is_refused(warehouse_copy, site02, name):
    files = export_files(site02) + [(name, b"STUDYID\r\n")]
    before_sha, before_tree = sha(warehouse_copy), tree(warehouse_copy.parent)
    with pytest.raises(intake.UploadRefused) as refused:
        intake.store(files, warehouse_copy)
    assert repr(name) in str(refused.value) and "not a plain file name" in str(refused.value)
    assert_untouched(warehouse_copy, before_sha, before_tree)
    assert not (warehouse_copy.parent.parent / "dm.csv").exists()


@pytest.mark.parametrize("case", ["zip_and_csv", "two_zips", "same_name_twice", "nothing"])
def test_more_or_less_than_one_export_is_refused(warehouse_copy, site02, case):
    files = export_files(site02)
    zipped = ("site02.zip", zip_of({f"site02/{n}": d for n, d in files}))
    upload = {"zip_and_csv": [zipped, files[0]],
              "two_zips": [zipped, ("site03.zip", zipped[1])],
              "same_name_twice": files + [files[0]],
              "nothing": []}[case]
    before_sha, before_tree = sha(warehouse_copy), tree(warehouse_copy.parent)
    with pytest.raises(intake.UploadRefused) as refused:
        intake.store(upload, warehouse_copy)
    expected = {"zip_and_csv": "one export per upload", "two_zips": "one export per upload",
                "same_name_twice": "the same file name twice", "nothing": "nothing uploaded"}[case]
    assert expected in str(refused.value)
    assert_untouched(warehouse_copy, before_sha, before_tree)


# --- refused by the ETL's own reader (the real `python -m etl validate`) -------------------------

@pytest.mark.parametrize("case", ["two_folders", "zip_slip"])
def test_an_unsafe_zip_is_refused_by_the_etl_reader_and_nothing_leaves_the_upload(
        warehouse_copy, site02, case):
    files = dict(export_files(site02))
    if case == "two_folders":
        members = {**{f"a/{n}": d for n, d in files.items()}, **{f"b/{n}": d for n, d in files.items()}}
        expected = "zip refused: it must hold one export folder"
    else:
        members = {**{f"site02/{n}": d for n, d in files.items()}, "../escaped.csv": b"x\r\n"}
        expected = "zip refused: member ../escaped.csv would leave the extraction folder"
    before_sha, before_tree = sha(warehouse_copy), tree(warehouse_copy.parent)
    upload = intake.store([("site02.zip", zip_of(members))], warehouse_copy)

    run = intake.validate(upload, warehouse_copy, "data")

    assert run.outcome == "refused"
    assert expected in run.output
    assert not (upload.folder / intake.VALIDATED).exists()         # no ticket to load
    with pytest.raises(intake.UploadRefused):
        intake.load(upload, upload.digest, warehouse_copy, "data")
    assert_untouched(warehouse_copy, before_sha, before_tree, upload.upload_id)
    assert not any(p.name == "escaped.csv" for p in warehouse_copy.parent.parent.rglob("escaped.csv"))


# --- load only the validated bytes; the folder is removed once loaded ------------------------------

def test_load_refuses_bytes_changed_after_validation_then_loads_the_validated_ones(warehouse_copy, site02):
    before_sha, before_tree = sha(warehouse_copy), tree(warehouse_copy.parent)
    upload = intake.store(export_files(site02), warehouse_copy)
    with pytest.raises(intake.UploadRefused, match="not the ones validated"):
        intake.load(upload, upload.digest, warehouse_copy, "data")   # never validated
    run = intake.validate(upload, warehouse_copy, "data")
    assert run.outcome == "valid", run.output

    dm = upload.source / "dm.csv"
    original = dm.read_bytes()
    dm.write_bytes(original.replace(b"\r\n", b"\n", 1))             # one byte fewer on disk
    with pytest.raises(intake.UploadRefused, match="not the ones validated"):
        intake.load(upload, upload.digest, warehouse_copy, "data")
    dm.write_bytes(original)
    with pytest.raises(intake.UploadRefused, match="not the ones validated"):
        intake.load(upload, "0" * 64, warehouse_copy, "data")        # the page holds other bytes
    assert_untouched(warehouse_copy, before_sha, before_tree, upload.upload_id)

    loaded = intake.load(upload, upload.digest, warehouse_copy, "data")

    assert loaded.outcome == "loaded", loaded.output
    assert query(warehouse_copy, "SELECT SITEID FROM sdtm.exports ORDER BY 1") == [("01",), ("02",)]
    assert loaded.record["user"] == "data"                          # the app user, not the OS one
    assert not upload.folder.exists()                                # removed once loaded
    assert list(intake.uploads_dir(warehouse_copy).iterdir()) == []


def test_abandoned_uploads_are_swept_by_age_and_by_the_next_upload(warehouse_copy, site02):
    """Clock injected: folders' modification times are set back, nothing sleeps. Bound 24 h
    (intake.ABANDONED_AFTER_SECONDS): 24 h + 1 s untouched is swept, 24 h - 1 s is kept."""
    files = export_files(site02)
    old, recent = intake.store(files, warehouse_copy), intake.store(files, warehouse_copy)
    now = time.time()
    os.utime(old.folder, (now, now - intake.ABANDONED_AFTER_SECONDS - 1))
    os.utime(recent.folder, (now, now - intake.ABANDONED_AFTER_SECONDS + 1))

    assert intake.sweep(warehouse_copy, now=now) == [old.upload_id]
    assert not old.folder.exists() and recent.folder.is_dir()

    os.utime(recent.folder, (now, now - intake.ABANDONED_AFTER_SECONDS - 1))
    third = intake.store(files, warehouse_copy)                       # sweeps before storing
    assert not recent.folder.exists() and third.folder.is_dir()
    assert [p.name for p in intake.uploads_dir(warehouse_copy).iterdir()] == [third.upload_id]
