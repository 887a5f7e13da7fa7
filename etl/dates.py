"""The project's one ISO 8601 date parser (site-export contract, "Identifiers and dates").

Accepted: ``YYYY-MM-DD`` and ``YYYY-MM-DDThh:mm[:ss]``; partial ``YYYY-MM`` and ``YYYY`` only where
the caller allows them. Anything else (``26/12/2023``, ``2023/12/26``, Excel serial numbers) is
refused: day/month order is never guessed.

Two forms of the same rules: :func:`parse_dtc` for one value (the validator's refusal messages),
and Polars expressions over a column of ``--DTC`` text (:func:`date_expr`, :func:`datetime_expr`,
:func:`earliest_day`, :func:`latest_day`) for the typing of sdtm, the cross-file rules and the
derivations. No other module parses a date.
"""
from __future__ import annotations

import datetime as dt
import re

import polars as pl

FULL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$")
PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?$")

# The same rules as regular expressions, for the Great Expectations suites.
ISO_DATE_OR_DATETIME_REGEX = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$"
ISO_PARTIAL_OK_REGEX = r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?)?)?)?$"


class DateError(ValueError):
    """A value that is not an acceptable ISO 8601 date; the message is the contract rule."""


def parse_dtc(value: str, *, partial_ok: bool = False) -> tuple[dt.date | None, dt.datetime | None, str]:
    """Parse an SDTM ``--DTC`` value.

    Returns ``(date, datetime, precision)`` where precision is ``"datetime"``, ``"date"``,
    ``"month"`` or ``"year"``. ``date`` is None for partial values; ``datetime`` is set only for
    values with a time. Raises DateError naming the rule broken.
    """
    value = value.strip()
    if m := DATETIME.match(value):
        y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
        try:
            stamp = dt.datetime(y, mo, d, h, mi, s)
        except ValueError:
            raise DateError("not a valid calendar date/time") from None
        return stamp.date(), stamp, "datetime"
    if m := FULL_DATE.match(value):
        try:
            return dt.date(*(int(x) for x in m.groups())), None, "date"
        except ValueError:
            raise DateError("not a valid calendar date") from None
    if m := PARTIAL.match(value):
        if not partial_ok:
            raise DateError("partial date not allowed in this column (full ISO 8601 date required)")
        month = m.group(2)
        if month is not None and not 1 <= int(month) <= 12:
            raise DateError("not a valid month")
        return None, None, "month" if month else "year"
    raise DateError("not an ISO 8601 date")


def partial_bounds(value: str) -> tuple[dt.date, dt.date]:
    """Earliest and latest calendar date a (possibly partial) ISO date can stand for."""
    d, _, precision = parse_dtc(value, partial_ok=True)
    if d is not None:
        return d, d
    year = int(value[:4])
    if precision == "year":
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(value[5:7])
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


# ---- the same rules over a column (Polars) ----------------------------------------------------

def date_expr(column: pl.Expr | str) -> pl.Expr:
    """The calendar date of a full ``YYYY-MM-DD[Thh:mm[:ss]]`` value; null when partial or not a
    date (sdtm's typed ``--DT`` columns)."""
    c = pl.col(column) if isinstance(column, str) else column
    return c.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def datetime_expr(column: pl.Expr | str) -> pl.Expr:
    """The timestamp of a ``YYYY-MM-DDThh:mm[:ss]`` value; null without a time or when invalid."""
    c = pl.col(column) if isinstance(column, str) else column
    return pl.coalesce(c.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False),
                       c.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M", strict=False))


def earliest_day(column: pl.Expr) -> pl.Expr:
    """Earliest calendar day an ISO (partial) date string can stand for; null if not a date."""
    text = column.str.slice(0, 10)
    padded = (pl.when(text.str.len_chars() == 4).then(text + "-01-01")
              .when(text.str.len_chars() == 7).then(text + "-01")
              .otherwise(text))
    return padded.str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def latest_day(column: pl.Expr) -> pl.Expr:
    """Latest calendar day an ISO (partial) date string can stand for; null if not a date."""
    text = column.str.slice(0, 10)
    first = earliest_day(column)
    return (pl.when(text.str.len_chars() == 4).then(first.dt.offset_by("1y").dt.offset_by("-1d"))
            .when(text.str.len_chars() == 7).then(first.dt.month_end())
            .otherwise(first))
