"""Issue 13 end to end in the browser: the data team's day on the Data quality page, as `data`,
on the real Streamlit server (its own warehouse: the demo trial loaded by the real CLI) and
Debian's Chromium.

1. Upload a refused export of site 02 (the synthetic generator's `ae_bad_date` variant, data cut
   2026-12-01): its problem is in the page's table (file, row, subject, column, value, rule) and
   in the run's HTML report shown in the page; the warehouse is byte-identical; every page's
   header says site 02's newest delivery is refused.
2. Upload a valid redelivery of site 02 (the demo's export with one past SLEDAI-2K item and one
   past AE grade changed and one AE added: tests/delivery_fixtures.py), validate, load: the live
   delivery of site 02 is the new one, loaded by `data`; the refusal is resolved; the banner is
   gone; exactly the three changes are listed, the two past ones as retroactive.

Expected values come from the files the test wrote (csv module) and the edits it made, read back
from the page's own CSV downloads.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import os
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from synth import corrupt_variants, generate_trial
from tests.conftest import copy_warehouse
from tests.delivery_fixtures import NEW_CUT, site02_redelivery
from tests.test_browser import (ARTIFACTS, CHROMIUM, DEMO, ROOT, _free_port,  # noqa: F401
                                browser_context_args, browser_type_launch_args, sign_in)

pytestmark = pytest.mark.browser
TIMEOUT = 240_000   # a validation or a load on a loaded 2-core machine


@pytest.fixture(scope="module")
def team_warehouse(demo_cli_warehouse, tmp_path_factory) -> Path:
    """The demo trial (sites 01 and 02) loaded by the real command line: a private copy of the
    session's (tests/conftest.py demo_cli_warehouse)."""
    return copy_warehouse(demo_cli_warehouse, tmp_path_factory.mktemp("datateam") / "wh")


@pytest.fixture(scope="module")
def team_server(team_warehouse: Path):
    port = _free_port()
    env = {**os.environ, "TRIALDASH_WAREHOUSE": str(team_warehouse), "TRIALDASH_DEMO": "1",
           "TRIALDASH_USERS": str(ROOT / "demo" / "users.toml"),
           "TRIALDASH_ACCESS_LOG": str(team_warehouse.parent / "access.log")}
    env.pop("TRIALDASH_RUN_USER", None)
    log = open(team_warehouse.parent / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    if proc.poll() is not None:
        pytest.fail("streamlit exited: " + (team_warehouse.parent / "streamlit.log").read_text())
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def main_text(page) -> str:
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=TIMEOUT)
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()
    return page.locator('[data-testid="stMain"]').inner_text()


def csv_download(page, name: str) -> list[dict[str, str]]:
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=TIMEOUT)
    with page.expect_download() as download:
        page.get_by_role("button", name=f"Download {name} (CSV)", exact=True).click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"datateam-{name}.png"))


def upload(page, paths: list[Path]) -> None:
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        [str(p) for p in paths])
    for p in paths:
        page.locator('[data-testid="stFileUploader"]').get_by_text(p.name, exact=True).first \
            .wait_for(timeout=60_000)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_data_team_uploads_a_refusal_then_a_redelivery_and_sees_what_it_changed(
        page, team_server, team_warehouse, tmp_path):
    # --- the exports -------------------------------------------------------------------------
    cut = dt.date(2026, 11, 1)
    variant = next(v for v in corrupt_variants(generate_trial(7, 12, 2, cut)["02"], cut)
                   if v.name == "ae_bad_date")
    variant = dataclasses.replace(variant, data_cut=dt.date.fromisoformat(NEW_CUT))
    bad = variant.write(tmp_path / "refused")
    bad_ae = list(csv.DictReader(io.StringIO((bad / "ae.csv").read_text(encoding="utf-8"), newline="")))
    bad_subject, bad_value = bad_ae[0]["USUBJID"], bad_ae[0]["AESTDTC"]   # file row 2
    assert variant.expected == f"ae.csv:2: AESTDTC={bad_value}: not an ISO 8601 date"

    good, expected = site02_redelivery(tmp_path / "good")
    good_zip = tmp_path / "site02.zip"
    with zipfile.ZipFile(good_zip, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(good.iterdir()):
            zf.write(p, f"site02/{p.name}")
    live_before = team_warehouse.read_bytes()

    # --- 1. the refused upload ---------------------------------------------------------------
    sign_in(page, team_server, "data")
    page.get_by_text("Receive a site export").wait_for(timeout=60_000)
    upload(page, sorted(bad.iterdir()))
    page.get_by_role("button", name="Validate", exact=True).click()
    page.get_by_text("Refused: 1 problem(s)").wait_for(timeout=TIMEOUT)
    text = main_text(page)
    shot(page, "1-refused")
    assert "Load" not in [b.strip() for b in page.get_by_role("button").all_inner_texts()]
    problems = csv_download(page, "upload_problems")
    assert [(p["file"], p["row"], p["subject"], p["column"], p["value"], p["rule"]) for p in problems] \
        == [("ae.csv", "2", bad_subject, "AESTDTC", bad_value, "not an ISO 8601 date")]
    report = page.frame_locator('[data-testid="stMain"] iframe').first.locator("body")
    assert bad_value in report.inner_text(timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the run's HTML report").click()
    assert bad_value in Path(download.value.path()).read_text(encoding="utf-8")
    assert team_warehouse.read_bytes() == live_before
    # every page's header says so, from its next run on
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Enrollment", exact=True).click()
    banner = f"site 02: delivery with data cut {NEW_CUT} refused; showing 2026-11-01"
    page.get_by_text(banner).wait_for(timeout=60_000)
    shot(page, "2-banner")

    # --- 2. the valid redelivery ---------------------------------------------------------------
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Data quality", exact=True).click()
    page.get_by_text("Receive a site export").wait_for(timeout=60_000)
    assert banner in main_text(page) or page.get_by_text(banner).count() == 1
    upload(page, [good_zip])
    page.get_by_role("button", name="Validate", exact=True).click()
    page.get_by_text("Valid: run").wait_for(timeout=TIMEOUT)
    assert team_warehouse.read_bytes() == live_before   # validating writes nothing
    page.get_by_role("button", name="Load", exact=True).click()
    page.get_by_text("Loaded: run").wait_for(timeout=TIMEOUT)
    text = main_text(page)
    shot(page, "3-loaded")
    load_run = re.search(r"Loaded: run (\S+)\. Every page", text).group(1)
    assert team_warehouse.read_bytes() != live_before
    assert page.get_by_text(banner).count() == 0

    status = {r["site"]: r for r in csv_download(page, "delivery_status")}
    assert (status["02"]["live_data_cut"], status["02"]["live_run_id"], status["02"]["loaded_by"],
            status["02"]["refused_run_id"]) == (NEW_CUT, load_run, "data", "")
    assert status["02"]["loaded_at"].endswith("(Asia/Tokyo)")
    assert status["01"]["live_data_cut"] == "2026-11-01"
    refusals = csv_download(page, "refused_deliveries")
    assert [(r["site"], r["data_cut"], r["status"], r["resolved_by"]) for r in refusals] \
        == [("02", NEW_CUT, "resolved", load_run)]
    runs = {r["run_id"]: r for r in csv_download(page, "run_history")}
    assert (runs[load_run]["command"], runs[load_run]["user"], runs[load_run]["outcome"]) \
        == ("load", "data", "loaded")
    assert runs[load_run]["host"]
    access = csv_download(page, "access_log")
    assert {(a["event"], a["user"]) for a in access} >= {("etl_validate", "data"), ("etl_load", "data")}

    changes = csv_download(page, "delivery_changes")
    assert {c["RUN_ID"] for c in changes} == {load_run}
    records = {(c["DOMAIN"], c["USUBJID"], c["RECORD_KEY"], c["CHANGE"], c["RETROFL"]) for c in changes}
    key_cols = {"qs": ("QSTESTCD", "QSDTC"), "ae": ("AEDECOD", "AESTDTC")}
    want = {(e["domain"], e["usubjid"], "; ".join(f"{c}={v}" for c, v in zip(key_cols[e["domain"]], e["key"])),
             e["change"], e["retro"]) for e in expected}
    assert records == want and len(want) == 3
    assert sum(e["retro"] == "Y" for e in expected) == 2
    values = {(c["COLUMN_NAME"], c["OLD_VALUE"], c["NEW_VALUE"]) for c in changes if c["CHANGE"] == "changed"}
    assert values == {(col, old, new) for e in expected for col, (old, new) in e["columns"].items()}
    retro = csv_download(page, "retroactive_changes")
    assert {(c["DOMAIN"], c["USUBJID"]) for c in retro} == {(e["domain"], e["usubjid"])
                                                             for e in expected if e["retro"] == "Y"}
