"""What a new delivery changed (issue 13, etl/changes.py): hand-made pairs of deliveries, each
expected change written out from the two small tables in the test."""
from __future__ import annotations

import datetime as dt

import polars as pl

from etl.changes import delivery_changes, domain_changes
from etl.contract import NATURAL_KEYS

CUT = dt.date(2026, 11, 1)   # the previous delivery's data cut


def ae(*rows: tuple[str, str, str, str, str]) -> pl.DataFrame:
    """(USUBJID, AESEQ, AEDECOD, AESTDTC, AETOXGR) rows, as read: every column a string."""
    return pl.DataFrame(rows, schema={c: pl.String for c in
                                      ("USUBJID", "AESEQ", "AEDECOD", "AESTDTC", "AETOXGR")},
                        orient="row")


def triples(changes: pl.DataFrame) -> list[tuple]:
    return sorted(changes.select("USUBJID", "RECORD_KEY", "CHANGE", "COLUMN_NAME", "OLD_VALUE",
                                 "NEW_VALUE", "RETROFL").iter_rows())


def test_natural_keys_are_the_issue_s_and_the_new_ae_flags():
    assert NATURAL_KEYS["qs"] == ("USUBJID", "QSTESTCD", "QSDTC")
    assert NATURAL_KEYS["ae"] == ("USUBJID", "AEDECOD", "AESTDTC")


def test_grade_change_before_the_cut_is_retroactive_after_it_is_not():
    # Nausea 2026-10-01 (before the cut 2026-11-01): grade 1 -> 2, retroactive.
    # Rash 2026-11-02 (after the cut): grade 1 -> 3, an ordinary follow-up.
    prev = ae(("S1", "1", "Nausea", "2026-10-01", "1"), ("S1", "2", "Rash", "2026-11-02", "1"))
    new = ae(("S1", "1", "Nausea", "2026-10-01", "2"), ("S1", "2", "Rash", "2026-11-02", "3"))
    assert triples(domain_changes("ae", prev, new, CUT)) == [
        ("S1", "AEDECOD=Nausea; AESTDTC=2026-10-01", "changed", "AETOXGR", "1", "2", "Y"),
        ("S1", "AEDECOD=Rash; AESTDTC=2026-11-02", "changed", "AETOXGR", "1", "3", "N"),
    ]


def test_a_record_dated_on_the_cut_itself_is_retroactive():
    # "on or before the previous delivery's data cut": 2026-11-01 <= 2026-11-01.
    prev = ae(("S1", "1", "Nausea", "2026-11-01", "1"))
    new = ae(("S1", "1", "Nausea", "2026-11-01", "2"))
    assert triples(domain_changes("ae", prev, new, CUT))[0][-1] == "Y"


def test_removed_before_the_cut_is_retroactive_added_never_is():
    # Fever (2026-09-15) removed: retroactive. Cough (2026-10-20, before the cut) added: a late
    # entry, not retroactive. Headache (2026-11-20) removed after the cut: not retroactive.
    prev = ae(("S1", "1", "Fever", "2026-09-15", "1"), ("S2", "1", "Headache", "2026-11-20", "1"))
    new = ae(("S1", "1", "Cough", "2026-10-20", "1"))
    assert triples(domain_changes("ae", prev, new, CUT)) == [
        ("S1", "AEDECOD=Cough; AESTDTC=2026-10-20", "added", None, None, None, "N"),
        ("S1", "AEDECOD=Fever; AESTDTC=2026-09-15", "removed", None, None, None, "Y"),
        ("S2", "AEDECOD=Headache; AESTDTC=2026-11-20", "removed", None, None, None, "N"),
    ]


def test_a_partial_date_counts_by_its_earliest_day():
    # 2026-11 can be 2026-11-01, which is on the cut: retroactive. 2026-12 cannot: not.
    prev = ae(("S1", "1", "Rash", "2026-11", "1"), ("S1", "2", "Itch", "2026-12", "1"))
    new = ae(("S1", "1", "Rash", "2026-11", "2"), ("S1", "2", "Itch", "2026-12", "2"))
    assert [t[-1] for t in triples(domain_changes("ae", prev, new, dt.date(2026, 11, 1)))] == ["N", "Y"]
    # sorted by key: Itch (2026-12 -> N) before Rash (2026-11 -> Y)


def test_renumbered_seq_is_no_change_and_an_emptied_value_is_one():
    # The site inserted a row and renumbered AESEQ 1 -> 2: not a change. AETOXGR "" is read as
    # null: 2 -> null is a change with NEW_VALUE null.
    prev = ae(("S1", "1", "Nausea", "2026-10-01", "2"))
    new = ae(("S1", "2", "Nausea", "2026-10-01", None))
    assert triples(domain_changes("ae", prev, new, CUT)) == [
        ("S1", "AEDECOD=Nausea; AESTDTC=2026-10-01", "changed", "AETOXGR", "2", None, "Y")]


def test_repeated_keys_pair_in_order_of_occurrence():
    # Two Nausea records on one date: the first is unchanged, the second 1 -> 3; a third appears.
    prev = ae(("S1", "1", "Nausea", "2026-10-01", "1"), ("S1", "2", "Nausea", "2026-10-01", "1"))
    new = ae(("S1", "1", "Nausea", "2026-10-01", "1"), ("S1", "2", "Nausea", "2026-10-01", "3"),
             ("S1", "3", "Nausea", "2026-10-01", "1"))
    assert triples(domain_changes("ae", prev, new, CUT)) == [
        ("S1", "AEDECOD=Nausea; AESTDTC=2026-10-01", "added", None, None, None, "N"),
        ("S1", "AEDECOD=Nausea; AESTDTC=2026-10-01", "changed", "AETOXGR", "1", "3", "Y"),
    ]


def test_questionnaire_item_change_keeps_its_visit():
    cols = ("USUBJID", "QSSEQ", "QSCAT", "QSTESTCD", "QSORRES", "QSSTRESN", "VISIT", "QSDTC")
    prev = pl.DataFrame([("S1", "1", "SLEDAI-2K", "RASH", "ABSENT", "0", "WEEK 4", "2026-10-01"),
                         ("S1", "2", "SLEDAI-2K", "ARTHRIT", "ABSENT", "0", "WEEK 4", "2026-10-01")],
                        schema={c: pl.String for c in cols}, orient="row")
    new = prev.with_columns(pl.when(pl.col("QSTESTCD") == "RASH").then(pl.lit(v)).otherwise(pl.col(c))
                            .alias(c) for c, v in (("QSORRES", "PRESENT"), ("QSSTRESN", "2")))
    got = domain_changes("qs", prev, new, CUT)
    assert got.select("RECORD_KEY", "VISIT", "COLUMN_NAME", "OLD_VALUE", "NEW_VALUE", "RETROFL").rows() == [
        ("QSTESTCD=RASH; QSDTC=2026-10-01", "WEEK 4", "QSORRES", "ABSENT", "PRESENT", "Y"),
        ("QSTESTCD=RASH; QSDTC=2026-10-01", "WEEK 4", "QSSTRESN", "0", "2", "Y"),
    ]


def test_first_delivery_has_only_additions_and_identical_deliveries_none():
    new = {"ae": ae(("S1", "1", "Nausea", "2026-10-01", "1"))}
    first = delivery_changes({}, new, None)
    assert first.select("CHANGE", "RETROFL").rows() == [("added", "N")]
    assert delivery_changes(new, new, CUT).height == 0


def test_a_domain_dropped_from_the_delivery_removes_its_rows():
    prev = {"ae": ae(("S1", "1", "Nausea", "2026-10-01", "1"), ("S1", "2", "Rash", "2026-11-05", "1"))}
    got = delivery_changes(prev, {}, CUT)
    assert got.select("CHANGE", "RETROFL").rows() == [("removed", "Y"), ("removed", "N")]


def test_sledai_item_change_carries_its_total_as_context_instead_of_a_second_change():
    # 2026-10-01: RASH 0 -> 2 and the total SLEDAITS 4 -> 6 (4 + 2): one change, the total as its
    # context. 2026-10-29: only the total changed (8 -> 9, no item did): listed as itself.
    # PGA changes on 2026-10-01 too: a questionnaire change of its own, without SLEDAI context.
    cols = ("USUBJID", "QSSEQ", "QSCAT", "QSTESTCD", "QSORRES", "QSSTRESN", "VISIT", "QSDTC")
    s = {c: pl.String for c in cols}
    prev = pl.DataFrame([("S1", "1", "SLEDAI-2K", "RASH", "ABSENT", "0", "WEEK 4", "2026-10-01"),
                         ("S1", "2", "SLEDAI-2K", "SLEDAITS", "4", "4", "WEEK 4", "2026-10-01"),
                         ("S1", "3", "PHYSICIAN GLOBAL ASSESSMENT", "PGA", "1.0", "1.0", "WEEK 4", "2026-10-01"),
                         ("S1", "4", "SLEDAI-2K", "SLEDAITS", "8", "8", "WEEK 8", "2026-10-29")],
                        schema=s, orient="row")
    new = pl.DataFrame([("S1", "1", "SLEDAI-2K", "RASH", "PRESENT", "2", "WEEK 4", "2026-10-01"),
                        ("S1", "2", "SLEDAI-2K", "SLEDAITS", "6", "6", "WEEK 4", "2026-10-01"),
                        ("S1", "3", "PHYSICIAN GLOBAL ASSESSMENT", "PGA", "1.5", "1.5", "WEEK 4", "2026-10-01"),
                        ("S1", "4", "SLEDAI-2K", "SLEDAITS", "9", "9", "WEEK 8", "2026-10-29")],
                       schema=s, orient="row")
    got = domain_changes("qs", prev, new, CUT)
    assert sorted(got.select("RECORD_KEY", "COLUMN_NAME", "OLD_VALUE", "NEW_VALUE", "CONTEXT").rows()) == [
        ("QSTESTCD=PGA; QSDTC=2026-10-01", "QSORRES", "1.0", "1.5", None),
        ("QSTESTCD=PGA; QSDTC=2026-10-01", "QSSTRESN", "1.0", "1.5", None),
        ("QSTESTCD=RASH; QSDTC=2026-10-01", "QSORRES", "ABSENT", "PRESENT", "SLEDAI-2K total (SLEDAITS) 4 -> 6"),
        ("QSTESTCD=RASH; QSDTC=2026-10-01", "QSSTRESN", "0", "2", "SLEDAI-2K total (SLEDAITS) 4 -> 6"),
        ("QSTESTCD=SLEDAITS; QSDTC=2026-10-29", "QSORRES", "8", "9", None),
        ("QSTESTCD=SLEDAITS; QSDTC=2026-10-29", "QSSTRESN", "8", "9", None),
    ]
