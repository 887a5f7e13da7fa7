"""auth.py (issue 6): hashed passwords, the add-user command, lock-out, the append-only access log,
the demo accounts refused on the real warehouse."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

import auth
from warehouse import DEFAULT_WAREHOUSE, PROJECT_ROOT

FAST = 200_000  # the minimum verify_password accepts; keeps the suite quick


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALDASH_USERS", str(tmp_path / "users.toml"))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(tmp_path / "access.log"))
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(tmp_path / "w.duckdb"))
    return tmp_path


def test_password_is_stored_as_pbkdf2_sha256_hash_never_plaintext(env):
    auth.add_user("alice", "pi", "correct horse battery", env / "users.toml", iterations=FAST)
    text = (env / "users.toml").read_text()
    assert "correct horse battery" not in text
    stored = auth.load_users()["alice"]["password"]
    algo, iterations, salt, digest = stored.split("$")
    assert algo == "pbkdf2_sha256" and int(iterations) == FAST
    assert auth.verify_password("correct horse battery", stored)
    assert not auth.verify_password("correct horse batterY", stored)


def test_default_iterations_are_at_least_600k():
    assert auth.hash_password("x" * 12).split("$")[1] == str(auth.ITERATIONS) and auth.ITERATIONS >= 600_000


def test_same_password_gets_a_different_salt_each_time():
    assert auth.hash_password("x" * 12, iterations=FAST) != auth.hash_password("x" * 12, iterations=FAST)


def test_hash_with_too_few_iterations_is_refused():
    weak = auth.hash_password("password123", iterations=1000)
    assert not auth.verify_password("password123", weak)


def test_add_user_command_reads_password_from_stdin(env):
    users = env / "users.toml"
    r = subprocess.run([sys.executable, "-m", "auth", "add-user", "bob", "--role", "monitor",
                        "--password-stdin", "--users", str(users)], input="s3cret-password\n",
                       capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert r.returncode == 0, r.stderr
    u = auth.load_users(users)
    assert u["bob"]["role"] == "monitor"
    assert auth.verify_password("s3cret-password", u["bob"]["password"])


def test_add_user_refuses_an_unknown_role(env):
    r = subprocess.run([sys.executable, "-m", "auth", "add-user", "bob", "--role", "admin",
                        "--password-stdin", "--users", str(env / "u.toml")], input="s3cret-password\n",
                       capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert r.returncode == 2 and not (env / "u.toml").exists()


def test_authenticate_returns_role_and_logs_success_and_failure(env):
    auth.add_user("carol", "data", "data-team-pass", env / "users.toml", iterations=FAST)
    assert auth.authenticate("carol", "wrong-password") is None
    assert auth.authenticate("nobody", "data-team-pass") is None
    assert auth.authenticate("carol", "data-team-pass") == "data"
    events = [(e["event"], e["user"]) for e in auth.read_access_log()]
    assert events == [("signin_failed", "carol"), ("signin_failed", "nobody"), ("signin", "carol")]


def test_five_failures_lock_the_user_out_even_with_the_right_password(env):
    auth.add_user("dave", "pi", "the-right-pass", env / "users.toml", iterations=FAST)
    for _ in range(auth.LOCKOUT_FAILURES):
        assert auth.authenticate("dave", "wrong") is None
    assert auth.locked_out("dave")
    assert auth.authenticate("dave", "the-right-pass") is None
    assert auth.read_access_log()[-1]["event"] == "signin_locked"


def test_lock_out_ends_after_the_window(env):
    auth.add_user("erin", "pi", "the-right-pass", env / "users.toml", iterations=FAST)
    for _ in range(auth.LOCKOUT_FAILURES):
        auth.authenticate("erin", "wrong")
    later = dt.datetime.now(dt.timezone.utc) + auth.LOCKOUT_WINDOW + dt.timedelta(seconds=1)
    assert auth.locked_out("erin")
    assert not auth.locked_out("erin", now=later)


def test_four_failures_then_success_do_not_lock(env):
    auth.add_user("fay", "pi", "the-right-pass", env / "users.toml", iterations=FAST)
    for _ in range(auth.LOCKOUT_FAILURES - 1):
        auth.authenticate("fay", "wrong")
    assert auth.authenticate("fay", "the-right-pass") == "pi"
    auth.authenticate("fay", "wrong")
    assert not auth.locked_out("fay")  # the success broke the run of failures


def test_access_log_loses_no_entry_under_concurrent_writers(env):
    # 4 processes x 200 entries each = 800 whole JSON lines, none torn or lost.
    code = ("import sys, auth\n"
            "for i in range(200): auth.log_access('view', f'w{sys.argv[1]}', f'p{i}', pad='x'*300)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(n)], cwd=PROJECT_ROOT,
                              env={"TRIALDASH_ACCESS_LOG": str(env / "access.log"),
                                   "PATH": "/usr/bin:/bin"}) for n in range(4)]
    assert all(p.wait() == 0 for p in procs)
    lines = (env / "access.log").read_text().splitlines()
    assert len(lines) == 800
    entries = [json.loads(line) for line in lines]
    assert sorted({e["user"] for e in entries}) == ["w0", "w1", "w2", "w3"]
    assert all(sum(e["user"] == f"w{n}" for e in entries) == 200 for n in range(4))


def test_demo_accounts_are_detected_in_the_committed_demo_file():
    # demo/users.toml holds the three published demo passwords (README: demo-only)
    assert sorted(auth.demo_accounts_present(auth.load_users(auth.DEMO_USERS))) == ["data", "monitor", "pi"]


def test_real_warehouse_is_the_default_path(monkeypatch, tmp_path):
    monkeypatch.delenv("TRIALDASH_WAREHOUSE", raising=False)
    assert auth.is_real_warehouse()
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(tmp_path / "demo.duckdb"))
    assert not auth.is_real_warehouse()
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(DEFAULT_WAREHOUSE))
    assert auth.is_real_warehouse()
