"""Roles enforced on the data, in the query layer (warehouse/access.py, issue 17): a query refuses
a role that may not read it, mixed tables reach a role without its efficacy columns and flags,
and no page or download of the monitoring committee or the data team carries an efficacy value
(through the real app in AppTest, on the hand-built warehouse of tests/app_fixtures.py)."""
from __future__ import annotations

import inspect
import re

import pyarrow as pa
import pytest

from pages.common import pages_for
from tests.app_fixtures import U1, U4, build_warehouse, hand_built_files, page_opener, record_downloads
from warehouse import access, queries

# Column names of efficacy values, and the protocol flag that is the C4 result at week 12.
EFFICACY_NAMES = ["LLDASFL", "CRIT1FL", "CRIT2FL", "CRIT3FL", "CRIT4FL", "CRIT5FL", "DORISFL",
                  "RESPFL", "SLEDAI", "SLEDAIPR", "CLINSLED", "PGA", "PSLDOSE", "CUMDOSE", "CHG"]
EFFICACY_FLAG = "PSL_ABOVE_7_5_WK12"


@pytest.fixture
def wh(tmp_path, monkeypatch):
    path = build_warehouse(tmp_path / "trial.duckdb")
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(path))
    return path


# --- the query layer -----------------------------------------------------------------------

def test_every_public_query_declares_who_may_read_it():
    public = [f for name, f in inspect.getmembers(queries, inspect.isfunction)
              if f.__module__ == "warehouse.queries" and not name.startswith("_")
              and name not in ("version", "warehouse_exists")]
    assert len(public) > 30
    assert [f.__name__ for f in public if not hasattr(f, "readable_by")] == []


def test_without_a_role_every_query_refuses(wh):
    with pytest.raises(access.AccessDenied, match="not signed in"):
        queries.enrollment_counts()
    assert issubclass(access.AccessDenied, PermissionError)


@pytest.mark.parametrize("query", ["endpoint_summary", "endpoint_subjects", "lldas_visits",
                                   "change_from_week0", "psl_curve", "psl_weeks", "adverse_events",
                                   "subjects", "adsl", "immunosuppressants"])
def test_the_data_team_may_not_read_efficacy_or_subject_data(wh, query):
    with access.as_role("data"), pytest.raises(access.AccessDenied, match="role data"):
        getattr(queries, query)()


@pytest.mark.parametrize("query,args", [("endpoint_summary", ()), ("endpoint", ("LLDAS", 12)),
                                        ("endpoint_subjects", ()), ("change_from_week0", ()),
                                        ("psl_weeks", ()), ("psl_ceilings", ()),
                                        ("immunosuppressants", ()), ("run_history", ())])
def test_the_monitoring_committee_may_not_read_endpoints_psl_or_the_run_log(wh, query, args):
    with access.as_role("monitor"), pytest.raises(access.AccessDenied, match="role monitor"):
        getattr(queries, query)(*args)


def test_the_monitoring_committee_reads_the_daily_psl_course_but_no_dose_at_a_visit(wh):
    """Deliberate (issue 11: the committee packet's SAE profiles show the PSL curve beside the
    AEs): the daily prednisolone course (psl_curve, declared keep=PSLDOSE, CUMDOSE) is the
    committee's safety context; the dose on an assessment date (C4's input, lldas_visits) and the
    week-12/24 doses (psl_weeks, endpoints) stay the PI's."""
    with access.as_role("monitor"):
        curve = queries.psl_curve()
        assert {"PSLDOSE", "CUMDOSE"} <= set(curve.columns) and curve.height > 0
        assert not {"PSLDOSE", "CUMDOSE", "SLEDAI", "CRIT4FL"} & set(queries.lldas_visits().columns)
        with pytest.raises(access.AccessDenied):
            queries.psl_weeks()


def test_protocol_flags_hide_the_c4_week_12_flag_from_data_and_monitor(wh):
    with access.as_role("pi"):
        assert queries.protocol_flags()["FLAGCD"].to_list() == ["INFUSION_MISSED", EFFICACY_FLAG]
    for role in ("data", "monitor"):
        with access.as_role(role):
            assert queries.protocol_flags()["FLAGCD"].to_list() == ["INFUSION_MISSED"], role
            assert queries.protocol_flags(usubjid=U4).height == 0, role


def test_the_monitor_reads_each_visit_without_its_efficacy_columns(wh):
    with access.as_role("pi"):
        full = queries.lldas_visits(usubjid=U1)
    with access.as_role("monitor"):
        visits = queries.lldas_visits(usubjid=U1)
        labs = queries.labs(U1)
    assert {"LLDASFL", "CRIT1FL", "SLEDAI", "PGA"} <= set(full.columns)
    assert visits.columns == ["USUBJID", "SITEID", "AVISIT", "AVISITN", "VISITNUM", "ADT", "ADY",
                              "OOWFL"]
    assert visits.height == full.height == 2
    assert "AVAL" in labs.columns and not {"BASE", "CHG"} & set(labs.columns)


def test_the_pi_reads_everything(wh):
    with access.as_role("pi"):
        assert queries.endpoint("LLDAS", 12)["responders"] == 1
        assert "CHG" in queries.labs(U1).columns


def test_a_bound_role_ends_with_its_block(wh):
    with access.as_role("monitor"):
        assert access.current_role() == "monitor"
    assert access.current_role() is None
    with pytest.raises(ValueError):
        with access.as_role("admin"):
            pass


# --- every page and download of every role, through the app -----------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return hand_built_files(tmp_path_factory, "roles")


@pytest.fixture
def opened(files, tmp_path, monkeypatch):
    """``open(page, role)`` -> (AppTest, {file name: the bytes the download gives})."""
    wh, users = files
    open_page = page_opener(wh, users, tmp_path / "access.log", monkeypatch)

    def open_(page: str, role: str):
        made = record_downloads(monkeypatch)
        at = open_page(page, role)
        assert not [n for n, d in made.items() if isinstance(d, tuple)], "a download made at once"
        # the downloads of this page (sign-in opened the role's home page first)
        labels = {b.proto.label for b in at.get("download_button")}
        return at, {name: make() for name, make in made.items()
                    if f"Download {name.removesuffix('.csv')} (CSV)" in labels
                    or (name.endswith(".html") and any("HTML" in label for label in labels))}
    return open_


def shown(at, downloads: dict[str, bytes], charts_may_show: frozenset = frozenset()) -> tuple[set[str], str]:
    """(every column name, all the text) a page shows or hands out: tables, charts (their
    fields and data), downloads (CSV headers and cells), texts. ``charts_may_show``: names left
    out when they come from a chart's data only."""
    from tests.app_fixtures import texts
    names: set[str] = set()
    chart_names: set[str] = set()
    text = [texts(at)]
    for d in at.dataframe:
        names |= set(map(str, d.value.columns))
        text.append(d.value.to_csv())
    for chart in at.get("vega_lite_chart"):
        chart_names |= set(re.findall(r'"field":\s*"([^"]+)"', chart.proto.spec))
        for ds in [chart.proto.data, *[d.data for d in chart.proto.datasets]]:
            if ds.data:
                table = pa.ipc.open_stream(ds.data).read_all()
                chart_names |= set(table.column_names)
                text.append(str(table.to_pylist()))
    names |= chart_names - set(charts_may_show)
    for name, content in downloads.items():
        body = content.decode("utf-8", "replace")
        if name.endswith(".csv"):
            names |= set(body.splitlines()[0].split(",")) if body else set()
        text.append(body)
    return names, "\n".join(text)


def efficacy_found(at, downloads: dict[str, bytes], charts_may_show: frozenset = frozenset()) -> list[str]:
    names, text = shown(at, downloads, charts_may_show)
    return (sorted(names & set(EFFICACY_NAMES)) + ([EFFICACY_FLAG] if EFFICACY_FLAG in text else [])
            + (["LLDAS"] if "LLDAS" in text else []))


@pytest.mark.parametrize("role,page", [(r, p) for r in ("monitor", "data") for p in pages_for(r)])
def test_no_page_or_download_of_the_role_carries_an_efficacy_value(opened, role, page):
    at, downloads = opened(page, role)
    assert downloads, "every page here has at least one download"
    # the monitor's subject profile draws the daily PSL course (psl_curve's declared keep): in
    # its chart only, never in a table or a download
    course = frozenset({"PSLDOSE", "CUMDOSE"}) if (role, page) == ("monitor", "subject") else frozenset()
    assert efficacy_found(at, downloads, course) == []


def test_the_check_finds_efficacy_values_where_the_pi_sees_them(opened):
    at, downloads = opened("subject", "pi")
    assert {"LLDASFL", "CRIT1FL", "SLEDAI", "PSLDOSE", "CHG", "LLDAS"} <= set(efficacy_found(at, downloads))
    at, downloads = opened("data_quality", "pi")
    assert EFFICACY_FLAG in efficacy_found(at, downloads)


def test_the_monitor_sees_the_subjects_safety_profile(opened):
    at, downloads = opened("subject", "monitor")
    assert [s.value for s in at.subheader][:2] == [U1[-6:], "Visits"]
    visits = downloads["subject_visits.csv"].decode().splitlines()
    assert visits[0] == "USUBJID,AVISIT,AVISITN,VISITNUM,ADT,ADY,OOWFL" and len(visits) == 3
    assert "subject_adverse_events.csv" in downloads and "subject_infusions.csv" in downloads
