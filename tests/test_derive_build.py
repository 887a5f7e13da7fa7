"""build_adam end to end on a tiny hand-made sdtm database (R-ENDPOINT, R-ENROL, R-PROTOCOL).

The trial (site 01, data cut 2024-06-30):
- 001 first infusion 2024-01-10 -> data cut is day 21+29+31+30+31+30 + 1 = 173 (Jan 10..Jun 30).
  Week 12 due (7*12+8 = 92 <= 173), week 24 not (176 > 173). WEEK 12 visit 2024-04-03 = day
  21+29+31+3 = 84 + 1 = 85. LLDAS at week 12: SLEDAI 2 (LOWCOMP) <= 4, no C1 group, HEMOLYT/GIACT
  N -> C1 Y; LOWCOMP was present at WEEK 0 and NEWACT N -> C2 Y; PGA 0.5 -> C3 Y; PSL 5 mg on
  2024-04-03 -> C4 Y; ISTOL Y -> C5 Y => responder.
- 002 same first infusion, WEEK 12 visit not done -> due, non-responder 'visit not done';
  infusions at weeks 12, 16, 20 missing with windows closing on days 92, 120, 148 <= 173.
- 003 first infusion 2024-05-01, withdrew 2024-06-01 (day 32) -> due for weeks 12 and 24,
  non-responder 'discontinued before week 12'. Observation ends on day 32 (R-DAY 1.1): the week-4
  infusion's window (22..36) had not closed by then, so it is not missed (before 1.1, judged
  against the cut day 61, it was); week 8 (nominal 57 > 32) is not missed either.
- 004 first infusion 2024-05-01: May 1 -> Jun 30 = 30 + 30 = 60 days -> cut day 61 -> not yet due.
- 005 screen failure (IN03 not met, EX08 met).
Primary endpoint at the cut: responders 1 / due 3, not yet due 1.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from etl.contract import DOMAINS
from etl.derive.build import build_adam
from tests.conftest import copy_warehouse
from tests.derive_fixtures import assessment, sdtm, usubjid

SCHEMA = Path(__file__).resolve().parent.parent / "warehouse" / "schema.sql"
U = usubjid


def _trial() -> dict[str, pl.DataFrame]:
    dm = [
        {"SUBJID": "001", "RFSTDTC": "2024-01-10", "RFICDTC": "2024-01-02"},
        {"SUBJID": "002", "RFSTDTC": "2024-01-10", "RFICDTC": "2024-01-02"},
        {"SUBJID": "003", "RFSTDTC": "2024-05-01", "RFICDTC": "2024-04-25"},
        {"SUBJID": "004", "RFSTDTC": "2024-05-01", "RFICDTC": "2024-04-25"},
        {"SUBJID": "005", "RFSTDTC": None, "RFICDTC": "2024-01-02", "ARMCD": "SCRNFAIL",
         "ARM": "Screen Failure"},
    ]
    ds = [{"USUBJID": U(s), "DSDECOD": "ENROLLED", "DSSTDTC": d}
          for s, d in [("001", "2024-01-08"), ("002", "2024-01-08"), ("003", "2024-04-29"),
                       ("004", "2024-04-29")]]
    ds += [{"USUBJID": U("003"), "DSCAT": "DISPOSITION EVENT", "DSDECOD": "WITHDRAWAL BY SUBJECT",
            "DSSTDTC": "2024-06-01"},
           {"USUBJID": U("005"), "DSCAT": "DISPOSITION EVENT", "DSDECOD": "SCREEN FAILURE",
            "DSSTDTC": "2024-01-05"}]
    ie = [{"USUBJID": U("005"), "IETESTCD": "EX08", "IECAT": "EXCLUSION", "IEORRES": "Y"},
          {"USUBJID": U("005"), "IETESTCD": "IN03", "IECAT": "INCLUSION", "IEORRES": "N"}]
    wk = {0: "2024-01-10", 4: "2024-02-07", 8: "2024-03-06", 12: "2024-04-03", 16: "2024-05-01",
          20: "2024-05-29"}
    ex = [{"USUBJID": U("001"), "VISIT": f"WEEK {w}", "EXSTDTC": f"{d}T10:00", "EXENDTC": f"{d}T10:30"}
          for w, d in wk.items()]
    ex += [{"USUBJID": U("002"), "VISIT": f"WEEK {w}", "EXSTDTC": f"{wk[w]}T10:00",
            "EXENDTC": f"{wk[w]}T10:30"} for w in (0, 4, 8)]
    ex += [{"USUBJID": U("003"), "VISIT": "WEEK 0", "EXSTDTC": "2024-05-01T10:00", "EXENDTC": "2024-05-01T10:30"},
           {"USUBJID": U("004"), "VISIT": "WEEK 0", "EXSTDTC": "2024-05-01T10:00", "EXENDTC": "2024-05-01T10:30"},
           {"USUBJID": U("004"), "VISIT": "WEEK 4", "EXSTDTC": "2024-05-29T10:00", "EXENDTC": "2024-05-29T10:30"}]
    cm = [{"USUBJID": U("001"), "CMTRT": "PSL", "CMDECOD": "PREDNISOLONE", "CMDOSE": 30,
           "CMSTDTC": "2024-01-01", "CMENDTC": "2024-03-31"},
          {"USUBJID": U("001"), "CMTRT": "PSL", "CMDECOD": "PREDNISOLONE", "CMDOSE": 5,
           "CMSTDTC": "2024-04-01"},
          {"USUBJID": U("002"), "CMTRT": "PSL", "CMDECOD": "PREDNISOLONE", "CMDOSE": 30, "CMSTDTC": "2024-01-01"}]
    cm += [{"USUBJID": U(s), "CMTRT": "PSL", "CMDECOD": "PREDNISOLONE", "CMDOSE": 30,
            "CMSTDTC": "2024-04-28"} for s in ("003", "004")]
    vs = [{"USUBJID": U(s), "VSSTRESN": 60, "VSDTC": d} for s, d in
          [("001", "2024-01-02"), ("002", "2024-01-02"), ("003", "2024-04-25"), ("004", "2024-04-25"),
           ("005", "2024-01-02")]]
    qs = (assessment("001", "WEEK 0", "2024-01-10", ["ARTHRIT", "RASH", "LOWCOMP"], 2.0, newact="Y")
          + assessment("001", "WEEK 12", "2024-04-03", ["LOWCOMP"], 0.5)
          + assessment("002", "WEEK 0", "2024-01-10", ["ARTHRIT", "RASH", "LOWCOMP"], 2.0)
          + assessment("003", "WEEK 0", "2024-05-01", ["ARTHRIT", "RASH"], 2.0)
          + assessment("004", "WEEK 0", "2024-05-01", ["ARTHRIT", "RASH"], 2.0))
    ae = [{"USUBJID": U("001"), "AEDECOD": "Herpes zoster", "AEBODSYS": "Infections and infestations",
           "AESTDTC": "2024-01"}]
    rows = {"dm": dm, "ds": ds, "ie": ie, "ex": ex, "cm": cm, "vs": vs, "lb": [], "qs": qs, "ae": ae}
    return {d: sdtm(d, rows[d]) for d in DOMAINS}


def _database(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute(SCHEMA.read_text())
    for d, frame in _trial().items():
        con.register("f", frame.to_arrow())
        con.execute(f"CREATE TABLE sdtm.{d} AS SELECT * FROM f")
        con.unregister("f")
    con.execute("INSERT INTO sdtm.exports VALUES ('01', DATE '2024-06-30', 'export.json', 'run-1', "
                "TIMESTAMP '2024-07-01 09:00:00', 'archive/01', NULL)")
    return con


def _snapshot(con) -> dict[str, list[tuple]]:
    names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                       "WHERE table_schema='adam' ORDER BY 1").fetchall()]
    return {n: con.execute(f"SELECT * FROM adam.{n}").fetchall() for n in names}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    con = _database(tmp_path_factory.mktemp("wh") / "t.duckdb")
    build_adam(con)
    yield con
    con.close()


def test_build_adam_primary_endpoint_responders_over_due_R_ENDPOINT(built):
    rows = built.execute("""SELECT SUBJID, DUEFL, RESPFL, REASON FROM adam.adeff JOIN adam.adsl USING (USUBJID)
                            WHERE PARAMCD='LLDAS' AND AVISITN=12 ORDER BY SUBJID""").fetchall()
    assert rows == [("001", "Y", "Y", "responder"),
                    ("002", "Y", "N", "visit not done"),
                    ("003", "Y", "N", "discontinued before week 12"),
                    ("004", "N", None, "not yet due")]
    # responders / due = 1 / 3, not yet due 1
    assert built.execute("""SELECT count(*) FILTER (RESPFL='Y'), count(*) FILTER (DUEFL='Y'),
                            count(*) FILTER (DUEFL='N') FROM adam.adeff
                            WHERE PARAMCD='LLDAS' AND AVISITN=12""").fetchone() == (1, 3, 1)


def test_build_adam_week24_due_only_for_the_withdrawn_subject_R_ENDPOINT(built):
    # 001/002 cut day 173 < 176, 004 day 61; 003 discontinued -> due.
    assert built.execute("""SELECT USUBJID, RESPFL FROM adam.adeff WHERE PARAMCD='LLDAS' AND AVISITN=24
                            AND DUEFL='Y'""").fetchall() == [(U("003"), "N")]


def test_build_adam_adsl_enrollment_and_disposition_R_ENROL(built):
    rows = built.execute("""SELECT SUBJID, ENRLFL, FASFL, SCRFREAS, EOSSTT, DCSREAS, CUTDY, SUBJSTAT
                            FROM adam.adsl ORDER BY SUBJID""").fetchall()
    assert rows == [
        ("001", "Y", "Y", None, "ONGOING", None, 173, "REACHED WEEK 12"),
        ("002", "Y", "Y", None, "ONGOING", None, 173, "REACHED WEEK 12"),
        ("003", "Y", "Y", None, "DISCONTINUED", "WITHDRAWAL BY SUBJECT", 61, "DISCONTINUED"),
        ("004", "Y", "Y", None, "ONGOING", None, 61, "ON TREATMENT"),
        ("005", "N", "N", "IN03; EX08", "SCREEN FAILURE", None, None, "SCREEN FAILED"),
    ]


def test_build_adam_missed_infusions_R_PROTOCOL(built):
    rows = built.execute("""SELECT USUBJID, AVISIT, ADY FROM adam.adex WHERE MISSFL='Y'
                            ORDER BY USUBJID, VISITNUM""").fetchall()
    # 002's windows close on days 92, 120, 148 <= its last observed day 173; 003 left on day 32,
    # before its week-4 window closed on day 36 (R-DAY 1.1 end of observation): nothing missed.
    assert rows == [(U("002"), "WEEK 12", 85), (U("002"), "WEEK 16", 113), (U("002"), "WEEK 20", 141)]


def test_build_adam_psl_and_ae_reach_the_tables_R_PSL_R_AE(built):
    # 001: PSL 30 mg from 2024-01-01 to 2024-03-31 (31+29+31 = 91 days), 5 mg from 2024-04-01 to the cut
    # (30+31+30 = 91 days): cumulative at the cut = 91*30 + 91*5 = 2730 + 455 = 3185.
    assert built.execute(f"""SELECT count(*), max(CUMDOSE) FROM adam.adpsl
                             WHERE USUBJID='{U("001")}'""").fetchone() == (182, 3185.0)
    # AE onset '2024-01' with first infusion 2024-01-10 -> imputed 2024-01-10, day 1, TRTEMFL Y.
    assert built.execute("SELECT ASTDT, ASTDTF, ASTDY, TRTEMFL, AESIFL, AESICAT FROM adam.adae").fetchall() == [
        (dt.date(2024, 1, 10), "D", 1, "Y", "Y", "HERPES ZOSTER")]


def test_build_adam_twice_gives_identical_tables(built, tmp_path):
    first = _snapshot(built)
    build_adam(built)
    assert _snapshot(built) == first
    other = _database(tmp_path / "again.duckdb")
    build_adam(other)
    assert _snapshot(other) == first
    other.close()
    assert all(first[t] for t in ("adsl", "adlldas", "adpsl", "adae", "adex", "adeff", "adpslwk"))


def test_build_adam_on_a_dm_only_site_R_ENROL(tmp_path):
    # dm.csv is the only required file: every other sdtm table exists but is empty.
    con = duckdb.connect(str(tmp_path / "dm_only.duckdb"))
    con.execute(SCHEMA.read_text())
    frames = {d: sdtm(d) for d in DOMAINS}
    frames["dm"] = sdtm("dm", [{"SUBJID": "001", "ARMCD": "SCRNFAIL", "ARM": "Screen Failure"},
                               {"SUBJID": "002"}])
    for d, frame in frames.items():
        con.register("f", frame.to_arrow())
        con.execute(f"CREATE TABLE sdtm.{d} AS SELECT * FROM f")
        con.unregister("f")
    con.execute("INSERT INTO sdtm.exports VALUES ('01', DATE '2024-06-30', 'rows', 'run-1', "
                "TIMESTAMP '2024-07-01 09:00:00', 'archive/01', NULL)")
    con.execute("SELECT * FROM sdtm.dm").fetchone()   # a result the caller left unfetched
    build_adam(con)
    assert con.execute("SELECT SUBJID, FASFL, SUBJSTAT FROM adam.adsl ORDER BY 1").fetchall() == [
        ("001", "N", "SCREEN FAILED"), ("002", "N", "ENROLLED, NOT DOSED")]
    assert con.execute("SELECT count(*) FROM adam.adeff").fetchall() == [(0,)]   # FAS is empty
    con.close()


def test_build_adam_enrollment_projection_trial_wide_R_ENROL(built):
    # 4 enrolled (2024-01-08 x2, 2024-04-29 x2) as of the cut 2024-06-30. Days since the registry's
    # first enrollment, inclusive: Dec 26 -> Jan 1 = 6, Jan 1 -> Jun 30 = 31+29+31+30+31+29 = 181,
    # +1 = 188. Rate 4/188 per day; 6 to go -> ceil(6 * 188 / 4) = 282 days after Jun 30:
    # Jul 31 (31), Aug 31 (62), Sep 30 (92), Oct 31 (123), Nov 30 (153), Dec 31 (184),
    # Jan 31 (215), Feb 28 (243), Mar 31 (274), Apr 8 (282) -> 2025-04-08.
    row = built.execute("SELECT ENROLLED, TARGET, ASOFDT, RATE30, REACHEDDT, PROJDT "
                        "FROM adam.enrollment_projection").fetchall()
    assert row == [(4, 10, dt.date(2024, 6, 30), 4 / 188 * 30, None, dt.date(2025, 4, 8))]


def test_build_adam_adsl_carries_the_0_6_mg_per_kg_ceiling_R_PROTOCOL(built):
    # every dosed subject weighs 60 kg at or before day 1: 0.6 mg/kg x 60 kg = 36 mg/day
    rows = built.execute("SELECT SUBJID, WEIGHTBL, PSLCEIL FROM adam.adsl WHERE FASFL = 'Y' "
                         "ORDER BY SUBJID").fetchall()
    assert [(s, w, round(c, 9)) for s, w, c in rows] == [
        ("001", 60.0, 36.0), ("002", 60.0, 36.0), ("003", 60.0, 36.0), ("004", 60.0, 36.0)]


@pytest.mark.parametrize("trial", ["hand-made", "demo"])
def test_the_load_reads_only_the_derivations_columns_and_derives_the_same_tables(
        trial, built, demo_cli_warehouse):
    """read_sdtm, as build_adam calls it, reads DERIVATION_COLUMNS only (issue 15: memory); every
    adam table derived from those columns equals the one derived from whole rows, on this file's
    hand-made trial and on the demo trial loaded by the real command line (the generator's
    variety: every domain, partial dates, withdrawals). A column the derivations need and the
    list left out fails here (ColumnNotFoundError), or changes a table. The pruned frames are
    derived as build_adam derives them (``consume=True``: the dict emptied, qs and lb freed
    early), the reference from whole rows without it."""
    from etl.derive.build import DERIVATION_COLUMNS, derive_all, read_sdtm
    con = built if trial == "hand-made" else duckdb.connect(str(demo_cli_warehouse), read_only=True)
    try:
        read, whole = read_sdtm(con), read_sdtm(con, whole_rows=True)
        for d in DOMAINS:
            assert tuple(read[d].columns) == DERIVATION_COLUMNS[d]
            assert set(read[d].columns) < set(whole[d].columns), d   # STUDYID at least is not read
        pruned, reference = derive_all(read, consume=True), derive_all(whole)
        assert read == {} and set(whole) == set(DOMAINS) | {"exports"}
    finally:
        if con is not built:
            con.close()
    assert sorted(pruned) == sorted(reference)
    for name, frame in reference.items():
        assert pruned[name].equals(frame), name
    assert reference["adsl"].height and reference["adlldas"].height


# --- derivation in groups of sites (issue 15: memory) -------------------------------------------

def _sites_database(path: Path, subjects: dict[str, int], export_sites: list[str]):
    con = duckdb.connect(str(path))
    con.execute(SCHEMA.read_text())
    frames = {d: sdtm(d) for d in DOMAINS}
    frames["dm"] = sdtm("dm", [{"USUBJID": usubjid(f"{i:03d}", site)}
                               for site, n in subjects.items() for i in range(1, n + 1)])
    for d, frame in frames.items():
        con.register("f", frame.to_arrow())
        con.execute(f"CREATE TABLE sdtm.{d} AS SELECT * FROM f")
        con.unregister("f")
    for site in export_sites:
        con.execute("INSERT INTO sdtm.exports VALUES (?, DATE '2024-06-30', 'rows', 'run-1', "
                    "TIMESTAMP '2024-07-01 09:00:00', 'archive', NULL)", [site])
    return con


def test_site_groups_worked_by_hand(tmp_path, monkeypatch):
    """Sites 01, 02, 03 with 2, 1, 3 subjects and site 04 with an export but no subject.
    At least 3 subjects a group: 01 (2, < 3: takes 02) -> 3, full; 03 (3), full; 04 alone.
    At least 2: 01 (2), full; 02 (1, < 2: takes 03) -> 4; 04. At least 7: one group of all.
    Site 05 with an AE row only (no export, no subject) joins the last group (0 subjects).
    A row of a domain table without a SITEID puts every row in one group ([None])."""
    from etl.derive import build

    con = _sites_database(tmp_path / "sites.duckdb", {"01": 2, "02": 1, "03": 3},
                          ["01", "02", "03", "04"])
    monkeypatch.setattr(build, "DERIVE_GROUP_SUBJECTS", 3)
    assert build.site_groups(con) == [["01", "02"], ["03"], ["04"]]
    monkeypatch.setattr(build, "DERIVE_GROUP_SUBJECTS", 2)
    assert build.site_groups(con) == [["01"], ["02", "03"], ["04"]]
    monkeypatch.setattr(build, "DERIVE_GROUP_SUBJECTS", 7)
    assert build.site_groups(con) == [["01", "02", "03", "04"]]
    # A site with rows in a domain table but neither an export nor a subject still has a group.
    con.execute("INSERT INTO sdtm.ae (USUBJID, SITEID) VALUES (?, '05')", [usubjid("001", "05")])
    assert build.site_groups(con) == [["01", "02", "03", "04", "05"]]
    monkeypatch.setattr(build, "DERIVE_GROUP_SUBJECTS", 3)
    assert build.site_groups(con) == [["01", "02"], ["03"], ["04", "05"]]
    con.execute("INSERT INTO sdtm.lb (USUBJID, SITEID) VALUES (?, NULL)", [usubjid("001")])
    assert build.site_groups(con) == [None]
    con.close()


def test_deriving_site_by_site_gives_the_tables_of_the_whole_trial(demo_cli_warehouse, tmp_path,
                                                                   monkeypatch):
    """The demo trial (two sites) loaded by the command line, its adam tables derived again with
    one site a group (DERIVE_GROUP_SUBJECTS = 1): the same rows in every table as derive_all on
    every row at once (the trial-wide enrollment projection included)."""
    from etl.derive import build

    wh = copy_warehouse(demo_cli_warehouse, tmp_path / "copy")
    con = duckdb.connect(str(wh))
    try:
        monkeypatch.setattr(build, "DERIVE_GROUP_SUBJECTS", 1)
        assert build.site_groups(con) == [["01"], ["02"]]
        build_adam(con)
        whole = build.derive_all(build.read_sdtm(con))
        tables = build.adam_tables(con)
        assert set(tables) == set(whole)
        for name, cols in tables.items():
            common = [c for c in cols if c in whole[name].columns]
            stored = con.execute(f"SELECT {', '.join(common)} FROM adam.{name}").fetchall()
            assert sorted(stored, key=repr) == sorted(whole[name].select(common).rows(), key=repr), name
        assert whole["adsl"].height and whole["enrollment_projection"].height == 1
    finally:
        con.close()


def test_a_site_without_a_data_cut_is_refused_and_nothing_is_derived(tmp_path):
    """build_adam: sdtm.dm rows of a site with no row in sdtm.exports (no data cut to derive
    against) fail the build before any adam table is touched; so does a dm row without a SITEID."""
    con = _sites_database(tmp_path / "cut.duckdb", {"01": 1, "02": 1}, ["01"])
    con.execute("INSERT INTO adam.enrollment_projection (ENROLLED) VALUES (99)")
    with pytest.raises(RuntimeError, match=r"no data cut for site\(s\) \['02'\]"):
        build_adam(con)
    assert con.execute("SELECT ENROLLED FROM adam.enrollment_projection").fetchall() == [(99,)]
    con.execute("INSERT INTO sdtm.exports VALUES ('02', DATE '2024-06-30', 'rows', 'run-1', "
                "TIMESTAMP '2024-07-01 09:00:00', 'archive', NULL)")
    con.execute("UPDATE sdtm.dm SET SITEID = NULL WHERE USUBJID LIKE '%-02-%'")
    with pytest.raises(RuntimeError, match=r"no data cut for site\(s\) \[None\]"):
        build_adam(con)
    con.execute("UPDATE sdtm.dm SET SITEID = '02' WHERE SITEID IS NULL")
    build_adam(con)                                       # both sites cut: it builds
    assert con.execute("SELECT count(*) FROM adam.adsl").fetchone() == (2,)
    con.close()


@pytest.mark.parametrize("break_it, message", [
    (lambda frames: frames.update(adsl=frames["adsl"].with_columns(XTRA=pl.lit(1))),
     r"adam\.adsl: derived columns \['XTRA'\] are not in warehouse/schema\.sql"),
    (lambda frames: frames.pop("adlb"), r"derives no rows for adam tables \['adlb'\]"),
], ids=["column-not-in-schema", "table-not-derived"])
def test_a_derivation_that_does_not_fit_the_schema_changes_no_table(tmp_path, monkeypatch,
                                                                    break_it, message):
    """build_adam refuses a derived frame with a column warehouse/schema.sql lacks, and a schema
    table no derivation fills; either way inside its transaction, so every adam table keeps the
    rows of the last good build."""
    from etl.derive import build

    con = _database(tmp_path / "t.duckdb")
    build_adam(con)
    before = _snapshot(con)
    real = build.derive_all

    def broken(sdtm, consume=False):
        frames = real(sdtm, consume)
        break_it(frames)
        return frames
    monkeypatch.setattr(build, "derive_all", broken)
    with pytest.raises(RuntimeError, match=message):
        build_adam(con)
    assert _snapshot(con) == before and before["adsl"]
    con.close()
