"""Site export contract 1.1 (lb.csv may carry BILI, NEUT, LYM), through the real validator and
loader: the new tests are known tests with their own unit and category, and an export of
version 1 (without them) still validates and loads.

valid_site01's lb.csv row 7 (header = row 1) is CD19, an EXPLORATORY test outside the contract's
list; the cases turn that row into one of the new tests.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.validate import problems_to_text, validate_exports
from tests.conftest import edit_csv, query

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO = PROJECT_ROOT / "demo" / "exports"
NEW_TESTS = ("BILI", "NEUT", "LYM")


def _with_row7(valid_site01: Path, tmp_path: Path, **cells: str) -> Path:
    folder = Path(shutil.copytree(valid_site01, tmp_path / "site01"))

    def edit(header, rows):
        for column, value in cells.items():
            rows[7 - 2][header.index(column)] = value
    edit_csv(folder / "lb.csv", edit)
    return folder


def _problems(tmp_path: Path, folder: Path) -> list[str]:
    return problems_to_text(validate_exports([folder], tmp_path / "work").problems).splitlines()


@pytest.mark.parametrize("code, unit, cat", [("BILI", "mg/dL", "CHEMISTRY"),
                                             ("NEUT", "10^3/uL", "HEMATOLOGY"),
                                             ("LYM", "10^3/uL", "HEMATOLOGY")])
def test_contract_1_1_lab_tests_in_their_unit_and_category_validate(code, unit, cat, valid_site01,
                                                                     tmp_path):
    folder = _with_row7(valid_site01, tmp_path, LBTESTCD=code, LBTEST=code, LBCAT=cat,
                        LBORRES="0.9", LBORRESU=unit, LBSTRESN="0.9", LBSTRESU=unit,
                        LBSTNRLO="0.4", LBSTNRHI="1.5")
    assert _problems(tmp_path, folder) == []


def test_bilirubin_in_another_unit_is_refused(valid_site01, tmp_path):
    folder = _with_row7(valid_site01, tmp_path, LBTESTCD="BILI", LBCAT="CHEMISTRY",
                        LBSTRESU="umol/L")
    assert _problems(tmp_path, folder) == ["lb.csv:7: LBSTRESU=umol/L: LBSTRESU must be mg/dL for BILI"]


def test_neutrophils_are_a_contract_test_not_an_exploratory_one(valid_site01, tmp_path):
    # Under contract 1 an unknown code with LBCAT EXPLORATORY passed; NEUT is now a known
    # HEMATOLOGY test (row 7 keeps CD19's LBCAT EXPLORATORY and unit /uL).
    folder = _with_row7(valid_site01, tmp_path, LBTESTCD="NEUT")
    assert _problems(tmp_path, folder) == [
        "lb.csv:7: LBCAT=EXPLORATORY: LBCAT must be HEMATOLOGY for NEUT",
        "lb.csv:7: LBSTRESU=/uL: LBSTRESU must be 10^3/uL for NEUT"]


def test_a_version_1_export_without_the_new_tests_still_loads(tmp_path):
    """The demo with every BILI, NEUT and LYM row taken out (a contract-1 export) loads; ADLB then
    has no such record, WBC is still graded, and no subject can be a potential Hy's law case
    (no bilirubin), so HYLAWFL is 'N' for every FAS subject."""
    from etl.load import load_exports

    exports = []
    for site in sorted(DEMO.iterdir()):
        folder = Path(shutil.copytree(site, tmp_path / site.name))

        def drop_new(header, rows):
            code = header.index("LBTESTCD")
            rows[:] = [r for r in rows if r[code] not in NEW_TESTS]
        edit_csv(folder / "lb.csv", drop_new)
        exports.append(folder)
    wh = tmp_path / "v1.duckdb"
    result = load_exports(exports, wh)
    assert result.outcome == "loaded", [str(p) for p in result.problems]
    assert query(wh, "SELECT count(*) FROM adam.adlb WHERE PARAMCD IN ('BILI', 'NEUT', 'LYM')") == [(0,)]
    assert query(wh, "SELECT count(*) > 0 FROM adam.adlb WHERE PARAMCD = 'WBC' "
                     "AND ATOXGRL IS NOT NULL") == [(True,)]
    assert query(wh, "SELECT HYLAWFL, count(*) FROM adam.adsl WHERE FASFL = 'Y' GROUP BY 1") == [("N", 10)]
