"""The ETL's allocator setting (etl/__init__.py, issue 15): a process that imports ``etl`` before
Polars gives Polars' jemalloc ``muzzy_decay_ms:0`` after Polars' own defaults (the later value of
a key wins), and a value the user set is kept instead. Each case is a fresh interpreter: the
setting only acts before Polars' first import."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import PROJECT_ROOT

SHOW = "import etl, polars, os; print(os.environ['_RJEM_MALLOC_CONF'])"


def allocator_conf(**extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    env.update(extra)
    out = subprocess.run([sys.executable, "-c", SHOW], cwd=PROJECT_ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=120)
    return out.stdout.strip()


def last_value(conf: str, key: str) -> str | None:
    """jemalloc reads the options left to right: the last one of a key is the one in force."""
    values = [o.split(":", 1)[1] for o in conf.split(",") if o.split(":", 1)[0] == key]
    return values[-1] if values else None


def test_the_etl_returns_freed_memory_at_once():
    conf = allocator_conf()
    assert last_value(conf, "muzzy_decay_ms") == "0"
    assert conf.index("muzzy_decay_ms:0") > conf.index("dirty_decay_ms")   # after Polars' defaults


def test_a_setting_of_the_user_is_kept():
    conf = allocator_conf(_RJEM_MALLOC_CONF="muzzy_decay_ms:250")
    assert last_value(conf, "muzzy_decay_ms") == "250"
