"""End to end: the real ETL builds a warehouse from the committed demo trial, the real Streamlit
server serves it, and Debian's Chromium (through Playwright, never `playwright install`) signs in
and opens every page, checking its key figures. Screenshots of every page are saved under
test-artifacts/screenshots/ as the run's artifacts.

The expected figures come from the demo's CSV files, read here with the csv module (enrolled,
screened, adverse events), or from the derived tables read with plain SQL (the primary endpoint,
whose arithmetic is tested on hand-worked cases in test_derive_*): never from the page code.

In CI this test must run, not skip: a missing Chromium is an error (`make test` installs it).
"""
from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest
from tests.conftest import copy_warehouse
from tests.demo_csv import demo_rows

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo" / "exports"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DEMO_PASSWORDS = {"pi": "demo-pi", "monitor": "demo-monitor", "data": "demo-data"}


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright's launch options: Debian's Chromium, no network chatter."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    return {"executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


@pytest.fixture(scope="session")
def browser_context_args():
    # Streamlit scrolls inside its own container: a tall viewport captures whole pages.
    return {"viewport": {"width": 1400, "height": 2400}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_warehouse(demo_cli_warehouse, tmp_path_factory) -> Path:
    """The demo trial loaded by the real command line, as `make run` does (a private copy of the
    session's: tests/conftest.py demo_cli_warehouse)."""
    return copy_warehouse(demo_cli_warehouse, tmp_path_factory.mktemp("browser") / "wh")


@pytest.fixture(scope="module")
def server(demo_warehouse: Path):
    """`streamlit run app.py` on a free loopback port; yields its URL."""
    port = _free_port()
    env = {**os.environ, "TRIALDASH_WAREHOUSE": str(demo_warehouse), "TRIALDASH_DEMO": "1",
           "TRIALDASH_USERS": str(ROOT / "demo" / "users.toml"),
           "TRIALDASH_ACCESS_LOG": str(demo_warehouse.parent / "access.log"),
           "TRIALDASH_DOWNLOAD_SWEEP_SECONDS": "1"}
    log = open(demo_warehouse.parent / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):  # wait for health, up to about a minute on a loaded machine
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("streamlit did not become healthy")
    if proc.poll() is not None:
        pytest.fail("streamlit exited: " + (demo_warehouse.parent / "streamlit.log").read_text())
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def sign_in(page, url: str, user: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill(user)
    page.locator("input[type=password]").fill(DEMO_PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    try:
        page.get_by_text(f"Signed in as {user}").wait_for(timeout=60_000)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-sign-in-{user}.png"))
        raise


@pytest.fixture(scope="module")
def signed_in(browser, server, browser_context_args):
    """``signed_in(role)``: one signed-in tab per role, shared by this module's tests that only
    open pages through the sidebar (a new context and a sign-in cost 5-7 s on this machine, most
    of a short test). A test about the session itself (signing in, a refused password, a typed
    URL, a closed tab, a sidebar filter it leaves set) takes pytest-playwright's fresh ``page``.
    Before each use the tab is checked: a tab closed or signed out (a typed URL starts a new,
    signed-out session) is signed in again."""
    tabs = {}

    def get(role: str):
        tab = tabs.get(role)
        if tab is None or tab.is_closed():
            tab = tabs[role] = browser.new_context(**browser_context_args).new_page()
        elif tab.get_by_text(f"Signed in as {role}").count() == 1:
            return tab
        sign_in(tab, server, role)
        return tab

    yield get
    for tab in tabs.values():
        tab.context.close()


# The last thing each page draws: once it is there, the page has finished running.
LAST_ELEMENT = {
    "Overview": "Download protocol_flags (CSV)",
    "Enrollment": "Download enrollment_by_site (CSV)",
    "Efficacy (LLDAS)": "Download immunosuppressants (CSV)",
    "Glucocorticoids (PSL)": "Download taper_flags (CSV)",
    "Safety": "Download infusions (CSV)",
    "Labs": "Download hys_law (CSV)",
    "Subject profile": "Download subject_flags (CSV)",
    "Data quality": "Download access_log (CSV)",
}


def open_page(page, title: str, shot: str):
    """Click a page in the sidebar navigation (a new URL load would be a new, signed-out session),
    wait until it has drawn its last element, fail on any exception box, save a screenshot.
    Clicking the page already shown (a shared tab, ``signed_in``) runs it again over the elements
    of its previous run, whose last element is already there: then the wait is for the rerun to
    have replaced every element (``_wait_idle``)."""
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True)
    again = link.get_attribute("aria-current") == "page"
    link.click()
    page.locator('[data-testid="stMain"]').get_by_text(LAST_ELEMENT[title], exact=True) \
        .wait_for(timeout=60_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    if again:
        _wait_idle(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"))
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()
    return page.locator('[data-testid="stMain"]').inner_text()


def nav_titles(page) -> list[str]:
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for()
    # A link's text is its icon's ligature name, then its title: keep the title.
    return [t.strip().splitlines()[-1].strip() for t in nav.get_by_role("link").all_inner_texts()]


def test_nothing_is_shown_before_sign_in(page, server):
    page.goto(server)
    page.get_by_label("User name").wait_for()
    body = page.locator("body").inner_text()
    assert "Sign in" in body
    assert "jRCTs031230358-0" not in body          # no subject ID
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "00-sign-in.png"))


def test_wrong_password_is_refused(page, server):
    page.goto(server)
    page.get_by_label("User name").fill("pi")
    page.locator("input[type=password]").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Sign-in refused").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0


def endpoint(warehouse: Path, paramcd: str, week: int) -> tuple[int, int]:
    """(responders, due) over the FAS from adam.adeff, by plain SQL: the page must agree."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT count(*) FILTER (WHERE RESPFL = 'Y'), count(*) FILTER (WHERE DUEFL = 'Y') "
            "FROM adam.adeff WHERE PARAMCD = ? AND AVISITN = ?", [paramcd, week]).fetchone()
    finally:
        con.close()


def test_pi_opens_every_page_and_sees_its_figures(signed_in, server, demo_warehouse):
    dm = demo_rows("dm")
    enrolled = sum(r["ARMCD"] == "ANIFRO" for r in dm)
    screen_failed = sum(r["ARMCD"] == "SCRNFAIL" for r in dm)
    n_ae = len(demo_rows("ae"))
    wk12 = endpoint(demo_warehouse, "LLDAS", 12)
    wk24 = endpoint(demo_warehouse, "LLDAS", 24)
    assert wk12[1] > 0, "the demo trial must have subjects due at week 12"

    page = signed_in("pi")
    assert nav_titles(page) == ["Overview", "Enrollment", "Efficacy (LLDAS)",
                                "Glucocorticoids (PSL)", "Safety", "Labs", "Subject profile",
                                "Data quality"]

    text = open_page(page, "Overview", "01-overview")
    assert f"{enrolled} / 10" in text
    assert f"{wk12[0]} / {wk12[1]} (" in text
    assert "2026-11-01" in text                      # each site's data cut in the header

    text = open_page(page, "Enrollment", "02-enrollment")
    assert str(len(dm)) in text and f"{screen_failed} / {len(dm)} (" in text
    assert "2023-12-26" in text                      # the registry's first enrollment

    text = open_page(page, "Efficacy (LLDAS)", "03-efficacy")
    assert f"{wk12[0]} / {wk12[1]} (" in text and f"{wk24[0]} / {wk24[1]} (" in text
    assert "Not yet due" in text

    text = open_page(page, "Glucocorticoids (PSL)", "04-glucocorticoids")
    disc = endpoint(demo_warehouse, "PSLDISC", 24)
    assert f"{disc[0]} / {disc[1]} (" in text and "7.5" in text

    text = open_page(page, "Safety", "05-safety")
    assert f"Adverse events: {n_ae} of {n_ae} events" in text
    assert "Serious adverse events" in text and "Infusion log" in text
    # The listing's CSV, downloaded as a user would: every AE, and the Japanese verbatim terms of
    # site 02 (delivered in CP932) intact after the whole trip export -> warehouse -> browser.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download adverse_events (CSV)").click()
    listing = list(csv.DictReader(io.StringIO(
        Path(download.value.path()).read_text(encoding="utf-8"), newline="")))
    assert len(listing) == n_ae
    japanese = {r["AETERM"] for r in demo_rows("ae") if r["USUBJID"].split("-")[1] == "02"
                and any(ord(ch) > 0x3000 for ch in r["AETERM"])}
    assert japanese and japanese <= {r["AETERM"] for r in listing}

    text = open_page(page, "Subject profile", "06-subject-profile")
    first_enrolled = sorted(r["USUBJID"] for r in dm)[0]
    assert first_enrolled[-6:] in text and "First infusion" in text   # the short ID heading

    text = open_page(page, "Data quality", "07-data-quality")
    assert "loaded" in text and "Validation and load runs" in text


def test_site_filter_changes_the_enrolled_count(page, server):
    dm = demo_rows("dm")
    site02 = sum(r["ARMCD"] == "ANIFRO" and r["SITEID"] == "02" for r in dm)
    sign_in(page, server, "pi")
    page.get_by_role("combobox", name="Site").click()
    page.get_by_role("option", name="02", exact=True).click()
    page.get_by_text("Showing site 02 only").first.wait_for(timeout=30_000)
    text = open_page(page, "Overview", "08-overview-site02")
    assert f"{site02} / 10" in text


def test_monitoring_committee_sees_only_its_pages(signed_in, server):
    page = signed_in("monitor")
    assert nav_titles(page) == ["Overview", "Enrollment", "Safety", "Labs", "Subject profile"]
    text = open_page(page, "Safety", "09-monitor-safety")
    assert "Serious adverse events" in text


def test_data_team_sees_no_efficacy_results(signed_in, server):
    page = signed_in("data")
    assert nav_titles(page) == ["Enrollment", "Data quality"]
    text = open_page(page, "Data quality", "10-data-team-home")
    assert "LLDAS at week 12" not in text and "responders" not in text


def test_refused_export_is_explained_and_the_last_good_data_still_served(
        signed_in, server, demo_warehouse, tmp_path):
    """A corrupted export loaded while the app runs: refused (exit 1), its problem shown on the
    data-quality page in the contract's form, and the dashboard still shows the previous data."""
    import shutil
    bad = tmp_path / "site01"
    shutil.copytree(DEMO / "site01", bad)
    lines = (bad / "ae.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[1]]))
    original = row[header.index("AESTDTC")]
    row[header.index("AESTDTC")] = "03/02/2024"
    buf = io.StringIO()
    csv.writer(buf, lineterminator=lines[1][len(lines[1].rstrip("\r\n")):]).writerow(row)
    lines[1] = buf.getvalue()
    (bad / "ae.csv").write_text("".join(lines), encoding="utf-8")
    before = demo_warehouse.read_bytes()

    done = subprocess.run([sys.executable, "-m", "etl", "load", str(bad), "--warehouse",
                           str(demo_warehouse)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1
    expected = "ae.csv:2: AESTDTC=03/02/2024: not an ISO 8601 date"
    assert expected in done.stdout + done.stderr
    assert demo_warehouse.read_bytes() == before and original != "03/02/2024"

    page = signed_in("pi")
    open_page(page, "Data quality", "11-data-quality-refused")
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("not an ISO 8601 date").first.wait_for(timeout=60_000)
    text = main.inner_text()
    assert "refused" in text
    assert "03/02/2024" in text and "not an ISO 8601 date" in text
    enrolled = sum(r["ARMCD"] == "ANIFRO" for r in demo_rows("dm"))
    assert f"{enrolled} / 10" in open_page(page, "Overview", "12-overview-after-refusal")


@pytest.mark.parametrize("user", ["monitor", "data"])
def test_efficacy_url_is_refused_outside_the_pi_role(page, server, user):
    """Opening the efficacy page by its URL: sign-in first, then no efficacy result is shown to a
    role without it (the page is not registered for that role)."""
    page.goto(server + "/efficacy")
    # Signed out, /efficacy is not a page: Streamlit says so in a dialog over the sign-in form.
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Page not found").wait_for(timeout=30_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    for _ in range(5):                              # close it, as a user would (each run of
        if not dialog.is_visible():                 # the page may raise it once)
            break
        dialog.get_by_role("button").first.click()
        page.wait_for_timeout(500)
    assert not dialog.is_visible()
    page.get_by_label("User name").fill(user)
    page.locator("input[type=password]").fill(DEMO_PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(f"Signed in as {user}").wait_for(timeout=60_000)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / f"13-efficacy-url-{user}.png"))
    body = page.locator("body").inner_text()
    assert "LLDAS at week 12" not in body and "responders / due" not in body
    assert "Efficacy (LLDAS)" not in nav_titles(page)
    page.goto(server + "/efficacy")                 # a second try, now as a new session
    page.get_by_text("Page not found").wait_for(timeout=30_000)
    page.get_by_label("User name").wait_for()       # -> the sign-in form, nothing else
    assert "LLDAS" not in page.locator("body").inner_text()


def _heading(page) -> str:
    """The subject profile's heading (st.subheader: the subject's short ID, e.g. 01-003)."""
    h = page.locator('[data-testid="stMain"] h3').first
    h.wait_for(timeout=60_000)
    return h.inner_text().strip()


def _wait_idle(page) -> None:
    """Until the rerun has finished: no status widget, and no element left stale (Streamlit fades
    the elements of the previous run, attribute data-stale, until the new run replaces them)."""
    for _ in range(3):
        page.wait_for_timeout(300)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
        page.wait_for_function("document.querySelectorAll('[data-stale=\"true\"]').length === 0",
                               timeout=60_000)


def test_picking_three_subjects_in_a_row_shows_each_one(signed_in, server):
    """Issue 10: picking 01-003, 01-004, 01-005 in turn used to show 01-003, 01-003, 01-005.
    Each pick must be the subject the heading names (and the URL's ?subject=)."""
    dm = {r["USUBJID"]: r for r in demo_rows("dm")}
    enrolled = sorted(dm)
    picks = enrolled[2:5]                              # 01-003, 01-004, 01-005
    assert [p[-6:] for p in picks] == ["01-003", "01-004", "01-005"]
    page = signed_in("pi")
    open_page(page, "Subject profile", "14-subject-first")
    for i, pick in enumerate(picks):
        page.locator('[data-testid="stMain"]').get_by_role("combobox", name="Subject").click()
        page.get_by_role("option", name=pick[-6:], exact=True).click()    # shown as 01-003
        page.locator('[data-testid="stMain"] h3', has_text=pick[-6:]).wait_for(timeout=60_000)
        _wait_idle(page)
        assert _heading(page) == pick[-6:]
        assert f"subject={pick}" in page.url
        # the rest of the page is that subject's too: its consent date from dm.csv in the caption
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert f"consent {dm[pick]['RFICDTC']}" in main
        page.screenshot(path=str(ARTIFACTS / f"15-subject-pick-{i + 1}.png"))


def test_selecting_a_listing_row_opens_that_subjects_profile(signed_in, server):
    """A row of the serious-AE listing (Safety) opens the profile of that row's subject."""
    sae = sorted((r for r in demo_rows("ae") if r["AESER"] == "Y"),
                 key=lambda r: (r["AESTDTC"], r["USUBJID"]))
    assert sae, "the demo trial has a serious adverse event"
    page = signed_in("pi")
    open_page(page, "Safety", "16-safety-before-row")
    grid = page.locator('xpath=//*[@data-testid="stElementContainer"][.//h3[normalize-space()='
                        '"Serious adverse events"]]/following-sibling::*[.//*[@data-testid='
                        '"stDataFrame"]][1]//*[@data-testid="stDataFrame"]').first   # the SAE listing
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # the first data row's selection cell: left edge of the grid, one header row (~35 px) down
    grid.click(position={"x": 18, "y": 35 + 18})
    page.get_by_role("heading", name="Subject profile").wait_for(timeout=60_000)
    _wait_idle(page)
    assert box is not None
    assert _heading(page) == sae[0]["USUBJID"][-6:]
    rficdtc = next(r["RFICDTC"] for r in demo_rows("dm") if r["USUBJID"] == sae[0]["USUBJID"])
    assert f"consent {rficdtc}" in page.locator('[data-testid="stMain"]').inner_text()
    page.screenshot(path=str(ARTIFACTS / "17-profile-from-listing.png"))


def media_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_a_download_address_does_not_outlive_its_click(page, server):
    """A CSV download's /media/ address works for the click that made it, and not after: not
    once the page has run again, not after the tab is closed (the session gone), so a copied
    address gives nobody the data later (issue 17)."""
    sign_in(page, server, "monitor")
    open_page(page, "Safety", "14-download-monitor")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download adverse_events (CSV)").click()
    url = download.value.url
    assert url.startswith(server + "/media/") and url.endswith(".csv")
    assert Path(download.value.path()).read_bytes().startswith(b"USUBJID,")   # the click got it
    page.close()                                      # the user leaves: tab closed
    # The server's clean-up (every second here, TRIALDASH_DOWNLOAD_SWEEP_SECONDS) drops it
    # with nobody else using the app; the loop only bounds a hang.
    for _ in range(600):
        if media_status(url) == 404:
            break
        time.sleep(0.1)
    assert media_status(url) == 404


def test_labs_page_shows_the_demo_neutropenia_counted_from_the_csv(signed_in, server):
    """R-LAB, recounted here from the demo's dm, ds, lb.csv and export.json with the csv module:
    post-baseline = after the first infusion (RFSTDTC) and on or before the end of observation
    (the DISPOSITION EVENT date, else the site's data cut); a subject's worst NEUT is grade 3 when
    its lowest post-baseline value is below 1.0 and at least 0.5 x10^3/uL. N = subjects with a
    post-baseline NEUT. The Labs page must say that count over N, in words."""
    import json
    cut = {json.loads((site / "export.json").read_text())["siteid"]:
           json.loads((site / "export.json").read_text())["data_cut"] for site in DEMO.iterdir()}
    first = {r["USUBJID"]: r["RFSTDTC"] for r in demo_rows("dm") if r["RFSTDTC"]}
    end = {r["USUBJID"]: r["DSSTDTC"] for r in demo_rows("ds") if r["DSCAT"] == "DISPOSITION EVENT"}
    post: dict[str, list[float]] = {}
    liver: dict[tuple[str, str], dict[str, float]] = {}     # (subject, date) -> test -> x ULN
    for r in demo_rows("lb"):
        u = r["USUBJID"]
        if not r["LBSTRESN"] or u not in first or not first[u] < r["LBDTC"] <= end.get(u, cut[u.split("-")[1]]):
            continue
        if r["LBTESTCD"] == "NEUT":
            post.setdefault(u, []).append(float(r["LBSTRESN"]))
        if r["LBTESTCD"] in ("ALT", "AST", "BILI"):
            liver.setdefault((u, r["LBDTC"]), {})[r["LBTESTCD"]] = float(r["LBSTRESN"]) / float(r["LBSTNRHI"])
    n3 = sum(1 for values in post.values() if 0.5 <= min(values) < 1.0)
    n = len(post)
    assert n3 >= 1, "the demo trial must hold a grade-3 neutropenia"
    hy = sorted({u for (u, _), x in liver.items()
                 if max(x.get("ALT", 0), x.get("AST", 0)) > 3 and x.get("BILI", 0) > 2})

    page = signed_in("pi")
    text = open_page(page, "Labs", "14-labs")
    assert f"NEUT decreased: {n3} / {n} ({round(100 * n3 / n)}%) subjects" in text
    assert "Shift tables" in text and "eDISH" in text
    assert ("Potential Hy's law (ALT or AST > 3 × ULN and BILI > 2 × ULN on one date, post-baseline): "
            + (", ".join(hy) or "none")) in text


# ---- the monitoring committee's packet (issue 11) --------------------------------------------------

def test_monitor_issues_a_committee_packet_downloads_it_and_finds_it_listed(signed_in, server, demo_warehouse):
    import hashlib
    import json

    from pypdf import PdfReader
    page = signed_in("monitor")
    open_page(page, "Safety", "14-monitor-safety")
    page.get_by_role("button", name="Issue a committee packet of the current data").click()
    page.get_by_text("issued (since nothing: the first packet)").wait_for(timeout=180_000)
    (folder,) = sorted((demo_warehouse.parent / "demo.packets").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["created_by"], manifest["issued_via"]) == ("monitor", "app")
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text(f"Packet {folder.name} · issued").wait_for(timeout=60_000)   # listed
    _wait_idle(page)          # the run that lists it has finished: its button is the live one

    def downloads_logged() -> int:
        return sum(json.loads(x)["event"] == "packet_downloaded"
                   for x in (demo_warehouse.parent / "access.log").read_text().splitlines())
    assert downloads_logged() == 0            # listing a packet is not downloading it
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name=f"Download packet {folder.name} (PDF)").click()
    pdf = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == manifest["pdf_sha256"]
    reader = PdfReader(io.BytesIO(pdf))
    assert "Confidential: for the monitoring committee" in reader.pages[0].extract_text()
    japanese = {r["AETERM"] for r in demo_rows("ae") if any(ord(ch) > 0x3000 for ch in r["AETERM"])}
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert japanese and all(t in text for t in japanese)
    page.screenshot(path=str(ARTIFACTS / "15-monitor-packet-issued.png"))
    log = [json.loads(x) for x in (demo_warehouse.parent / "access.log").read_text().splitlines()]
    assert {"packet_issued", "packet_downloaded"} <= {e["event"] for e in log if e.get("user") == "monitor"}
    assert downloads_logged() == 1            # logged once, as the file was handed over


def test_data_team_can_neither_issue_nor_download_a_packet(signed_in, server):
    page = signed_in("data")
    assert "Safety" not in nav_titles(page)
    body = page.locator("body").inner_text()
    assert "Issue a committee packet" not in body and "Download packet" not in body
    page.goto(server + "/safety")                   # by URL: a new session, not even a page
    page.get_by_text("Page not found").wait_for(timeout=30_000)
    page.get_by_label("User name").wait_for()
    assert "Download packet" not in page.locator("body").inner_text()


def test_incidence_by_worst_grade_reads_without_scrolling_at_1440_px(browser, server):
    """SOC/PT incidence at every worst grade fits the Safety page at 1440 px: its grid has no
    horizontal scroll (at 1000 px it has: 912 px of columns in 538). The pinned subject column of
    the wide listings is checked in test_app_pages."""
    context = browser.new_context(viewport={"width": 1440, "height": 2400})
    page = context.new_page()
    try:
        sign_in(page, server, "monitor")
        open_page(page, "Safety", "16-safety-1440px")
        headings = [h.strip() for h in page.locator('[data-testid="stMain"] h3').all_inner_texts()]
        assert "Incidence by SOC and PT, by worst grade" in headings
        # the incidence grid is the one right after its heading: find it by its position
        inc = page.locator('[data-testid="stMain"] h3', has_text="Incidence by SOC and PT") \
            .locator("xpath=following::*[@data-testid='stDataFrame'][1]")
        inc.scroll_into_view_if_needed()
        scroller = inc.locator(".dvn-scroller")
        scroll, client = scroller.evaluate("s => [s.scrollWidth, s.clientWidth]")
        assert scroll <= client + 1, (scroll, client)
        inc.screenshot(path=str(ARTIFACTS / "17-incidence-1440px.png"))
    finally:
        context.close()
