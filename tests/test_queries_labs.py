"""warehouse/queries.py's laboratory safety reads (R-LAB): on the hand-built warehouse of
tests/app_fixtures.py (figures in its docstring), and on the demo trial loaded by the real ETL,
where the worst-grade count of the demo's neutropenia is recounted from the raw lb.csv."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.app_fixtures import U1, U4, build_warehouse, write_run_log
from tests.conftest import copy_warehouse
from warehouse import queries

DEMO = Path(__file__).resolve().parent.parent / "demo" / "exports"


@pytest.fixture(autouse=True)
def read_as_pi():
    """The query layer refuses a caller without a role (warehouse/access.py): read as the PI."""
    from warehouse.access import as_role
    with as_role("pi"):
        yield


@pytest.fixture
def wh(tmp_path, monkeypatch):
    path = build_warehouse(tmp_path / "trial.duckdb")
    write_run_log(path)
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(path))
    return path


def test_worst_grade_counts_have_every_grade_of_the_test_with_n_and_N(wh):
    long = queries.lab_worst_grade_counts()
    neut = long.filter(long["PARAMCD"] == "NEUT")
    # 01-001 worst grade 3, 02-001 worst grade 2, of N 2; grades 0-4 all listed.
    assert neut.select("grade", "n", "N").rows() == [(0, 0, 2), (1, 0, 2), (2, 1, 2), (3, 1, 2), (4, 0, 2)]
    assert queries.lab_worst_grade_counts(("01",)).filter(
        queries.lab_worst_grade_counts(("01",))["PARAMCD"] == "NEUT").select("grade", "n", "N").rows() == [
        (0, 0, 1), (1, 0, 1), (2, 0, 1), (3, 1, 1), (4, 0, 1)]


def test_the_criteria_legend_reads_as_r_lab_writes_it():
    crit = {r["PARAMCD"]: r for r in queries.lab_grade_criteria().iter_rows(named=True)}
    assert [crit["ALT"][f"grade {g}"] for g in range(1, 5)] == [
        "> ULN – 3.0×ULN", "> 3.0×ULN – 5.0×ULN", "> 5.0×ULN – 20.0×ULN", "> 20.0×ULN"]
    assert [crit["WBC"][f"grade {g}"] for g in range(1, 5)] == ["< LLN – 3.0", "< 3.0 – 2.0", "< 2.0 – 1.0", "< 1.0"]
    assert [crit["PLAT"][f"grade {g}"] for g in range(1, 5)] == ["< LLN – 75", "< 75 – 50", "< 50 – 25", "< 25"]
    assert [crit["HGB"][f"grade {g}"] for g in range(1, 5)] == ["< LLN – 10.0", "< 10.0 – 8.0", "< 8.0", "–"]
    assert crit["NEUT"]["direction"] == "decreased" and crit["BILI"]["direction"] == "increased"


def test_hy_law_cases_and_edish_follow_the_site_filter(wh):
    assert queries.hys_law_cases()["USUBJID"].to_list() == [U4]
    assert queries.hys_law_cases(("01",)).height == 0
    assert queries.edish_points(("01",))["USUBJID"].to_list() == [U1]
    counts = queries.edish_quadrant_counts(("01",))
    assert dict(zip(counts["quadrant"], counts["subjects"]))["Temple's corollary"] == 1
    assert set(counts["N"]) == {1}


def test_values_of_one_test_over_study_day(wh):
    v = queries.lab_values("NEUT")
    # 01-001 days 1, 29, 57 and 02-001 days 1, 29; the grade of the test's direction as ATOXGR.
    assert v.select("USUBJID", "ADY", "AVAL", "ATOXGR").rows() == [
        (U1, 1, 3.1, 0), (U1, 29, 0.8, 3), (U1, 57, 1.6, 1), (U4, 1, 1.4, 2), (U4, 29, 1.2, 2)]


# --- the demo, loaded by the real ETL ----------------------------------------------------------

def demo_rows(domain: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for site in sorted(DEMO.iterdir()):
        raw = (site / f"{domain}.csv").read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp932")
        rows += list(csv.DictReader(io.StringIO(text, newline="")))
    return rows


def demo_neutropenia() -> tuple[int, int]:
    """(subjects whose worst post-baseline NEUT is grade 3, subjects with a post-baseline NEUT),
    from the raw CSV files: post-baseline = after the first infusion (dm RFSTDTC) and on or before
    the end of observation (the ds DISPOSITION EVENT date, else the data cut 2026-11-01); grade 3
    = below 1.0 and at least 0.5 x10^3/uL, grade 4 below 0.5 (R-LAB)."""
    first = {r["USUBJID"]: r["RFSTDTC"] for r in demo_rows("dm") if r["RFSTDTC"]}
    end = {r["USUBJID"]: r["DSSTDTC"] for r in demo_rows("ds") if r["DSCAT"] == "DISPOSITION EVENT"}
    post: dict[str, list[float]] = {}
    for r in demo_rows("lb"):
        u = r["USUBJID"]
        if r["LBTESTCD"] == "NEUT" and r["LBSTRESN"] and u in first \
                and first[u] < r["LBDTC"] <= end.get(u, "2026-11-01"):
            post.setdefault(u, []).append(float(r["LBSTRESN"]))
    worst3 = sum(1 for v in post.values() if 0.5 <= min(v) < 1.0)
    return worst3, len(post)


@pytest.fixture(scope="module")
def demo_wh(demo_cli_warehouse, tmp_path_factory):
    """The demo trial loaded by the real ETL (a private copy of the session's)."""
    return copy_warehouse(demo_cli_warehouse, tmp_path_factory.mktemp("demo_labs") / "wh")


def test_demo_neutropenia_count_agrees_with_the_raw_csv(demo_wh, monkeypatch):
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(demo_wh))
    n3, n = demo_neutropenia()
    assert (n3, n) == (1, 10)          # the demo's story: one grade-3 neutropenia among 10 FAS
    neut = queries.lab_worst_grades().filter(queries.lab_worst_grades()["PARAMCD"] == "NEUT").row(0, named=True)
    assert (neut["N"], neut["grade 3"], neut["n3"]) == (n, f"{n3} ({100 * n3 / n:.1f}%)", n3)
    assert queries.hys_law_cases().height == 0
