"""A small warehouse built by hand from warehouse/schema.sql, whose figures are known by
construction, plus a run log and a users file — shared by tests/test_app_*.py and test_queries.py.

Subjects (sites 01 and 02):
  01-001 enrolled 2024-01-10, FAS, reached week 12, LLDAS wk12 Y (due)
  01-002 enrolled 2024-02-01, FAS, on treatment, wk12 not yet due
  01-003 screen failure, IN03
  02-001 enrolled 2024-01-20, FAS, completed week 24 on 2024-07-08 (day 169, its last observed day),
         LLDAS wk12 N (due), wk24 Y (due)
So: screened 4, screen failures 1, enrolled 3 / 10 (site 01: 2, site 02: 1);
LLDAS wk12 responders / due = 1 / 2 (50%), not yet due 1 (site 01: 1 / 1, site 02: 0 / 1);
LLDAS wk24 = 1 / 1 (02-001 due and Y; the two site-01 subjects not yet due).
AEs: 01-001 seq 1 Herpes zoster grade 2 (AESI), seq 2 Nasopharyngitis grade 1;
     02-001 seq 1 Pneumonia grade 3 serious (AESI serious infection). All TEAE, SOC Infections:
     incidence by SOC = 2 subjects, 01-001 at worst grade 2, 02-001 at grade 3 (N = FAS = 3).
Exposure (ADSL, as R-AE derives it): each FAS subject one infusion on day 1 and 28 days on
treatment (the last infusion + 27 days). AESI time at risk (ADTTE): 01-001's herpes zoster on day
50, 02-001's pneumonia (serious infection) on day 102, everyone else censored at 28 days; so
herpes zoster: 1 subject over 50 + 28 + 28 = 106 days = 106 / 365.25 patient-years ->
100 x 365.25 / 106 = 344.6 per 100 patient-years.
Verbatim terms are hostile on purpose: '<script>...', a Markdown link, a SQL injection.
Protocol flags: 01-001 INFUSION_MISSED; 02-001 PSL_ABOVE_7_5_WK12 (10 mg/day at week 12: the C4
result, an efficacy flag that only the PI may see).
Labs (R-LAB, graded by hand from the CTCAE table; NEUT LLN 1.8, ALT ULN 40, BILI ULN 1.2):
  01-001 NEUT day 1 3.1 (baseline, grade 0), day 29 0.8 (< 1.0, >= 0.5: grade 3, worst), day 57 1.6
         (grade 1); ALT day 1 20 (0.5 x, baseline), day 29 130 (3.25 x: grade 2) with BILI 0.6 (0.5 x)
  02-001 NEUT day 1 1.4 (baseline, grade 2), day 29 1.2 (grade 2, worst); no baseline ALT / BILI;
         day 57 ALT 130 (3.25 x, grade 2) and BILI 2.5 (2.083 x, grade 2) on one date: Hy's law
So worst NEUT: N 2, grade 2 1 (50%), grade 3 1 (50%); shift NEUT 0 -> 3 and 2 -> 2; ALT 2 / 2 at
grade 2 (shift 0 -> 2 and missing -> 2); eDISH 01-001 Temple's corollary, 02-001 possible Hy's law
range; potential Hy's law: 02-001 (HYLAWFL Y) only; grade >= 3 listing: 01-001's NEUT 0.8.
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

import auth
from warehouse import PROJECT_ROOT, runs_dir

S = "jRCTs031230358"
U1, U2, U3, U4 = f"{S}-01-001", f"{S}-01-002", f"{S}-01-003", f"{S}-02-001"
SCRIPT_TERM = "<script>alert('x')</script>"
MD_TERM = "[click me](http://example.invalid)"
SQL_TERM = "'; drop table adam.adae; --"
TEST_PASSWORDS = {"pi": "pi-password-1", "monitor": "monitor-password-1", "data": "data-password-1"}


def build_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute((PROJECT_ROOT / "warehouse" / "schema.sql").read_text())
    params = {"u1": U1, "u2": U2, "u3": U3, "u4": U4, "t1": SCRIPT_TERM, "t2": MD_TERM, "t3": SQL_TERM}
    for stmt in filter(str.strip, INSERTS.split(";\n")):
        con.execute(stmt, {k: v for k, v in params.items() if f"${k}" in stmt})
    con.close()
    return path


INSERTS = """
    INSERT INTO sdtm.exports (SITEID, DATACUT, DATACUT_SOURCE, RUN_ID, LOADED_AT, ARCHIVE_PATH) VALUES
      ('01', '2024-06-30', 'rows', 'run-2', '2024-07-01 09:00', '/a/01'),
      ('02', '2024-08-31', 'export.json', 'run-2', '2024-09-01 09:00', '/a/02');
    INSERT INTO audit.refresh (RUN_ID, REFRESHED_AT, SCHEMA_VERSION) VALUES ('run-2', '2024-09-01 09:05', 1);
    -- R-ENROL as the ETL derives it (etl/derive/enrol.py, tested in test_derive_build): 3 enrolled
    -- in 250 days (2023-12-26 .. 2024-08-31 inclusive); 7 to go -> ceil(7 * 250 / 3) = 584 days
    -- after 2024-08-31 = 2026-04-07.
    INSERT INTO adam.enrollment_projection VALUES (3, 10, '2024-08-31', 0.36, NULL, '2026-04-07',
      '3 enrolled over 250 days since the first enrollment (2023-12-26); projection assumes the same rate continues');
    INSERT INTO adam.adsl (USUBJID, SITEID, SUBJID, AGE, SEX, ARMCD, SCRNFL, SCRFFL, ENRLFL, ENRLDT,
        SCRFREAS, SCRFRTXT, RFICDT, TRTSDT, PSLSTDT, WEIGHTBL, FASFL, EOSSTT, DATACUT, CUTDY, SUBJSTAT) VALUES
      ($u1, '01', '001', 34, 'F', 'ANIFRO', 'Y', 'N', 'Y', '2024-01-10', NULL, NULL, '2024-01-05',
       '2024-01-12', '2024-01-06', 50.0, 'Y', 'ONGOING', '2024-06-30', 171, 'REACHED WEEK 12'),
      ($u2, '01', '002', 41, 'F', 'ANIFRO', 'Y', 'N', 'Y', '2024-02-01', NULL, NULL, '2024-01-28',
       '2024-04-20', '2024-04-10', 60.0, 'Y', 'ONGOING', '2024-06-30', 72, 'ON TREATMENT'),
      ($u3, '01', '003', 29, 'M', 'SCRNFAIL', 'Y', 'Y', 'N', NULL, 'IN03',
       'SLEDAI-2K score of 4 or higher', '2024-02-10', NULL, NULL, NULL, 'N', 'SCREEN FAILURE',
       '2024-06-30', NULL, 'SCREEN FAILED'),
      ($u4, '02', '001', 52, 'F', 'ANIFRO', 'Y', 'N', 'Y', '2024-01-20', NULL, NULL, '2024-01-15',
       '2024-01-22', '2024-01-16', 55.0, 'Y', 'COMPLETED', '2024-08-31', 223, 'COMPLETED WEEK 24');
    -- R-DAY end of observation: 01-001 and 01-002 are in the study -> the cut (days 171, 72);
    -- 02-001 completed at its week-24 visit 2024-07-08 (day 169), before its cut 2024-08-31.
    UPDATE adam.adsl SET OBSENDT = DATACUT, OBSENDY = CUTDY WHERE EOSSTT = 'ONGOING';
    UPDATE adam.adsl SET EOSDT = '2024-07-08', OBSENDT = '2024-07-08', OBSENDY = 169 WHERE USUBJID = $u4;
    -- R-PROTOCOL ceiling as ADSL derives it: 0.6 mg/kg x WEIGHTBL (50 kg -> 30 mg/day)
    UPDATE adam.adsl SET PSLCEIL = 0.6 * WEIGHTBL;
    UPDATE adam.adsl SET NINFUS = 1, TRTEDT = TRTSDT, EXPENDT = TRTSDT + 27, TRTDURD = 28,
      TRTDURY = 28 / 365.25 WHERE FASFL = 'Y';
    INSERT INTO adam.adtte_aesi (USUBJID, SITEID, PARAMCD, PARAM, STARTDT, ADT, AVAL, CNSR)
      SELECT s.USUBJID, s.SITEID, p.c, 'Time to first ' || lower(p.c), s.TRTSDT,
        CASE WHEN e.d IS NULL THEN s.EXPENDT ELSE s.TRTSDT + e.d - 1 END,
        coalesce(e.d, 28), CASE WHEN e.d IS NULL THEN 1 ELSE 0 END
      FROM adam.adsl s CROSS JOIN (VALUES ('HERPES ZOSTER'), ('INFUSION-RELATED REACTION'),
        ('HYPERSENSITIVITY'), ('TUBERCULOSIS'), ('MALIGNANCY'), ('SERIOUS INFECTION'), ('ANY AESI')) p(c)
      LEFT JOIN (VALUES ($u1, 'HERPES ZOSTER', 50), ($u1, 'ANY AESI', 50),
        ($u4, 'SERIOUS INFECTION', 102), ($u4, 'ANY AESI', 102)) e(u, c, d)
        ON e.u = s.USUBJID AND e.c = p.c
      WHERE s.FASFL = 'Y';
    INSERT INTO adam.adeff (USUBJID, SITEID, PARAMCD, PARAM, AVISITN, WKDT, DUEFL, RESPFL, REASON) VALUES
      ($u1, '01', 'LLDAS', 'LLDAS', 12, '2024-04-05', 'Y', 'Y', 'LLDAS Y'),
      ($u2, '01', 'LLDAS', 'LLDAS', 12, '2024-07-13', 'N', NULL, 'not yet due'),
      ($u4, '02', 'LLDAS', 'LLDAS', 12, '2024-04-15', 'Y', 'N', 'LLDAS N'),
      ($u1, '01', 'LLDAS', 'LLDAS', 24, '2024-06-28', 'N', NULL, 'not yet due'),
      ($u2, '01', 'LLDAS', 'LLDAS', 24, '2024-10-05', 'N', NULL, 'not yet due'),
      ($u4, '02', 'LLDAS', 'LLDAS', 24, '2024-07-08', 'Y', 'Y', 'LLDAS Y'),
      ($u1, '01', 'PSLDISC', 'PSL discontinued', 24, '2024-06-28', 'N', NULL, 'not yet due'),
      ($u2, '01', 'PSLDISC', 'PSL discontinued', 24, '2024-10-05', 'N', NULL, 'not yet due'),
      ($u4, '02', 'PSLDISC', 'PSL discontinued', 24, '2024-07-08', 'Y', 'Y', 'PSLDISC Y');
    INSERT INTO adam.adlldas (USUBJID, SITEID, AVISIT, AVISITN, VISITNUM, ADT, ADY, SLEDAI, PGA,
        PSLDOSE, CRIT1FL, CRIT2FL, CRIT3FL, CRIT4FL, CRIT5FL, LLDASFL) VALUES
      ($u1, '01', 'WEEK 0', 0, 2, '2024-01-12', 1, 10, 2.0, 40, 'N', NULL, 'N', 'N', 'Y', 'N'),
      ($u1, '01', 'WEEK 12', 12, 5, '2024-04-05', 85, 2, 0.5, 7.5, 'Y', 'Y', 'Y', 'Y', 'Y', 'Y'),
      ($u4, '02', 'WEEK 0', 0, 2, '2024-01-22', 1, 12, 2.5, 50, 'N', NULL, 'N', 'N', 'Y', 'N'),
      ($u4, '02', 'WEEK 12', 12, 5, '2024-04-15', 85, 6, 1.0, 10, 'N', 'Y', 'Y', 'N', 'Y', 'N'),
      ($u4, '02', 'WEEK 24', 24, 8, '2024-07-08', 169, 2, 0.5, 5, 'Y', 'Y', 'Y', 'Y', 'Y', 'Y'),
      -- the screen failure's screening assessment: on its profile, never on the efficacy page
      ($u3, '01', 'SCREENING', NULL, 1, '2024-02-12', NULL, 2, 0.5, NULL, 'Y', NULL, 'Y', NULL, NULL, NULL);
    INSERT INTO adam.adpsl (USUBJID, SITEID, ADT, ADY, PSLDOSE, CUMDOSE, CUMDOSNP, PULSEFL, DRUGS) VALUES
      ($u1, '01', '2024-01-06', -6, 30, 30, 30, 'N', 'PREDNISOLONE 30 mg/day'),
      ($u1, '01', '2024-01-07', -5, 625, 655, 30, 'Y', 'METHYLPREDNISOLONE 500 mg/day'),
      ($u1, '01', '2024-04-05', 85, 7.5, 2000, 1375, 'N', 'PREDNISOLONE 7.5 mg/day'),
      ($u4, '02', '2024-01-16', -6, 30, 30, 30, 'N', 'PREDNISOLONE 30 mg/day'),
      ($u4, '02', '2024-07-08', 169, 0, 2500, 2500, 'N', '');
    INSERT INTO adam.adpslwk (USUBJID, SITEID, AVISITN, WKDT, DUEFL, PSLDOSE, CUMDOSE, CUMDOSNP, DISCFL) VALUES
      ($u1, '01', 12, '2024-04-05', 'Y', 7.5, 2000, 1375, 'N'),
      ($u4, '02', 12, '2024-04-15', 'Y', 10, 2200, 2200, 'N'),
      ($u1, '01', 24, '2024-06-28', 'N', NULL, NULL, NULL, NULL),
      ($u4, '02', 24, '2024-07-08', 'Y', 0, 2500, 2500, 'Y');
    INSERT INTO adam.adae (USUBJID, SITEID, AESEQ, AETERM, AEDECOD, AEBODSYS, AESTDTC, AEENDTC,
        AETOXGR, AESER, AEREL, AEACN, AEOUT, ASTDT, AENDT, ASTDY, TRTEMFL, RELFL, AESIFL, AESICAT) VALUES
      ($u1, '01', 1, $t1, 'Herpes zoster', 'Infections and infestations', '2024-03-01', '2024-03-20',
       2, 'N', 'POSSIBLY RELATED', 'DOSE NOT CHANGED', 'RECOVERED/RESOLVED', '2024-03-01', '2024-03-20',
       50, 'Y', 'Y', 'Y', 'HERPES ZOSTER'),
      ($u1, '01', 2, $t2, 'Nasopharyngitis', 'Infections and infestations', '2024-02-10', NULL,
       1, 'N', 'NOT RELATED', 'DOSE NOT CHANGED', 'NOT RECOVERED/NOT RESOLVED', '2024-02-10', NULL,
       30, 'Y', 'N', 'N', NULL),
      ($u4, '02', 1, $t3, 'Pneumonia', 'Infections and infestations', '2024-05-02', '2024-05-20',
       3, 'Y', 'UNLIKELY RELATED', 'DRUG INTERRUPTED', 'RECOVERED/RESOLVED', '2024-05-02', '2024-05-20',
       102, 'Y', 'N', 'Y', 'SERIOUS INFECTION');
    UPDATE adam.adae SET AESHOSP = 'Y' WHERE AESER = 'Y';
    INSERT INTO adam.adex (USUBJID, SITEID, EXSEQ, AVISIT, AVISITN, VISITNUM, ADT, ADY, EXDOSE,
        OOWFL, MISSFL, DOSEDVFL) VALUES
      ($u1, '01', 1, 'WEEK 0', 0, 2, '2024-01-12', 1, 300, 'N', 'N', 'N'),
      ($u1, '01', NULL, 'WEEK 4', 4, 3, NULL, NULL, NULL, 'N', 'Y', 'N'),
      ($u4, '02', 1, 'WEEK 0', 0, 2, '2024-01-22', 1, 300, 'N', 'N', 'N');
    INSERT INTO adam.adcmis (USUBJID, SITEID, CMDECOD, CMTRT, CMCAT, ASTDT, ASTDY, AENDT) VALUES ($u4, '02', 'TACROLIMUS', 'tacrolimus', 'IMMUNOSUPPRESSANT',
        '2024-03-01', 40, NULL);
    INSERT INTO adam.adchg (USUBJID, SITEID, PARAMCD, PARAM, AVISITN, DUEFL, BASE, AVAL, CHG) VALUES ($u1, '01', 'SLEDAI', 'SLEDAI-2K', 12, 'Y', 10, 2, -8);
    INSERT INTO adam.adlb (USUBJID, SITEID, PARAMCD, PARAM, AVISIT, ADT, ADY, AVAL, AVALU) VALUES
      ($u1, '01', 'C3', 'Complement C3', 'WEEK 0', '2024-01-12', 1, 55, 'mg/dL');
    INSERT INTO adam.protocol_flags (USUBJID, SITEID, FLAGCD, ADT, DETAIL) VALUES
      ($u1, '01', 'INFUSION_MISSED', '2024-02-09', 'WEEK 4 infusion missing though due'),
      ($u4, '02', 'PSL_ABOVE_7_5_WK12', '2024-04-15', '10 mg/day on the week-12 date; target <= 7.5');
    INSERT INTO adam.dq_warnings (USUBJID, SITEID, VISIT, ADT, ITEM, DETAIL) VALUES
      ($u4, '02', 'WEEK 12', '2024-04-15', 'LOWCOMP', 'LOWCOMP absent while C3 below LBSTNRLO');
    INSERT INTO adam.adlb (USUBJID, SITEID, LBSEQ, PARAMCD, PARAM, AVISIT, ADT, ADY, AVAL, AVALU, ANRLO,
        ANRHI, ABLFL, BASE, R2A1HI, ATOXGRL, ATOXGRH, BTOXGRL, BTOXGRH, POSTBLFL, WGRLOFL, WGRHIFL) VALUES
      ($u1, '01', 11, 'NEUT', 'Neutrophils', 'WEEK 0', '2024-01-12', 1, 3.1, '10^3/uL', 1.8, 7.0, 'Y', 3.1, NULL, 0, NULL, 0, NULL, NULL, NULL, NULL),
      ($u1, '01', 12, 'NEUT', 'Neutrophils', 'WEEK 4', '2024-02-09', 29, 0.8, '10^3/uL', 1.8, 7.0, NULL, 3.1, NULL, 3, NULL, 0, NULL, 'Y', 'Y', NULL),
      ($u1, '01', 13, 'NEUT', 'Neutrophils', 'WEEK 8', '2024-03-08', 57, 1.6, '10^3/uL', 1.8, 7.0, NULL, 3.1, NULL, 1, NULL, 0, NULL, 'Y', NULL, NULL),
      ($u1, '01', 14, 'ALT', 'Alanine Aminotransferase', 'WEEK 0', '2024-01-12', 1, 20, 'U/L', 7, 40, 'Y', 20, 0.5, NULL, 0, NULL, 0, NULL, NULL, NULL),
      ($u1, '01', 15, 'ALT', 'Alanine Aminotransferase', 'WEEK 4', '2024-02-09', 29, 130, 'U/L', 7, 40, NULL, 20, 3.25, NULL, 2, NULL, 0, 'Y', NULL, 'Y'),
      ($u1, '01', 16, 'BILI', 'Bilirubin', 'WEEK 4', '2024-02-09', 29, 0.6, 'mg/dL', 0.4, 1.2, NULL, NULL, 0.5, NULL, 0, NULL, NULL, 'Y', NULL, 'Y'),
      ($u4, '02', 11, 'NEUT', 'Neutrophils', 'WEEK 0', '2024-01-22', 1, 1.4, '10^3/uL', 1.8, 7.0, 'Y', 1.4, NULL, 2, NULL, 2, NULL, NULL, NULL, NULL),
      ($u4, '02', 12, 'NEUT', 'Neutrophils', 'WEEK 4', '2024-02-19', 29, 1.2, '10^3/uL', 1.8, 7.0, NULL, 1.4, NULL, 2, NULL, 2, NULL, 'Y', 'Y', NULL),
      ($u4, '02', 13, 'ALT', 'Alanine Aminotransferase', 'WEEK 8', '2024-03-18', 57, 130, 'U/L', 7, 40, NULL, NULL, 3.25, NULL, 2, NULL, NULL, 'Y', NULL, 'Y'),
      ($u4, '02', 14, 'BILI', 'Bilirubin', 'WEEK 8', '2024-03-18', 57, 2.5, 'mg/dL', 0.4, 1.2, NULL, NULL, 2.083333333, NULL, 2, NULL, NULL, 'Y', NULL, 'Y');
    INSERT INTO adam.edish (USUBJID, SITEID, AMTPKULN, AMTPKCD, BILPKULN, EDISHQ, HYLAWFL, HYLAWDT,
        HYLAWDY, HYAMTULN, HYBILULN) VALUES
      ($u1, '01', 3.25, 'ALT', 0.5, 'Temple''s corollary', 'N', NULL, NULL, NULL, NULL),
      ($u4, '02', 3.25, 'ALT', 2.083333333, 'Possible Hy''s law range', 'Y', '2024-03-18', 57, 3.25, 2.083333333);
    UPDATE adam.adsl SET HYLAWFL = CASE WHEN USUBJID = $u4 THEN 'Y' WHEN FASFL = 'Y' THEN 'N' END
"""


def write_run_log(warehouse: Path) -> None:
    """Two runs: run-2 loaded both sites; run-3 (later) refused with two problems."""
    runs = runs_dir(warehouse)
    for run in (
        {"run_id": "run-2", "command": "load", "started_at": "2024-09-01T09:00:00",
         "finished_at": "2024-09-01T09:05:00", "user": "datateam", "host": "etl-host",
         "outcome": "loaded", "exports": [{"source": "site01", "siteid": "01", "data_cut": "2024-06-30",
                                           "files": [{"name": "dm.csv"}, {"name": "ae.csv"}]}],
         "problems": []},
        {"run_id": "run-3", "command": "validate", "started_at": "2024-09-10T10:00:00",
         "finished_at": "2024-09-10T10:01:00", "user": "datateam", "host": "etl-host",
         "outcome": "refused", "exports": [{"source": "site02", "files": [{"name": "ae.csv"}]}],
         "problems": [
             {"export": "site02", "file": "ae.csv", "row": 14, "column": "AESTDTC",
              "value": "03/02/2024", "rule": "not an ISO 8601 date",
              "message": "ae.csv:14: AESTDTC=03/02/2024: not an ISO 8601 date"},
             {"export": "site02", "file": "dm.csv", "row": None, "column": "PATIENT_NAME",
              "value": None, "rule": "column PATIENT_NAME is not in the export contract",
              "message": "dm.csv: column PATIENT_NAME is not in the export contract (possible personal data)"}]},
    ):
        d = runs / run["run_id"]
        d.mkdir(parents=True, exist_ok=True)
        (d / "run.json").write_text(json.dumps(run))
        (d / "report.html").write_text("<html><body>report</body></html>")


def write_users(path: Path) -> Path:
    users = {n: {"role": n, "password": auth.hash_password(p)}
             for n, p in TEST_PASSWORDS.items()}
    auth.save_users(users, path)
    return path


APP = PROJECT_ROOT / "app.py"
PAGE_FILES = {"overview": "pages/page_overview.py", "enrollment": "pages/page_enrollment.py",
              "efficacy": "pages/page_efficacy.py", "glucocorticoids": "pages/page_glucocorticoids.py",
              "safety": "pages/page_safety.py", "labs": "pages/page_labs.py",
              "subject": "pages/page_subject_profile.py",
              "data_quality": "pages/page_data_quality.py"}


def new_app():
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file(str(APP), default_timeout=60)


def sign_in(at, user: str, password: str | None = None):
    """Fill the sign-in form and press the button (the real path, password hashing included)."""
    at.text_input(key="signin_user").input(user)
    at.text_input(key="signin_password").input(TEST_PASSWORDS[user] if password is None else password)
    at.button[0].click().run()
    return at


def texts(at) -> str:
    """Every piece of visible text of the run (markdown, captions, metrics, titles...), joined."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning",
                 "error", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(parts)


def metric(at, label_start: str) -> str:
    found = [m.value for m in at.metric if m.label.startswith(label_start)]
    assert found, f"no metric starting {label_start!r}; have {[m.label for m in at.metric]}"
    return found[0]


def record_downloads(monkeypatch) -> dict:
    """{file name: what the app registered for it} for every st.download_button drawn from now
    on: the callable of a deferred download (run it to get the bytes the browser would get), or
    ``("static", bytes)`` for a download whose file was made at once (there should be none)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made: dict = {}
    real_deferred, real_add = MediaFileManager.add_deferred, MediaFileManager.add

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return real_deferred(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    def add(self, data, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = ("static", data)
        return real_add(self, data, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    monkeypatch.setattr(MediaFileManager, "add", add)
    return made


def page_opener(warehouse: Path, users: Path, access_log: Path, monkeypatch):
    """``open_page(page, role="pi")``: a fresh AppTest of app.py on ``warehouse``, signed in as
    ``role``, switched to ``page`` (a PAGE_FILES key, or "home"), with no exception raised."""
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("TRIALDASH_USERS", str(users))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(access_log))

    def open_page(page: str, role: str = "pi"):
        at = sign_in(new_app().run(), role)
        if page != "home":
            at.switch_page(PAGE_FILES[page]).run()
        assert not at.exception, at.exception
        return at
    return open_page


def hand_built_files(tmp_path_factory, name: str) -> tuple[Path, Path]:
    """(warehouse, users file): the hand-built warehouse of this module with its run log, and
    the test accounts, in a fresh folder ``name``."""
    d = tmp_path_factory.mktemp(name)
    wh = build_warehouse(d / "trial.duckdb")
    write_run_log(wh)
    return wh, write_users(d / "users.toml")
