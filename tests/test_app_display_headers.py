"""Every table a reader sees speaks in words (issue 14): AppTest opens every page as every role that
may open it, on the committed demo trial loaded by the real ETL, and reads each displayed
dataframe's headers as the browser would draw them (the proto's column order and column-config
labels, not the frame handed to st.dataframe, whose columns keep the CDISC names for the CSV).

A header fails when it is a raw column name:
- an upper-case code (USUBJID, ADT, AVISITN, DUEFL, CUMDOSNP, AETOXGR ...), or a flag code
  (PSL_ABOVE_7_5_WK12): letters, digits and underscores only, all capitals. The clinical
  abbreviations that are the label itself (LLDAS, TEAE) are words a rheumatologist reads, and are
  allowed by name below;
- a lower-case identifier (run_id, first_enrolled, n, attention): a plain-language label starts with
  a capital letter or a symbol.
And a displayed column fails when a cell is a full USUBJID (jRCTs031230358-01-001): displays show
the short site-subject ID; the full one is for downloads and tooltips.
"""
from __future__ import annotations

import json
import re

import pytest

from pages.common import PAGES, pages_for
from tests.app_fixtures import page_opener, write_users
from tests.demo_csv import DEMO

ROLES = ("pi", "monitor", "data")
# Labels that are clinical abbreviations, upper-case as clinicians write them.
WORDS = {"LLDAS", "TEAE", "PSL", "SOC", "PT", "ALT", "AST"}
UPPER_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
LOWER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FULL_USUBJID = re.compile(r"^jRCTs031230358-\d\d-\d{3}$")


def raw_header(header: str) -> bool:
    """True for a header that is a column name rather than words (module docstring)."""
    return bool((UPPER_CODE.match(header) and header not in WORDS) or LOWER_NAME.match(header))


def test_raw_header_rule():
    # hand-picked cases of the list, and labels of warehouse/labels.py that must pass
    for raw in ("USUBJID", "ADT", "AVISITN", "DUEFL", "CUMDOSNP", "AETOXGR", "PSL_ABOVE_7_5_WK12",
                "run_id", "first_enrolled", "n", "attention"):
        assert raw_header(raw), raw
    for words in ("Subject", "Study day", "Due", "Cumulative PSL without pulses (mg)", "Grade",
                  "LLDAS", "× ULN", "C1 SLEDAI-2K ≤ 4", "Grade 3", "Responders / due"):
        assert not raw_header(words), words


def displayed(df_element) -> list[tuple[str, str]]:
    """(column name, header drawn) of each column a st.dataframe shows: the proto's column_order
    when set (else every column of the frame), each under its column-config label when it has one."""
    config = json.loads(df_element.proto.columns or "{}")
    frame = df_element.value
    order = list(df_element.proto.column_order) or [str(c) for c in frame.columns]
    out = []
    for name in order:
        conf = config.get(name) or {}
        if conf.get("hidden"):
            continue
        out.append((name, str(conf.get("label") or name)))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from etl.load import load_exports

    d = tmp_path_factory.mktemp("demo_headers")
    wh = d / "demo.duckdb"
    result = load_exports(sorted(DEMO.iterdir()), wh)
    assert result.outcome == "loaded", [str(p) for p in result.problems]
    return wh, write_users(d / "users.toml")


CASES = [(role, page) for role in ROLES for page in pages_for(role)]


@pytest.mark.parametrize("role,page", CASES, ids=[f"{r}-{p}" for r, p in CASES])
def test_every_displayed_header_is_words(demo, tmp_path, monkeypatch, role, page):
    wh, users = demo
    open_page = page_opener(wh, users, tmp_path / "access.log", monkeypatch)
    at = open_page(page, role=role)
    assert at.dataframe, f"{page} as {role}: no table drawn"
    bad, full_ids = [], []
    for i, df in enumerate(at.dataframe):
        frame = df.value
        for name, header in displayed(df):
            if raw_header(header):
                bad.append(f"table {i}: {header!r} (column {name})")
            if name in frame.columns:
                if any(FULL_USUBJID.match(str(v)) for v in frame[name].tolist()):
                    full_ids.append(f"table {i}: column {name} ({header!r})")
    assert not bad, f"{PAGES[page][1]} as {role}: raw column names shown: {bad}"
    assert not full_ids, f"{PAGES[page][1]} as {role}: full USUBJIDs shown: {full_ids}"
