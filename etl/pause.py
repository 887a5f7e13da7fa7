"""The one test seam of a load: stop at a named stage so a test can kill the process there.

The kill tests (``tests/test_atomic.py``) start ``python -m etl load`` with
``TRIALDASH_TEST_PAUSE_AT=<stage>``; when the load reaches that stage (one of ``PAUSE_STAGES``, in
the order a load passes them) it prints ``PAUSED AT <stage>`` on stderr and waits until the file
named by ``TRIALDASH_TEST_RESUME_FILE`` exists (forever if unset), so the kill lands at a known
point without timing guesses. Unset (always, outside the tests), ``pause`` returns at once.

    validated       the exports passed, the lock is held, the pending run record is written
    sdtm_written    the new file holds every site's sdtm rows
    derived         ... and the adam tables
    before_replace  the new file is complete (audit included), not yet swapped in
    after_replace   swapped in; the run record is still pending
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

PAUSE_ENV = "TRIALDASH_TEST_PAUSE_AT"
RESUME_ENV = "TRIALDASH_TEST_RESUME_FILE"
PAUSE_STAGES = ("validated", "sdtm_written", "derived", "before_replace", "after_replace")


def pause(stage: str) -> None:
    """Stop at ``stage`` when $TRIALDASH_TEST_PAUSE_AT names it (module docstring)."""
    assert stage in PAUSE_STAGES
    if os.environ.get(PAUSE_ENV) != stage:
        return
    print(f"PAUSED AT {stage}", file=sys.stderr, flush=True)
    resume = os.environ.get(RESUME_ENV)
    while not (resume and Path(resume).exists()):
        time.sleep(0.02)
