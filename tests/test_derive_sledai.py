"""R-SLEDAI scoring and R-PGA reading, on hand-written assessments."""
from __future__ import annotations

import datetime as dt

import pytest

from etl.contract import SLEDAI_ITEMS
from etl.derive.sledai import pga_scores, sledai_scores
from tests.derive_fixtures import pga_row, sdtm, sledai_rows


def scores(*present_lists: list[str]):
    """sledai_scores (what the ETL runs) of one assessment per list, a week apart."""
    rows = []
    for i, present in enumerate(present_lists):
        rows += sledai_rows("001", "WEEK 0", f"2024-01-{10 + 7 * i:02d}", present)
    return sledai_scores(sdtm("qs", rows))


def test_sledai_total_sums_weights_of_present_descriptors_R_SLEDAI():
    # SEIZURE 8 + ARTHRIT 4 + RASH 2 + FEVER 1 = 15; none = 0;
    # every descriptor: 7 CNS x 8 + VASCUL 8 + 6 x 4 + 7 x 2 + 3 x 1 = 56 + 8 + 24 + 14 + 3 = 105
    s = scores(["SEIZURE", "ARTHRIT", "RASH", "FEVER"], [], list(SLEDAI_ITEMS))
    assert s["SLEDAI"].to_list() == [15, 0, 105]


@pytest.mark.parametrize("item, c1_group", [
    ("CRANNERV", "Y"),   # CNS
    ("VASCUL", "Y"),     # vasculitis
    ("PYURIA", "Y"),     # renal
    ("PERICARD", "Y"),   # cardiorespiratory
    ("FEVER", "Y"),      # constitutional (fever)
    ("LOWCOMP", "N"),    # immunological: not a C1 group
    ("ARTHRIT", "N"),    # musculoskeletal
    ("RASH", "N"),       # mucocutaneous
    ("THROMBO", "N"),    # hematological
])
def test_organ_groups_used_by_lldas_c1_R_SLEDAI(item, c1_group):
    """C1GRPFL: a descriptor of the CNS, renal, cardiorespiratory, vasculitis or fever group."""
    assert scores([item])["C1GRPFL"].to_list() == [c1_group]


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
    # LOWCOMP 2 + INCDNA 2 are serological -> total 4, clinical 0; + ALOPECIA 2 -> total 6, clinical 2
    s = scores(["LOWCOMP", "INCDNA"], ["LOWCOMP", "INCDNA", "ALOPECIA"])
    assert s.select("SLEDAI", "CLINSLED").rows() == [(4, 0), (6, 2)]


def test_pga_read_on_its_scale_R_PGA():
    qs = sdtm("qs", [pga_row("001", "WEEK 0", "2024-01-10", 2.5), pga_row("001", "WEEK 4", "2024-02-07", 0.0)])
    assert pga_scores(qs).select("VISIT", "PGA").rows() == [("WEEK 0", 2.5), ("WEEK 4", 0.0)]
