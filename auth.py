"""Sign-in, roles and the access log — no outside service needed.

Accounts live in a TOML file ($TRIALDASH_USERS, default ``warehouse/users.toml``, never committed)::

    [users.alice]
    role = "pi"                       # pi | monitor | data
    password = "$argon2id$v=19$m=65536,t=3,p=4$<salt b64>$<hash b64>"

Passwords are stored only as argon2id hashes (argon2-cffi's ``PasswordHasher`` with its default
parameters, which are RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes, 16-byte random
salt, 32-byte hash). A stored value that is not an argon2id hash, or is one with weaker parameters
than these, never verifies. Sign-in for an unknown user name still runs one verification (against a
dummy hash), so the time taken does not tell which user names exist.

Demo mode is explicit: environment ``TRIALDASH_DEMO=1`` (``make run`` sets it). Outside demo mode
the app refuses to start while any account in the users file has a published demo password
(``DEMO_PASSWORDS``, the accounts of demo/users.toml) — whatever warehouse it serves. Five failed sign-ins of one user within 15 minutes lock that user out for 15
minutes. Every sign-in, failed sign-in, lock-out, sign-out and page view is appended to the access
log ($TRIALDASH_ACCESS_LOG, default ``warehouse/access.log``): JSON lines, apart from the
warehouse (which the ETL swaps whole), each line written with one ``O_APPEND`` write under an
exclusive ``flock`` so concurrent app sessions neither lose nor interleave entries.

Command line (the data team's)::

    python -m auth add-user NAME --role pi|monitor|data [--password-stdin] [--users PATH]
"""
from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import functools
import getpass
import json
import os
import sys
import tomllib
from pathlib import Path

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from warehouse import PROJECT_ROOT

ROLES = ("pi", "monitor", "data")
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = dt.timedelta(minutes=15)
DEFAULT_USERS = PROJECT_ROOT / "warehouse" / "users.toml"
DEFAULT_ACCESS_LOG = PROJECT_ROOT / "warehouse" / "access.log"
DEMO_USERS = PROJECT_ROOT / "demo" / "users.toml"
# Demo-only accounts of demo/users.toml (README): refused outside demo mode (TRIALDASH_DEMO=1).
DEMO_PASSWORDS = {"pi": "demo-pi", "monitor": "demo-monitor", "data": "demo-data"}


def users_path() -> Path:
    return Path(os.environ.get("TRIALDASH_USERS") or DEFAULT_USERS).resolve()


def access_log_path() -> Path:
    return Path(os.environ.get("TRIALDASH_ACCESS_LOG") or DEFAULT_ACCESS_LOG).resolve()


# ---- password hashes -------------------------------------------------------------------------

# argon2-cffi's defaults, identical to argon2.profiles.RFC_9106_LOW_MEMORY (argon2id, m=64 MiB,
# t=3, p=4); named explicitly so a library upgrade never silently changes what is stored.
PASSWORD_HASHER = argon2.PasswordHasher.from_parameters(argon2.profiles.RFC_9106_LOW_MEMORY)


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string ``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), fresh salt."""
    return PASSWORD_HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True only when ``stored`` is an argon2id hash, at least as strong as PASSWORD_HASHER's
    parameters, of ``password``. Plaintext, other algorithms (e.g. old pbkdf2_sha256 lines),
    malformed or weaker hashes: False."""
    if not isinstance(stored, str) or not stored.startswith("$argon2id$"):
        return False
    try:
        params = argon2.extract_parameters(stored)
        if (params.memory_cost < PASSWORD_HASHER.memory_cost
                or params.time_cost < PASSWORD_HASHER.time_cost):
            return False
        return PASSWORD_HASHER.verify(stored, password)
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """Verified against for unknown user names (same cost as a real account); made on first use
    so that importing auth (the access log writers, the command line) costs no hash."""
    return hash_password("not a password")


# ---- users file ------------------------------------------------------------------------------

def load_users(path: Path | None = None) -> dict[str, dict]:
    """{name: {"role": ..., "password": ...}}; empty when the file does not exist."""
    path = path or users_path()
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    users = data.get("users", {})
    for name, u in users.items():
        if u.get("role") not in ROLES:
            raise ValueError(f"{path}: user {name!r} has role {u.get('role')!r}; use one of {ROLES}")
    return users


def save_users(users: dict[str, dict], path: Path, header: str = "") -> None:
    lines = [header] if header else []
    for name in sorted(users):
        lines += [f'[users.{json.dumps(name)}]', f'role = {json.dumps(users[name]["role"])}',
                  f'password = {json.dumps(users[name]["password"])}', ""]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def add_user(name: str, role: str, password: str, path: Path) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if not name or any(c in name for c in " \t\n\"'[]."):
        raise ValueError("user name: no spaces, quotes, brackets or dots")
    if len(password) < 10:
        raise ValueError("password: at least 10 characters")
    users = load_users(path)
    users[name] = {"role": role, "password": hash_password(password)}
    save_users(users, path, header="# trialdash accounts (python -m auth add-user). Hashes only.\n")


def demo_accounts_present(users: dict[str, dict]) -> list[str]:
    """Names of accounts whose password is one of the published demo passwords."""
    return [name for name, u in users.items()
            if name in DEMO_PASSWORDS and verify_password(DEMO_PASSWORDS[name], u["password"])]


def demo_mode() -> bool:
    """Demo mode iff the environment says TRIALDASH_DEMO=1 (``make run``). Not inferred from the
    warehouse path: a hospital's warehouse may live anywhere."""
    return os.environ.get("TRIALDASH_DEMO") == "1"


# ---- access log ------------------------------------------------------------------------------

def log_access(event: str, user: str | None, page: str | None = None, **extra) -> None:
    """Append one entry (event: signin, signin_failed, signin_locked, signout, view, denied)."""
    entry = {"at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             "event": event, "user": user, "page": page, **extra}
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    path = access_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)  # closing releases the lock


def read_access_log(limit: int | None = None) -> list[dict]:
    path = access_log_path()
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries[-limit:] if limit else entries


def locked_out(user: str, now: dt.datetime | None = None) -> bool:
    """True when the user's last LOCKOUT_FAILURES sign-in attempts all failed within the window."""
    now = now or dt.datetime.now(dt.timezone.utc)
    attempts = [e for e in read_access_log()
                if e.get("user") == user and e.get("event") in ("signin", "signin_failed")]
    recent = attempts[-LOCKOUT_FAILURES:]
    if len(recent) < LOCKOUT_FAILURES or any(e["event"] != "signin_failed" for e in recent):
        return False
    return now - dt.datetime.fromisoformat(recent[-1]["at"]) < LOCKOUT_WINDOW


def authenticate(user: str, password: str) -> str | None:
    """The user's role if the password is right and the user is not locked out; logs the attempt."""
    if locked_out(user):
        log_access("signin_locked", user)
        return None
    account = load_users().get(user)
    ok = verify_password(password, account["password"] if account else _dummy_hash())
    if account and ok:
        log_access("signin", user)
        return account["role"]
    log_access("signin_failed", user)
    return None


# ---- command line ----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m auth", description=(
        "Manage trialdash accounts. Accounts and roles live in a TOML file "
        "($TRIALDASH_USERS, default warehouse/users.toml); passwords are stored as argon2id hashes "
        "only. Roles: pi (every page), monitor (overview, enrollment, safety, subject "
        "profile), data (data quality and run history, enrollment)."))
    sub = ap.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add-user", help="add a user or set a user's role and password")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    add.add_argument("--users", help="users file (default $TRIALDASH_USERS or warehouse/users.toml)")
    sub.add_parser("list-users", help="list user names and roles")
    args = ap.parse_args(argv)
    path = Path(getattr(args, "users", None) or users_path())
    if args.cmd == "list-users":
        for name, u in sorted(load_users(path).items()):
            print(f"{name}\t{u['role']}")
        return 0
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        add_user(args.name, args.role, password, path)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{args.name} ({args.role}) saved in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
