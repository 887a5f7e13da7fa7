"""The trial's time zone: every time a page shows is in it, labelled with it (issue 13).

The warehouse and the run log keep UTC (run.json's ``...Z``, naive UTC TIMESTAMP columns); a page
shows ``2026-12-02 03:43 (Asia/Tokyo)``. The zone is ``$TRIALDASH_TZ`` (an IANA name), else
Asia/Tokyo, the trial's.
"""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_VAR = "TRIALDASH_TZ"
DEFAULT_TZ = "Asia/Tokyo"


def trial_zone() -> str:
    """The IANA name of the trial's time zone; an unknown name falls back to the default."""
    name = os.environ.get(ENV_VAR) or DEFAULT_TZ
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TZ
    return name


def _utc(stamp: dt.datetime | str | None) -> dt.datetime | None:
    if stamp is None or stamp == "":
        return None
    if isinstance(stamp, str):
        stamp = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


def local_time(stamp: dt.datetime | str | None) -> str:
    """A UTC timestamp (naive = UTC, or run.json's ISO text) in the trial's zone, labelled:
    ``2026-12-02 03:43 (Asia/Tokyo)``; ``""`` for none."""
    utc = _utc(stamp)
    if utc is None:
        return ""
    zone = trial_zone()
    return f"{utc.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"
