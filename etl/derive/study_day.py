"""Study day, nominal days and visit windows (R-DAY).

Day 1 is the first anifrolumab infusion (``RFSTDTC`` / ``TRTSDT``); the day before is day -1 and
there is no day 0. The visit schedule itself lives in ``etl.contract.VISITS`` (one place knows it);
this module only does arithmetic on it.
"""
from __future__ import annotations

import polars as pl

from etl.contract import VISITS

SCREENING_WINDOW = (-28, -1)


def study_day_expr(date: pl.Expr | str, rfstdt: pl.Expr | str) -> pl.Expr:
    """R-DAY: study day of ``date``: ``D - RFSTDTC + 1`` if D >= RFSTDTC, else ``D - RFSTDTC`` (no
    day 0). Int32; null when either date is null."""
    date = pl.col(date) if isinstance(date, str) else date
    rfstdt = pl.col(rfstdt) if isinstance(rfstdt, str) else rfstdt
    diff = (date - rfstdt).dt.total_days()
    return pl.when(diff >= 0).then(diff + 1).otherwise(diff).cast(pl.Int32)


def nominal_day(week: int) -> int:
    """R-DAY: week W's nominal study day is ``7*W + 1`` (week 12 -> 85, week 24 -> 169)."""
    return 7 * week + 1


def visit_window(visit: str) -> tuple[int, int] | None:
    """R-DAY: (first, last) study day of a visit's window; SCREENING is days -28..-1.

    WEEK 0 has window 0, i.e. exactly day 1; WEEK 4..24 are nominal +/- 7 days.
    """
    spec = VISITS.get(visit)
    if spec is None:
        return None
    if visit == "SCREENING":
        return SCREENING_WINDOW
    _, _, nominal, window, _ = spec
    return nominal - window, nominal + window


def oowfl_expr(visit: pl.Expr | str, ady: pl.Expr | str) -> pl.Expr:
    """R-DAY: OOWFL over a VISIT and a study-day column: 'Y' outside the visit's window
    (:func:`visit_window`), 'N' inside, null when the visit or the day is unknown."""
    visit = pl.col(visit) if isinstance(visit, str) else visit
    ady = pl.col(ady) if isinstance(ady, str) else ady
    lo = visit.replace_strict({v: visit_window(v)[0] for v in VISITS}, default=None,
                              return_dtype=pl.Int32)
    hi = visit.replace_strict({v: visit_window(v)[1] for v in VISITS}, default=None,
                              return_dtype=pl.Int32)
    return (pl.when(lo.is_null() | ady.is_null()).then(None)
            .when((ady >= lo) & (ady <= hi)).then(pl.lit("N"))
            .otherwise(pl.lit("Y")))


def week_expr(visit: pl.Expr | str) -> pl.Expr:
    """R-DAY: AVISITN (the week) of a VISIT column; null for SCREENING."""
    visit = pl.col(visit) if isinstance(visit, str) else visit
    return visit.replace_strict({v: s[1] for v, s in VISITS.items()}, default=None,
                                return_dtype=pl.Int32)
