"""End to end through the real loader: every accepted load keeps a snapshot of ADAE inside the
warehouse it swaps in, and what is new or changed is counted against the reference the reader
chooses (issue 11; before it, each site was compared with its own previous export and a site
loaded once counted in full: re-sending only site 02 with 1 new SAE showed 2).
"""
from __future__ import annotations

import pytest

import datetime as dt
import shutil

import duckdb

from etl.load import load_exports
from tests.app_fixtures import metric, page_opener, write_users
from tests.conftest import PROJECT_ROOT, edit_csv, query, read_csv, set_data_cut
from warehouse import queries


@pytest.fixture(autouse=True)
def read_as_the_committee():
    """The query layer refuses a caller without a role (warehouse/access.py): read as the
    monitoring committee, whose view these safety queries are."""
    from warehouse.access import as_role
    with as_role("monitor"):
        yield

DEMO = PROJECT_ROOT / "demo" / "exports"


def snapshot_runs(wh) -> list[str]:
    return [r[0] for r in query(wh, "SELECT DISTINCT RUN_ID FROM audit.load_snapshots ORDER BY 1")]


def add_ae(header, rows, **values):
    """Append a copy of the first AE row with ``values`` changed."""
    row = dict(zip(header, rows[0]))
    row.update(values)
    rows.append([row[h] for h in header])


def test_resending_only_site_02_with_one_new_sae_counts_one(tmp_path, monkeypatch):
    """The issue's scenario on the demo trial: both sites loaded, then only site 02 re-sent with
    one new serious AE. Site 01 was loaded once and has a serious herpes zoster (01-004): the old
    per-site comparison counted it too (2). Against the previous load, the default reference, only
    site 02's new event is new: 1."""
    wh = tmp_path / "wh" / "demo.duckdb"
    first = load_exports([DEMO / "site01", DEMO / "site02"], wh)
    assert first.outcome == "loaded", [str(p) for p in first.problems]
    site02 = tmp_path / "site02"
    shutil.copytree(DEMO / "site02", site02)
    _, rows, encoding = read_csv(site02 / "ae.csv")
    assert encoding == "cp932"                          # the re-sent file stays as the site writes it
    header01, rows01, _ = read_csv(DEMO / "site01" / "ae.csv")
    n_sae_site01 = sum(r[header01.index("AESER")] == "Y" for r in rows01)
    assert n_sae_site01 == 1
    edit_csv(site02 / "ae.csv", lambda h, r: add_ae(
        h, r, AESEQ="8", AETERM="肺炎", AEDECOD="Pneumonia", AEBODSYS="Infections and infestations",
        AESTDTC="2025-04-10", AEENDTC="2025-04-24", AETOXGR="3", AESER="Y", AESDTH="N", AESLIFE="N",
        AESHOSP="Y", AESDISAB="N", AESCONG="N", AESMIE="N", AEACN="DRUG INTERRUPTED"))
    second = load_exports([site02], wh)
    assert second.outcome == "loaded", [str(p) for p in second.problems]

    assert snapshot_runs(wh) == sorted([first.run_id, second.run_id])
    open_page = page_opener(wh, write_users(tmp_path / "users.toml"), tmp_path / "access.log", monkeypatch)
    at = open_page("home", role="monitor")
    # the label was shortened for 1024 px (issue 14): "new or newly serious" is now its help text
    assert metric(at, "Serious AEs new") == "1"
    assert first.run_id in [m.value for m in at.caption if "accepted load" in m.value][0]
    new = queries.ae_changes(first.run_id)
    assert [(r["USUBJID"][-6:], r["AEDECOD"], r["CHANGE"]) for r in new.iter_rows(named=True)] == [
        ("02-001", "Pneumonia", "NEW")]


def test_a_site_loaded_once_is_new_only_against_a_reference_that_predates_it(
        warehouse_copy, make_export, monkeypatch):
    """Loads: A site 01; B site 02 (a copy of site 01's export); C site 02 again, its herpes zoster
    now grade 4. Site 01 is loaded once (in A): its events are new against nothing that exists,
    never against A, B or C. Site 02 was loaded in B: against A (which predates it) its two events
    are new; against B only the grade rise shows."""
    (run_a,) = snapshot_runs(warehouse_copy)
    site02 = make_export("02")
    run_b = load_exports([site02], warehouse_copy).run_id
    edit_csv(site02 / "ae.csv", lambda h, rows: rows[1].__setitem__(h.index("AETOXGR"), "4"))
    run_c = load_exports([site02], warehouse_copy).run_id
    assert snapshot_runs(warehouse_copy) == sorted([run_a, run_b, run_c])

    def changed(ref):
        return sorted((r["USUBJID"][-6:], r["AEDECOD"], r["CHANGE"], r["CHANGEDESC"])
                      for r in queries.ae_changes(ref).iter_rows(named=True))
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(warehouse_copy))
    assert changed(run_a) == [("02-001", "Headache", "NEW", "not in the reference"),
                              ("02-001", "Herpes zoster", "NEW", "not in the reference")]
    assert changed(run_b) == [("02-001", "Herpes zoster", "CHANGED", "grade 3 -> 4")]
    assert changed(run_c) == []
    # the references offered: every earlier load, newest first; the default is the previous one
    refs = queries.ae_references()
    assert [r["run_id"] for r in refs] == [run_b, run_a]
    assert queries.default_reference(refs)["run_id"] == run_b


def test_late_reported_serious_event_is_new_since_the_previous_load(warehouse_copy, make_export,
                                                                   monkeypatch):
    """A newer export of site 01 adds a serious pneumonia whose onset (2024-01-25) lies BEFORE the
    first data cut: a late report. Matched on subject + PT + onset, it is new though old by date
    (an onset-date filter would have missed it); the headache and the zoster are not."""
    (run_a,) = snapshot_runs(warehouse_copy)
    (first_cut,) = query(warehouse_copy, "SELECT DATACUT FROM sdtm.exports WHERE SITEID = '01'")[0]
    newer = make_export("01", name="site01_newer")
    set_data_cut(newer, "01", first_cut + dt.timedelta(days=31))
    edit_csv(newer / "ae.csv", lambda h, r: add_ae(
        h, r, AESEQ="3", AETERM="肺炎", AEDECOD="Pneumonia", AEBODSYS="Infections and infestations",
        AESTDTC="2024-01-25", AEENDTC="2024-02-05", AETOXGR="3", AESER="Y", AESHOSP="Y",
        AEREL="POSSIBLY RELATED", AEACN="DRUG INTERRUPTED", AEOUT="RECOVERED/RESOLVED"))
    assert load_exports([newer], warehouse_copy).outcome == "loaded"
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(warehouse_copy))
    # pneumonia: new, serious, and a serious infection is an AESI
    assert queries.ae_change_counts(run_a) == {"new": 1, "changed": 0, "serious": 1, "aesi": 1}


def test_a_refused_load_leaves_no_snapshot(warehouse_copy, make_export):
    before = snapshot_runs(warehouse_copy)
    bad = make_export("02")
    edit_csv(bad / "ae.csv", lambda h, rows: rows[0].__setitem__(h.index("AESTDTC"), "03/02/2024"))
    assert load_exports([bad], warehouse_copy).outcome == "refused"
    assert snapshot_runs(warehouse_copy) == before


def test_a_warehouse_from_before_snapshots_keeps_its_state_as_its_loads_snapshot(warehouse_copy, make_export):
    """A warehouse built before issue 11 has no snapshot tables: the next load snapshots the old
    warehouse's ADAE under the old load's run id, so what that load held stays comparable."""
    (old_run,) = [r[0] for r in query(warehouse_copy, "SELECT RUN_ID FROM audit.refresh")]
    con = duckdb.connect(str(warehouse_copy))
    con.execute("DROP TABLE audit.ae_snapshots")
    con.execute("DROP TABLE audit.load_snapshots")
    con.close()
    new_run = load_exports([make_export("02")], warehouse_copy).run_id
    assert snapshot_runs(warehouse_copy) == sorted([old_run, new_run])
    assert query(warehouse_copy, "SELECT RUN_ID, SITEID, count(*) FROM audit.ae_snapshots "
                                 "GROUP BY ALL ORDER BY 1, 2") == sorted(
        [(old_run, "01", 2), (new_run, "01", 2), (new_run, "02", 2)])
