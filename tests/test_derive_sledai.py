"""R-SLEDAI scoring and R-PGA reading, on hand-written assessments."""
from __future__ import annotations

import datetime as dt

from etl.derive.sledai import clinical_sledai, organ_group, pga_scores, sledai_scores, sledai_total
from tests.derive_fixtures import pga_row, sdtm, sledai_rows


def test_sledai_total_sums_weights_of_present_descriptors_R_SLEDAI():
    # SEIZURE 8 + ARTHRIT 4 + RASH 2 + FEVER 1 = 15
    assert sledai_total(["SEIZURE", "ARTHRIT", "RASH", "FEVER"]) == 15
    assert sledai_total([]) == 0
    # every descriptor: 7 CNS x 8 + VASCUL 8 + 6 x 4 + 7 x 2 + 3 x 1 = 56 + 8 + 24 + 14 + 3 = 105
    from etl.contract import SLEDAI_ITEMS
    assert sledai_total(list(SLEDAI_ITEMS)) == 105


def test_organ_groups_used_by_lldas_R_SLEDAI():
    assert organ_group("CRANNERV") == "CNS"
    assert organ_group("PYURIA") == "renal"
    assert organ_group("PERICARD") == "cardiorespiratory"
    assert organ_group("LOWCOMP") == "immunological"


def test_sledai_scores_from_items_as_delivered_R_SLEDAI():
    qs = sdtm("qs", sledai_rows("001", "WEEK 0", "2024-01-10", ["FEVER", "RASH", "LOWCOMP", "ARTHRIT"])
              + sledai_rows("001", "WEEK 4", "2024-02-07", []))
    s = sledai_scores(qs)
    assert s.select("VISIT", "ADT", "SLEDAI", "SLEDAIPR", "CLINSLED", "C1GRPFL").rows() == [
        # ARTHRIT 4 + RASH 2 + LOWCOMP 2 + FEVER 1 = 9; clinical = 9 - LOWCOMP 2 = 7; FEVER is a C1 group
        ("WEEK 0", dt.date(2024, 1, 10), 9, "ARTHRIT; RASH; LOWCOMP; FEVER", 7, "Y"),
        ("WEEK 4", dt.date(2024, 2, 7), 0, "", 0, "N"),
    ]


def test_sledai_recomputed_from_items_not_the_delivered_total_R_SLEDAI():
    rows = sledai_rows("001", "WEEK 0", "2024-01-10", ["RASH"])
    rows[-1] = {**rows[-1], "QSORRES": 99, "QSSTRESN": 99}   # a wrong total row is ignored here
    assert sledai_scores(sdtm("qs", rows))["SLEDAI"].to_list() == [2]   # RASH 2


def test_clinical_sledai_leaves_out_serology_R_DORIS():
    # LOWCOMP 2 + INCDNA 2 are serological -> clinical 0; + ALOPECIA 2 -> 2
    assert clinical_sledai(["LOWCOMP", "INCDNA"]) == 0
    assert clinical_sledai(["LOWCOMP", "INCDNA", "ALOPECIA"]) == 2


def test_pga_read_on_its_scale_R_PGA():
    qs = sdtm("qs", [pga_row("001", "WEEK 0", "2024-01-10", 2.5), pga_row("001", "WEEK 4", "2024-02-07", 0.0)])
    assert pga_scores(qs).select("VISIT", "PGA").rows() == [("WEEK 0", 2.5), ("WEEK 4", 0.0)]
