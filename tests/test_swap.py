"""etl.swap.replace, the step load_exports runs to swap the new warehouse in (etl/load.py), is one
atomic rename: at no instant during it does the warehouse path name nothing.

tests/test_atomic.py shows the inode changes (a new file, not a write into the old one) and that a
reader opened before keeps the old rows. Neither notices a swap that first removes the warehouse
and then renames the new file into place: the inode changes and the open reader keeps its file,
yet between the two calls the path is missing, and a dashboard reader connecting then fails.

This test watches every file-system call ``replace`` makes (Python audit events: os.rename,
os.remove, open, ...) and, just before each one runs, opens the warehouse path read-only and
reads which database it holds. It runs in a subprocess so that the audit hook (which cannot be
removed once added) stays out of the test process.
"""
from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from tests.conftest import PROJECT_ROOT, etl_env

WATCH = r"""
import json, os, sys
from pathlib import Path
import duckdb
from etl.swap import replace

wh, new = Path(sys.argv[1]), Path(sys.argv[2])
seen, busy = [], [False]
FS_EVENTS = {"os.rename", "os.remove", "os.rmdir", "os.truncate", "open", "shutil.copyfile",
             "shutil.copymode", "shutil.copystat", "shutil.move", "os.link", "os.symlink"}

def state() -> str:
    if not wh.exists():
        return "missing"
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute("SELECT v FROM t").fetchone()[0]
    finally:
        con.close()

def hook(event, args):
    if busy[0] or not watching or event not in FS_EVENTS:
        return
    busy[0] = True
    try:
        seen.append([event, state()])
    finally:
        busy[0] = False

watching = False
sys.addaudithook(hook)
watching = True
replace(new, wh)
watching = False
print(json.dumps({"seen": seen, "after": state(), "new_left": new.exists()}))
"""


def make_db(path, value: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE TABLE t (v VARCHAR)")
        con.execute("INSERT INTO t VALUES (?)", [value])
    finally:
        con.close()


def test_replace_never_leaves_the_warehouse_path_missing(tmp_path):
    """Old warehouse holds 'old', the new file beside it 'new'. Expected, from "one atomic
    rename": before every file-system call of the swap the path reads 'old' (not swapped yet)
    or 'new' (swapped), the 'old' ones first, never 'missing'; afterwards it reads 'new' and the
    new file's own name is gone and the warehouse path has the new file's inode (renamed, not
    copied: a copy over the old path would keep the old inode, a copy to a fresh path a third one)."""
    wh, new = tmp_path / "trialdash.duckdb", tmp_path / "trialdash.duckdb.tmp-run1"
    make_db(wh, "old")
    make_db(new, "new")
    new_inode = new.stat().st_ino
    out = subprocess.run([sys.executable, "-c", WATCH, str(wh), str(new)], cwd=PROJECT_ROOT,
                         env=etl_env(), capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    states = [s for _, s in got["seen"]]
    assert states, "the swap made no file-system call that could be watched"
    assert "missing" not in states, got["seen"]
    assert states == sorted(states, key=["old", "new"].index), got["seen"]   # old ... then new
    assert got["after"] == "new"
    assert got["new_left"] is False
    assert wh.stat().st_ino == new_inode      # the path now names the new file itself, not a copy
