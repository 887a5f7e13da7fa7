"""Great Expectations in its host process and forked workers (etl/gx_engine.py ``GxHost``,
etl/forked.py ``Forked``, issue 15).

1. The validator as the ETL runs it, on the demo's files corrupted in every column, finds the same
   problems, row for row, with two workers (GX in a host process started from here, each batch
   in a worker forked from the host) as with GX in this process, and with every batch run by
   column groups (as a large batch runs) as with each suite whole; each batch ran in a process
   that is neither the host nor this one, nothing was forked from this process, and this
   process's GX engine ran nothing.
2. The host: GX failing on a batch is an error here, and the host serves on; a host killed is an
   error here, and the next validation gets a new one.
3. ``Forked`` itself: results reach ``done`` in this process; a task that raises, or a child
   that dies without a result, is an error here naming what happened; on an error every child
   still running is killed and reaped (its pid gone).
"""
from __future__ import annotations

import dataclasses
import os
import random
import signal
import time
from pathlib import Path

import pytest

import etl.validate as validate
from etl import forked
from etl.contract import DOMAINS
from etl.read import read_export
from tests.conftest import corrupted

DEMO = Path(__file__).resolve().parent.parent / "demo" / "exports"


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The pids of the child processes os.fork makes while the test runs."""
    made: list[int] = []
    real_fork = os.fork

    def counted_fork():
        pid = real_fork()
        if pid:
            made.append(pid)
        return pid
    monkeypatch.setattr(os, "fork", counted_fork)
    return made


def test_two_worker_processes_find_what_gx_finds_in_this_process(tmp_path, monkeypatch, forks):
    rng = random.Random(41)
    files: dict[str, list] = {d: [] for d in DOMAINS}
    for site in sorted(DEMO.iterdir()):
        export, problems = read_export(site, tmp_path / site.name)
        assert not problems
        for d, ef in export.files.items():
            files[d].append(dataclasses.replace(ef, frame=corrupted(ef.frame, rng),
                                                sha256=f"{ef.sha256}-{site.name}-corrupted"))
    jobs = [(d, fs) for d, fs in files.items() if fs]
    runner = validate._runner()

    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "1")
    here = runner.run_domains(jobs)
    assert forks == []
    # Two workers: GX runs in a host process (a new process, not a fork of this one), each batch
    # in a worker forked there; the engine of this process runs nothing.
    monkeypatch.setattr(validate, "_HOST", [])
    engine = validate._engine()
    ran_here: list = []
    monkeypatch.setattr(engine, "failures", lambda parts: ran_here.append(parts))
    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "2")
    workers = runner.run_domains(jobs)
    try:
        [host] = validate._HOST
        assert forks == [] and ran_here == [] and host.pid != os.getpid()
        assert len(host.last_pids) == len(jobs)              # one batch per domain
        assert not {host.pid, os.getpid()} & set(host.last_pids)
        # Every batch by column groups, as a batch of GROUP_MIN_ROWS rows or more runs (the
        # demo's are below it): the same problems again.
        assert all(sum(ef.rows for ef in fs) < validate.GROUP_MIN_ROWS for _d, fs in jobs)
        monkeypatch.setattr(validate, "GROUP_MIN_ROWS", 0)
        grouped = runner.run_domains(jobs)
        assert validate._HOST == [host]                      # the same host served again
    finally:
        host.close()
    for d, _fs in jobs:
        for sha in here[d]:
            assert sorted(workers[d][sha], key=repr) == sorted(here[d][sha], key=repr), d
            assert sorted(grouped[d][sha], key=repr) == sorted(here[d][sha], key=repr), d
    assert sum(len(cells) for by_file in here.values() for cells in by_file.values()) > 200


def test_the_host_reports_a_failure_serves_on_and_a_dead_host_is_replaced(monkeypatch):
    """etl.gx_engine.GxHost: GX failing on a batch (here a frame that is no frame) is an error
    here naming the cause, and the same host then serves the next validation; a host that died
    is an error here, and ``_host`` starts a new one."""
    import pandas as pd

    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "2")
    monkeypatch.setattr(validate, "_HOST", [])
    expectations = [{"type": "expect_column_values_to_be_in_set",
                     "kwargs": {"column": "SEX", "value_set": ["M", "F"]}, "meta": {"rule": "MF"}}]
    good = [("host-test", expectations,
             pd.DataFrame({"_KEY": [0, 1, 2], "SEX": ["F", "X", None]}), ["_KEY"])]
    host = validate._host()
    try:
        with pytest.raises(RuntimeError, match="Great Expectations failed in its host process"):
            host.run([[("host-test", expectations, "not a frame", ["_KEY"])]])
        [[found]] = host.run([good])                      # the same host, serving on
        assert found[0][0] == "SEX" and found[0][4] == [1]   # the "X", by its key
        assert validate._host() is host
        os.kill(host.pid, signal.SIGKILL)
        host.proc.wait()
        with pytest.raises(RuntimeError, match="host process ended without a result"):
            host.run([good])
        new = validate._host()
        assert new is not host and new.alive()
        assert new.run([good])[0][0][0][4] == [1]
    finally:
        for h in validate._HOST:
            h.close()


def test_gx_workers_setting(monkeypatch):
    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "1")
    assert forked.gx_workers() == 1
    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "3")
    assert forked.gx_workers() == 3
    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "two")
    with pytest.raises(ValueError, match="TRIALDASH_GX_WORKERS='two': give a whole number"):
        forked.gx_workers()
    monkeypatch.delenv("TRIALDASH_GX_WORKERS")
    assert forked.gx_workers() == max(1, min(len(os.sched_getaffinity(0)), 4))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_results_come_back_and_a_failing_task_is_an_error_here(monkeypatch):
    got = []
    with forked.Forked(2) as pool:
        for i in range(5):
            pool.run(lambda i=i: (i, os.getpid()), got.append)
    assert sorted(i for i, _pid in got) == [0, 1, 2, 3, 4]
    assert os.getpid() not in {pid for _i, pid in got}          # each ran in a child

    def boom():
        raise ValueError("no such column: LBXYZ")
    with pytest.raises(RuntimeError, match="no such column: LBXYZ"):
        with forked.Forked(2) as pool:
            pool.run(boom, got.append)


def test_a_dead_child_is_an_error_and_the_others_are_killed_and_reaped(forks):
    with pytest.raises(RuntimeError, match="ended without a result"):
        with forked.Forked(2) as pool:
            pool.run(lambda: time.sleep(600), print)               # still running at the error
            pool.run(lambda: os._exit(3), print)                   # dies without a result
            pool.run(lambda: 1, print)                             # waits for a free worker
    assert len(forks) == 2
    assert not any(_alive(pid) for pid in forks)                  # killed, and reaped (no zombie)


def test_our_batches_carry_no_fingerprint_of_their_rows(monkeypatch):
    """The validator turns off GX's fingerprint of every batch (pandas' hash of every row, for a
    marker nothing here reads: a quarter of a large batch's validation): a batch of the ETL's
    runner carries no ``pandas_data_fingerprint``; with GX's own threshold put back, the same
    batch does (the test sees the switch, not an absence GX never had). A GX upgrade that renames
    the constant fails here instead of silently losing the time."""
    import pandas as pd
    from great_expectations.execution_engine import pandas_execution_engine

    engine = validate._engine()
    frame = pd.DataFrame({"A": ["x", "y", None]})
    batch = engine.batch_definition.get_batch(batch_parameters={"dataframe": frame})
    assert "pandas_data_fingerprint" not in batch.batch_markers
    monkeypatch.setattr(pandas_execution_engine, "HASH_THRESHOLD", 1e9)   # GX 1.24's default
    batch = engine.batch_definition.get_batch(batch_parameters={"dataframe": frame})
    assert "pandas_data_fingerprint" in batch.batch_markers


def test_the_validate_command_starts_gx_before_its_own_imports():
    """``python -m etl validate`` starts GX's host first (etl/__main__.py), before it imports
    Polars: the command run as Python runs it (runpy, as ``-m`` does) in a fresh process whose
    GxHost notes, as each host starts, whether Polars is imported yet; one host starts, before
    Polars, GX is never imported in that process, and the demo is still found valid."""
    import subprocess
    import sys
    import tempfile

    probe = """
import atexit, runpy, sys
from etl import gx_engine
starts = []
real = gx_engine.GxHost.__init__
def init(self, workers):
    starts.append("polars" in sys.modules)
    real(self, workers)
gx_engine.GxHost.__init__ = init
atexit.register(lambda: print("starts", starts, "gx here", "great_expectations" in sys.modules,
                              file=sys.stderr))
sys.argv = ["etl", *sys.argv[1:]]
runpy.run_module("etl", run_name="__main__", alter_sys=True)
"""
    root = DEMO.parent.parent
    with tempfile.TemporaryDirectory() as work:
        out = subprocess.run(
            [sys.executable, "-c", probe, "validate", str(DEMO / "site01"),
             "--warehouse", str(Path(work) / "w.duckdb")],
            cwd=root, capture_output=True, text=True,
            env={**os.environ, "TRIALDASH_GX_WORKERS": "2"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("valid: 1 export(s) meet the contract")
    assert "starts [False] gx here False" in out.stderr


def test_validate_takes_the_early_host_when_it_fits(monkeypatch):
    """``_host`` adopts the host ``start_early`` made when it runs the workers asked for, and
    closes it and starts its own when it does not."""
    from etl import gx_engine

    monkeypatch.setattr(validate, "_HOST", [])
    monkeypatch.setenv("TRIALDASH_GX_WORKERS", "2")
    monkeypatch.setattr(gx_engine, "EARLY", [])
    try:
        gx_engine.start_early()
        [early] = gx_engine.EARLY
        assert validate._host() is early and gx_engine.EARLY == []
        validate.stop_gx()
        monkeypatch.setenv("TRIALDASH_GX_WORKERS", "3")
        gx_engine.EARLY.append(gx_engine.GxHost(2))
        other = gx_engine.EARLY[0]
        host = validate._host()
        assert host is not other and host.workers == 3 and not other.alive()
    finally:
        validate.stop_gx()
