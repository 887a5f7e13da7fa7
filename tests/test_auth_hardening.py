"""auth.py hardening (issue 17): the access log cannot be split or forged by what a visitor types,
a malformed line never breaks sign-in, lock-out is counted atomically and per user and source,
sign-in work is bounded (lengths, concurrent verifications, the part of the log read), the log
rotates without losing entries, unknown names are masked for display, any published demo
password is refused, and the users file is written safely."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import auth
from warehouse import PROJECT_ROOT

# Every character str.splitlines() breaks a line at, besides "\n" itself.
LINE_BREAKERS = ["\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIALDASH_USERS", str(tmp_path / "users.toml"))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(tmp_path / "access.log"))
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.delenv("TRIALDASH_DEMO", raising=False)
    auth.add_user("alice", "pi", "alice-right-pass", tmp_path / "users.toml")
    return tmp_path


@pytest.fixture
def verifications(monkeypatch):
    """Every stored hash auth.verify_password is asked to check (the real function still runs)."""
    seen: list[str] = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda p, s: seen.append(s) or real(p, s))
    return seen


# --- 1. the access log cannot be split; a malformed line never breaks sign-in ----------------

@pytest.mark.parametrize("sep", LINE_BREAKERS, ids=[f"U+{ord(c):04X}" for c in LINE_BREAKERS])
def test_a_line_separator_in_a_user_name_cannot_split_the_access_log(env, sep):
    evil = f"x{sep}1{sep}null{sep}{{\"event\": \"signin\"}}"
    assert auth.authenticate(evil, "whatever-pass") is None
    raw = (env / "access.log").read_bytes()
    assert sep.encode("utf-8") not in raw           # escaped, never written raw
    assert raw.count(b"\n") == 1                    # one attempt, one line
    log = auth.read_log()
    assert log.malformed == 0
    assert [(e["event"], e["user"]) for e in log.entries] == [("signin_failed", evil)]
    assert auth.authenticate("alice", "alice-right-pass") == "pi"   # sign-in still works


def test_malformed_lines_are_skipped_and_counted_and_sign_in_still_works(env):
    good = json.dumps({"at": "2026-01-01T00:00:00+00:00", "event": "signin", "user": "alice"})
    odd = json.dumps({"at": 5, "event": "signin_failed", "user": ["alice"]})  # an object, odd values
    (env / "access.log").write_bytes(
        "\n".join([good, "1", "null", "not json", '["a list"]', "\u2028", odd, ""]).encode("utf-8")
        + b"\xff\xfe not utf-8\n")
    log = auth.read_log()
    assert log.malformed == 6          # 1, null, not json, a list, a bare U+2028, the bad bytes
    assert [e["event"] for e in log.entries] == ["signin", "signin_failed"]
    for _ in range(2):
        assert auth.authenticate("alice", "wrong-pass") is None
    assert not auth.locked_out("alice")
    assert auth.authenticate("alice", "alice-right-pass") == "pi"


def test_a_corrupt_lockout_index_never_breaks_sign_in(env):
    for garbage in (b"", b"not json", b"[1, 2]", b'{"keys": {"x": 5}}',
                    b'{"keys": {"[\\"alice\\", \\"\\"]": {"failures": [1, null, "yesterday"]}}}'):
        auth.lockout_index_path().write_bytes(garbage)
        assert not auth.locked_out("alice")
        assert auth.authenticate("alice", "alice-right-pass") == "pi"


def test_an_attempt_that_fails_on_an_error_is_logged_and_counts_no_guess(env):
    users = env / "users.toml"
    good = users.read_bytes()
    users.write_text("[users.alice\n", encoding="utf-8")          # unreadable TOML
    for _ in range(auth.LOCKOUT_FAILURES + 1):
        with pytest.raises(ValueError):                           # tomllib.TOMLDecodeError
            auth.sign_in("alice", "alice-right-pass")
    users.write_bytes(good)
    assert not auth.locked_out("alice")                           # reservations released
    assert auth.authenticate("alice", "alice-right-pass") == "pi"
    assert [e["event"] for e in auth.read_access_log()] == (
        ["signin_error"] * (auth.LOCKOUT_FAILURES + 1) + ["signin"])


# --- 2. lock-out counted atomically -----------------------------------------------------------

def test_parallel_wrong_guesses_never_get_more_than_the_allowed_number(env, verifications):
    stored = auth.load_users()["alice"]["password"]
    n = 12
    start = threading.Barrier(n)
    results: list[auth.SignIn] = []

    def guess(i: int) -> None:
        start.wait()
        results.append(auth.sign_in("alice", f"guess-{i}-wrong"))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    guessed = [s for s in verifications if s == stored]
    assert len(guessed) <= auth.LOCKOUT_FAILURES
    assert all(r.role is None for r in results) and len(results) == n
    assert sum(r.outcome == "signin_locked" for r in results) >= n - auth.LOCKOUT_FAILURES
    assert auth.sign_in("alice", "alice-right-pass").outcome == "signin_locked"


def test_parallel_guesses_from_several_processes_are_counted_together(env):
    go = env / "go"
    code = ("import os, sys, time, auth\n"
            "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
            "for i in range(2): auth.authenticate('alice', f'wrong-{sys.argv[2]}-{i}')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(go), str(n)], cwd=PROJECT_ROOT,
                              env={**os.environ, "TRIALDASH_USERS": str(env / "users.toml"),
                                   "TRIALDASH_ACCESS_LOG": str(env / "access.log")})
             for n in range(6)]
    go.touch()
    assert all(p.wait() == 0 for p in procs)
    events = [e["event"] for e in auth.read_access_log() if e.get("user") == "alice"]
    assert len(events) == 12
    assert events.count("signin_failed") <= auth.LOCKOUT_FAILURES   # one verification each
    assert auth.authenticate("alice", "alice-right-pass") is None


# --- 3. bounded work before sign-in ---------------------------------------------------------

def test_over_long_user_name_or_password_is_refused_before_any_hashing(env, verifications):
    huge = "n" * 1_000_000
    assert auth.sign_in(huge, "whatever-pass").outcome == "signin_invalid"
    assert auth.sign_in("alice", "p" * (auth.MAX_PASSWORD_BYTES + 1)).outcome == "signin_invalid"
    assert auth.sign_in("alice", "é" * (auth.MAX_PASSWORD_BYTES // 2 + 1)).outcome == "signin_invalid"
    assert verifications == []
    assert (env / "access.log").stat().st_size < 2_000              # the name is not logged whole
    entry = auth.read_access_log()[0]
    assert entry["user"] == huge[:auth.MAX_USER_CHARS] and entry["user_chars"] == len(huge)
    assert not auth.locked_out("alice")                            # refused input is no guess
    assert auth.authenticate("alice", "alice-right-pass") == "pi"


def test_at_most_the_allowed_number_of_verifications_run_at_once(env, monkeypatch):
    # Two sign-ins hold both verification slots (their verification waits for `release`); a
    # third one, told not to wait, is refused without verifying anything.
    inside, release = threading.Semaphore(0), threading.Event()
    real = auth.verify_password
    calls = []

    def held(password, stored):
        calls.append(password)
        if password.startswith("hold"):
            inside.release()
            release.wait()
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", held)
    holders = [threading.Thread(target=auth.sign_in, args=(f"user{i}", f"hold-{i}-pass"))
               for i in range(auth.MAX_CONCURRENT_VERIFICATIONS)]
    for t in holders:
        t.start()
    for _ in holders:
        inside.acquire()
    monkeypatch.setattr(auth, "VERIFY_WAIT_SECONDS", 0)
    try:
        busy = auth.sign_in("alice", "alice-right-pass")
    finally:
        release.set()
        for t in holders:
            t.join()
    assert busy.outcome == "signin_busy" and busy.role is None
    assert "alice-right-pass" not in calls
    assert not auth.locked_out("alice")
    assert auth.authenticate("alice", "alice-right-pass") == "pi"   # slots free again


def test_the_access_log_rotates_when_over_its_size_and_loses_no_entry(env, monkeypatch):
    monkeypatch.setattr(auth, "LOG_ROTATE_BYTES", 2_000)
    for i in range(100):
        auth.log_access("view", "alice", f"page{i}")
    rotated = auth.rotated_logs()
    assert len(rotated) >= 3
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in rotated)
    assert (env / "access.log").stat().st_size <= 2_000
    pages = [e["page"] for e in auth.read_access_log()]
    assert pages == [f"page{i}" for i in range(100)]                # every entry, in order
    assert [e["page"] for e in auth.read_access_log(limit=40)] == [f"page{i}" for i in range(60, 100)]


def test_reading_the_recent_entries_reads_only_the_end_of_the_log(env):
    # A malformed line at the very start of a large log: reading the recent entries never
    # reaches it, so it is not counted; reading everything does count it.
    with open(env / "access.log", "wb") as f:
        f.write(b"this line is not json\n")
        line = json.dumps({"at": "2026-01-01T00:00:00+00:00", "event": "view", "user": "alice",
                           "page": "overview", "pad": "x" * 200}).encode() + b"\n"
        f.write(line * 20_000)                                       # about 5 MB
    recent = auth.read_log(limit=500)
    assert len(recent.entries) == 500 and recent.malformed == 0
    assert auth.read_log().malformed == 1


# --- 4. unknown user names masked for display ---------------------------------------------

def test_unknown_user_names_are_masked_for_display_and_kept_whole_in_the_file(env):
    typed = "correct horse battery"          # a password typed into the user-name field
    auth.authenticate(typed, "x" * 12)
    auth.authenticate("alice", "alice-right-pass")
    assert typed in (env / "access.log").read_text(encoding="utf-8")
    rows, malformed = auth.access_log_for_display(limit=10)
    assert malformed == 0
    assert [r["user"] for r in rows] == ["alice", "c… (21 characters)"]   # newest first
    assert all(typed not in json.dumps(r) for r in rows)


# --- 5. lock-out per user and source ------------------------------------------------------

def test_lock_out_is_per_user_and_source(env):
    for _ in range(auth.LOCKOUT_FAILURES):
        auth.authenticate("alice", "wrong-pass", source="203.0.113.9")
    assert auth.locked_out("alice", source="203.0.113.9")
    assert auth.authenticate("alice", "alice-right-pass", source="203.0.113.9") is None
    # the real user, from her own address, is not locked out by the stranger
    assert not auth.locked_out("alice", source="198.51.100.7")
    assert auth.authenticate("alice", "alice-right-pass", source="198.51.100.7") == "pi"
    assert [e.get("source") for e in auth.read_access_log()][-2:] == ["203.0.113.9", "198.51.100.7"]


# --- 6. any published demo password refused outside demo mode ---------------------------

def test_any_published_demo_password_is_detected_whatever_the_account_name(env):
    users = {"alice": {"role": "pi", "password": auth.hash_password("alice-right-pass")},
             "bob": {"role": "data", "password": auth.hash_password(auth.DEMO_PASSWORDS["monitor"])},
             "pi": {"role": "pi", "password": auth.hash_password(auth.DEMO_PASSWORDS["data"])}}
    assert sorted(auth.demo_accounts_present(users)) == ["bob", "pi"]


def test_add_user_refuses_a_published_demo_password(env):
    with pytest.raises(ValueError, match="demo password"):
        auth.add_user("bob", "monitor", auth.DEMO_PASSWORDS["monitor"], env / "users.toml")
    assert "bob" not in auth.load_users()


# --- 8. user names and the users file -----------------------------------------------------

def run_add_user(users: Path, name: str, password: str = "s3cret-password"):
    return subprocess.run([sys.executable, "-m", "auth", "add-user", name, "--role", "monitor",
                           "--password-stdin", "--users", str(users)], input=password + "\n",
                          capture_output=True, text=True, cwd=PROJECT_ROOT)


@pytest.mark.parametrize("name", ["𠮷田", "bob😀", "山田", "a b", "bob\u2028", "x" * 65, "bob/../x",
                                  "[users]", 'bo"b'])
def test_add_user_refuses_a_name_outside_the_documented_characters(env, name):
    users = env / "users.toml"
    before = users.read_bytes()
    r = run_add_user(users, name)
    assert r.returncode == 2 and "A-Z a-z 0-9" in r.stderr
    assert users.read_bytes() == before
    assert set(auth.load_users(users)) == {"alice"}


def test_add_user_accepts_an_e_mail_like_name(env):
    users = env / "users.toml"
    r = run_add_user(users, "first.last@hospital-1.example")
    assert r.returncode == 0, r.stderr
    assert set(auth.load_users(users)) == {"alice", "first.last@hospital-1.example"}


def test_add_user_help_documents_the_name_characters():
    r = subprocess.run([sys.executable, "-m", "auth", "add-user", "--help"], capture_output=True,
                       text=True, cwd=PROJECT_ROOT)
    assert r.returncode == 0 and "A-Z a-z 0-9 . _ @ -" in " ".join(r.stdout.split())


def test_users_file_is_owner_only_and_never_written_through_a_planted_symlink(env):
    users = env / "users.toml"
    victim = env / "victim.txt"
    victim.write_text("untouched")
    os.symlink(victim, env / "users.tmp")                 # the old predictable temporary name
    old_umask = os.umask(0)
    try:
        auth.add_user("bob", "data", "bob-right-pass", users)
    finally:
        os.umask(old_umask)
    assert victim.read_text() == "untouched"
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert not users.is_symlink()
    assert set(auth.load_users(users)) == {"alice", "bob"}
    assert sorted(p.name for p in env.iterdir()) == ["users.tmp", "users.toml", "victim.txt"]
