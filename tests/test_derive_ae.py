"""R-AE: onset imputation, treatment emergence, relatedness, AESI."""
from __future__ import annotations

import datetime as dt

import pytest

from etl.derive.ae import build_adae
from tests.derive_fixtures import sdtm, subjects, usubjid

D = dt.date
FIRST = D(2024, 3, 15)   # first infusion


@pytest.mark.parametrize("aestdtc, expected", [
    ("2024-03-20", (D(2024, 3, 20), None)),        # full date kept
    ("2024-03-20T08:30", (D(2024, 3, 20), None)),
    ("2024-03", (FIRST, "D")),                     # month of the first infusion -> its date
    ("2024-04", (D(2024, 4, 1), "D")),             # another month -> the 1st
    ("2024-02", (D(2024, 2, 1), "D")),
    ("2024", (FIRST, "M")),                        # year of the first infusion -> its date
    ("2023", (D(2023, 1, 1), "M")),                # another year -> 1 January
])
def test_partial_onset_imputation_R_AE(aestdtc, expected):
    """Through build_adae, the ADAE builder the ETL runs (its astdt_expr / astdtf_expr)."""
    assert adae([{"AESTDTC": aestdtc}]).select("ASTDT", "ASTDTF").row(0) == expected


@pytest.mark.parametrize("aestdtc, expected", [
    ("2024-03", (D(2024, 3, 1), "D")),
    ("2024", (D(2024, 1, 1), "M")),
])
def test_partial_onset_without_infusion_goes_to_first_of_period_R_AE(aestdtc, expected):
    assert adae([{"AESTDTC": aestdtc}], first=None).select("ASTDT", "ASTDTF").row(0) == expected


def test_year_only_onset_in_another_year_than_the_first_infusion_is_1_january_R_AE():
    """'2025' with the first infusion on 2024-03-15: not the infusion's year -> 2025-01-01,
    flag 'M'; that is after day 1 (2024-03-15 -> 2025-01-01 = 16 + 30 + 31 + 30 + 31 + 31 + 30 +
    31 + 30 + 31 + 1 = 292 days -> day 293) -> treatment-emergent."""
    a = adae([{"AESTDTC": "2025"}])
    assert a.select("ASTDT", "ASTDTF", "ASTDY", "TRTEMFL").row(0) == (D(2025, 1, 1), "M", 293, "Y")


def adae(rows, first=FIRST):
    ae = sdtm("ae", [{"USUBJID": usubjid("001"), "AEDECOD": "Nausea", **r} for r in rows])
    return build_adae(ae, subjects([("001", first, D(2025, 12, 31))]))


def test_adae_imputed_onset_in_first_infusion_month_is_treatment_emergent_R_AE():
    a = adae([{"AESTDTC": "2024-03"}])
    # '2024-03' with first infusion 2024-03-15 -> 2024-03-15 = day 1 -> TRTEMFL Y
    assert a.select("AESTDTC", "ASTDT", "ASTDTF", "ASTDY", "TRTEMFL").row(0) == (
        "2024-03", FIRST, "D", 1, "Y")


def test_pre_treatment_ae_is_not_treatment_emergent_R_AE():
    a = adae([{"AESTDTC": "2024-03-14"}, {"AESTDTC": "2024-02"}, {"AESTDTC": "2024-03-15"}])
    # Mar 14 = day -1 -> N; '2024-02' -> Feb 1 (another month) = day -43 (Feb 1 -> Mar 15 = 28+15 = 43) -> N;
    # Mar 15 = day 1 -> Y
    assert a.select("ASTDY", "TRTEMFL").rows() == [(-1, "N"), (-43, "N"), (1, "Y")]


def test_ae_of_never_dosed_subject_is_not_treatment_emergent_R_AE():
    a = adae([{"AESTDTC": "2024-03-20"}], first=None)
    assert a.select("ASTDY", "TRTEMFL").row(0) == (None, "N")


def test_related_and_serious_R_AE():
    a = adae([{"AESTDTC": "2024-04-01", "AEREL": r} for r in
              ("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "RELATED")])
    assert a["RELFL"].to_list() == ["N", "N", "Y", "Y"]


def test_worst_grade_is_an_integer_and_end_date_not_imputed_R_AE():
    a = adae([{"AESTDTC": "2024-04-01", "AETOXGR": "3", "AEENDTC": "2024-05"},
              {"AESTDTC": "2024-04-01", "AETOXGR": "2", "AEENDTC": "2024-04-09"}])
    assert a.select("AETOXGR", "AENDT").rows() == [(3, None), (2, D(2024, 4, 9))]
    assert a["AETOXGR"].max() == 3


@pytest.mark.parametrize("pt, soc, ser, cats", [
    ("Herpes zoster", "Infections and infestations", "N", ["HERPES ZOSTER"]),
    ("Herpes zoster oticus", "Infections and infestations", "Y", ["HERPES ZOSTER", "SERIOUS INFECTION"]),
    ("Infusion related reaction", "Injury, poisoning and procedural complications", "N",
     ["INFUSION-RELATED REACTION"]),
    ("Anaphylactic reaction", "Immune system disorders", "Y", ["HYPERSENSITIVITY"]),
    ("Hypersensitivity", "Immune system disorders", "N", ["HYPERSENSITIVITY"]),
    ("Pulmonary tuberculosis", "Infections and infestations", "N", ["TUBERCULOSIS"]),
    ("Breast cancer", "Neoplasms benign, malignant and unspecified (incl cysts and polyps)", "N", ["MALIGNANCY"]),
    ("Pneumonia", "Infections and infestations", "Y", ["SERIOUS INFECTION"]),
    ("Pneumonia", "Infections and infestations", "N", []),          # not serious -> not AESI
    ("Nausea", "Gastrointestinal disorders", "Y", []),
])
def test_aesi_categories_R_AE(pt, soc, ser, cats):
    a = adae([{"AESTDTC": "2024-04-01", "AEDECOD": pt, "AEBODSYS": soc, "AESER": ser,
               "AESHOSP": "Y" if ser == "Y" else None}])
    assert a.select("AESIFL", "AESICAT").row(0) == (("Y", "; ".join(cats)) if cats else ("N", None))
