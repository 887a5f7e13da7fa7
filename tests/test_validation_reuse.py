"""A load reuses the recorded result of a successful validation of the same delivery (issue 15):
the Great Expectations suites run once per delivery. Reused only when every CSV file's SHA-256,
every suite file's SHA-256 and the project's version (etl.validate.fingerprint) are identical;
anything else validates again. In process (etl.load), like tests/test_load.py."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import etl
import etl.validate as etl_validate
from etl.load import load_exports, validate_only
from etl import runlog
from warehouse import runs_dir
from tests.conftest import copy_export_as_site, edit_csv, snapshot

REUSED = "Great Expectations suites reused from run "


@pytest.fixture
def export(valid_site01, tmp_path):
    return copy_export_as_site(valid_site01, tmp_path / "exports" / "site01", "01")


@pytest.fixture
def wh(tmp_path):
    return tmp_path / "wh" / "trial.duckdb"


@pytest.fixture
def own_suites(tmp_path, monkeypatch):
    """A private copy of expectations/ that the validator reads, for a test to change."""
    folder = tmp_path / "expectations"
    shutil.copytree(etl_validate.EXPECTATIONS_DIR, folder)
    monkeypatch.setattr(etl_validate, "EXPECTATIONS_DIR", folder)
    return folder


def test_load_after_a_successful_validate_of_the_same_bytes_reuses_it_and_says_so(
        export, wh, site01_warehouse):
    checked = validate_only([export], wh)
    assert checked.outcome == "valid" and checked.record["validation"] == "validated"
    loaded = load_exports([export], wh)
    assert loaded.outcome == "loaded", (loaded.error, [str(p) for p in loaded.problems])
    assert loaded.record["validation"].startswith(REUSED + checked.run_id)
    on_disk = json.loads((runs_dir(wh) / loaded.run_id / "run.json").read_text(encoding="utf-8"))
    assert on_disk["validation"] == loaded.record["validation"]
    assert REUSED + checked.run_id in loaded.report.read_text(encoding="utf-8")
    # the same rows as a load that validated everything itself (the session's site-01 warehouse;
    # sdtm.exports names each load's own run and archive)
    ours, theirs = snapshot(wh, ("sdtm", "adam")), snapshot(site01_warehouse, ("sdtm", "adam"))
    ours.pop("sdtm.exports"), theirs.pop("sdtm.exports")
    assert ours == theirs


def test_a_changed_byte_in_a_file_validates_again(export, wh):
    assert validate_only([export], wh).outcome == "valid"

    def retitle(header, rows):            # still valid: the verbatim term of the first AE
        rows[0][header.index("AETERM")] += "."
    edit_csv(export / "ae.csv", retitle)
    loaded = load_exports([export], wh)
    assert loaded.outcome == "loaded" and loaded.record["validation"] == "validated"


def test_a_changed_suite_validates_again_and_refuses_what_the_old_result_accepted(
        export, wh, own_suites):
    assert validate_only([export], wh).outcome == "valid"
    suite = json.loads((own_suites / "dm.json").read_text(encoding="utf-8"))
    for e in suite["expectations"]:
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == "SEX":
            e["kwargs"]["value_set"] = ["M"]       # the reused result (valid) would now be wrong
            e["meta"]["rule"] = "not one of the allowed values: M"
    (own_suites / "dm.json").write_text(json.dumps(suite, indent=2), encoding="utf-8")
    loaded = load_exports([export], wh)
    assert loaded.outcome == "refused" and loaded.record["validation"] == "validated"
    assert [str(p) for p in loaded.problems] == ["dm.csv:2: SEX=F: not one of the allowed values: M"]
    assert not wh.exists()


def test_another_project_version_validates_again(export, wh, monkeypatch):
    assert validate_only([export], wh).outcome == "valid"
    monkeypatch.setattr(etl, "__version__", etl.__version__ + "-next")
    loaded = load_exports([export], wh)
    assert loaded.outcome == "loaded" and loaded.record["validation"] == "validated"


def test_a_refused_validation_is_never_reused(export, wh):
    edit_csv(export / "dm.csv", lambda header, rows: rows[0].__setitem__(header.index("SEX"), "X"))
    assert validate_only([export], wh).outcome == "refused"
    loaded = load_exports([export], wh)
    assert loaded.outcome == "refused" and loaded.record["validation"] == "validated"
    assert [str(p) for p in loaded.problems] == ["dm.csv:2: SEX=X: not one of the allowed values: M, F"]


def test_a_validation_of_other_files_is_not_reused(export, valid_site01, wh, tmp_path):
    other = copy_export_as_site(valid_site01, tmp_path / "exports" / "site02", "02")
    assert validate_only([export, other], wh).outcome == "valid"
    loaded = load_exports([export], wh)       # a subset of what was validated: not the same delivery
    assert loaded.outcome == "loaded" and loaded.record["validation"] == "validated"


@pytest.fixture
def gx_starts(monkeypatch) -> list[str]:
    """In order, each export read ("read") and each start of Great Expectations ("start GX",
    etl.validate._start_gx: its host process with several workers) of the runs in the test."""
    events: list[str] = []
    real_read, real_start = etl_validate.read_export, etl_validate._start_gx

    def read(*args, **kwargs):
        events.append("read")
        return real_read(*args, **kwargs)

    def start():
        events.append("start GX")
        return real_start()
    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "2")
    monkeypatch.setattr(etl_validate, "_GX_CACHE", {})   # no file validated yet in this process
    monkeypatch.setattr(etl_validate, "read_export", read)
    monkeypatch.setattr(etl_validate, "_start_gx", start)
    return events


def test_gx_starts_before_reading_unless_a_recorded_validation_might_be_reused(
        export, valid_site01, wh, tmp_path, gx_starts):
    """GX's host starts before the reading (its import beside it) when GX will be needed: a
    ``validate``, and a load with no recorded validation to reuse. A load with one does not start
    it early: reused, GX never starts; not reused (other files were validated), it starts once
    the files are read and known to need it."""
    def run(step) -> list[str]:
        gx_starts.clear()
        etl_validate._GX_CACHE.clear()       # each step's files not validated in this process
        step()
        return list(gx_starts)
    other = copy_export_as_site(valid_site01, tmp_path / "exports" / "site02", "02")
    # (a second start finds the host started)
    assert run(lambda: validate_only([export], wh)) == ["start GX", "read", "start GX"]
    assert run(lambda: load_exports([export], wh)) == ["read"]              # reused
    assert run(lambda: validate_only([export, other], wh)) == ["start GX", "read", "read",
                                                              "start GX"]
    # That validation might be reused (no load since), but it was of other files: GX once read.
    assert run(lambda: load_exports([other], wh)) == ["read", "start GX"]
    # No run recorded at all: GX first.
    assert run(lambda: load_exports([export], tmp_path / "wh2" / "trial.duckdb")) == [
        "start GX", "read", "start GX"]
    assert [r["validation"][:len(REUSED)] for r in runlog.list_runs(runs_dir(wh))
            if r["command"] == "load"] == [REUSED, "validated"]


def test_every_etl_module_the_validator_imports_is_in_its_fingerprint():
    """A recorded validation is reused only under the same validator code: every etl module that
    etl/validate.py imports, directly or through another etl module, is in VALIDATOR_CODE (read
    here from the source files' import statements). etl/runlog.py is the one exception: it finds
    the recorded run to reuse (reusable_run) and decides no result."""
    import ast

    from etl.validate import VALIDATOR_CODE
    etl_dir = Path(__file__).resolve().parent.parent / "etl"
    seen, todo = set(), ["validate"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse((etl_dir / f"{name}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "etl":
                todo += [a.name for a in node.names if (etl_dir / f"{a.name}.py").exists()]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("etl."):
                todo.append(node.module.split(".")[1])
    deciding = {f"{m}.py" for m in seen} - {"runlog.py"}
    assert deciding <= set(VALIDATOR_CODE), sorted(deciding - set(VALIDATOR_CODE))
    assert "conditions.py" in {f"{m}.py" for m in seen}
