"""auth.py (issue 6): hashed passwords, the add-user command, lock-out, the append-only access log,
the demo accounts (refused outside demo mode, TRIALDASH_DEMO=1)."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import argon2
import pytest

import auth
from warehouse import DEFAULT_WAREHOUSE, PROJECT_ROOT

@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALDASH_USERS", str(tmp_path / "users.toml"))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(tmp_path / "access.log"))
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(tmp_path / "w.duckdb"))
    return tmp_path


def test_password_is_stored_as_argon2id_hash_never_plaintext(env):
    auth.add_user("alice", "pi", "correct horse battery", env / "users.toml")
    text = (env / "users.toml").read_text()
    assert "correct horse battery" not in text
    stored = auth.load_users()["alice"]["password"]
    assert stored.startswith("$argon2id$")
    assert auth.verify_password("correct horse battery", stored)
    assert not auth.verify_password("correct horse batterY", stored)  # one letter changed


def test_hash_parameters_are_rfc_9106_low_memory():
    # argon2id, 64 MiB (65536 KiB), 3 passes, 4 lanes, 16-byte salt, 32-byte hash: read back
    # from the stored PHC string itself, not from the hasher's configuration.
    p = argon2.extract_parameters(auth.hash_password("x" * 12))
    assert (p.type, p.memory_cost, p.time_cost, p.parallelism, p.salt_len, p.hash_len) == \
        (argon2.Type.ID, 65536, 3, 4, 16, 32)


def test_same_password_gets_a_different_salt_each_time():
    a, b = auth.hash_password("x" * 12), auth.hash_password("x" * 12)
    assert a != b
    assert a.split("$")[4] != b.split("$")[4]  # $argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>
    assert auth.verify_password("x" * 12, a) and auth.verify_password("x" * 12, b)


@pytest.mark.parametrize("stored", [
    "password123",  # plaintext
    # a PBKDF2 line in the format this module wrote before argon2 (600,000 iterations)
    "pbkdf2_sha256$600000$Ejk5xOShLIVDYkwHsrDsQQ==$q+6vCr8bytbgrzRLzfjO5Bw7tDEOHGPxo0Z6ZXW7HoM=",
    "$argon2id$not-a-hash",
    "",
])
def test_a_stored_value_that_is_not_an_argon2id_hash_is_refused(stored):
    assert not auth.verify_password("password123", stored)
    assert not auth.verify_password(stored, stored)


def test_argon2i_hash_of_the_right_password_is_refused():
    # argon2i (not argon2id) with otherwise the same parameters: verifies with the library, not here
    argon2i = argon2.PasswordHasher(type=argon2.Type.I).hash("password123")
    assert argon2.PasswordHasher(type=argon2.Type.I).verify(argon2i, "password123")
    assert not auth.verify_password("password123", argon2i)


@pytest.mark.parametrize("memory_cost,time_cost", [(8, 3), (65536, 1)])  # too little memory / too few passes
def test_argon2id_hash_weaker_than_the_configured_parameters_is_refused(memory_cost, time_cost):
    # a real argon2id hash of the right password, which argon2-cffi itself verifies
    weak = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1).hash("password123")
    assert weak.startswith(f"$argon2id$v=19$m={memory_cost},t={time_cost},p=1$")
    assert argon2.PasswordHasher().verify(weak, "password123")
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
    auth.add_user("carol", "data", "data-team-pass", env / "users.toml")
    assert auth.authenticate("carol", "wrong-password") is None
    assert auth.authenticate("nobody", "data-team-pass") is None
    assert auth.authenticate("carol", "data-team-pass") == "data"
    events = [(e["event"], e["user"]) for e in auth.read_access_log()]
    assert events == [("signin_failed", "carol"), ("signin_failed", "nobody"), ("signin", "carol")]


def test_five_failures_lock_the_user_out_even_with_the_right_password(env):
    auth.add_user("dave", "pi", "the-right-pass", env / "users.toml")
    for _ in range(auth.LOCKOUT_FAILURES):
        assert auth.authenticate("dave", "wrong") is None
    assert auth.locked_out("dave")
    assert auth.authenticate("dave", "the-right-pass") is None
    assert auth.read_access_log()[-1]["event"] == "signin_locked"


def test_lock_out_ends_after_the_window(env):
    auth.add_user("erin", "pi", "the-right-pass", env / "users.toml")
    for _ in range(auth.LOCKOUT_FAILURES):
        auth.authenticate("erin", "wrong")
    later = dt.datetime.now(dt.timezone.utc) + auth.LOCKOUT_WINDOW + dt.timedelta(seconds=1)
    assert auth.locked_out("erin")
    assert not auth.locked_out("erin", now=later)


def test_four_failures_then_success_do_not_lock(env):
    auth.add_user("fay", "pi", "the-right-pass", env / "users.toml")
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


def test_demo_mode_only_when_trialdash_demo_is_1(monkeypatch, tmp_path):
    monkeypatch.delenv("TRIALDASH_DEMO", raising=False)
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(tmp_path / "demo.duckdb"))  # not trial.duckdb
    assert not auth.demo_mode()  # the warehouse path decides nothing
    for value in ("0", "", "true", "yes"):
        monkeypatch.setenv("TRIALDASH_DEMO", value)
        assert not auth.demo_mode(), value
    monkeypatch.setenv("TRIALDASH_DEMO", "1")
    assert auth.demo_mode()
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(DEFAULT_WAREHOUSE))
    assert auth.demo_mode()


def test_unknown_user_still_costs_one_argon2_verification(env, monkeypatch):
    # Timing must not tell which user names exist: an unknown name is verified against a dummy
    # argon2id hash (counted here, never timed).
    auth.add_user("gus", "pi", "the-right-pass", env / "users.toml")
    seen = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, s: seen.append(s) or real(p, s))
    assert auth.authenticate("nobody", "the-right-pass") is None
    assert auth.authenticate("gus", "wrong-pass") is None
    assert len(seen) == 2 and all(s.startswith("$argon2id$v=19$m=65536,t=3,p=4$") for s in seen)
    assert seen[0] != auth.load_users()["gus"]["password"]
