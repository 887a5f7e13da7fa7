"""Clinical vocabulary of the synthetic trial that the contract does not fix.

Codes, terms and the visit schedule come from ``etl/contract.py``; what lives here is the
generator's own choice of plausible content: adverse events with anifrolumab's known profile
(MedDRA preferred term and system organ class spelled as MedDRA does), medications with their
Japanese verbatim names, laboratory reference ranges and vital-sign names.
"""
from __future__ import annotations

# Adverse events: (MedDRA PT, MedDRA SOC, English verbatim, Japanese verbatim, relative weight,
# relatedness to anifrolumab). Infections dominate, as in the pooled MUSE/TULIP safety analysis.
AE_CATALOG: tuple[tuple[str, str, str, str, float, str], ...] = (
    ("Upper respiratory tract infection", "Infections and infestations",
     "Upper respiratory infection", "上気道炎", 0.24, "POSSIBLY RELATED"),
    ("Nasopharyngitis", "Infections and infestations", "Common cold", "鼻咽頭炎", 0.16,
     "POSSIBLY RELATED"),
    ("Bronchitis", "Infections and infestations", "Bronchitis", "気管支炎", 0.10,
     "POSSIBLY RELATED"),
    ("Herpes zoster", "Infections and infestations", "Shingles", "帯状疱疹", 0.08, "RELATED"),
    ("Infusion related reaction", "Injury, poisoning and procedural complications",
     "Infusion reaction", "注入に伴う反応", 0.05, "RELATED"),
    ("Urinary tract infection", "Infections and infestations", "Cystitis", "膀胱炎", 0.07,
     "UNLIKELY RELATED"),
    ("Headache", "Nervous system disorders", "Headache", "頭痛", 0.10, "UNLIKELY RELATED"),
    ("Insomnia", "Psychiatric disorders", "Insomnia", "不眠症", 0.10, "NOT RELATED"),
    ("Stomatitis", "Gastrointestinal disorders", "Mouth sores", "口内炎", 0.10, "NOT RELATED"),
)
AE_INDEX = {row[0]: i for i, row in enumerate(AE_CATALOG)}

# Medications: CMDECOD -> (CMCAT, English verbatim, Japanese verbatim).
MEDICATIONS: dict[str, tuple[str, str, str]] = {
    "PREDNISOLONE": ("GLUCOCORTICOID", "Prednisolone", "プレドニゾロン"),
    "METHYLPREDNISOLONE": ("GLUCOCORTICOID", "Methylprednisolone sodium succinate",
                           "メチルプレドニゾロン"),
    "TACROLIMUS": ("IMMUNOSUPPRESSANT", "Tacrolimus", "タクロリムス"),
    "MYCOPHENOLATE MOFETIL": ("IMMUNOSUPPRESSANT", "Mycophenolate mofetil",
                              "ミコフェノール酸モフェチル"),
    "HYDROXYCHLOROQUINE": ("ANTIMALARIAL", "Hydroxychloroquine", "ヒドロキシクロロキン"),
    "FAMOTIDINE": ("OTHER", "Famotidine", "ファモチジン"),
    # Only in trials with the rule branches (synth/branches.py).
    "DEXAMETHASONE": ("GLUCOCORTICOID", "Dexamethasone", "デキサメタゾン"),
    "BETAMETHASONE": ("GLUCOCORTICOID", "Betamethasone valerate ointment", "ベタメタゾン軟膏"),
}

# Laboratory tests: code -> (LBTEST, decimals, reference low, reference high); None = no range.
# Ranges are those of a typical Japanese hospital laboratory (female ranges where they differ).
LAB_DETAILS: dict[str, tuple[str, int, float | None, float | None]] = {
    "C3": ("Complement C3", 0, 73.0, 138.0),
    "C4": ("Complement C4", 1, 11.0, 31.0),
    "CH50": ("Total Hemolytic Complement (CH50)", 1, 30.0, 45.0),
    "DDNAIGAB": ("Double-Stranded DNA IgG Antibody", 1, 0.0, 12.0),
    "WBC": ("Leukocytes", 2, 3.3, 8.6),
    "PLAT": ("Platelets", 0, 158.0, 348.0),
    "HGB": ("Hemoglobin", 1, 11.6, 14.8),
    "ALT": ("Alanine Aminotransferase", 0, 7.0, 23.0),
    "AST": ("Aspartate Aminotransferase", 0, 13.0, 30.0),
    "CREAT": ("Creatinine", 2, 0.46, 0.79),
    "UPCR": ("Protein/Creatinine Ratio", 2, 0.0, 0.15),
    "IFNGS": ("Interferon Gene Signature Score", 2, None, None),
    "BILI": ("Bilirubin", 1, 0.4, 1.5),
    "NEUT": ("Neutrophils", 2, 1.80, 7.00),
    "LYM": ("Lymphocytes", 2, 1.00, 3.50),
}
# Laboratory tests drawn at every assessment visit, in the order they are listed per visit.
ROUTINE_LABS = ("C3", "C4", "CH50", "DDNAIGAB", "WBC", "PLAT", "HGB", "ALT", "AST", "CREAT",
                "UPCR")
# Contract 1.1's tests, also drawn at every assessment visit. They are listed after all of a
# subject's contract-1 rows (LBSEQ continues from there), so adding them renumbers nothing.
CONTRACT_1_1_LABS = ("BILI", "NEUT", "LYM")
IFNGS_VISITS = ("WEEK 0", "WEEK 12", "WEEK 24")

# Vital signs: code -> (VSTEST, VSORRESU, decimals).
VS_DETAILS: dict[str, tuple[str, str, int]] = {
    "WEIGHT": ("Weight", "kg", 1),
    "HEIGHT": ("Height", "cm", 1),
    "TEMP": ("Temperature", "C", 1),
}

# Disposition verbatim terms.
DS_TERMS = {
    "INFORMED CONSENT OBTAINED": "INFORMED CONSENT OBTAINED",
    "ENROLLED": "ENROLLED",
    "COMPLETED": "COMPLETED 24-WEEK TREATMENT PERIOD",
    "SCREEN FAILURE": "DID NOT MEET ELIGIBILITY CRITERIA",
    "WITHDRAWAL BY SUBJECT": "同意撤回",
}
