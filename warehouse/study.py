"""What the pages (and the committee packet) need to know of the trial and its rules, handed on
from the one place each fact lives (etl/contract.py), so that ``pages/`` never imports ``etl``.

Nothing here is computed: identity, target and the thresholds drawn as reference lines.
"""
from __future__ import annotations

from etl.contract import (CEILING_MG_PER_KG, ENDPOINT_WEEKS, FIRST_ENROLLMENT_REGISTRY,
                          PRIMARY_WEEK, PSL_TARGET_MG, PULSE_MG, STUDY_TITLE, STUDYID,
                          TARGET_ENROLLED)

__all__ = ["CEILING_MG_PER_KG", "ENDPOINT_WEEKS", "FIRST_ENROLLMENT_REGISTRY", "PRIMARY_WEEK",
           "PSL_TARGET_MG", "PULSE_MG", "STUDY_TITLE", "STUDYID", "TARGET_ENROLLED"]
