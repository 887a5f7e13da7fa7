"""A load is atomic: killed at any stage, the warehouse is the previous or the new complete state
and the next load succeeds; a reader in another process works throughout a load and sees the
old data, then the new, never an error or a mix.

Real processes (``python -m etl load``), real SIGKILL. The loader stops at a named stage when
TRIALDASH_TEST_PAUSE_AT names it (etl.pause), so the kill lands at a known point without timing
guesses.
"""
from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import warehouse as wh_paths
from etl import runlog
from etl.load import PAUSE_STAGES, load_exports, validate_only
from tests.conftest import (PROJECT_ROOT, copy_export_as_site, csv_row_counts, etl_env,
                            site_counts, snapshot)

pytestmark = pytest.mark.slow


def data_state(wh: Path) -> dict:
    """Everything a reader can see of the trial data: every sdtm and adam table in full, with
    sdtm.exports reduced to site and data cut (run ids and load times differ run to run)."""
    state = snapshot(wh, schemas=("sdtm", "adam"))
    state["sdtm.exports"] = sorted((r[0], r[1], r[2]) for r in state["sdtm.exports"])
    return state


@pytest.fixture(scope="module")
def site02_export(tmp_path_factory, valid_site01) -> Path:
    return copy_export_as_site(valid_site01, tmp_path_factory.mktemp("exports") / "site02", "02")


@pytest.fixture(scope="module")
def states(site01_warehouse, site02_export, tmp_path_factory) -> dict:
    """The two complete states a reader may see: 'old' (site 01) and 'new' (sites 01 and 02),
    with their row counts taken from the export files."""
    ref = tmp_path_factory.mktemp("reference") / "wh"
    shutil.copytree(site01_warehouse.parent, ref)
    wh = ref / site01_warehouse.name
    old = data_state(wh)
    result = load_exports([site02_export], wh)
    assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
    n = csv_row_counts(site02_export)   # site 02 is a copy of site 01: the same counts each
    return {"old": old, "new": data_state(wh),
            "old_counts": {d: {"01": k} for d, k in n.items()},
            "new_counts": {d: {"01": k, "02": k} for d, k in n.items()}}


def sdtm_counts(wh: Path) -> dict:
    return {d: c for d, c in site_counts(wh).items() if c}


def start_load(export: Path, wh: Path, stage: str, resume: Path | None = None) -> subprocess.Popen:
    """`python -m etl load EXPORT` in a real process that pauses at ``stage``. As the data team
    works, the export is validated first (``etl.load.validate_only``, in this process, where
    Great Expectations already runs), so the load process reuses that recorded validation
    (etl.validate.reusable_run) and spends its time on the stages under test."""
    checked = validate_only([export], wh)
    assert checked.outcome == "valid", [str(p) for p in checked.problems]
    env = etl_env(TRIALDASH_TEST_PAUSE_AT=stage)
    if resume is not None:
        env["TRIALDASH_TEST_RESUME_FILE"] = str(resume)
    return subprocess.Popen([sys.executable, "-m", "etl", "load", str(export), "--warehouse", str(wh)],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for_pause(proc: subprocess.Popen, stage: str) -> None:
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.strip() == f"PAUSED AT {stage}":
            return
    proc.wait()
    pytest.fail(f"load ended (exit {proc.returncode}) without pausing at {stage}:\n" + "".join(seen))


@pytest.mark.parametrize("stage", PAUSE_STAGES)
def test_load_killed_at_any_stage_leaves_previous_or_new_warehouse(stage, warehouse_copy,
                                                                    site02_export, states):
    wh = warehouse_copy
    assert data_state(wh) == states["old"]

    proc = start_load(site02_export, wh, stage)
    wait_for_pause(proc, stage)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()

    swapped = stage == "after_replace"
    assert data_state(wh) == states["new" if swapped else "old"]
    assert sdtm_counts(wh) == states["new_counts" if swapped else "old_counts"]
    runs = wh_paths.runs_dir(wh)
    [killed] = runlog.pending_runs(runs)   # the killed run left its pending record

    result = load_exports([site02_export], wh)

    assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
    assert data_state(wh) == states["new"]
    assert sdtm_counts(wh) == states["new_counts"]
    assert not list(wh.parent.glob(wh.name + ".tmp-*"))
    assert runlog.pending_runs(runs) == []
    outcome = {r["run_id"]: r["outcome"] for r in runlog.list_runs(runs)}
    assert outcome[killed] == ("loaded" if swapped else "failed")
    assert (wh_paths.archive_dir(wh) / killed).exists() == swapped


READER = r"""
import os, sys, time, duckdb
wh, stop, mark = sys.argv[1], sys.argv[2], sys.argv[3]
marked = False
while not os.path.exists(stop):
    if not marked and os.path.exists(mark):
        marked = True
        print("mark", flush=True)  # every connection from here on starts after the load ended
    try:
        con = duckdb.connect(wh, read_only=True)
        try:
            sites = ",".join(r[0] for r in con.execute(
                "SELECT SITEID FROM sdtm.exports ORDER BY 1").fetchall())
            dm_sites = ",".join(r[0] for r in con.execute(
                "SELECT DISTINCT SITEID FROM sdtm.dm ORDER BY 1").fetchall())
            adsl = con.execute("SELECT count(*) FROM adam.adsl").fetchone()[0]
        finally:
            con.close()
        print(f"ok {sites} {dm_sites} {adsl}", flush=True)
    except Exception as exc:
        print("error " + repr(exc).replace("\n", " "), flush=True)
    time.sleep(0.05)
print("stopped", flush=True)
"""


def test_reader_in_another_process_works_throughout_a_load(warehouse_copy, site02_export,
                                                          states, tmp_path):
    wh = warehouse_copy
    stop, resume, mark = tmp_path / "stop", tmp_path / "resume", tmp_path / "mark"
    # What the reader must see: adsl has one row per dm row (R-ENROL: ADSL is one row per
    # screened subject), so old = site 01's dm rows, new = twice that.
    n_dm = states["old_counts"]["dm"]["01"]
    old_line, new_line = f"ok 01 01 {n_dm}", f"ok 01,02 01,02 {2 * n_dm}"

    reader = subprocess.Popen([sys.executable, "-c", READER, str(wh), str(stop), str(mark)],
                              stdout=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for x in reader.stdout:
            lines.put(x.strip())
        lines.put(None)                           # the reader ended

    def next_line() -> str:
        line = lines.get()
        assert line is not None, f"the reader process ended early: {seen}"
        return line

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    seen.append(next_line())
    load = start_load(site02_export, wh, "before_replace", resume)
    try:
        wait_for_pause(load, "before_replace")   # the new file is complete, not yet swapped in
        while not lines.empty():
            seen.append(next_line())
        for _ in range(3):                        # reads while the new file waits beside the old
            seen.append(next_line())
        resume.touch()
        assert load.wait() == 0
        load.stderr.close()
        mark.touch()
        while seen[-1] != "mark":
            seen.append(next_line())
        for _ in range(3):                        # connections opened after the load ended
            seen.append(next_line())
            assert seen[-1] == new_line, seen[-1]
    finally:
        stop.touch()
        reader.wait()
        if load.poll() is None:
            load.kill()
    while (line := lines.get()) is not None:
        seen.append(line)

    assert [x for x in seen if x.startswith("error")] == []
    reads = [x for x in seen if x not in ("stopped", "mark")]
    assert set(reads) <= {old_line, new_line}, set(reads)
    first_new = reads.index(new_line)
    assert first_new > 0 and all(x == old_line for x in reads[:first_new])
    assert all(x == new_line for x in reads[first_new:])


def test_load_swaps_in_a_new_file_and_an_open_reader_keeps_the_old_rows(warehouse_copy, site02_export):
    """The swap is an atomic rename of a complete new file (etl.load: build beside, os.replace),
    never a write into the file readers hold: the warehouse path gets a new inode, and a
    read-only connection opened before the load still reads the previous rows after it (STACK-
    NOTES: the open connection keeps the old file), while a new connection reads the new rows."""
    import os

    import duckdb

    wh = warehouse_copy
    inode_before = os.stat(wh).st_ino
    reader = duckdb.connect(str(wh), read_only=True)
    try:
        sites = "SELECT string_agg(SITEID, ',' ORDER BY SITEID) FROM sdtm.exports"
        assert reader.execute(sites).fetchone() == ("01",)
        result = load_exports([site02_export], wh)
        assert result.outcome == "loaded", (result.error, [str(p) for p in result.problems])
        assert os.stat(wh).st_ino != inode_before
        assert reader.execute(sites).fetchone() == ("01",)           # the old file, still whole
        assert reader.execute("SELECT count(*) FROM adam.adsl").fetchone()[0] > 0
    finally:
        reader.close()
    fresh = duckdb.connect(str(wh), read_only=True)
    try:
        assert fresh.execute(sites).fetchone() == ("01,02",)
    finally:
        fresh.close()
