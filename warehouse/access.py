"""Who may read what: the roles' data policy, enforced by the query layer (``warehouse/queries.py``)
whatever page, command or test calls it.

- ``pi``: everything.
- ``monitor`` (monitoring committee): enrollment, safety (adverse events, infusions, labs,
  protocol flags) and each subject's safety profile, with the daily prednisolone course as its
  safety context (``psl_curve`` only: the committee packet's SAE profiles draw it beside the AEs).
  Never an efficacy value: no LLDAS, criteria C1-C5, DORIS, SLEDAI-2K or PGA, no dose on an
  assessment date or at weeks 12/24 (C4 and the PSL endpoints), no endpoint and no change from
  week 0 (BASE, CHG).
- ``data`` (data team): data quality (run log, refused runs' problems, consistency warnings,
  protocol flags, access log) and enrollment. Never an efficacy value or a flag derived from one.

Every public query of ``warehouse.queries`` is declared with ``@readable_by(<roles>)``. Called
by a role outside them it raises ``AccessDenied`` (a ``PermissionError``); for a role other than
``pi`` its result is also passed through ``redact``, which drops the efficacy columns
(``EFFICACY_COLUMNS``) and the protocol flags derived from an efficacy result
(``EFFICACY_FLAGS``: ``PSL_ABOVE_7_5_WK12`` is criterion C4 at week 12), so a mixed table (the
visit table of the subject profile, the protocol flags) reaches a page already without them.

The role is the Streamlit session's (``st.session_state["role"]``, set at sign-in), or one bound
with ``as_role(role)`` for callers without a session (a command line, tests). No role: every
query refuses.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Any, Callable, Iterator, TypeVar

import polars as pl

ROLES = ("pi", "monitor", "data")
EVERY_ROLE = ROLES
ENROLLMENT = ROLES
SAFETY = ("pi", "monitor")
EFFICACY = ("pi",)
DATA_QUALITY = ("pi", "data")
FULL_ACCESS = ("pi",)

# ADaM variables that are, or give away, an efficacy result (R-SLEDAI, R-PGA, R-LLDAS, R-DORIS,
# R-PSL, R-ENDPOINT): dropped from every result read by a role without FULL_ACCESS.
EFFICACY_COLUMNS = frozenset({
    "SLEDAI", "SLEDAIPR", "CLINSLED", "PGA", "NEWACT", "HEMOLYT", "GIACT", "ISTOL",
    "CRIT1FL", "CRIT2FL", "CRIT3FL", "CRIT4FL", "CRIT5FL", "LLDASFL", "DORISFL",
    "RESPFL", "PSLDOSE", "CUMDOSE", "CUMDOSNP", "DISCFL", "BASE", "CHG",
})
# Protocol flags (adam.protocol_flags.FLAGCD) that are an efficacy result.
EFFICACY_FLAGS = frozenset({"PSL_ABOVE_7_5_WK12"})

F = TypeVar("F", bound=Callable[..., Any])
_bound: contextvars.ContextVar[str | None] = contextvars.ContextVar("trialdash_role", default=None)


class AccessDenied(PermissionError):
    """A query was called by a role that may not read it."""


@contextlib.contextmanager
def as_role(role: str) -> Iterator[None]:
    """Read as ``role`` where there is no Streamlit session (``python -m report``, tests)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {ROLES}")
    token = _bound.set(role)
    try:
        yield
    finally:
        _bound.reset(token)


def current_role() -> str | None:
    """The role bound by ``as_role``, else the signed-in Streamlit session's, else None."""
    bound = _bound.get()
    if bound is not None:
        return bound
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None:
        return None
    role = ctx.session_state["role"] if "role" in ctx.session_state else None
    return role if role in ROLES else None


def redact(result: Any, role: str | None, keep: tuple[str, ...] = ()) -> Any:
    """``result`` without what ``role`` may not see (module docstring); ``keep``: efficacy columns
    the query declared its roles may still see."""
    if role in FULL_ACCESS:
        return result
    hidden = EFFICACY_COLUMNS - set(keep)
    if isinstance(result, pl.DataFrame):
        if "FLAGCD" in result.columns:
            result = result.filter(~pl.col("FLAGCD").is_in(sorted(EFFICACY_FLAGS)).fill_null(False))
        return result.drop([c for c in result.columns if c in hidden])
    if isinstance(result, dict):
        return {k: v for k, v in result.items() if k not in hidden}
    if isinstance(result, tuple):
        return tuple(redact(r, role, keep) for r in result)
    return result


def readable_by(*roles: str, keep: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Declare who may call a query; enforce it and redact the result (module docstring).
    ``keep``: columns of EFFICACY_COLUMNS this query's result still shows its roles (declared
    per query, with the reason beside it)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def declare(query: F) -> F:
        @functools.wraps(query)
        def guarded(*args, **kwargs):
            role = current_role()
            if role not in roles:
                raise AccessDenied(f"{query.__name__}: not readable by "
                                   f"{'a visitor who is not signed in' if role is None else 'the role ' + role}"
                                   f" (readable by: {', '.join(roles)})")
            return redact(query(*args, **kwargs), role, keep)
        guarded.readable_by = tuple(roles)  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]
    return declare


def permitted(query: Callable, role: str | None = None) -> bool:
    """May ``role`` (default: the current role) call ``query``?"""
    role = current_role() if role is None else role
    return role in getattr(query, "readable_by", ())
