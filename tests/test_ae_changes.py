"""What is new and changed since a reference (issue 11), on a hand-made warehouse: the current ADAE
against the snapshot of an earlier load (audit.ae_snapshots), through the query functions the
Safety page, the Overview and the packet call (warehouse.queries.adverse_events, ae_changes,
ae_change_counts). The expected marks are worked out case by case in the comments.

Rules: an event is matched across loads on USUBJID + AEDECOD + AESTDTC (never AESEQ); it is NEW
when the reference has no such event, CHANGED when its grade rose, it became serious or its
outcome changed.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from warehouse import queries


@pytest.fixture(autouse=True)
def read_as_the_committee():
    """The query layer refuses a caller without a role (warehouse/access.py): read as the
    monitoring committee, whose view these safety queries are."""
    from warehouse.access import as_role
    with as_role("monitor"):
        yield

SCHEMA = Path(__file__).resolve().parent.parent / "warehouse" / "schema.sql"
U1, U2 = "jRCTs031230358-01-001", "jRCTs031230358-02-001"
INF, NER = "Infections and infestations", "Nervous system disorders"
REC, NOTREC = "RECOVERED/RESOLVED", "NOT RECOVERED/NOT RESOLVED"

# (USUBJID, SITEID, AESEQ, AEDECOD, AEBODSYS, AESTDTC, AETOXGR, AESER, AEOUT, AESIFL)
NOW = [
    (U1, "01", 1, "Pneumonia", INF, "2024-05-01", 3, "Y", REC, "Y"),         # a: as before
    (U1, "01", 2, "Bronchitis", INF, "2024-06-10", 2, "Y", REC, "Y"),        # b: became serious
    (U1, "01", 3, "Herpes zoster", INF, "2024-06-01", 2, "Y", REC, "Y"),     # c: reported late
    (U1, "01", 9, "Nasopharyngitis", INF, "2024-04-02", 1, "N", REC, "N"),   # d: AESEQ 4 -> 9
    (U1, "01", 5, "Headache", NER, "2024-04-20", 3, "N", NOTREC, "N"),       # e: grade 2 -> 3
    (U1, "01", 6, "Headache", NER, "2024-05-20", 1, "N", REC, "N"),          # f: grade 2 -> 1
    (U2, "02", 1, "Cystitis", INF, "2024-07-01", 1, "N", REC, "N"),          # g: outcome changed
]
REFERENCE = [
    (U1, "01", 1, "Pneumonia", INF, "2024-05-01", 3, "Y", REC, "Y"),
    (U1, "01", 2, "Bronchitis", INF, "2024-06-10", 2, "N", REC, "N"),
    (U1, "01", 4, "Nasopharyngitis", INF, "2024-04-02", 1, "N", REC, "N"),
    (U1, "01", 5, "Headache", NER, "2024-04-20", 2, "N", NOTREC, "N"),
    (U1, "01", 6, "Headache", NER, "2024-05-20", 2, "N", REC, "N"),
    (U2, "02", 1, "Cystitis", INF, "2024-07-01", 1, "N", NOTREC, "N"),
    (U2, "02", 2, "Insomnia", NER, "2024-07-03", 1, "N", REC, "N"),          # gone since: not listed
]


@pytest.fixture
def wh(tmp_path, monkeypatch):
    path = tmp_path / "trial.duckdb"
    con = duckdb.connect(str(path))
    con.execute(SCHEMA.read_text())
    cols = "USUBJID, SITEID, AESEQ, AEDECOD, AEBODSYS, AESTDTC, AETOXGR, AESER, AEOUT, AESIFL"
    con.executemany(f"INSERT INTO adam.adae ({cols}, AETERM, TRTEMFL) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'x', 'Y')", NOW)
    con.execute("UPDATE adam.adae SET ASTDT = CAST(AESTDTC AS DATE)")   # full dates: no imputation
    con.executemany(f"INSERT INTO audit.ae_snapshots (RUN_ID, {cols}) VALUES "
                    "('run-1', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", REFERENCE)
    con.close()
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(path))
    return path


def marks(df) -> dict:
    return {(r["USUBJID"][-6:], r["AESEQ"]): (r["CHANGE"], r["CHANGEDESC"]) for r in df.iter_rows(named=True)}


def test_new_and_changed_events_against_a_reference_load(wh):
    assert marks(queries.adverse_events(reference="run-1")) == {
        ("01-001", 1): (None, None),                          # a: same grade, serious, outcome
        ("01-001", 2): ("CHANGED", "became serious"),          # b
        ("01-001", 3): ("NEW", "not in the reference"),        # c: onset before the reference, absent then
        ("01-001", 9): (None, None),                           # d: renumbered, same event
        ("01-001", 5): ("CHANGED", "grade 2 -> 3"),            # e
        ("01-001", 6): (None, None),                           # f: a lower grade is not a rise
        ("02-001", 1): ("CHANGED", f"outcome {NOTREC} -> {REC}"),   # g
    }
    # the new-and-changed listing: exactly those four, the new one first, then by onset
    assert [(r["USUBJID"][-6:], r["AESEQ"]) for r in queries.ae_changes("run-1").iter_rows(named=True)] == [
        ("01-001", 3), ("01-001", 5), ("01-001", 2), ("02-001", 1)]


def test_change_counts_new_changed_serious_and_aesi(wh):
    # new: c. changed: b, e, g. serious and (new or newly serious): b (became serious), c (new,
    # serious) -> 2; a was serious already. AESI and (new or newly AESI): b (a serious infection
    # now, not an AESI before), c (new) -> 2.
    assert queries.ae_change_counts("run-1") == {"new": 1, "changed": 3, "serious": 2, "aesi": 2}
    # the site filter applies: site 02 has only g
    assert queries.ae_change_counts("run-1", ("02",)) == {"new": 0, "changed": 1, "serious": 0, "aesi": 0}


def test_without_a_reference_nothing_is_marked_and_every_event_counts(wh):
    assert {c for c, _ in marks(queries.adverse_events()).values()} == {None}
    # compared with nothing: 7 events new; serious a, b, c; AESIs a, b, c
    assert queries.ae_change_counts(None) == {"new": 7, "changed": 0, "serious": 3, "aesi": 3}


def test_a_reference_holding_the_same_events_twice_compares_with_their_worst(wh):
    # a second reference row of event e (same key) at grade 3 and recovered: e's grade 3 is no
    # longer a rise, and "not recovered" is still among the reference's outcomes -> unchanged
    con = duckdb.connect(str(wh))
    con.execute("INSERT INTO audit.ae_snapshots (RUN_ID, USUBJID, SITEID, AESEQ, AEDECOD, AEBODSYS, "
                "AESTDTC, AETOXGR, AESER, AEOUT, AESIFL) VALUES ('run-1', ?, '01', 7, 'Headache', ?, "
                "'2024-04-20', 3, 'N', ?, 'N')", [U1, NER, REC])
    con.close()
    assert marks(queries.adverse_events(reference="run-1"))[("01-001", 5)] == (None, None)
