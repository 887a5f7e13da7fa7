"""etl.validate: the whole site export contract, one broken thing at a time.

Every case copies the hand-made valid export (tests/data/valid_site01), breaks exactly one thing
and asserts the exact, complete list of problems: ``<file>:<row>: <column>=<value>: <rule>``, row
1-based with the header as row 1. Row numbers of valid_site01, by hand:
dm 2 = subject 001 (ANIFRO), 3 = subject 002 (SCRNFAIL) · ds 2-3 = 001 consent/ENROLLED,
4-5 = 002 consent/SCREEN FAILURE · ie 2 = IN03, 3 = EX08 · ex 2 = WEEK 0 (2024-01-15T10:00-10:45),
3 = WEEK 4 · cm 2-3 = prednisolone 20 mg BID 2024-01-10..2024-02-06 then 15 mg QD from
2024-02-07, 4 = hydroxychloroquine (a quoted field over two lines) · vs 2 WEIGHT, 3 HEIGHT,
4 TEMP · lb 2 C3, 3 C4 NOT DONE, 4 DDNAIGAB, 5 PLAT, 6 IFNGS, 7 CD19 · qs 2-25 the 24 SLEDAI-2K
items in R-SLEDAI order (ARTHRIT row 10, RASH 16, LOWCOMP 21, INCDNA 22, LEUKOPEN 25),
26 SLEDAITS = 10 (ARTHRIT 4 + RASH 2 + LOWCOMP 2 + INCDNA 2), 27 PGA 1.5, 28-31 NEWACT N,
HEMOLYT N, GIACT N, ISTOL Y · ae 2 headache 2024-01-20..22 grade 1, 3 herpes zoster 2024-02
serious (AESHOSP = Y). export.json: site 01, data cut 2024-03-01.
"""
from __future__ import annotations

import json
import shutil
import warnings
import zipfile
from pathlib import Path

import pytest

from etl.contract import DOMAINS
from etl.suites import EXPECTATIONS_DIR, build_suite
from etl.validate import problems_to_text, validate_exports
from tests.conftest import edit_csv

S1 = "jRCTs031230358-01-001"


def run(tmp_path: Path, *folders: Path) -> list[str]:
    result = validate_exports(list(folders), tmp_path / "work")
    return problems_to_text(result.problems).splitlines()


def copy(valid_site01: Path, tmp_path: Path, name: str = "site01") -> Path:
    return Path(shutil.copytree(valid_site01, tmp_path / name))


def set_cells(folder: Path, file: str, row: int, **values: str) -> None:
    """Set cells of contract row ``row`` (header = 1) of ``file``."""
    def edit(header, rows):
        for column, value in values.items():
            rows[row - 2][header.index(column)] = value
    edit_csv(folder / file, edit)


def test_valid_export_validates_clean(valid_site01, tmp_path):
    progress: list[str] = []
    result = validate_exports([valid_site01], tmp_path / "work", progress=progress.append)
    assert [str(p) for p in result.problems] == [] and result.ok
    assert progress[0] == "reading valid_site01"
    # the cross-file rules run before the GX suites (while Great Expectations is imported)
    rules = progress.index("checking cross-file rules of valid_site01")
    assert not [m for m in progress[:rules] if m.startswith(("validating", "starting Great"))]
    assert all(m.startswith(("validating", "starting Great")) for m in progress[rules + 1:])


# (file, row, {column: new value}, expected problems) — one broken rule per case
ONE_CELL_CASES = {
    "iso_8601_date_required": ("ae.csv", 2, {"AESTDTC": "03/02/2024"},
                               ["ae.csv:2: AESTDTC=03/02/2024: not an ISO 8601 date"]),
    "required_value_never_empty": ("ae.csv", 2, {"AEDECOD": ""},
                                   ["ae.csv:2: AEDECOD=: required value missing (column is R: never empty)"]),
    "controlled_terms": ("dm.csv", 2, {"SEX": "X"},
                         ["dm.csv:2: SEX=X: not one of the allowed values: M, F"]),
    "studyid_is_the_registry_id": ("ds.csv", 3, {"STUDYID": "jRCTs031230359"},
                                   ["ds.csv:3: STUDYID=jRCTs031230359: STUDYID must be jRCTs031230358"]),
    "siteid_two_digits": ("dm.csv", 3, {"SITEID": "1"},
                          ["dm.csv:3: SITEID=1: SITEID must be two digits, e.g. 01"]),
    # a second site in the rows breaks "one site per export" and USUBJID = STUDYID-SITEID-SUBJID
    "one_site_per_export": ("dm.csv", 3, {"SITEID": "02"}, [
        "dm.csv:3: SITEID=02: SITEID differs from the export's site 01 (export.json): one site per export",
        "dm.csv:3: USUBJID=jRCTs031230358-01-002: USUBJID must equal STUDYID-SITEID-SUBJID "
        "(jRCTs031230358-02-002)"]),
    "subjid_three_digits": ("dm.csv", 3, {"SUBJID": "02"},
                            ["dm.csv:3: SUBJID=02: SUBJID must be three digits, e.g. 007"]),
    "usubjid_form": ("ex.csv", 3, {"USUBJID": "jRCTs031230358-1-001"}, [
        "ex.csv:3: USUBJID=jRCTs031230358-1-001: USUBJID must be STUDYID-SITEID-SUBJID, e.g. "
        "jRCTs031230358-01-007",
        "ex.csv:3: USUBJID=jRCTs031230358-1-001: USUBJID not in dm.csv"]),
    "seq_positive_integer": ("ae.csv", 3, {"AESEQ": "0"},
                             ["ae.csv:3: AESEQ=0: not a positive integer"]),
    "seq_unique_per_subject": ("ae.csv", 3, {"AESEQ": "1"},
                               ["ae.csv:3: AESEQ=1: AESEQ not unique for the subject in ae.csv"]),
    "every_usubjid_in_dm": ("ae.csv", 3, {"USUBJID": "jRCTs031230358-01-009"},
                            ["ae.csv:3: USUBJID=jRCTs031230358-01-009: USUBJID not in dm.csv"]),
    "partial_date_only_where_allowed": ("lb.csv", 2, {"LBDTC": "2024-01"}, [
        "lb.csv:2: LBDTC=2024-01: partial date not allowed in this column (full ISO 8601 date required)"]),
    "calendar_date_must_exist": ("vs.csv", 4, {"VSDTC": "2024-02-30"},
                                 ["vs.csv:4: VSDTC=2024-02-30: not a valid calendar date"]),
    "glucocorticoid_rows_full_dates": ("cm.csv", 2, {"CMSTDTC": "2024-01"}, [
        "cm.csv:2: CMSTDTC=2024-01: glucocorticoid rows need full dates (YYYY-MM-DD): partial date not allowed"]),
    "glucocorticoid_dates_not_history_ok": ("cm.csv", 2, {"CMSTDTC": "2023-09-01"}, [
        "cm.csv:2: CMSTDTC=2023-09-01: before registration 2023-09-22: glucocorticoid dates are not history ok"]),
    "ae_onset_before_registration": ("ae.csv", 2, {"AESTDTC": "2023-09-01"}, [
        "ae.csv:2: AESTDTC=2023-09-01: before registration 2023-09-22 (only history-ok columns may be earlier)"]),
    "no_date_after_the_data_cut": ("ae.csv", 2, {"AEENDTC": "2024-03-05"}, [
        "ae.csv:2: AEENDTC=2024-03-05: after the data cut 2024-03-01 (from export.json)"]),
    # the boundary: the day after the cut (2024-03-02) is refused, the cut day itself accepted
    "date_one_day_after_the_data_cut": ("ae.csv", 2, {"AEENDTC": "2024-03-02"}, [
        "ae.csv:2: AEENDTC=2024-03-02: after the data cut 2024-03-01 (from export.json)"]),
    "date_on_the_data_cut_accepted": ("ae.csv", 2, {"AEENDTC": "2024-03-01"}, []),
    # a partial date stands for a span: after the cut only when its EARLIEST day is (2024-03
    # begins on the cut day 2024-03-01: accepted; 2024-04 begins after it), before registration
    # only when its LATEST day is (2023-09 ends on 2023-09-30, after 2023-09-22: accepted)
    "partial_onset_in_the_data_cut_month_accepted": ("ae.csv", 3, {"AESTDTC": "2024-03"}, []),
    "partial_onset_after_the_data_cut_month": ("ae.csv", 3, {"AESTDTC": "2024-04"}, [
        "ae.csv:3: AESTDTC=2024-04: after the data cut 2024-03-01 (from export.json)"]),
    "partial_onset_in_the_registration_month_accepted": ("ae.csv", 3, {"AESTDTC": "2023-09"}, []),
    "partial_onset_before_the_registration_month": ("ae.csv", 3, {"AESTDTC": "2023-08"}, [
        "ae.csv:3: AESTDTC=2023-08: before registration 2023-09-22 (only history-ok columns may be earlier)"]),
    "rfstdtc_is_the_first_infusion": ("dm.csv", 2, {"RFSTDTC": "2024-01-16"}, [
        "dm.csv:2: RFSTDTC=2024-01-16: RFSTDTC must be the date of the subject's first ex.csv "
        "infusion (2024-01-15)"]),
    "rfstdtc_empty_when_never_dosed": ("dm.csv", 3, {"RFSTDTC": "2024-02-10"}, [
        "dm.csv:3: RFSTDTC=2024-02-10: RFSTDTC must be empty: the subject has no ex.csv infusion"]),
    "age_integer": ("dm.csv", 2, {"AGE": "34.5"}, ["dm.csv:2: AGE=34.5: AGE must be an integer (years)"]),
    "arm_agrees_with_armcd": ("dm.csv", 2, {"ARM": "Screen Failure"}, [
        "dm.csv:2: ARM=Screen Failure: ARM does not agree with ARMCD=ANIFRO (expected Anifrolumab 300 mg IV Q4W)"]),
    "anifro_subject_has_enrolled_milestone": ("ds.csv", 3, {"DSDECOD": "INFORMED CONSENT OBTAINED"}, [
        "dm.csv:2: ARMCD=ANIFRO: an ANIFRO subject needs an ENROLLED protocol milestone in ds.csv"]),
    "scrnfail_subject_has_screen_failure_event": ("ds.csv", 5, {"DSDECOD": "OTHER"}, [
        "dm.csv:3: ARMCD=SCRNFAIL: a SCRNFAIL subject needs a SCREEN FAILURE disposition event in ds.csv"]),
    "scrnfail_subject_not_enrolled": ("ds.csv", 4, {"DSDECOD": "ENROLLED"}, [
        "dm.csv:3: ARMCD=SCRNFAIL: a SCRNFAIL subject must not have an ENROLLED milestone in ds.csv"]),
    "dsdecod_agrees_with_dscat": ("ds.csv", 2, {"DSCAT": "DISPOSITION EVENT"}, [
        "ds.csv:2: DSDECOD=INFORMED CONSENT OBTAINED: not a disposition event (COMPLETED, "
        "SCREEN FAILURE, ADVERSE EVENT, LACK OF EFFICACY, WITHDRAWAL BY SUBJECT, PHYSICIAN DECISION, "
        "LOST TO FOLLOW-UP, PREGNANCY, DEATH, OTHER)"]),
    "iecat_agrees_with_code_prefix": ("ie.csv", 2, {"IECAT": "EXCLUSION"}, [
        "ie.csv:2: IECAT=EXCLUSION: IECAT must be INCLUSION for an IN code"]),
    "ieorres_y_for_exclusion": ("ie.csv", 3, {"IEORRES": "N"}, [
        "ie.csv:3: IEORRES=N: IEORRES must be Y (exclusion criterion met)"]),
    "exdose_above_zero": ("ex.csv", 2, {"EXDOSE": "0"}, [
        "ex.csv:2: EXDOSE=0: EXDOSE must be > 0 and <= 1000 mg"]),
    "exdose_at_most_1000": ("ex.csv", 2, {"EXDOSE": "1000.5"}, [
        "ex.csv:2: EXDOSE=1000.5: EXDOSE must be > 0 and <= 1000 mg"]),
    "exdose_number": ("ex.csv", 2, {"EXDOSE": "300mg"}, ["ex.csv:2: EXDOSE=300mg: not a number"]),
    "exendtc_not_before_exstdtc": ("ex.csv", 2, {"EXENDTC": "2024-01-15T09:59"}, [
        "ex.csv:2: EXENDTC=2024-01-15T09:59: EXENDTC before EXSTDTC"]),
    # 10:00 -> 14:01 is 4 h 1 min
    "infusion_at_most_4_hours": ("ex.csv", 2, {"EXENDTC": "2024-01-15T14:01"}, [
        "ex.csv:2: EXENDTC=2024-01-15T14:01: infusion longer than 4 h (EXENDTC - EXSTDTC)"]),
    "infusion_of_exactly_4_hours_accepted": ("ex.csv", 2, {"EXENDTC": "2024-01-15T14:00"}, []),
    "infusion_times_required": ("ex.csv", 2, {"EXSTDTC": "2024-01-15"}, [
        "ex.csv:2: EXSTDTC=2024-01-15: not an ISO 8601 datetime YYYY-MM-DDThh:mm[:ss] "
        "(infusion times are required)"]),
    "visitnum_agrees_with_visit": ("vs.csv", 3, {"VISITNUM": "2"}, [
        "vs.csv:3: VISITNUM=2: VISITNUM does not agree with VISIT=SCREENING (expected 1, R-DAY)"]),
    "visit_from_the_schedule": ("lb.csv", 4, {"VISIT": "WEEK 2"}, [
        "lb.csv:4: VISIT=WEEK 2: not one of the allowed values: SCREENING, WEEK 0, WEEK 4, WEEK 8, "
        "WEEK 12, WEEK 16, WEEK 20, WEEK 24"]),
    "cmdose_above_zero": ("cm.csv", 3, {"CMDOSE": "0"}, ["cm.csv:3: CMDOSE=0: CMDOSE must be > 0"]),
    # row 2 ends 2024-02-06; row 3 now starts that same day (ends are inclusive)
    "same_cmdecod_regimens_do_not_overlap": ("cm.csv", 3, {"CMSTDTC": "2024-02-06"}, [
        "cm.csv:3: CMSTDTC=2024-02-06: overlaps an earlier PREDNISOLONE regimen of the subject "
        "(rows of the same CMDECOD must not overlap)"]),
    "unknown_glucocorticoid_refused_r_psl": ("cm.csv", 2, {"CMDECOD": "DEFLAZACORT"}, [
        "cm.csv:2: CMDECOD=DEFLAZACORT: unknown glucocorticoid: no prednisolone-equivalent factor "
        "in clinical-rules.md R-PSL"]),
    "history_ok_partial_date_for_non_glucocorticoid": ("cm.csv", 4, {"CMSTDTC": "2019"}, []),
    # the contract allows partial and pre-registration dates only for CMSTDTC of non-glucocorticoids
    "cmendtc_partial_refused_even_for_non_glucocorticoid": ("cm.csv", 4, {"CMENDTC": "2024-02"}, [
        "cm.csv:4: CMENDTC=2024-02: partial date not allowed in this column (full ISO 8601 date required)"]),
    "cmendtc_before_registration_refused_even_for_non_glucocorticoid": ("cm.csv", 4, {"CMENDTC": "2023-06-30"}, [
        "cm.csv:4: CMENDTC=2023-06-30: before registration 2023-09-22 (only history-ok columns may be earlier)"]),
    "weight_range": ("vs.csv", 2, {"VSSTRESN": "24.9"}, [
        "vs.csv:2: VSSTRESN=24.9: WEIGHT must be between 25 and 250 kg"]),
    "vital_sign_unit": ("vs.csv", 2, {"VSSTRESU": "lb"}, ["vs.csv:2: VSSTRESU=lb: VSSTRESU must be kg for WEIGHT"]),
    "weight_on_or_before_first_infusion": ("vs.csv", 2, {"VSDTC": "2024-01-16"}, [
        f"dm.csv:2: USUBJID={S1}: no vs.csv WEIGHT on or before the first infusion (2024-01-15): "
        "needed for mg/kg doses"]),
    "lab_unit_of_known_test": ("lb.csv", 2, {"LBSTRESU": "g/L"}, [
        "lb.csv:2: LBSTRESU=g/L: LBSTRESU must be mg/dL for C3"]),
    "lab_category_of_known_test": ("lb.csv", 2, {"LBCAT": "CHEMISTRY"}, [
        "lb.csv:2: LBCAT=CHEMISTRY: LBCAT must be IMMUNOLOGY for C3"]),
    "unknown_lab_code_only_exploratory": ("lb.csv", 7, {"LBCAT": "HEMATOLOGY"}, [
        "lb.csv:7: LBTESTCD=CD19: unknown lab test: codes outside the contract's list are allowed "
        "only with LBCAT = EXPLORATORY"]),
    "lab_code_pattern": ("lb.csv", 7, {"LBTESTCD": "cd19"}, [
        "lb.csv:7: LBTESTCD=cd19: not a lab test code (up to 8 upper-case letters and digits)"]),
    "lborres_empty_only_when_not_done": ("lb.csv", 2, {"LBORRES": ""}, [
        "lb.csv:2: LBORRES=: LBORRES empty but LBSTAT is not NOT DONE"]),
    # ARTHRIT PRESENT scores its weight 4
    "sledai_item_scores_its_weight": ("qs.csv", 10, {"QSSTRESN": "2"}, [
        "qs.csv:10: QSSTRESN=2: QSSTRESN must be 4 for QSTESTCD=ARTHRIT QSORRES=PRESENT"]),
    "sledai_item_present_or_absent": ("qs.csv", 2, {"QSORRES": "Y"}, [
        "qs.csv:2: QSORRES=Y: a SLEDAI-2K item is PRESENT or ABSENT"]),
    "sledai_code_known": ("qs.csv", 2, {"QSTESTCD": "SEIZ"}, [
        "qs.csv:2: QSDTC=2024-01-15: SLEDAI-2K assessment incomplete: missing SEIZURE (all 24 items "
        "and the total on the same date, R-SLEDAI)",
        "qs.csv:2: QSTESTCD=SEIZ: not a SLEDAI-2K code (clinical-rules.md R-SLEDAI)"]),
    "pga_between_0_and_3": ("qs.csv", 27, {"QSORRES": "3.5", "QSSTRESN": "3.5"}, [
        "qs.csv:27: QSORRES=3.5: PGA must be between 0 and 3",
        "qs.csv:27: QSSTRESN=3.5: PGA must be between 0.0 and 3.0"]),
    "pga_stresn_equals_orres": ("qs.csv", 27, {"QSSTRESN": "1.0"}, [
        "qs.csv:27: QSSTRESN=1.0: QSSTRESN must be 1.5 for QSTESTCD=PGA QSORRES=1.5"]),
    "lldas_y_scores_1": ("qs.csv", 31, {"QSSTRESN": "0"}, [
        "qs.csv:31: QSSTRESN=0: QSSTRESN must be 1 for QSTESTCD=ISTOL QSORRES=Y"]),
    "lldas_item_code_known": ("qs.csv", 28, {"QSTESTCD": "NEWACTX"}, [
        "qs.csv:28: QSTESTCD=NEWACTX: not an LLDAS investigator item (clinical-rules.md R-LLDAS)"]),
    # ARTHRIT now ABSENT (score 0): items sum to 10 - 4 = 6, the site's total still says 10
    "sledai_total_equals_sum_of_items": ("qs.csv", 10, {"QSORRES": "ABSENT", "QSSTRESN": "0"}, [
        "qs.csv:26: QSORRES=10: SLEDAI-2K total does not equal the sum of the item scores (6, R-SLEDAI)"]),
    "aeendtc_not_before_aestdtc": ("ae.csv", 2, {"AEENDTC": "2024-01-19"}, [
        "ae.csv:2: AEENDTC=2024-01-19: AEENDTC before AESTDTC (2024-01-20)"]),
    # 2024-01 may be any day up to 2024-01-31, not before the onset 2024-01-20
    "partial_aeendtc_in_the_onset_month_accepted": ("ae.csv", 2, {"AEENDTC": "2024-01"}, []),
    "serious_needs_a_criterion": ("ae.csv", 3, {"AESHOSP": "N"}, [
        "ae.csv:3: AESER=Y: serious (AESER=Y) but no seriousness criterion (AESDTH, AESLIFE, "
        "AESHOSP, AESDISAB, AESCONG, AESMIE) is Y"]),
    "grade_5_needs_death": ("ae.csv", 2, {"AETOXGR": "5"}, ["ae.csv:2: AETOXGR=5: grade 5 requires AESDTH=Y"]),
    "death_needs_grade_5": ("ae.csv", 3, {"AESDTH": "Y"}, ["ae.csv:3: AESDTH=Y: AESDTH=Y requires AETOXGR=5"]),
}


@pytest.mark.parametrize("case", list(ONE_CELL_CASES), ids=list(ONE_CELL_CASES))
def test_one_broken_rule_is_reported_exactly(case, valid_site01, tmp_path):
    file, row, values, expected = ONE_CELL_CASES[case]
    folder = copy(valid_site01, tmp_path)
    set_cells(folder, file, row, **values)
    assert run(tmp_path, folder) == expected


def test_unknown_column_refused_by_name_possible_personal_data(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)

    def add_name(header, rows):
        header.append("PATIENT_NAME")
        for r in rows:
            r.append("Yamada Taro")
    edit_csv(folder / "dm.csv", add_name)
    assert run(tmp_path, folder) == [
        "dm.csv: column PATIENT_NAME is not in the export contract (possible personal data)"]


def test_column_of_another_domain_refused(valid_site01, tmp_path):
    """AETERM is a contract column, but of ae.csv: in dm.csv it is refused like any unknown one."""
    folder = copy(valid_site01, tmp_path)

    def add_aeterm(header, rows):
        header.append("AETERM")
        for r in rows:
            r.append("Headache")
    edit_csv(folder / "dm.csv", add_aeterm)
    assert run(tmp_path, folder) == [
        "dm.csv: column AETERM is not in the export contract (possible personal data)"]


def test_missing_contract_column_refused(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)

    def drop(header, rows):
        i = header.index("AEREL")
        del header[i]
        for r in rows:
            del r[i]
    edit_csv(folder / "ae.csv", drop)
    assert run(tmp_path, folder) == ["ae.csv: required column AEREL missing"]


def test_duplicate_subject_in_dm(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    edit_csv(folder / "dm.csv", lambda header, rows: rows.append(list(rows[0])))  # row 4 = row 2
    assert run(tmp_path, folder) == [
        "dm.csv:4: SUBJID=001: SUBJID not unique in dm.csv",
        f"dm.csv:4: USUBJID={S1}: USUBJID not unique in dm.csv"]


def test_sledai_assessment_needs_all_24_items_and_total(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    # drop LEUKOPEN (row 25) and the total (row 26); the assessment starts at row 2
    edit_csv(folder / "qs.csv", lambda header, rows: rows.__delitem__(slice(23, 25)))
    assert run(tmp_path, folder) == [
        "qs.csv:2: QSDTC=2024-01-15: SLEDAI-2K assessment incomplete: missing LEUKOPEN, SLEDAITS "
        "(all 24 items and the total on the same date, R-SLEDAI)"]


def test_row_number_counts_records_after_a_quoted_line_break(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    # cm row 4 spans two file lines; the appended record is row 5 on file line 6
    edit_csv(folder / "cm.csv", lambda header, rows: rows.append(
        ["jRCTs031230358", S1, "4", "Prograf", "TACROLIMUS", "IMMUNOSUPPRESSANT", "0", "mg", "QD",
         "ORAL", "2024-02-01", ""]))
    lines = (folder / "cm.csv").read_text(encoding="utf-8").splitlines()
    assert lines[5].startswith("jRCTs031230358,jRCTs031230358-01-001,4,")  # file line 6
    assert run(tmp_path, folder) == ["cm.csv:5: CMDOSE=0: CMDOSE must be > 0"]


def test_all_problems_of_a_run_reported_together(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    set_cells(folder, "ae.csv", 2, AESTDTC="03/02/2024")
    set_cells(folder, "dm.csv", 2, SEX="female", AGE="")
    (folder / "extra.xlsx").write_bytes(b"PK")
    assert run(tmp_path, folder) == [
        "extra.xlsx: file not in the export contract: only dm.csv, ds.csv, ie.csv, ex.csv, cm.csv, "
        "vs.csv, lb.csv, qs.csv, ae.csv, export.json are allowed",
        "dm.csv:2: AGE=: required value missing (column is R: never empty)",
        "dm.csv:2: SEX=female: not one of the allowed values: M, F",
        "ae.csv:2: AESTDTC=03/02/2024: not an ISO 8601 date"]


def test_export_json_siteid_must_match_the_rows(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    (folder / "export.json").write_text(json.dumps({"siteid": "02", "data_cut": "2024-03-01"}))
    assert run(tmp_path, folder) == [
        "dm.csv:2: SITEID=01: SITEID differs from the export's site 02 (export.json): one site per export",
        "dm.csv:3: SITEID=01: SITEID differs from the export's site 02 (export.json): one site per export"]


def test_two_exports_of_the_same_site_in_one_run_refused(valid_site01, tmp_path):
    a, b = copy(valid_site01, tmp_path, "site01a"), copy(valid_site01, tmp_path, "site01b")
    assert run(tmp_path, a, b) == [
        "site01b: SITEID=01: a second export of the same site in this run (also site01a): "
        "send one export per site"]


def test_zip_and_cp932_exports_validate_clean(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path, "site01_cp932")
    (folder / "cm.csv").write_bytes((folder / "cm.csv").read_text(encoding="utf-8").encode("cp932"))
    z = tmp_path / "site01.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"site01/{f.name}")
    result = validate_exports([z], tmp_path / "work")
    assert [str(p) for p in result.problems] == []
    assert result.exports[0].notes == ["cm.csv read as Shift_JIS (CP932)"]
    assert result.exports[0].files["cm"].frame.get_column("CMTRT")[0] == "プレドニン錠5mg"


def test_zip_slip_export_is_refused_in_a_run(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../dm.csv", "x\n")
    result = validate_exports([z], tmp_path / "work")
    assert [str(p) for p in result.problems] == [
        "evil.zip: zip refused: member ../dm.csv would leave the extraction folder "
        "(absolute path, '..' or symbolic link)"]


def test_committed_suites_equal_what_etl_suites_builds():
    for domain in DOMAINS:
        committed = json.loads((EXPECTATIONS_DIR / f"{domain}.json").read_text(encoding="utf-8"))
        assert committed == build_suite(domain), f"run python -m etl.suites ({domain})"


def test_suites_load_in_gx_and_every_expectation_names_its_contract_rule():
    import great_expectations as gx

    for domain in DOMAINS:
        data = json.loads((EXPECTATIONS_DIR / f"{domain}.json").read_text(encoding="utf-8"))
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # no GX-2.0-deprecated forms
            suite = gx.ExpectationSuite(**data)
        assert suite.name == domain and len(suite.expectations) == len(data["expectations"])
        assert json.loads(json.dumps(suite.to_json_dict())) == data
        for e in data["expectations"]:
            assert e["meta"]["notes"] and e["meta"]["rule"]


def test_one_date_value_in_several_columns_is_judged_by_each_columns_rule(valid_site01, tmp_path):
    """The date tests run once per distinct value of the export (etl.rules._date_tests); each
    column still applies its own rule to it. By hand: 2023-06-30 is before registration
    2023-09-22 -- accepted in cm row 4's CMSTDTC (a non-glucocorticoid's history), refused in
    ae row 2's AESTDTC (not history ok); 2024-03-05 is after the data cut 2024-03-01 in both
    vs row 4 and ae row 3; 2024-02-30 is no calendar date, in both files where it stands."""
    folder = copy(valid_site01, tmp_path)
    set_cells(folder, "cm.csv", 4, CMSTDTC="2023-06-30")
    set_cells(folder, "ae.csv", 2, AESTDTC="2023-06-30")
    set_cells(folder, "vs.csv", 4, VSDTC="2024-03-05")
    set_cells(folder, "ae.csv", 3, AEENDTC="2024-03-05")
    set_cells(folder, "ds.csv", 2, DSSTDTC="2024-02-30")
    set_cells(folder, "lb.csv", 4, LBDTC="2024-02-30")
    assert run(tmp_path, folder) == [
        "ds.csv:2: DSSTDTC=2024-02-30: not a valid calendar date",
        "vs.csv:4: VSDTC=2024-03-05: after the data cut 2024-03-01 (from export.json)",
        "lb.csv:4: LBDTC=2024-02-30: not a valid calendar date",
        "ae.csv:2: AESTDTC=2023-06-30: before registration 2023-09-22 (only history-ok columns "
        "may be earlier)",
        "ae.csv:3: AEENDTC=2024-03-05: after the data cut 2024-03-01 (from export.json)"]
