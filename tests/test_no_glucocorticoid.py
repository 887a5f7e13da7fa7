"""R-PSL 1.1, end to end: an enrolled subject whose export has no glucocorticoid row at all is
loaded (not refused), keeps an unknown dose (not 0), and is listed on the data-quality page as a
warning so the site can send the missing medication rows.

The export is tests/data/valid_site01 with cm.csv's two PREDNISOLONE rows removed (only the
hydroxychloroquine row is left): 01-001 is enrolled and dosed (first infusion 2024-01-15)."""
from __future__ import annotations

from etl.load import load_exports
from tests.app_fixtures import page_opener, write_users
from tests.conftest import copy_export_as_site, edit_csv, query

S = "jRCTs031230358"


def test_enrolled_subject_without_glucocorticoid_rows_is_loaded_and_warned(valid_site01, tmp_path, monkeypatch):
    export = copy_export_as_site(valid_site01, tmp_path / "site01", "01")

    def drop_glucocorticoids(header, rows):
        rows[:] = [r for r in rows if r[header.index("CMCAT")] != "GLUCOCORTICOID"]
    edit_csv(export / "cm.csv", drop_glucocorticoids)
    wh = tmp_path / "trial.duckdb"
    result = load_exports([export], wh)
    assert result.outcome == "loaded", [str(p) for p in result.problems]

    # unknown, not 0: the dose on every assessment date and at week 12 is missing, so is C4
    assert query(wh, "SELECT count(*), count(PSLDOSE), count(CRIT4FL) FROM adam.adlldas "
                     "WHERE USUBJID = ?", [f"{S}-01-001"])[0][1:] == (0, 0)
    assert query(wh, "SELECT PSLDOSE, CUMDOSE, DISCFL FROM adam.adpslwk WHERE AVISITN = 12") == [(None, None, None)]
    assert query(wh, "SELECT USUBJID, ITEM FROM adam.dq_warnings") == [(f"{S}-01-001", "NO_GLUCOCORTICOID")]

    open_page = page_opener(wh, write_users(tmp_path / "users.toml"), tmp_path / "access.log", monkeypatch)
    at = open_page("home", role="data")                 # the data team's home: Data quality
    warnings = next(d.value for d in at.dataframe if "ITEM" in d.value.columns)
    assert warnings[["USUBJID", "ITEM"]].values.tolist() == [[f"{S}-01-001", "NO_GLUCOCORTICOID"]]
    assert "no glucocorticoid row in cm.csv" in warnings["DETAIL"].iloc[0]
