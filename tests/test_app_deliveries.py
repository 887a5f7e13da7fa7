"""The Data quality page's delivery panels (issue 13) through AppTest on warehouses the real ETL
built: the demo (tests/conftest.py demo_cli_warehouse), then a refused delivery of site 02 with
a newer data cut, then an accepted redelivery of site 02 with three changes (one past SLEDAI-2K
item, one past AE grade, one new AE: tests/delivery_fixtures.py works them out from the rows it
edited, never through etl.changes).

Expected values come from the export files the test wrote (data cuts, the edited rows) and from
the load results' run ids; the page's tables are read back from AppTest.
"""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from etl.load import load_exports
from tests.app_fixtures import page_opener, texts, write_users
from tests.conftest import copy_warehouse, edit_csv
from tests.delivery_fixtures import DEMO_SITE02, NEW_CUT, load_as, site02_redelivery

DEMO_CUT = json.loads((DEMO_SITE02 / "export.json").read_text(encoding="utf-8"))["data_cut"]
BANNER = f"site 02: delivery with data cut {NEW_CUT} refused; showing {DEMO_CUT}"


def refused_site02(dest):
    """Site 02 with data cut NEW_CUT and one AE onset that is not a date: refused."""
    folder = dest / "site02"
    shutil.copytree(DEMO_SITE02, folder)
    (folder / "export.json").write_text(json.dumps({"siteid": "02", "data_cut": NEW_CUT}),
                                        encoding="utf-8")

    def bad(header, rows):
        rows[0][header.index("AESTDTC")] = "15/11/2026"
    edit_csv(folder / "ae.csv", bad)
    return folder


@pytest.fixture(scope="module")
def stages(demo_cli_warehouse, tmp_path_factory):
    """Two warehouses: 'refused' (demo + refused site 02) and 'resolved' (then the redelivery,
    loaded as the app user 'data')."""
    d = tmp_path_factory.mktemp("app_deliveries")
    wh = copy_warehouse(demo_cli_warehouse, d / "refused")
    refused = load_exports([refused_site02(d / "bad")], wh)
    assert refused.outcome == "refused"
    resolved_wh = copy_warehouse(wh, d / "resolved")
    redelivery, expected = site02_redelivery(d / "good")
    loaded = load_as("data", [redelivery], resolved_wh)
    assert loaded.outcome == "loaded", [str(p) for p in loaded.problems]
    return {"refused": wh, "resolved": resolved_wh, "refused_run": refused.run_id,
            "loaded_run": loaded.run_id, "expected": expected, "users": write_users(d / "users.toml")}


def frames(at, column: str) -> list[list[dict]]:
    """The displayed dataframes holding ``column`` (its CDISC / query name), in page order, each
    as a list of rows."""
    return [d.value.to_dict("records") for d in at.dataframe if column in d.value.columns]


def frame(at, column: str) -> list[dict]:
    """The one displayed dataframe holding ``column``."""
    found = frames(at, column)
    assert len(found) == 1, (column, [list(d.value.columns) for d in at.dataframe])
    return found[0]


def open_page(stages, which, page, role, tmp_path, monkeypatch):
    return page_opener(stages[which], stages["users"], tmp_path / "access.log", monkeypatch)(page, role)


def test_an_open_refusal_shows_in_the_status_table_and_every_page_header(stages, tmp_path, monkeypatch):
    at = open_page(stages, "refused", "data_quality", "data", tmp_path, monkeypatch)
    [site02] = [r for r in frame(at, "live_data_cut") if r["site"] == "02"]
    assert (site02["live_data_cut"], site02["refused_data_cut"], site02["refused_run_id"]) == \
        (DEMO_CUT, NEW_CUT, stages["refused_run"])
    [refusal] = [r for r in frame(at, "resolved_by") if r["run_id"] == stages["refused_run"]]
    assert (refusal["site"], refusal["data_cut"], refusal["status"]) == ("02", NEW_CUT, "open")
    assert BANNER in [w.value for w in at.warning]
    for role, page in (("pi", "overview"), ("monitor", "safety"), ("data", "enrollment")):
        other = open_page(stages, "refused", page, role, tmp_path, monkeypatch)
        assert BANNER in [w.value for w in other.warning], (role, page)


def test_an_accepted_redelivery_resolves_the_refusal_and_lists_exactly_its_changes(
        stages, tmp_path, monkeypatch):
    at = open_page(stages, "resolved", "data_quality", "data", tmp_path, monkeypatch)
    [site02] = [r for r in frame(at, "live_data_cut") if r["site"] == "02"]
    assert (site02["live_data_cut"], site02["live_run_id"], site02["loaded_by"]) == \
        (NEW_CUT, stages["loaded_run"], "data")
    assert pd.isna(site02["refused_data_cut"])                      # nothing refused is open
    [refusal] = [r for r in frame(at, "resolved_by") if r["run_id"] == stages["refused_run"]]
    assert (refusal["status"], refusal["resolved_by"]) == ("resolved", stages["loaded_run"])
    assert not [w.value for w in at.warning if "refused; showing" in w.value]

    # The newest delivery is selected first: its change rows are the expected records' columns
    # (the SLEDAI item: QSORRES and QSSTRESN; the AE grade: AETOXGR) plus one row for the new AE.
    expected = stages["expected"]
    want = sorted([(e["usubjid"], e["change"], col) for e in expected for col in e["columns"]]
                  + [(e["usubjid"], "added", None) for e in expected if e["change"] == "added"],
                  key=repr)
    retro_table, changes_table = frames(at, "COLUMN_NAME")   # retroactive ones, then the delivery's
    changes = [r for r in changes_table if r["RUN_ID"] == stages["loaded_run"]]
    shown = [(r["USUBJID"], r["CHANGE"], None if pd.isna(r["COLUMN_NAME"]) else r["COLUMN_NAME"])
             for r in changes]
    assert sorted(shown, key=repr) == want
    assert f"{len(want)} change row(s)" in texts(at)
    # retroactive (dated on or before the previous cut): the SLEDAI item and the AE grade only
    warnings = [w.value for w in at.warning if "retroactive change(s)" in w.value]
    n_retro = sum(len(e["columns"]) for e in expected if e["retro"] == "Y")    # 2 + 1 = 3
    assert warnings and warnings[0].startswith(f"{n_retro} retroactive change(s)")
    assert sorted(((r["USUBJID"], r["COLUMN_NAME"]) for r in retro_table), key=repr) == sorted(
        ((e["usubjid"], c) for e in expected if e["retro"] == "Y" for c in e["columns"]), key=repr)

    # Per subject: the AE subject's rows only (the AE grade and the new AE are the same subject)
    ae_subject = next(e["usubjid"] for e in expected if e["domain"] == "ae")
    at.selectbox(key=next(s.key for s in at.selectbox if s.key.startswith("dl_subject_"))) \
        .select(ae_subject).run()
    per_subject = [r for r in frames(at, "COLUMN_NAME")[-1] if r["RUN_ID"] == stages["loaded_run"]]
    assert {r["USUBJID"] for r in per_subject} == {ae_subject}
    assert len(per_subject) == sum(1 for w in want if w[0] == ae_subject)


def test_the_monitor_has_no_data_quality_page_and_its_delivery_queries_refuse_it(stages, monkeypatch):
    """Deliveries and changes are the data team's (warehouse/access.py DATA_QUALITY = pi, data):
    the monitor's navigation has no Data quality page, and the queries refuse the role."""
    from pages import common
    from warehouse import access, queries

    assert "data_quality" not in common.pages_for("monitor")
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(stages["resolved"]))
    for query in (queries.delivery_status, queries.refused_deliveries, queries.deliveries,
                  queries.delivery_changes):
        with access.as_role("monitor"), pytest.raises(access.AccessDenied):
            query()
        with access.as_role("data"):
            assert query().height > 0, query.__name__
