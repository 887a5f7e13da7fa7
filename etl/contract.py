"""The site export contract, version 1.1, as data (and the clinical rules' tables it feeds).

Single source of truth for ``../shared/spec/site-export-contract.md``: file names, columns with
their R/C/O status, controlled terms. The Great Expectations suites in ``expectations/``, the
cross-file rules, the loader and the synthetic generator all read these constants, so a change to
the contract is made here once.
"""
from __future__ import annotations

STUDYID = "jRCTs031230358"
REGISTRATION_DATE = "2023-09-22"   # no date before this unless the column is "history ok"
FIRST_ENROLLMENT_REGISTRY = "2023-12-26"
TARGET_ENROLLED = 10
STUDY_TITLE = ("Exploratory study for the usefulness of early introduction of anifrolumab "
               "in the first remission induction therapy for systemic lupus erythematosus")

DOMAINS = ("dm", "ds", "ie", "ex", "cm", "vs", "lb", "qs", "ae")
REQUIRED_DOMAINS = ("dm",)
EXPORT_META_FILE = "export.json"

# Column status: R = required, never empty; C = required column that may be empty; O = optional.
R, C, O = "R", "C", "O"

COLUMNS: dict[str, dict[str, str]] = {
    "dm": {"STUDYID": R, "SITEID": R, "USUBJID": R, "SUBJID": R, "RFICDTC": R, "RFSTDTC": C,
           "AGE": R, "AGEU": R, "SEX": R, "ARMCD": R, "ARM": R},
    "ds": {"STUDYID": R, "USUBJID": R, "DSSEQ": R, "DSCAT": R, "DSTERM": R, "DSDECOD": R,
           "DSSTDTC": R},
    "ie": {"STUDYID": R, "USUBJID": R, "IESEQ": R, "IETESTCD": R, "IETEST": R, "IECAT": R,
           "IEORRES": R, "IEDTC": R},
    "ex": {"STUDYID": R, "USUBJID": R, "EXSEQ": R, "EXTRT": R, "EXDOSE": R, "EXDOSU": R,
           "EXROUTE": R, "EXSTDTC": R, "EXENDTC": R, "VISIT": R, "VISITNUM": R},
    "cm": {"STUDYID": R, "USUBJID": R, "CMSEQ": R, "CMTRT": R, "CMDECOD": R, "CMCAT": R,
           "CMDOSE": R, "CMDOSU": R, "CMDOSFRQ": R, "CMROUTE": R, "CMSTDTC": R, "CMENDTC": C},
    "vs": {"STUDYID": R, "USUBJID": R, "VSSEQ": R, "VSTESTCD": R, "VSTEST": R, "VSORRES": R,
           "VSORRESU": R, "VSSTRESN": R, "VSSTRESU": R, "VISIT": R, "VISITNUM": R, "VSDTC": R},
    "lb": {"STUDYID": R, "USUBJID": R, "LBSEQ": R, "LBTESTCD": R, "LBTEST": R, "LBCAT": R,
           "LBORRES": C, "LBORRESU": C, "LBSTRESN": C, "LBSTRESU": C, "LBSTNRLO": C,
           "LBSTNRHI": C, "LBSTAT": C, "VISIT": R, "VISITNUM": R, "LBDTC": R},
    "qs": {"STUDYID": R, "USUBJID": R, "QSSEQ": R, "QSCAT": R, "QSTESTCD": R, "QSTEST": R,
           "QSORRES": R, "QSSTRESN": R, "VISIT": R, "VISITNUM": R, "QSDTC": R},
    "ae": {"STUDYID": R, "USUBJID": R, "AESEQ": R, "AETERM": R, "AEDECOD": R, "AEBODSYS": R,
           "AESTDTC": R, "AEENDTC": C, "AETOXGR": R, "AESER": R, "AESDTH": C, "AESLIFE": C,
           "AESHOSP": C, "AESDISAB": C, "AESCONG": C, "AESMIE": C, "AEREL": R, "AEACN": R,
           "AEOUT": R},
}

SEQ_COLUMN = {d: f"{d.upper()}SEQ" for d in DOMAINS if d != "dm"}

# Date columns: (partial_ok, history_ok). For cm.csv only CMSTDTC is "partial ok, history ok", and
# only for non-glucocorticoids (the suites and the cross-file rules apply that condition); CMENDTC
# is a full date, not before registration (contract cm.csv table).
DATE_COLUMNS: dict[str, dict[str, tuple[bool, bool]]] = {
    "dm": {"RFICDTC": (False, False), "RFSTDTC": (False, False)},
    "ds": {"DSSTDTC": (False, False)},
    "ie": {"IEDTC": (False, False)},
    "ex": {"EXSTDTC": (False, False), "EXENDTC": (False, False)},
    "cm": {"CMSTDTC": (True, True), "CMENDTC": (False, False)},
    "vs": {"VSDTC": (False, False)},
    "lb": {"LBDTC": (False, False)},
    "qs": {"QSDTC": (False, False)},
    "ae": {"AESTDTC": (True, False), "AEENDTC": (True, False)},
}

CONTROLLED_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "dm": {"AGEU": ("YEARS",), "SEX": ("M", "F"), "ARMCD": ("ANIFRO", "SCRNFAIL"),
           "ARM": ("Anifrolumab 300 mg IV Q4W", "Screen Failure")},
    "ds": {"DSCAT": ("PROTOCOL MILESTONE", "DISPOSITION EVENT"),
           "DSDECOD": ("INFORMED CONSENT OBTAINED", "ENROLLED", "COMPLETED", "SCREEN FAILURE",
                       "ADVERSE EVENT", "LACK OF EFFICACY", "WITHDRAWAL BY SUBJECT",
                       "PHYSICIAN DECISION", "LOST TO FOLLOW-UP", "PREGNANCY", "DEATH", "OTHER")},
    "ie": {"IETESTCD": tuple([f"IN{i:02d}" for i in range(1, 6)]
                             + [f"EX{i:02d}" for i in range(1, 14)]),
           "IECAT": ("INCLUSION", "EXCLUSION"), "IEORRES": ("Y", "N")},
    "ex": {"EXTRT": ("ANIFROLUMAB",), "EXDOSU": ("mg",), "EXROUTE": ("INTRAVENOUS",)},
    "cm": {"CMCAT": ("GLUCOCORTICOID", "IMMUNOSUPPRESSANT", "ANTIMALARIAL", "OTHER"),
           "CMDOSU": ("mg",), "CMDOSFRQ": ("QD", "BID", "TID", "QID"),
           "CMROUTE": ("ORAL", "INTRAVENOUS", "SUBCUTANEOUS", "TOPICAL")},
    "vs": {"VSTESTCD": ("WEIGHT", "HEIGHT", "TEMP"), "VSSTRESU": ("kg", "cm", "C")},
    "lb": {"LBCAT": ("IMMUNOLOGY", "HEMATOLOGY", "CHEMISTRY", "URINALYSIS", "EXPLORATORY"),
           "LBSTAT": ("NOT DONE",)},
    "qs": {"QSCAT": ("SLEDAI-2K", "PHYSICIAN GLOBAL ASSESSMENT", "LLDAS INVESTIGATOR")},
    "ae": {"AETOXGR": ("1", "2", "3", "4", "5"), "AESER": ("Y", "N"),
           **{c: ("Y", "N") for c in ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")},
           "AEREL": ("NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "RELATED"),
           "AEACN": ("DOSE NOT CHANGED", "DRUG INTERRUPTED", "DRUG WITHDRAWN", "NOT APPLICABLE",
                     "UNKNOWN"),
           "AEOUT": ("RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "NOT RECOVERED/NOT RESOLVED",
                     "RECOVERED/RESOLVED WITH SEQUELAE", "FATAL", "UNKNOWN")},
}
AE_SERIOUS_CRITERIA = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")

# Visit schedule (clinical-rules.md, R-DAY). VISIT -> (VISITNUM, week, nominal day, window days,
# infusion planned). SCREENING has no nominal day: its window is days -28..-1.
VISITS: dict[str, tuple[int, int | None, int | None, int | None, bool]] = {
    "SCREENING": (1, None, None, None, False),
    "WEEK 0": (2, 0, 1, 0, True),
    "WEEK 4": (3, 4, 29, 7, True),
    "WEEK 8": (4, 8, 57, 7, True),
    "WEEK 12": (5, 12, 85, 7, True),
    "WEEK 16": (6, 16, 113, 7, True),
    "WEEK 20": (7, 20, 141, 7, True),
    "WEEK 24": (8, 24, 169, 7, False),  # infusion optional (continuation)
}
VISITNUM_OF = {v: spec[0] for v, spec in VISITS.items()}

# Laboratory tests (contract, lb.csv): code -> (standard unit, category). Contract 1.1 added
# BILI, NEUT and LYM; an export of version 1 (without them) is still valid: no test is required.
LAB_TESTS: dict[str, tuple[str, str]] = {
    "C3": ("mg/dL", "IMMUNOLOGY"), "C4": ("mg/dL", "IMMUNOLOGY"), "CH50": ("U/mL", "IMMUNOLOGY"),
    "DDNAIGAB": ("IU/mL", "IMMUNOLOGY"), "WBC": ("10^3/uL", "HEMATOLOGY"),
    "PLAT": ("10^3/uL", "HEMATOLOGY"), "HGB": ("g/dL", "HEMATOLOGY"),
    "ALT": ("U/L", "CHEMISTRY"), "AST": ("U/L", "CHEMISTRY"), "CREAT": ("mg/dL", "CHEMISTRY"),
    "UPCR": ("g/gCr", "URINALYSIS"), "BILI": ("mg/dL", "CHEMISTRY"),
    "NEUT": ("10^3/uL", "HEMATOLOGY"), "LYM": ("10^3/uL", "HEMATOLOGY"),
    "IFNGS": ("", "EXPLORATORY"),
}
EXPLORATORY_TESTCD_PATTERN = r"^[A-Z0-9]{1,8}$"

# R-LAB: CTCAE v5.0 grades of laboratory abnormalities (the versions for a normal baseline), the
# one home of the grading table: etl/derive/labs.py grades with it and the Labs page shows it
# (through warehouse.queries). test -> (direction, scale, bounds of grades 1..4):
# - "H" (increase), scale "xULN": bounds are multiples of LBSTNRHI; grade g when the value is above
#   bound g times ULN (and at most bound g+1 times ULN): "> 3.0 - 5.0 x ULN" is grade 2.
# - "L" (decrease), scale "abs": bounds are values in the standard unit; grade 1's upper bound is
#   the LLN (None here); grade g when the value is below bound g (and at least bound g+1):
#   "< 3.0 - 2.0" is grade 2. None as the last bound: the grade does not exist (HGB has no grade 4).
CTCAE_GRADES: dict[str, tuple[str, str, tuple[float | None, ...]]] = {
    "ALT": ("H", "xULN", (1.0, 3.0, 5.0, 20.0)),
    "AST": ("H", "xULN", (1.0, 3.0, 5.0, 20.0)),
    "BILI": ("H", "xULN", (1.0, 1.5, 3.0, 10.0)),
    "CREAT": ("H", "xULN", (1.0, 1.5, 3.0, 6.0)),
    "WBC": ("L", "abs", (None, 3.0, 2.0, 1.0)),
    "NEUT": ("L", "abs", (None, 1.5, 1.0, 0.5)),
    "LYM": ("L", "abs", (None, 0.8, 0.5, 0.2)),
    "PLAT": ("L", "abs", (None, 75.0, 50.0, 25.0)),
    "HGB": ("L", "abs", (None, 10.0, 8.0, None)),
}
R2A1HI_TESTS = ("ALT", "AST", "BILI", "CREAT")          # R-LAB: ratio to the ULN
# R-LAB potential Hy's law: on one date ALT or AST > 3 x ULN and BILI > 2 x ULN (post-baseline);
# the same multiples are the eDISH reference lines.
HY_LAW_AMINOTRANSFERASE_X_ULN = 3.0
HY_LAW_BILIRUBIN_X_ULN = 2.0

# Vital signs: code -> (standard unit, low, high).
VITAL_SIGNS: dict[str, tuple[str, float, float]] = {
    "WEIGHT": ("kg", 25, 250), "HEIGHT": ("cm", 100, 230), "TEMP": ("C", 34, 43),
}

# SLEDAI-2K descriptors (clinical-rules.md, R-SLEDAI): code -> (name, weight, organ group).
SLEDAI_ITEMS: dict[str, tuple[str, int, str]] = {
    "SEIZURE": ("Seizure", 8, "CNS"), "PSYCHOS": ("Psychosis", 8, "CNS"),
    "ORGBRAIN": ("Organic brain syndrome", 8, "CNS"), "VISUAL": ("Visual disturbance", 8, "CNS"),
    "CRANNERV": ("Cranial nerve disorder", 8, "CNS"), "LUPHEAD": ("Lupus headache", 8, "CNS"),
    "CVA": ("Cerebrovascular accident", 8, "CNS"), "VASCUL": ("Vasculitis", 8, "vasculitis"),
    "ARTHRIT": ("Arthritis", 4, "musculoskeletal"), "MYOSIT": ("Myositis", 4, "musculoskeletal"),
    "UCASTS": ("Urinary casts", 4, "renal"), "HEMATUR": ("Hematuria", 4, "renal"),
    "PROTURIA": ("Proteinuria", 4, "renal"), "PYURIA": ("Pyuria", 4, "renal"),
    "RASH": ("Rash", 2, "mucocutaneous"), "ALOPECIA": ("Alopecia", 2, "mucocutaneous"),
    "MUCULCER": ("Mucosal ulcers", 2, "mucocutaneous"),
    "PLEURISY": ("Pleurisy", 2, "cardiorespiratory"),
    "PERICARD": ("Pericarditis", 2, "cardiorespiratory"),
    "LOWCOMP": ("Low complement", 2, "immunological"),
    "INCDNA": ("Increased DNA binding", 2, "immunological"),
    "FEVER": ("Fever", 1, "constitutional (fever)"),
    "THROMBO": ("Thrombocytopenia", 1, "hematological"),
    "LEUKOPEN": ("Leukopenia", 1, "hematological"),
}
SLEDAI_TOTAL = "SLEDAITS"
LLDAS_INVESTIGATOR_ITEMS = ("NEWACT", "HEMOLYT", "GIACT", "ISTOL")
PGA_TESTCD = "PGA"

# The clinical rules' numbers (clinical-rules.md), one home each: derivations, protocol flags
# and (through warehouse.study) the pages read them from here.
ENDPOINT_WEEKS = (12, 24)           # R-ENDPOINT: primary at week 12, secondary at weeks 12 and 24
PRIMARY_WEEK = 12
PSL_TARGET_MG = 7.5                 # R-LLDAS C4 (<= 7.5 mg/day) and R-PROTOCOL's week-12 target
DORIS_PSL_MAX_MG = 5.0              # R-DORIS: <= 5 mg/day
PULSE_MG = 250.0                    # R-PSL: a pulse day has IV glucocorticoid >= 250 mg PSL-eq
CEILING_MG_PER_KG = 0.6             # R-PROTOCOL / registry: initial PSL <= 0.6 mg/kg/day
CEILING_DAYS = 14                   # R-PROTOCOL: ... on the first 14 days of PSL
MAX_DAYS_PSL_TO_INFUSION = 14       # R-PROTOCOL: first infusion within 14 days of PSL initiation
PROTOCOL_DOSE_MG = 300.0            # R-PROTOCOL: anifrolumab 300 mg IV every 4 weeks
AGE_RANGE = (18, 79)                # R-PROTOCOL / registry: 18 to 79 years at consent

# Prednisolone-equivalent factors (R-PSL): mg prednisolone per mg of the drug.
PSL_FACTORS: dict[str, float] = {
    "PREDNISOLONE": 1.0, "PREDNISONE": 1.0, "METHYLPREDNISOLONE": 1.25, "TRIAMCINOLONE": 1.25,
    "HYDROCORTISONE": 0.25, "CORTISONE": 0.2, "DEXAMETHASONE": 6.67, "BETAMETHASONE": 6.67,
}
DOSES_PER_DAY = {"QD": 1, "BID": 2, "TID": 3, "QID": 4}

# Eligibility criteria texts, in the registry record's order (IN01-IN05, EX01-EX13).
CRITERIA: dict[str, str] = {
    "IN01": "Diagnosed with SLE (2019 EULAR/ACR or 1997 ACR classification criteria)",
    "IN02": "No prior systemic immunosuppressive/immunomodulatory therapy for SLE; within 6 months of diagnosis",
    "IN03": "SLEDAI-2K score of 4 or higher",
    "IN04": "Age 18 to 79 years at consent",
    "IN05": "Written informed consent",
    "EX01": "Initial steroid above prednisolone-equivalent 0.6 mg/kg/day",
    "EX02": "Hepatitis virus carrier or active HBV/HCV infection",
    "EX03": "History of HBV/HCV infection",
    "EX04": "Severe liver disease (AST or ALT >= 100 U/L)",
    "EX05": "Severe kidney disease (serum creatinine >= 2 mg/dL)",
    "EX06": "Active tuberculosis",
    "EX07": "Current or history of malignant tumour",
    "EX08": "Suspected active infection",
    "EX09": "Pregnant or possibly pregnant",
    "EX10": "Lactating",
    "EX11": "Coexisting collagen disease (other than Sjogren's syndrome or APS)",
    "EX12": "Within 30 days of a live vaccine",
    "EX13": "Judged unsuitable for participation",
}

# What a new delivery changed (issue 13; etl/changes.py): each domain's natural key,
# the columns that identify one record across a site's deliveries (the --SEQ numbers are the
# site's row numbers and may be renumbered, so they are neither key nor compared), and the date
# column that says when the record happened: a record dated on or before the previous delivery's
# data cut that was changed or removed is a retroactive change (a data-integrity warning). The AE
# key is the one the new-AE flags match on (USUBJID + AEDECOD + AESTDTC, queries.ae_changes).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "dm": ("USUBJID",),
    "ds": ("USUBJID", "DSCAT", "DSDECOD"),
    "ie": ("USUBJID", "IETESTCD"),
    "ex": ("USUBJID", "EXTRT", "EXSTDTC"),
    "cm": ("USUBJID", "CMDECOD", "CMSTDTC"),
    "vs": ("USUBJID", "VSTESTCD", "VSDTC"),
    "lb": ("USUBJID", "LBTESTCD", "LBDTC"),
    "qs": ("USUBJID", "QSTESTCD", "QSDTC"),
    "ae": ("USUBJID", "AEDECOD", "AESTDTC"),
}
RECORD_DATE: dict[str, str] = {
    "dm": "RFICDTC", "ds": "DSSTDTC", "ie": "IEDTC", "ex": "EXSTDTC", "cm": "CMSTDTC",
    "vs": "VSDTC", "lb": "LBDTC", "qs": "QSDTC", "ae": "AESTDTC",
}
