"""The ETL's work folders (etl/workdir.py): a run killed with SIGKILL leaves its folder, and the
next run removes it; a living run's folder, a folder being created, another account's folder, a
link, and anything not named as a work folder are left alone. Real processes, real SIGKILL, a
private temporary directory (TMPDIR)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from etl import workdir
from tests.conftest import PROJECT_ROOT, etl_env

HOLD = """
import sys, time
from etl.workdir import work_folder
with work_folder(sys.argv[1]) as w:
    (w / "ae.csv").write_text("USUBJID\\n")      # an extracted export file
    print(w, flush=True)
    time.sleep(600)
"""


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch):
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))       # this process's work folders
    return root, etl_env(TMPDIR=str(root))                      # and its children's


def hold(env: dict, kind: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, kind], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


@pytest.mark.parametrize("kind", ["validate", "packet"])    # an ETL run, a committee packet
def test_a_killed_runs_folder_is_swept_by_the_next_run_and_a_living_ones_is_not(tmpdir_env, kind):
    root, env = tmpdir_env
    alive, alive_folder = hold(env, "load")
    killed, killed_folder = hold(env, kind)
    try:
        assert os.path.dirname(alive_folder) == str(root) and os.path.isdir(killed_folder)
        assert workdir.sweep() == []                       # both runs alive: nothing removed
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert os.path.isdir(killed_folder)                # SIGKILL: no clean-up of its own
        with workdir.work_folder("load") as mine:          # the next run
            assert not os.path.exists(killed_folder)
            assert os.path.isdir(alive_folder) and os.path.isdir(mine)
            assert sorted(p.name for p in root.iterdir()) == sorted(
                [os.path.basename(alive_folder), mine.name])
        assert not mine.exists()                           # its own, removed at its end
    finally:
        for p in (alive, killed):
            p.kill()
            p.wait(timeout=30)
            p.stdout.close()


def test_a_folder_being_created_and_other_names_are_left_alone(tmpdir_env):
    root, _env = tmpdir_env
    new = root / "trialdash-load-abc123"                   # no .in-use yet: being created
    old = root / "trialdash-validate-def456"               # no .in-use, two hours old: left by a
    other = [root / "trialdash-bench-1000-x", root / "pytest-of-someone", root / "trialdash-"]
    for d in (new, old, *other):                           # run that died before it locked it
        d.mkdir()
    two_hours_ago = time.time() - 2 * 3600
    os.utime(old, (two_hours_ago, two_hours_ago))
    # another account's folder, and a link by a work folder's name, are never touched
    theirs = root / "trialdash-load-theirs"
    if os.getuid() == 0:                      # root can hand a folder to another account
        theirs.mkdir()
        os.utime(theirs, (two_hours_ago, two_hours_ago))
        os.chown(theirs, 4242, 4242)
    target = root / "elsewhere"
    target.mkdir()
    (target / "dm.csv").write_text("USUBJID\n")
    link = root / "trialdash-load-link"
    link.symlink_to(target, target_is_directory=True)
    os.utime(link, (two_hours_ago, two_hours_ago), follow_symlinks=False)
    assert workdir.sweep() == [old]
    assert new.is_dir() and all(d.is_dir() for d in other)
    assert link.is_symlink() and (target / "dm.csv").is_file()
    assert theirs.is_dir() == (os.getuid() == 0)       # another account's: kept
    with pytest.raises(ValueError):
        with workdir.work_folder("anything"):
            pass


def test_a_real_load_killed_mid_way_leaves_nothing_after_the_next_load(tmpdir_env, make_export, tmp_path):
    """`python -m etl load` of a zip (extracted into its work folder), killed at the pause after
    validation; the next load of the same export loads, and no work folder is left."""
    import shutil
    root, env = tmpdir_env
    export = make_export("01")
    archive = shutil.make_archive(str(tmp_path / "site01"), "zip", export.parent, export.name)
    wh = tmp_path / "wh" / "trial.duckdb"
    wh.parent.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "etl", "load", archive, "--warehouse", str(wh)],
                            cwd=PROJECT_ROOT, env={**env, "TRIALDASH_TEST_PAUSE_AT": "validated"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "PAUSED AT validated" in line:
                break
        left = [p for p in root.iterdir() if p.name.startswith("trialdash-load-")]
        assert len(left) == 1 and any(left[0].rglob("dm.csv"))   # the extracted export
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stderr.close()
    assert left[0].is_dir()
    done = subprocess.run([sys.executable, "-m", "etl", "load", archive, "--warehouse", str(wh)],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [p for p in root.iterdir() if p.name.startswith("trialdash-")]
