"""Each accepted load records its deliveries and what they changed (issue 13): the real load
(etl.load.load_exports, the function `python -m etl load` runs) on the demo's two sites, then a
redelivery of site 02 with three changes (tests/delivery_fixtures.py works them out from the
edited rows), then site 01 again: audit.deliveries and audit.changes are written by the load that
brought them and carried forward by the next."""
from __future__ import annotations

import json

import duckdb
import pytest

from etl.load import load_exports
from tests.delivery_fixtures import DEMO_SITE02, ROOT, load_as, site02_redelivery

DEMO_SITE01 = ROOT / "demo" / "exports" / "site01"


def rows(wh, sql, params=()):
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def three_loads(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deliveries")
    wh = tmp / "wh.duckdb"
    first = load_exports([DEMO_SITE01, DEMO_SITE02], wh)
    assert first.outcome == "loaded", first.problems
    redelivery, expected = site02_redelivery(tmp)
    second = load_as("data", [redelivery], wh)
    assert second.outcome == "loaded", [str(p) for p in second.problems]
    after_second = rows(wh, "SELECT count(*) FROM audit.changes")[0][0]
    third = load_exports([DEMO_SITE01], wh)
    assert third.outcome == "loaded"
    return wh, (first, second, third), expected, after_second


def test_first_delivery_of_a_site_has_no_comparison(three_loads):
    wh, (first, *_), _, _ = three_loads
    got = rows(wh, "SELECT SITEID, COMPARED, PREV_RUN_ID, N_ADDED FROM audit.deliveries "
                   "WHERE RUN_ID = ? ORDER BY SITEID", [first.run_id])
    assert got == [("01", "N", None, 0), ("02", "N", None, 0)]


def test_redelivery_lists_exactly_its_three_changes(three_loads):
    wh, (first, second, _), expected, _ = three_loads
    got = rows(wh, "SELECT DOMAIN, USUBJID, RECORD_KEY, CHANGE, COLUMN_NAME, OLD_VALUE, NEW_VALUE, "
                   "RETROFL, CONTEXT, PREV_RUN_ID FROM audit.changes WHERE RUN_ID = ? AND SITEID = '02'",
               [second.run_id])
    assert {r[-1] for r in got} == {first.run_id}
    want = []
    for e in expected:
        key_cols = {"qs": ("QSTESTCD", "QSDTC"), "ae": ("AEDECOD", "AESTDTC")}[e["domain"]]
        key = "; ".join(f"{c}={v}" for c, v in zip(key_cols, e["key"]))
        context = (f"SLEDAI-2K total (SLEDAITS) {e['total'][0]} -> {e['total'][1]}"
                   if "total" in e else None)
        if e["change"] == "added":
            want.append((e["domain"], e["usubjid"], key, "added", None, None, None, "N", None))
        for col, (old, new) in e["columns"].items():
            want.append((e["domain"], e["usubjid"], key, "changed", col, old, new, e["retro"], context))
    assert sorted(r[:-1] for r in got) == sorted(want)
    # three records: the SLEDAI item (two columns), the AE grade, the new AE
    assert len({(r[0], r[1], r[2], r[3]) for r in got}) == 3


def test_delivery_row_names_the_user_the_previous_delivery_and_the_counts(three_loads):
    wh, (first, second, _), _, _ = three_loads
    got = rows(wh, "SELECT SITEID, CAST(DATACUT AS VARCHAR), LOADED_BY, PREV_RUN_ID, "
                   "CAST(PREV_DATACUT AS VARCHAR), COMPARED, N_ADDED, N_REMOVED, N_CHANGED, N_RETRO "
                   "FROM audit.deliveries WHERE RUN_ID = ?", [second.run_id])
    # changed: the SLEDAI item's 2 columns + the AE grade = 3 rows; retroactive: those 3
    assert got == [("02", "2026-12-01", "data", first.run_id, "2026-11-01", "Y", 1, 0, 3, 3)]
    record = json.loads((second.report.parent / "run.json").read_text(encoding="utf-8"))
    assert record["user"] == "data" and record["host"] and record["os_user"]


def test_later_load_carries_every_delivery_and_change_forward(three_loads):
    wh, (first, second, third), _, after_second = three_loads
    assert rows(wh, "SELECT count(*) FROM audit.changes")[0][0] == after_second
    got = rows(wh, "SELECT RUN_ID, SITEID, COMPARED, N_ADDED + N_REMOVED + N_CHANGED "
                   "FROM audit.deliveries ORDER BY LOADED_AT, SITEID")
    assert got == [(first.run_id, "01", "N", 0), (first.run_id, "02", "N", 0),
                   (second.run_id, "02", "Y", 4), (third.run_id, "01", "Y", 0)]
