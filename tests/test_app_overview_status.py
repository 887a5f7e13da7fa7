"""The PI's one-minute view (issue 14) on the committed demo trial, loaded by the real ETL, through
AppTest: the subject status board's week-12 LLDAS status of every enrolled subject and "Needs
attention" naming the serious / grade >= 3 AE subject and the pulse subject.

Every expected value is recomputed here from the demo's CSV files with the csv module (site 02 is
CP932), following clinical-rules.md in the test's own words, never from etl/ or warehouse/:
- R-ENDPOINT: due at week 12 when study day 7*12 + 8 = 92 (RFSTDTC + 91 days) is on or before the
  site's data cut, or the subject has left the study (a DISPOSITION EVENT in ds.csv).
- R-LLDAS at the WEEK 12 visit: C1 SLEDAI-2K total <= 4, no CNS / renal / cardiorespiratory /
  vasculitis / fever descriptor, HEMOLYT N and GIACT N; C2 NEWACT N and no descriptor present that
  was absent at the previous SLEDAI-2K assessment; C3 PGA <= 1.0; C4 PSL-equivalent dose on the
  visit date <= 7.5 mg (R-PSL: dose x doses per day x factor, rows running that day); C5 ISTOL Y.
- R-PSL pulse: an intravenous glucocorticoid row of >= 250 mg PSL-eq a day.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest

from tests.conftest import copy_warehouse
from tests.demo_csv import demo_rows as rows
from tests.app_fixtures import page_opener, texts, write_users

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "exports"
D = dt.date.fromisoformat
FACTORS = {"PREDNISOLONE": 1, "PREDNISONE": 1, "METHYLPREDNISOLONE": 1.25, "TRIAMCINOLONE": 1.25,
           "HYDROCORTISONE": 0.25, "CORTISONE": 0.2, "DEXAMETHASONE": 6.67, "BETAMETHASONE": 6.67}
PER_DAY = {"QD": 1, "BID": 2, "TID": 3, "QID": 4}
C1_EXCLUDED = {"SEIZURE", "PSYCHOS", "ORGBRAIN", "VISUAL", "CRANNERV", "LUPHEAD", "CVA",   # CNS
               "UCASTS", "HEMATUR", "PROTURIA", "PYURIA",                                 # renal
               "PLEURISY", "PERICARD", "VASCUL", "FEVER"}          # cardiorespiratory, vasculitis, fever




def data_cuts() -> dict[str, dt.date]:
    return {json.loads((s / "export.json").read_text())["siteid"]: D(json.loads((s / "export.json").read_text())["data_cut"])
            for s in sorted(DEMO.iterdir())}


def psl_dose(cm: list[dict], subject: str, day: dt.date) -> float:
    total = 0.0
    for r in cm:
        if (r["USUBJID"] == subject and r["CMCAT"] == "GLUCOCORTICOID" and r["CMROUTE"] in ("ORAL", "INTRAVENOUS")
                and D(r["CMSTDTC"]) <= day and (not r["CMENDTC"] or day <= D(r["CMENDTC"]))):
            total += float(r["CMDOSE"]) * PER_DAY[r["CMDOSFRQ"]] * FACTORS[r["CMDECOD"]]
    return total


def expected_week12() -> dict[str, tuple[str, object]]:
    """USUBJID -> ('responder', None) / ('not met', {failing criteria}) / ('discontinued', None) /
    ('missing', None) / ('not yet due', due date), for every enrolled subject."""
    dm = [r for r in rows("dm") if r["ARMCD"] == "ANIFRO"]
    ds, qs, cm = rows("ds"), rows("qs"), rows("cm")
    cuts = data_cuts()
    out = {}
    for s in dm:
        u, day1 = s["USUBJID"], D(s["RFSTDTC"])
        due_on = day1 + dt.timedelta(days=91)
        events = [r for r in ds if r["USUBJID"] == u and r["DSCAT"] == "DISPOSITION EVENT"]
        if due_on > cuts[s["SITEID"]] and not events:
            out[u] = ("not yet due", due_on)
            continue
        mine = [r for r in qs if r["USUBJID"] == u]
        wk12 = [r for r in mine if r["VISIT"] == "WEEK 12"]
        if not wk12:
            gone = any(e["DSDECOD"] != "COMPLETED" and D(e["DSSTDTC"]) < day1 + dt.timedelta(days=84) for e in events)
            out[u] = ("discontinued", None) if gone else ("missing", None)
            continue
        visit_day = D(wk12[0]["QSDTC"])
        item = {r["QSTESTCD"]: r for r in wk12}
        present = {r["QSTESTCD"] for r in wk12 if r["QSCAT"] == "SLEDAI-2K" and r["QSORRES"] == "PRESENT"}
        earlier = sorted({D(r["QSDTC"]) for r in mine if r["QSCAT"] == "SLEDAI-2K" and D(r["QSDTC"]) < visit_day})
        before = {r["QSTESTCD"] for r in mine if r["QSCAT"] == "SLEDAI-2K" and r["QSORRES"] == "PRESENT"
                  and D(r["QSDTC"]) == earlier[-1]}
        fails = set()
        if not (int(item["SLEDAITS"]["QSSTRESN"]) <= 4 and not present & C1_EXCLUDED
                and item["HEMOLYT"]["QSORRES"] == "N" and item["GIACT"]["QSORRES"] == "N"):
            fails.add("C1")
        if item["NEWACT"]["QSORRES"] != "N" or present - before:
            fails.add("C2")
        if float(item["PGA"]["QSSTRESN"]) > 1.0:
            fails.add("C3")
        if round(psl_dose(cm, u, visit_day), 2) > 7.5:
            fails.add("C4")
        if item["ISTOL"]["QSORRES"] != "Y":
            fails.add("C5")
        out[u] = ("not met", fails) if fails else ("responder", None)
    return out


@pytest.fixture(scope="module")
def demo(demo_cli_warehouse, tmp_path_factory):
    """The demo trial loaded by the real ETL (a private copy of the session's)."""
    d = tmp_path_factory.mktemp("demo_overview")
    wh = copy_warehouse(demo_cli_warehouse, d / "wh")
    return wh, write_users(d / "users.toml")


@pytest.fixture
def app(demo, tmp_path, monkeypatch):
    wh, users = demo
    return page_opener(wh, users, tmp_path / "access.log", monkeypatch)


def frame(at, column: str):
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with column {column}"
    return found[0]


def test_status_board_shows_each_demo_subjects_week_12_lldas_status(app):
    expected = expected_week12()
    assert len(expected) == 10                       # the demo enrolls 10 subjects
    at = app("home")
    board = frame(at, "L12TEXT")
    got = dict(zip(board["USUBJID"], board["L12TEXT"]))
    assert set(got) == set(expected)
    for u, (status, detail) in expected.items():
        text = got[u]
        if status == "responder":
            assert text == "responder", (u, text)
        elif status == "not met":
            assert text.startswith("not met: "), (u, text)
            named = set(re.findall(r"\bC[1-5]\b", text.split("; missing")[0]))
            assert named == detail, (u, text, detail)
        elif status == "discontinued":
            assert text == "not met: discontinued before week 12", (u, text)
        elif status == "missing":
            assert text.startswith("missing"), (u, text)
        else:
            assert text == f"not yet due: due on {detail}", (u, text)
    # the demo has one not-yet-due subject, named with her due date beside the primary endpoint
    waiting = [(u, d) for u, (s, d) in expected.items() if s == "not yet due"]
    assert len(waiting) == 1
    (u, due), = waiting
    assert f"Not yet due: {u[-6:]} (due {due})" in texts(at)
    # displayed with the short ID
    assert u[-6:] in board["SUBJECT_SHORT"].tolist()


def test_needs_attention_names_the_demo_sae_subject_and_the_pulse_subject(app):
    ae, cm = rows("ae"), rows("cm")
    severe = {(r["USUBJID"], r["AEDECOD"]) for r in ae if int(r["AETOXGR"]) >= 3 or r["AESER"] == "Y"}
    pulses = {r["USUBJID"] for r in cm if r["CMCAT"] == "GLUCOCORTICOID" and r["CMROUTE"] == "INTRAVENOUS"
              and float(r["CMDOSE"]) * PER_DAY[r["CMDOSFRQ"]] * FACTORS[r["CMDECOD"]] >= 250}
    assert severe and pulses                         # the demo has both
    at = app("home")
    items = frame(at, "TOPIC")
    listed = list(zip(items["TOPIC"], items["USUBJID"], items["REASON"]))
    sae_rows = [(u, why) for t, u, why in listed if t == "Serious or grade ≥ 3 AE"]
    assert {u for u, _ in sae_rows} == {u for u, _ in severe}
    for u, term in severe:
        assert any(v == u and why.startswith(term) for v, why in sae_rows), (u, term, sae_rows)
    assert {u for t, u, _ in listed if t == "Glucocorticoid pulse"} == pulses
    shown = set(items["SUBJECT_SHORT"])
    assert {u[-6:] for u, _ in severe} | {u[-6:] for u in pulses} <= shown


def test_needs_attention_says_so_when_there_is_nothing(tmp_path, monkeypatch):
    # A warehouse with one site loaded and nothing in it: no subject, so nothing needs attention.
    import duckdb

    wh = tmp_path / "empty.duckdb"
    con = duckdb.connect(str(wh))
    con.execute((ROOT / "warehouse" / "schema.sql").read_text())
    con.execute("INSERT INTO sdtm.exports (SITEID, DATACUT, DATACUT_SOURCE, RUN_ID, LOADED_AT, ARCHIVE_PATH) "
                "VALUES ('01', '2024-06-30', 'rows', 'run-1', '2024-07-01 09:00', '/a/01')")
    con.close()
    at = page_opener(wh, write_users(tmp_path / "users.toml"), tmp_path / "access.log", monkeypatch)("home")
    assert "Nothing needs attention at the data cut." in texts(at)
    assert not [d for d in at.dataframe if "TOPIC" in d.value.columns]


def test_selecting_a_status_board_row_opens_that_subjects_profile(app):
    """A row of the board opens the subject's profile (pages/common.linked_table, the listings'
    mechanism): select the last row, as the browser's row selection does, and the profile's heading
    names the subject of that row (not the profile's default, the first subject)."""
    at = app("home")
    board = frame(at, "L12TEXT")
    last = board.shape[0] - 1
    wanted = board["USUBJID"].iloc[last]
    assert wanted != sorted(board["USUBJID"])[0]     # not the profile's default subject
    at.session_state["tbl_status_board"] = {"selection": {"rows": [last], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Subject profile"
    assert at.subheader[0].value == wanted[-6:]             # the short ID of that row
