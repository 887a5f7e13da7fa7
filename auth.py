"""Sign-in, roles and the access log — no outside service needed.

Accounts live in a TOML file ($TRIALDASH_USERS, default ``warehouse/users.toml``, never committed)::

    [users.alice]
    role = "pi"                       # pi | monitor | data
    password = "$argon2id$v=19$m=65536,t=3,p=4$<salt b64>$<hash b64>"

User names are 1 to 64 characters from ``A-Z a-z 0-9 . _ @ -`` (``USER_NAME_CHARS``; e-mail
addresses fit). Passwords are stored only as argon2id hashes (argon2-cffi's ``PasswordHasher``
with its default parameters, which are RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes,
16-byte random salt, 32-byte hash). A stored value that is not an argon2id hash, or is one with
weaker parameters than these, never verifies. Sign-in for an unknown user name still runs one
verification (against a dummy hash), so the time taken does not tell which user names exist. The
users file is written whole to a fresh temporary file (``mkstemp``, mode 0600, same folder),
fsynced and renamed over the old one: never half-written, never written through a planted link.

Demo mode is explicit: environment ``TRIALDASH_DEMO=1`` (``make run`` sets it). Outside demo mode
the app refuses to start while any account in the users file has any of the published demo
passwords (``DEMO_PASSWORDS``, the accounts of demo/users.toml), whatever the account's name;
``add-user`` never accepts one.

Sign-in (``sign_in``), in this order, so that no visitor can make it costly or break it:

1. a user name over ``MAX_USER_CHARS`` characters or a password over ``MAX_PASSWORD_BYTES``
   bytes is refused before any other work (logged as ``signin_invalid``, the name cut short);
2. under the access log's lock: refused if the user is locked out FROM THIS SOURCE (the session's
   remote address); otherwise the attempt is reserved in the lock-out index. Checking and
   reserving under one lock means N parallel attempts never get more than ``LOCKOUT_FAILURES``
   guesses;
3. at most ``MAX_CONCURRENT_VERIFICATIONS`` argon2 verifications run at once in a process (64 MiB
   each); an attempt that waits more than ``VERIFY_WAIT_SECONDS`` for a slot is refused
   (``signin_busy``) and counts as no guess;
4. under the lock again: the outcome is recorded in the index and appended to the log.

Lock-out: ``LOCKOUT_FAILURES`` failed sign-ins in a row of one user from one source, the last
within ``LOCKOUT_WINDOW``, lock that user out from that source until the window has passed since
the last failure. Per source, so a stranger elsewhere cannot keep a real user locked out. The
state lives in a small index beside the log (``<log>.lockout``, JSON, only recent failures and
reservations), so a sign-in never reads the log; deleting the index lifts every lock-out.

The access log ($TRIALDASH_ACCESS_LOG, default ``warehouse/access.log``; mode 0600, apart from the
warehouse, which the ETL swaps whole) gets an entry for every sign-in, failed sign-in, lock-out,
sign-out, page view and sign-in error: one JSON object per line, written ASCII-only
(``ensure_ascii``) so that no character a visitor types can split or forge a line, each with one
``O_APPEND`` write under an exclusive ``flock`` of ``<log>.lock`` so concurrent app sessions
neither lose nor interleave entries. Over ``LOG_ROTATE_BYTES`` the log is renamed to
``<log>.<UTC time>`` and a new one begun; rotated files are never deleted here (the readers read
them too). Readers split on ``\\n`` only, read from the end (only as far back as they need) and
skip, and count, a line that is not a JSON object.

Command line (the data team's)::

    python -m auth add-user NAME --role pi|monitor|data [--password-stdin] [--users PATH]
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import fcntl
import functools
import getpass
import json
import os
import re
import secrets
import sys
import tempfile
import threading
import tomllib
from pathlib import Path
from typing import Iterator

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from warehouse import PROJECT_ROOT

ROLES = ("pi", "monitor", "data")
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = dt.timedelta(minutes=15)
RESERVATION_TTL = dt.timedelta(minutes=2)   # an attempt whose process died stops counting
MAX_USER_CHARS = 64
MAX_PASSWORD_BYTES = 1024
MAX_CONCURRENT_VERIFICATIONS = 2
VERIFY_WAIT_SECONDS = 10.0
LOG_ROTATE_BYTES = 8 * 1024 * 1024
USER_NAME_CHARS = "A-Z a-z 0-9 . _ @ -"
USER_NAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,%d}" % MAX_USER_CHARS)
DEFAULT_USERS = PROJECT_ROOT / "warehouse" / "users.toml"
DEFAULT_ACCESS_LOG = PROJECT_ROOT / "warehouse" / "access.log"
DEMO_USERS = PROJECT_ROOT / "demo" / "users.toml"
# Demo-only accounts of demo/users.toml (README): refused outside demo mode (TRIALDASH_DEMO=1).
DEMO_PASSWORDS = {"pi": "demo-pi", "monitor": "demo-monitor", "data": "demo-data"}

_VERIFY_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_VERIFICATIONS)
_ROTATED = re.compile(r"\.\d{8}T\d{6}\.\d{6}Z(-\d+)?$")


def users_path() -> Path:
    return Path(os.environ.get("TRIALDASH_USERS") or DEFAULT_USERS).resolve()


def access_log_path() -> Path:
    return Path(os.environ.get("TRIALDASH_ACCESS_LOG") or DEFAULT_ACCESS_LOG).resolve()


def lockout_index_path() -> Path:
    log = access_log_path()
    return log.with_name(log.name + ".lockout")


def _log_lock_path() -> Path:
    log = access_log_path()
    return log.with_name(log.name + ".lock")


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
    """Write the users file whole and atomically, owner-only from its first byte: a fresh
    ``mkstemp`` file (O_EXCL, mode 0600: a planted file or link of any name is never written
    through) in the same folder, fsynced, then ``os.replace``-d over ``path`` (which replaces a
    link at ``path`` rather than following it)."""
    lines = [header] if header else []
    for name in sorted(users):
        lines += [f'[users.{json.dumps(name)}]', f'role = {json.dumps(users[name]["role"])}',
                  f'password = {json.dumps(users[name]["password"])}', ""]
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_user_name(name: str) -> None:
    if not isinstance(name, str) or not USER_NAME_PATTERN.fullmatch(name):
        raise ValueError(f"user name: 1 to {MAX_USER_CHARS} characters from {USER_NAME_CHARS} "
                         f"(got {name!r})")


def add_user(name: str, role: str, password: str, path: Path) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    check_user_name(name)
    if len(password) < 10:
        raise ValueError("password: at least 10 characters")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValueError(f"password: at most {MAX_PASSWORD_BYTES} bytes")
    if password in DEMO_PASSWORDS.values():
        raise ValueError("password: that is a published demo password; choose another")
    users = load_users(path)
    users[name] = {"role": role, "password": hash_password(password)}
    save_users(users, path, header="# trialdash accounts (python -m auth add-user). Hashes only.\n")


def demo_accounts_present(users: dict[str, dict]) -> list[str]:
    """Names of accounts whose password is ANY of the published demo passwords."""
    demo = sorted(set(DEMO_PASSWORDS.values()))
    return [name for name, u in users.items()
            if any(verify_password(p, u.get("password")) for p in demo)]


def demo_mode() -> bool:
    """Demo mode iff the environment says TRIALDASH_DEMO=1 (``make run``). Not inferred from the
    warehouse path: a hospital's warehouse may live anywhere."""
    return os.environ.get("TRIALDASH_DEMO") == "1"


# ---- access log: writing ----------------------------------------------------------------------

def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@contextlib.contextmanager
def _log_locked() -> Iterator[None]:
    """The exclusive lock every writer of the access log and the lock-out index holds."""
    lock = _log_lock_path()
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _entry_line(event: str, user: str | None, page: str | None, extra: dict) -> bytes:
    entry = {"at": _now().isoformat(timespec="seconds"), "event": event, "user": user,
             "page": page, **extra}
    # ASCII only: every non-ASCII character (U+2028, U+0085 ...) and every control character is
    # written as a \\u escape, so the only line break in the file is the one added here.
    return (json.dumps(entry, ensure_ascii=True) + "\n").encode("ascii")


def _append_locked(line: bytes) -> None:
    """Append one line and rotate the log when it has grown over LOG_ROTATE_BYTES. Call with
    the lock held."""
    path = access_log_path()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, line)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > LOG_ROTATE_BYTES:
        stamp = _now().strftime("%Y%m%dT%H%M%S.%fZ")
        target, n = path.with_name(f"{path.name}.{stamp}"), 0
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.{stamp}-{n}")
        os.rename(path, target)


def log_access(event: str, user: str | None, page: str | None = None, **extra) -> None:
    """Append one entry (event: signin, signin_failed, signin_locked, signin_busy,
    signin_invalid, signin_error, signout, view, denied)."""
    line = _entry_line(event, user, page, extra)
    with _log_locked():
        _append_locked(line)


# ---- access log: reading -------------------------------------------------------------------------

@dataclasses.dataclass
class LogRead:
    entries: list[dict]     # oldest first
    malformed: int          # lines read that were not a JSON object (skipped)


def rotated_logs() -> list[Path]:
    """The rotated access logs, oldest first."""
    path = access_log_path()
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.glob(path.name + ".*")
                  if _ROTATED.fullmatch(p.name[len(path.name):]))


def _lines_backwards(path: Path, block: int = 1 << 16) -> Iterator[bytes]:
    """The lines of ``path`` (split on b"\\n" only), last first, reading from the end."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        pos = f.seek(0, os.SEEK_END)
        rest = b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            chunk = f.read(step) + rest
            lines = chunk.split(b"\n")
            rest = lines[0]
            for line in reversed(lines[1:]):
                if line:
                    yield line
        if rest:
            yield rest


def _parse(line: bytes) -> dict | None:
    try:
        entry = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return entry if isinstance(entry, dict) else None


def read_log(limit: int | None = None) -> LogRead:
    """The newest ``limit`` entries (every entry when None), oldest first, from the log and its
    rotated files; reads backwards and stops as soon as it has them."""
    out: list[dict] = []
    malformed = 0
    for path in [access_log_path(), *reversed(rotated_logs())]:
        for line in _lines_backwards(path):
            if limit is not None and len(out) >= limit:
                break
            entry = _parse(line)
            if entry is None:
                malformed += 1
            else:
                out.append(entry)
        if limit is not None and len(out) >= limit:
            break
    return LogRead(entries=out[::-1], malformed=malformed)


def read_access_log(limit: int | None = None) -> list[dict]:
    return read_log(limit).entries


def mask_name(name: object, chars: object = None) -> str:
    """``c… (21 characters)``: a name that is no account's, as shown on a page (it may be a
    password typed into the wrong field); the file keeps it whole."""
    text = str(name)
    n = chars if isinstance(chars, int) else len(text)
    return f"{text[:1]}… ({n} characters)" if text else "(empty)"


def access_log_for_display(limit: int = 500) -> tuple[list[dict], int]:
    """The newest ``limit`` entries, NEWEST FIRST, as text columns (at, event, user, page,
    source), user names that are no account's masked; and the count of malformed lines skipped."""
    log = read_log(limit)
    known = set(load_users())
    rows = []
    for e in reversed(log.entries):
        user = e.get("user")
        if user is not None and user not in known:
            user = mask_name(user, e.get("user_chars"))
        rows.append({"at": _text(e.get("at")), "event": _text(e.get("event")),
                     "user": _text(user), "page": _text(e.get("page")),
                     "source": _text(e.get("source"))})
    return rows, log.malformed


def _text(value: object) -> str | None:
    return None if value is None else str(value)


# ---- lock-out index -------------------------------------------------------------------------

def _key(user: str, source: str | None) -> str:
    return json.dumps([user, source or ""], ensure_ascii=True)


def _stamp(value: object) -> dt.datetime | None:
    try:
        t = dt.datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return t if t.tzinfo is not None else None


def _read_index() -> dict[str, dict[str, list[str]]]:
    """The lock-out index: key -> {"failures": [iso ...], "pending": [token ...]}. Anything
    unreadable or odd in it is dropped (never raised): at worst a lock-out is lifted."""
    try:
        data = json.loads(lockout_index_path().read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    keys = data.get("keys") if isinstance(data, dict) else None
    out: dict[str, dict[str, list[str]]] = {}
    for key, state in (keys.items() if isinstance(keys, dict) else ()):
        if not isinstance(state, dict):
            continue
        failures = [f for f in state.get("failures") or [] if _stamp(f) is not None]
        pending = [p for p in state.get("pending") or []
                   if isinstance(p, str) and _stamp(p.split("|")[0]) is not None]
        if failures or pending:
            out[key] = {"failures": failures, "pending": pending}
    return out


def _prune(index: dict, now: dt.datetime) -> None:
    for key in list(index):
        state = index[key]
        state["pending"] = [p for p in state["pending"]
                            if now - _stamp(p.split("|")[0]) < RESERVATION_TTL]
        state["failures"] = state["failures"][-LOCKOUT_FAILURES:]
        last = _stamp(state["failures"][-1]) if state["failures"] else None
        if not state["pending"] and (last is None or now - last >= LOCKOUT_WINDOW):
            del index[key]


def _write_index(index: dict) -> None:
    path = lockout_index_path()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            json.dump({"keys": index}, f, ensure_ascii=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _locked(state: dict | None, now: dt.datetime) -> bool:
    """LOCKOUT_FAILURES failures in a row (attempts under way count as failures), the last
    within the window."""
    if not state:
        return False
    if len(state["failures"]) + len(state["pending"]) < LOCKOUT_FAILURES:
        return False
    if state["pending"]:
        return True
    return now - _stamp(state["failures"][-1]) < LOCKOUT_WINDOW


def locked_out(user: str, now: dt.datetime | None = None, source: str | None = None) -> bool:
    """True when the user's last LOCKOUT_FAILURES sign-in attempts from ``source`` all failed,
    the last within the window. Never raises on an odd index (it is then ignored)."""
    now = now or _now()
    index = _read_index()
    state = index.get(_key(user, source))
    if state:
        _prune({"k": state}, now)
    return _locked(state, now)


# ---- sign-in ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt ended with. outcome: signin, signin_failed, signin_locked,
    signin_busy (no verification slot free), signin_invalid (name or password too long);
    ``signin_error`` is logged (and the error raised) when the attempt itself failed."""

    role: str | None
    outcome: str


def _bounded_name(user: object) -> tuple[str, dict]:
    text = user if isinstance(user, str) else str(user)
    if len(text) > MAX_USER_CHARS:
        return text[:MAX_USER_CHARS], {"user_chars": len(text)}
    return text, {}


def sign_in(user: str, password: str, source: str | None = None) -> SignIn:
    """One sign-in attempt by ``user`` from ``source`` (the remote address; None when local),
    bounded, counted and logged as the module docstring says."""
    name, extra = _bounded_name(user)
    extra["source"] = source
    if (not isinstance(user, str) or not isinstance(password, str) or len(user) > MAX_USER_CHARS
            or len(password) > MAX_PASSWORD_BYTES
            or len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES):
        log_access("signin_invalid", name, **extra)
        return SignIn(None, "signin_invalid")

    key = _key(user, source)
    token = f"{_now().isoformat()}|{secrets.token_hex(8)}"
    with _log_locked():
        now = _now()
        index = _read_index()
        _prune(index, now)
        if _locked(index.get(key), now):
            _append_locked(_entry_line("signin_locked", name, None, extra))
            return SignIn(None, "signin_locked")
        index.setdefault(key, {"failures": [], "pending": []})["pending"].append(token)
        _write_index(index)

    role, outcome = None, "signin_error"        # what is recorded if verification raises
    try:
        if not _VERIFY_SLOTS.acquire(timeout=VERIFY_WAIT_SECONDS):
            outcome = "signin_busy"
        else:
            try:
                account = load_users().get(user)
                ok = verify_password(password, account["password"] if account else _dummy_hash())
            finally:
                _VERIFY_SLOTS.release()
            if account and ok:
                role, outcome = account["role"], "signin"
            else:
                outcome = "signin_failed"
    finally:
        with _log_locked():
            now = _now()
            index = _read_index()
            state = index.setdefault(key, {"failures": [], "pending": []})
            state["pending"] = [p for p in state["pending"] if p != token]
            if outcome == "signin":
                del index[key]                       # a success ends the run of failures
            elif outcome == "signin_failed":
                state["failures"].append(now.isoformat())
            _prune(index, now)
            _write_index(index)
            _append_locked(_entry_line(outcome, name, None, extra))
    return SignIn(role, outcome)


def authenticate(user: str, password: str, source: str | None = None) -> str | None:
    """The user's role if the password is right and the user is not locked out; logs the attempt."""
    return sign_in(user, password, source).role


# ---- command line ----------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m auth", description=(
        "Manage trialdash accounts. Accounts and roles live in a TOML file "
        "($TRIALDASH_USERS, default warehouse/users.toml, mode 0600); passwords are stored as "
        "argon2id hashes only. Roles: pi (every page), monitor (overview, enrollment, safety, "
        "subject profile), data (data quality and run history, enrollment)."))
    sub = ap.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add-user", help="add a user or set a user's role and password",
                         description=(
                             f"Add a user or set a user's role and password. NAME: 1 to "
                             f"{MAX_USER_CHARS} characters from {USER_NAME_CHARS} (an e-mail "
                             f"address fits). Password: 10 characters to {MAX_PASSWORD_BYTES} "
                             "bytes, never one of the published demo passwords."))
    add.add_argument("name", metavar="NAME",
                     help=f"1 to {MAX_USER_CHARS} characters from {USER_NAME_CHARS}")
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
    try:
        check_user_name(args.name)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
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
