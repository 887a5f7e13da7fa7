"""The committee packet (issue 11), end to end: the demo trial loaded by the real ETL, packets
written by the real command line (``python -m report packet``), their text extracted with pypdf.

Every expected figure is computed here from the demo's CSV files with the csv module and the
R-AE rules re-typed from the spec (onset imputation, treatment emergence, worst grade), never
from the app's code. The second delivery is made by editing a copy of site 02's ae.csv (CP932):
one new serious AE and one grade increase, so the second packet, since the first, must list
exactly those two events.
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from etl.load import load_exports
from tests.conftest import PROJECT_ROOT, copy_warehouse, edit_csv, read_csv

DEMO = PROJECT_ROOT / "demo" / "exports"
USUBJID_RE = re.compile(r"jRCTs031230358-\d\d-\d\d\d")


# ---- independent arithmetic from the exports ---------------------------------------------------

def rows_of(folder: Path, domain: str) -> list[dict]:
    raw = (folder / f"{domain}.csv").read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp932")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def demo(domain: str, sites=(DEMO / "site01", DEMO / "site02")) -> list[dict]:
    return [r for s in sites for r in rows_of(s, domain)]


def imputed_onset(aestdtc: str, first: dt.date) -> dt.date:
    """R-AE re-typed: missing day -> the 1st, or the first infusion in that month; missing month ->
    1 January, or the first infusion in that year."""
    if len(aestdtc) >= 10:
        return dt.date.fromisoformat(aestdtc[:10])
    y = int(aestdtc[:4])
    if len(aestdtc) == 7:
        m = int(aestdtc[5:7])
        return first if (first.year, first.month) == (y, m) else dt.date(y, m, 1)
    return first if first.year == y else dt.date(y, 1, 1)


def expected(sites=(DEMO / "site01", DEMO / "site02")) -> dict:
    dm, ex, ae = demo("dm", sites), demo("ex", sites), demo("ae", sites)
    first = {}
    for r in ex:
        d = dt.date.fromisoformat(r["EXSTDTC"][:10])
        first[r["USUBJID"]] = min(d, first.get(r["USUBJID"], d))
    fas = {r["USUBJID"] for r in dm if r["ARMCD"] == "ANIFRO" and r["USUBJID"] in first}
    teae = [r for r in ae if r["USUBJID"] in first
            and imputed_onset(r["AESTDTC"], first[r["USUBJID"]]) >= first[r["USUBJID"]]]
    return {"fas": fas, "teae": teae, "ae": ae}


def n_pct(n: int, total: int) -> str:
    return f"{n} ({100 * n / total:.1f}%)"


def worst_grades(events: list[dict]) -> dict[str, int]:
    worst: dict[str, int] = {}
    for r in events:
        worst[r["USUBJID"]] = max(worst.get(r["USUBJID"], 0), int(r["AETOXGR"]))
    return worst


# ---- running the real commands ---------------------------------------------------------------------

def run(module: str, *args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True)


def pdf_pages(path: Path) -> list[str]:
    return [p.extract_text() for p in PdfReader(str(path)).pages]


def section(pages: list[str], start: str, end: str) -> str:
    """The text from the section titled ``start`` to the one titled ``end`` (the contents page,
    page 2, lists the titles too: it is skipped)."""
    body = "\n".join(pages[2:])
    return body[body.index(start):body.index(end)]


@pytest.fixture(scope="module")
def trial(demo_cli_warehouse, tmp_path_factory):
    """The demo loaded as `make run` does, then packet 1 written by the command line; then a second
    delivery of site 02 (one new SAE, one grade increase) loaded and packet 2 written --since 1."""
    d = tmp_path_factory.mktemp("committee")
    wh = copy_warehouse(demo_cli_warehouse, d / "wh")     # the demo as `make run` loads it
    import os
    env = {**os.environ, "TRIALDASH_ACCESS_LOG": str(d / "access.log")}
    env.pop("TRIALDASH_WAREHOUSE", None)
    p1 = run("report", "packet", "--warehouse", str(wh), "--by", "dr-committee", env=env)
    assert p1.returncode == 0, p1.stdout + p1.stderr
    sha_at_p1 = hashlib.sha256(wh.read_bytes()).hexdigest()

    site02 = d / "second" / "site02"
    shutil.copytree(DEMO / "site02", site02)

    def second_delivery(header, rows):
        new = dict(zip(header, rows[0]))
        new.update(USUBJID="jRCTs031230358-02-004", AESEQ="4", AETERM="肺炎", AEDECOD="Pneumonia",
                   AEBODSYS="Infections and infestations", AESTDTC="2025-11-20", AEENDTC="2025-12-02",
                   AETOXGR="3", AESER="Y", AESDTH="N", AESLIFE="N", AESHOSP="Y", AESDISAB="N",
                   AESCONG="N", AESMIE="N", AEREL="POSSIBLY RELATED", AEACN="DRUG INTERRUPTED")
        rows.append([new[h] for h in header])
        for r in rows:   # 02-006's upper respiratory tract infection of 2025-12-13: grade 2 -> 3
            if r[header.index("USUBJID")].endswith("02-006") and r[header.index("AESEQ")] == "4":
                r[header.index("AETOXGR")] = "3"
    edit_csv(site02 / "ae.csv", second_delivery)
    second = load_exports([site02], wh)      # the ETL's load, in this process
    assert second.outcome == "loaded", [str(p) for p in second.problems]
    p1_id = p1.stdout.strip().splitlines()[-1].split("/")[-2]
    p2 = run("report", "packet", "--warehouse", str(wh), "--since", p1_id, env=env)
    assert p2.returncode == 0, p2.stdout + p2.stderr
    return {"wh": wh, "env": env, "p1": p1, "p2": p2, "sha_at_p1": sha_at_p1, "site02": site02,
            "access_log": d / "access.log"}


def packet_path(proc: subprocess.CompletedProcess) -> Path:
    return Path(proc.stdout.strip().splitlines()[-1])


def manifest_of(pdf: Path) -> dict:
    return json.loads((pdf.parent / "manifest.json").read_text(encoding="utf-8"))


# ---- the first packet: the demo's own figures ---------------------------------------------------------

def test_command_prints_the_pdf_path_last_in_the_packets_folder(trial):
    pdf = packet_path(trial["p1"])
    assert pdf.name == "packet.pdf" and pdf.is_file()
    assert pdf.parent.parent == trial["wh"].parent / "demo.packets"
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_title_page_and_every_page_header(trial):
    pdf = packet_path(trial["p1"])
    pages = pdf_pages(pdf)
    cuts = {json.loads((DEMO / s / "export.json").read_text())["siteid"]:
            json.loads((DEMO / s / "export.json").read_text())["data_cut"] for s in ("site01", "site02")}
    m = manifest_of(pdf)
    title = pages[0]
    assert "jRCTs031230358" in title and "Confidential: for the monitoring committee" in title
    for site, cut in cuts.items():
        assert f"Site {site} data cut {cut}" in title
    assert f"Load run ID {m['run_id']}" in title
    assert f"Warehouse SHA-256 {trial['sha_at_p1']}" in title        # the file as it was then
    assert f"by dr-committee" in title and m["created_by"] == "dr-committee"
    header_cut = ", ".join(f"site {s} {c}" for s, c in sorted(cuts.items()))
    for n, text in enumerate(pages, start=1):
        assert f"data cut: {header_cut}" in text, n
        assert f"page {n} of {len(pages)}" in text, n


def test_teae_overview_matches_the_exports_R_AE(trial):
    e = expected()
    n_fas, teae = len(e["fas"]), e["teae"]
    related = [r for r in teae if r["AEREL"] in ("POSSIBLY RELATED", "RELATED")]
    serious = [r for r in teae if r["AESER"] == "Y"]
    grade3 = [r for r in teae if int(r["AETOXGR"]) >= 3]
    interrupted = [r for r in teae if r["AEACN"] == "DRUG INTERRUPTED"]
    withdrawn = [r for r in teae if r["AEACN"] == "DRUG WITHDRAWN"]
    fatal = [r for r in teae if r["AEOUT"] == "FATAL" or r["AESDTH"] == "Y"]
    text = section(pdf_pages(packet_path(trial["p1"])), "5. Overview", "6. Incidence")
    assert f"Subjects, n (%) of N = {n_fas}" in text
    for label, events in (("Any TEAE", teae), ("Related TEAE", related), ("Serious TEAE", serious),
                          ("TEAE of grade 3 or higher", grade3),
                          ("TEAE leading to anifrolumab withdrawn", withdrawn),
                          ("TEAE leading to interruption", interrupted), ("Fatal TEAE", fatal)):
        subjects = len({r["USUBJID"] for r in events})
        assert f"{label} {n_pct(subjects, n_fas)} {len(events)}" in text, label
    assert len(teae) > 0 and len(serious) == 1          # the demo has one serious AE


def test_an_soc_row_at_the_worst_grade_matches_the_exports_R_AE(trial):
    e = expected()
    n_fas = len(e["fas"])
    soc = "Infections and infestations"
    worst = worst_grades([r for r in e["teae"] if r["AEBODSYS"] == soc])
    cells = [n_pct(len(worst), n_fas)] + [n_pct(sum(g == k for g in worst.values()), n_fas) for k in range(1, 6)]
    text = section(pdf_pages(packet_path(trial["p1"])), "6. Incidence", "7. Adverse events of special")
    assert f"{soc} {' '.join(cells)}" in text


def test_serious_listing_names_exactly_the_subjects_with_a_serious_ae(trial):
    text = section(pdf_pages(packet_path(trial["p1"])), "Serious adverse events", "Deaths")
    want = {r["USUBJID"] for r in demo("ae") if r["AESER"] == "Y"}
    assert set(USUBJID_RE.findall(text)) == want and want
    assert "hospitalisation" in text                           # its seriousness criterion
    deaths = section(pdf_pages(packet_path(trial["p1"])), "Deaths", "9. Adverse events: full listing")
    assert not any(r["DSDECOD"] == "DEATH" for r in demo("ds")) and "No deaths" in deaths


def test_japanese_verbatim_terms_are_text_in_the_pdf(trial):
    listing = section(pdf_pages(packet_path(trial["p1"])), "9. Adverse events: full listing",
                      "10. Laboratory")
    japanese = {r["AETERM"] for r in rows_of(DEMO / "site02", "ae") if any(ord(c) > 0x3000 for c in r["AETERM"])}
    assert japanese and all(t in listing for t in japanese)     # site 02 is CP932
    assert "上気道炎" in listing and "帯状疱疹" in listing            # site 01 (UTF-8)


def test_packet_holds_every_section_in_order_and_no_efficacy_result(trial):
    pages = pdf_pages(packet_path(trial["p1"]))
    body = "\n".join(pages[2:])
    titles = ["1. Study status", "2. Enrollment against the target", "3. Demographics and baseline",
              "4. Exposure", "5. Overview of treatment-emergent", "6. Incidence by system organ class",
              "7. Adverse events of special interest", "8. Serious adverse events and deaths",
              "9. Adverse events: full listing", "10. Laboratory abnormalities",
              "11. Protocol deviations", "12. New and changed", "13. Profiles"]
    positions = [body.index(t) for t in titles]
    assert positions == sorted(positions)
    for efficacy in ("LLDAS", "DORIS", "PSL_ABOVE_7_5_WK12", "responder"):
        assert efficacy not in "\n".join(pages), efficacy
    assert "No earlier committee packet to compare with" in body     # the first packet


def test_laboratory_section_counts_the_demo_neutropenia_from_the_csv(trial):
    """R-LAB in the packet, recounted from the demo's dm, ds, lb.csv and export.json with the csv
    module: post-baseline = after the first infusion and on or before the end of observation (the
    DISPOSITION EVENT date, else the site's data cut); NEUT grade 3 = below 1.0 and at least 0.5
    x10^3/uL; N = subjects with a post-baseline NEUT. The section prints that count as n (%) of N,
    and lists each grade-3 NEUT value's subject."""
    import json
    cut = {json.loads((s / "export.json").read_text())["siteid"]: json.loads((s / "export.json").read_text())["data_cut"]
           for s in (DEMO / "site01", DEMO / "site02")}
    first = {r["USUBJID"]: r["RFSTDTC"] for r in demo("dm") if r["RFSTDTC"]}
    end = {r["USUBJID"]: r["DSSTDTC"] for r in demo("ds") if r["DSCAT"] == "DISPOSITION EVENT"}
    neut: dict[str, list[float]] = {}
    for r in demo("lb"):
        u = r["USUBJID"]
        if (r["LBTESTCD"] == "NEUT" and r["LBSTRESN"] and u in first
                and first[u] < r["LBDTC"] <= end.get(u, cut[u.split("-")[1]])):
            neut.setdefault(u, []).append(float(r["LBSTRESN"]))
    grade3 = sorted(u for u, v in neut.items() if 0.5 <= min(v) < 1.0)
    assert grade3, "the demo holds a grade-3 neutropenia"
    lab = section(pdf_pages(packet_path(trial["p1"])), "10. Laboratory abnormalities", "11. Protocol")
    row = next(line for line in lab.splitlines() if line.startswith("NEUT"))
    assert f"{len(grade3)} ({100 * len(grade3) / len(neut):.1f}%)" in row and str(len(neut)) in row
    grade3_part = lab[lab.index("Grade 3 or higher values"):]
    assert all(u in grade3_part for u in grade3)


def test_exposure_and_a_profile_per_sae_subject(trial):
    pages = pdf_pages(packet_path(trial["p1"]))
    ex = demo("ex")
    infusions = len(ex)
    text = section(pages, "4. Exposure", "5. Overview")
    assert f"Infusions, total {infusions}" in text
    sae_subjects = sorted({r["USUBJID"] for r in demo("ae") if r["AESER"] == "Y"})
    body = "\n".join(pages[2:])
    profiles = body[body.index("13. Profiles"):]
    assert set(USUBJID_RE.findall(profiles)) == set(sae_subjects)
    # one page per subject, each with its chart (the subject profile's Altair specification)
    reader = PdfReader(str(packet_path(trial["p1"])))
    last = reader.pages[-len(sae_subjects):]
    assert all(len(page.images) == 1 for page in last)


# ---- the second packet, since the first ----------------------------------------------------------------

def test_second_packet_lists_exactly_the_aes_added_or_changed_between_the_loads(trial):
    before = {(r["USUBJID"], r["AEDECOD"], r["AESTDTC"]): r for r in rows_of(DEMO / "site02", "ae")}
    after = {(r["USUBJID"], r["AEDECOD"], r["AESTDTC"]): r for r in rows_of(trial["site02"], "ae")}
    added = set(after) - set(before)
    raised = {k for k in set(after) & set(before) if int(after[k]["AETOXGR"]) > int(before[k]["AETOXGR"])}
    assert len(added) == 1 and len(raised) == 1
    pdf = packet_path(trial["p2"])
    p1 = manifest_of(packet_path(trial["p1"]))
    assert manifest_of(pdf)["reference_packet"] == p1["packet_id"]
    text = section(pdf_pages(pdf), "12. New and changed", "13. Profiles")
    assert f"Reference: committee packet {p1['packet_id']}" in text
    assert "New events: 1. Changed events: 1." in text
    assert "Serious, and new or newly serious: 1." in text
    listed = USUBJID_RE.findall(text)
    assert sorted(listed) == sorted(k[0] for k in added | raised)      # exactly the two events
    (new_key,), (raised_key,) = added, raised
    assert after[new_key]["AEDECOD"] in text and "NEW" in text
    assert f"grade {before[raised_key]['AETOXGR']} -> {after[raised_key]['AETOXGR']}" in text
    # the new SAE is also in the SAE listing and gets a profile page of its own
    sae = section(pdf_pages(pdf), "Serious adverse events", "Deaths")
    assert new_key[0] in sae


def test_issuing_again_for_the_same_data_gives_the_same_tables(trial, monkeypatch):
    """Packet 2 was written by the command line with --since packet 1; the same again, by the
    function the command runs (report.packet.issue, in this process: the command line itself is
    tested above), gives the same pages."""
    from report.packet import issue
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(trial["wh"]))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(trial["access_log"]))
    p1 = manifest_of(packet_path(trial["p1"]))
    again = issue(since=p1["packet_id"], created_by="dr-committee")
    a, b = packet_path(trial["p2"]), Path(again["_pdf"])
    ida, idb = manifest_of(a)["packet_id"], manifest_of(b)["packet_id"]
    assert ida != idb and a != b and idb == again["packet_id"]
    pages_a = [t.replace(ida, "ID") for t in pdf_pages(a)[1:]]        # after the title page
    pages_b = [t.replace(idb, "ID") for t in pdf_pages(b)[1:]]
    assert pages_a == pages_b
    # without since, the reference is the previous packet (the newest): nothing has changed since
    third = issue(created_by="dr-committee")
    assert manifest_of(Path(third["_pdf"]))["reference_packet"] == idb
    assert "Nothing new or changed since the reference." in "\n".join(pdf_pages(Path(third["_pdf"])))


def test_packets_are_read_only_never_overwritten_and_recorded(trial, monkeypatch):
    pdf = packet_path(trial["p1"])
    m = manifest_of(pdf)
    for f in (pdf, pdf.parent / "manifest.json"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o444
    assert stat.S_IMODE(pdf.parent.stat().st_mode) == 0o555
    assert m["pdf_sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert manifest_of(packet_path(trial["p2"]))["warehouse_sha256"] == \
        hashlib.sha256(trial["wh"].read_bytes()).hexdigest()
    assert set(m["data_cuts"]) == {"01", "02"} and m["reference_packet"] is None
    # issuing under an existing packet's id is refused; the packet stays as it was
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(trial["wh"]))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(trial["access_log"]))
    from report.packet import PacketError, issue
    before = pdf.read_bytes()
    with pytest.raises(PacketError, match="never overwritten"):
        issue(packet_id=m["packet_id"], created_by="someone")
    assert pdf.read_bytes() == before
    with pytest.raises(PermissionError):
        issue(role="data", created_by="data")
    issued = [json.loads(line) for line in trial["access_log"].read_text().splitlines()]
    assert {"packet_issued"} <= {e["event"] for e in issued}
    assert m["packet_id"] in {e.get("packet_id") for e in issued if e["event"] == "packet_issued"}


def test_every_query_of_the_packet_goes_through_report_source(trial, tmp_path, monkeypatch):
    """The one door: a packet issued with warehouse.queries._q watched; every read happens inside
    report.source.role_context (where the lead puts as_role("monitor"))."""
    import report.source
    from warehouse import queries
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(trial["wh"]))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(tmp_path / "access.log"))
    state = {"inside": 0, "reads": 0, "outside": []}

    real_role = report.source.role_context

    @contextlib.contextmanager
    def watched_role():
        state["inside"] += 1
        try:
            with real_role():
                yield
        finally:
            state["inside"] -= 1
    real_q = queries._q

    def watched_q(sql, *args, **kwargs):
        state["reads"] += 1
        if not state["inside"]:
            state["outside"].append(sql[:60])
        return real_q(sql, *args, **kwargs)
    monkeypatch.setattr(report.source, "role_context", watched_role)
    monkeypatch.setattr(queries, "_q", watched_q)
    from report.packet import issue
    issue(created_by="watcher")
    assert state["reads"] > 20 and state["outside"] == []


def test_help_reads_like_a_manual(trial):
    done = run("report", "packet", "--help", env=trial["env"])
    assert done.returncode == 0
    for words in ("committee", "--since PACKET_ID", "--warehouse PATH", "manifest.json",
                  "read-only", "never overwritten", "exit status", "examples", "new if it was not"):
        assert words in done.stdout, words
    bad = run("report", "packet", "--since", "no-such-packet", "--warehouse", str(trial["wh"]),
              env=trial["env"])
    assert bad.returncode == 1 and "no such packet" in bad.stderr


# ---- the Safety page's button (AppTest) ---------------------------------------------------------------

@pytest.fixture
def safety_app(trial, tmp_path, monkeypatch):
    """The app on a copy of the trial's warehouse and packets, with the test accounts."""
    from tests.app_fixtures import page_opener, write_users
    folder = tmp_path / "wh"
    shutil.copytree(trial["wh"].parent, folder)
    log = tmp_path / "access.log"
    return page_opener(folder / trial["wh"].name, write_users(tmp_path / "users.toml"), log,
                       monkeypatch), folder, log


def test_monitor_issues_a_packet_from_the_safety_page_and_finds_it_listed(safety_app):
    open_page, folder, log = safety_app
    at = open_page("safety", role="monitor")
    before = {b.label for b in at.get("download_button") if b.label.startswith("Download packet ")}
    issued = sorted(p.name for p in (folder / "demo.packets").iterdir())
    assert before == {f"Download packet {i} (PDF)" for i in issued}     # every packet, listed
    next(b for b in at.button if b.label.startswith("Issue a committee packet")).click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Packet ") and "issued" in s.value for s in at.success)
    after = {b.label for b in at.get("download_button") if b.label.startswith("Download packet ")}
    (new,) = after - before
    packet_id = new.removeprefix("Download packet ").removesuffix(" (PDF)")
    m = json.loads((folder / "demo.packets" / packet_id / "manifest.json").read_text())
    assert (m["created_by"], m["issued_via"]) == ("monitor", "app")
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert {"event": "packet_issued", "user": "monitor", "packet_id": packet_id}.items() <= \
        next(e for e in entries if e["event"] == "packet_issued").items()


def test_the_data_team_can_neither_issue_nor_download_a_packet(safety_app, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from tests.app_fixtures import PAGE_FILES
    open_page, folder, log = safety_app
    at = open_page("home", role="data")
    with pytest.raises(ValueError):                          # not in its navigation: no URL opens it
        at.switch_page(PAGE_FILES["safety"])
    assert not [b for b in at.button if "packet" in b.label]
    assert not [b for b in at.get("download_button") if "packet" in b.label]
    # the page itself, run directly as the data role (as a stale pages/ URL would): its guard stops it
    page = AppTest.from_file(str(PROJECT_ROOT / PAGE_FILES["safety"]), default_timeout=60)
    page.session_state["role"], page.session_state["user"] = "data", "data"
    page.run()
    assert "This page is not available to your role." in [e.value for e in page.error]
    assert not [b for b in page.button if "packet" in b.label]
    assert not [b for b in page.get("download_button") if "packet" in b.label]
