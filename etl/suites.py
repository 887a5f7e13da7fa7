"""Build the Great Expectations suites (``expectations/<domain>.json``) from ``etl.contract``.

``python -m etl.suites`` writes them; ``tests/test_validate.py`` asserts the committed JSON equals
what this module builds, so suites and contract never drift. Every expectation carries
``meta.notes`` (the contract rule it enforces, for a reviewer reading the contract beside the
suite) and ``meta.rule`` (the refusal text the validator prints after ``<column>=<value>:``). A date
expectation also carries ``meta.dtc_partial_ok``: the validator asks ``etl.dates.parse_dtc`` (the
one parser) for the reason first and falls back to ``meta.rule`` for a well-formed date that this
column does not allow (partial, or without the time an infusion needs).

Per-column checks only (not-null, in-set, regex, between; conditional ones via ``row_condition``).
What spans rows or files is ``etl.rules``. In-set, regex and between skip nulls, so every R column
also has an explicit not-null expectation. Numbers arrive as text: a numeric check runs on a
helper column ``<COLUMN>__num`` (the text cast to float by the validator, null when not a number)
beside a regex that refuses the text that is not a number.

The JSON is built as plain dicts in GX 1.x's own serialised form (``ExpectationSuite.to_json_dict``)
so this module does not import great_expectations; ``tests/test_validate.py`` round-trips every
suite through ``gx.ExpectationSuite(**json)``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from etl.contract import (COLUMNS, CONTROLLED_TERMS, DATE_COLUMNS, DOMAINS, EXPLORATORY_TESTCD_PATTERN,
                          LAB_TESTS, LLDAS_INVESTIGATOR_ITEMS, PGA_TESTCD, PSL_FACTORS, R,
                          SEQ_COLUMN, SLEDAI_ITEMS, SLEDAI_TOTAL, STUDYID, VISITNUM_OF, VISITS,
                          VITAL_SIGNS)
from etl.dates import ISO_DATE_OR_DATETIME_REGEX, ISO_PARTIAL_OK_REGEX

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"
ROW_COLUMN = "_ROW"          # file row number (header = 1) added to every batch
NUM_SUFFIX = "__num"         # helper numeric column: EXDOSE -> EXDOSE__num
NUMBER_REGEX = r"^-?\d+(\.\d+)?$"
DATETIME_REGEX = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$"
CONTRACT = "site-export-contract.md"


def num(column: str) -> str:
    return column + NUM_SUFFIX


def _exp(type_: str, column: str, notes: str, rule: str, condition: dict | None = None,
         extra_meta: dict | None = None, **kwargs) -> dict:
    kw: dict = {"column": column}
    if condition is not None:
        kw["row_condition"] = condition
    kw.update(kwargs)
    meta = {"notes": notes, "rule": rule, **(extra_meta or {})}
    return {"type": type_, "kwargs": kw, "meta": meta, "severity": "critical"}


def not_null(column, notes, rule="required value missing (column is R: never empty)", **k):
    return _exp("expect_column_values_to_not_be_null", column, notes, rule, **k)


def in_set(column, values, notes, rule=None, **k):
    rule = rule or "not one of the allowed values: " + ", ".join(values)
    return _exp("expect_column_values_to_be_in_set", column, notes, rule, value_set=list(values), **k)


def regex(column, pattern, notes, rule, **k):
    return _exp("expect_column_values_to_match_regex", column, notes, rule, regex=pattern, **k)


def between(column, lo, hi, notes, rule, strict_min=False, **k):
    kw: dict = {}
    if lo is not None:
        kw["min_value"] = float(lo)
    if hi is not None:
        kw["max_value"] = float(hi)
    if strict_min:
        kw["strict_min"] = True
    return _exp("expect_column_values_to_be_between", num(column), notes, rule, **kw, **k)


# Row conditions in GX 1.x's own JSON form (great_expectations.expectations.row_conditions:
# ``Column("CMCAT") == "GLUCOCORTICOID"``), not the pandas query strings deprecated for GX 2.0.
def eq(column: str, value: str) -> dict:
    return {"column": {"name": column}, "operator": "==", "parameter": value, "type": "comparison"}


def ne(column: str, value: str) -> dict:
    return {"column": {"name": column}, "operator": "!=", "parameter": value, "type": "comparison"}


def is_in(column: str, values: list[str]) -> dict:
    return {"column": {"name": column}, "operator": "IN", "parameter": list(values),
            "type": "comparison"}


def and_(*conditions: dict) -> dict:
    return {"conditions": list(conditions), "type": "and"}


NUMERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "ex": ("EXDOSE",), "cm": ("CMDOSE",), "vs": ("VSSTRESN",),
    "lb": ("LBSTRESN", "LBSTNRLO", "LBSTNRHI"), "qs": ("QSORRES", "QSSTRESN"),
}


def build_suite(domain: str) -> dict:
    """The suite of one domain, as GX 1.x's JSON dict."""
    f = f"{domain}.csv"
    out: list[dict] = []
    cols = COLUMNS[domain]
    for col, status in cols.items():
        if status == R:
            out.append(not_null(col, f"{CONTRACT} {f}: {col} is R (required, never empty)"))
    out.append(in_set("STUDYID", [STUDYID], f"{CONTRACT} Identifiers: STUDYID equals the registry ID "
                      "on every row of every file", rule=f"STUDYID must be {STUDYID}"))
    out.append(regex("USUBJID", rf"^{STUDYID}-\d{{2}}-\d{{3}}$",
                     f"{CONTRACT} Identifiers: USUBJID = STUDYID-SITEID-SUBJID",
                     "USUBJID must be STUDYID-SITEID-SUBJID, e.g. jRCTs031230358-01-007"))
    if domain in SEQ_COLUMN:
        seq = SEQ_COLUMN[domain]
        out.append(regex(seq, r"^[1-9]\d*$", f"{CONTRACT} Identifiers: --SEQ is a positive integer",
                         "not a positive integer"))
    for col, values in CONTROLLED_TERMS.get(domain, {}).items():
        if (domain, col) == ("vs", "VSSTRESU"):
            continue  # checked per test below (the unit must be that test's unit)
        out.append(in_set(col, values, f"{CONTRACT} {f}: controlled terms of {col}"))
    for col, (partial_ok, _history_ok) in DATE_COLUMNS[domain].items():
        notes = f"{CONTRACT} Identifiers and dates: {col} is ISO 8601" + (
            " (partial ok)" if partial_ok else " (full date)")
        meta = {"dtc_partial_ok": partial_ok}
        if domain == "ex":
            out.append(regex(col, DATETIME_REGEX, f"{CONTRACT} ex.csv: {col} is a datetime",
                             "not an ISO 8601 datetime YYYY-MM-DDThh:mm[:ss] (infusion times are required)",
                             extra_meta=meta))
        elif (domain, col) == ("cm", "CMSTDTC"):
            gc = eq("CMCAT", "GLUCOCORTICOID")
            out.append(regex(col, ISO_PARTIAL_OK_REGEX, notes + " for non-glucocorticoids",
                             "not an ISO 8601 date", condition=ne("CMCAT", "GLUCOCORTICOID"),
                             extra_meta=meta))
            out.append(regex(col, ISO_DATE_OR_DATETIME_REGEX,
                             f"{CONTRACT} cm.csv: glucocorticoid rows are full dates",
                             "glucocorticoid rows need full dates (YYYY-MM-DD): partial date not allowed",
                             condition=gc, extra_meta=meta))
        else:
            out.append(regex(col, ISO_PARTIAL_OK_REGEX if partial_ok else ISO_DATE_OR_DATETIME_REGEX,
                             notes, "not an ISO 8601 date" if partial_ok else
                             "partial date not allowed in this column (full ISO 8601 date required)",
                             extra_meta=meta))
    if "VISIT" in cols:
        out.append(in_set("VISIT", list(VISITS), "clinical-rules.md R-DAY: the planned visits"))
        out.append(in_set("VISITNUM", [str(n) for n in VISITNUM_OF.values()],
                          "clinical-rules.md R-DAY: the planned visit numbers"))
    for col in NUMERIC_COLUMNS.get(domain, ()):
        if (domain, col) == ("qs", "QSORRES"):
            continue  # QSORRES is text except for PGA and the total (below)
        out.append(regex(col, NUMBER_REGEX, f"{CONTRACT} {f}: {col} is numeric", "not a number"))
    out.extend(_domain_specific(domain))
    return {"name": domain, "id": None, "expectations": out, "meta": {
        "notes": f"{CONTRACT} (version 1.1), {f}: per-column rules. Generated by `python -m etl.suites` "
                 "from etl/contract.py; do not edit by hand."}, "notes": None}


def _domain_specific(domain: str) -> list[dict]:
    out: list[dict] = []
    if domain == "dm":
        out += [
            regex("SITEID", r"^\d{2}$", f"{CONTRACT} Identifiers: SITEID two digits",
                  "SITEID must be two digits, e.g. 01"),
            regex("SUBJID", r"^\d{3}$", f"{CONTRACT} Identifiers: SUBJID three digits",
                  "SUBJID must be three digits, e.g. 007"),
            regex("AGE", r"^\d+$", f"{CONTRACT} dm.csv: AGE integer years at consent",
                  "AGE must be an integer (years)"),
            in_set("ARM", ["Anifrolumab 300 mg IV Q4W"], f"{CONTRACT} dm.csv: ARM agrees with ARMCD",
                   rule="ARM does not agree with ARMCD=ANIFRO (expected Anifrolumab 300 mg IV Q4W)",
                   condition=eq("ARMCD", "ANIFRO")),
            in_set("ARM", ["Screen Failure"], f"{CONTRACT} dm.csv: ARM agrees with ARMCD",
                   rule="ARM does not agree with ARMCD=SCRNFAIL (expected Screen Failure)",
                   condition=eq("ARMCD", "SCRNFAIL")),
        ]
    elif domain == "ds":
        milestones = ["INFORMED CONSENT OBTAINED", "ENROLLED"]
        events = [t for t in CONTROLLED_TERMS["ds"]["DSDECOD"] if t not in milestones]
        out += [
            in_set("DSDECOD", milestones, f"{CONTRACT} ds.csv: milestones", rule="not a protocol "
                   "milestone (INFORMED CONSENT OBTAINED, ENROLLED)",
                   condition=eq("DSCAT", "PROTOCOL MILESTONE")),
            in_set("DSDECOD", events, f"{CONTRACT} ds.csv: disposition events",
                   rule="not a disposition event (" + ", ".join(events) + ")",
                   condition=eq("DSCAT", "DISPOSITION EVENT")),
        ]
    elif domain == "ie":
        inc = [c for c in CONTROLLED_TERMS["ie"]["IETESTCD"] if c.startswith("IN")]
        exc = [c for c in CONTROLLED_TERMS["ie"]["IETESTCD"] if c.startswith("EX")]
        out += [
            in_set("IECAT", ["INCLUSION"], f"{CONTRACT} ie.csv: IECAT agrees with the code's prefix",
                   rule="IECAT must be INCLUSION for an IN code", condition=is_in("IETESTCD", inc)),
            in_set("IECAT", ["EXCLUSION"], f"{CONTRACT} ie.csv: IECAT agrees with the code's prefix",
                   rule="IECAT must be EXCLUSION for an EX code", condition=is_in("IETESTCD", exc)),
            in_set("IEORRES", ["N"], f"{CONTRACT} ie.csv: IEORRES N for an inclusion not met",
                   rule="IEORRES must be N (inclusion criterion not met)",
                   condition=is_in("IETESTCD", inc)),
            in_set("IEORRES", ["Y"], f"{CONTRACT} ie.csv: IEORRES Y for an exclusion met",
                   rule="IEORRES must be Y (exclusion criterion met)", condition=is_in("IETESTCD", exc)),
        ]
    elif domain == "ex":
        out.append(between("EXDOSE", 0, 1000, f"{CONTRACT} ex.csv: 0 < EXDOSE <= 1000",
                           "EXDOSE must be > 0 and <= 1000 mg", strict_min=True))
    elif domain == "cm":
        out += [
            between("CMDOSE", 0, None, f"{CONTRACT} cm.csv: CMDOSE > 0", "CMDOSE must be > 0",
                    strict_min=True),
            regex("CMDECOD", r"^[^a-z]+$", f"{CONTRACT} cm.csv: CMDECOD standardised, upper case",
                  "CMDECOD must be upper case"),
            in_set("CMDECOD", list(PSL_FACTORS), "clinical-rules.md R-PSL: another glucocorticoid "
                   "is refused until a factor is added",
                   rule="unknown glucocorticoid: no prednisolone-equivalent factor in "
                        "clinical-rules.md R-PSL",
                   condition=eq("CMCAT", "GLUCOCORTICOID")),
        ]
    elif domain == "vs":
        for code, (unit, lo, hi) in VITAL_SIGNS.items():
            cond = eq("VSTESTCD", code)
            out.append(in_set("VSSTRESU", [unit], f"{CONTRACT} vs.csv: {code} in {unit}",
                              rule=f"VSSTRESU must be {unit} for {code}", condition=cond))
            out.append(between("VSSTRESN", lo, hi, f"{CONTRACT} vs.csv: {code} {lo}-{hi} {unit}",
                               f"{code} must be between {lo} and {hi} {unit}", condition=cond))
    elif domain == "lb":
        out.append(regex("LBTESTCD", EXPLORATORY_TESTCD_PATTERN, f"{CONTRACT} lb.csv: test codes",
                         "not a lab test code (up to 8 upper-case letters and digits)"))
        for code, (unit, cat) in LAB_TESTS.items():
            cond = eq("LBTESTCD", code)
            if unit:
                out.append(in_set("LBSTRESU", [unit], f"{CONTRACT} lb.csv: {code} in {unit}",
                                  rule=f"LBSTRESU must be {unit} for {code}", condition=cond))
            else:
                out.append(_exp("expect_column_values_to_be_null", "LBSTRESU",
                                f"{CONTRACT} lb.csv: {code} is unitless",
                                f"LBSTRESU must be empty for {code} (unitless)", condition=cond))
            out.append(in_set("LBCAT", [cat], f"{CONTRACT} lb.csv: {code} is {cat}",
                              rule=f"LBCAT must be {cat} for {code}", condition=cond))
    elif domain == "qs":
        sledai = eq("QSCAT", "SLEDAI-2K")
        item = and_(sledai, ne("QSTESTCD", SLEDAI_TOTAL))
        pga = eq("QSCAT", "PHYSICIAN GLOBAL ASSESSMENT")
        lldas = eq("QSCAT", "LLDAS INVESTIGATOR")
        out += [
            in_set("QSTESTCD", list(SLEDAI_ITEMS) + [SLEDAI_TOTAL], "clinical-rules.md R-SLEDAI: codes",
                   rule="not a SLEDAI-2K code (clinical-rules.md R-SLEDAI)", condition=sledai),
            in_set("QSTESTCD", [PGA_TESTCD], "clinical-rules.md R-PGA: QSTESTCD = PGA",
                   rule="QSTESTCD must be PGA (clinical-rules.md R-PGA)", condition=pga),
            in_set("QSTESTCD", list(LLDAS_INVESTIGATOR_ITEMS), "clinical-rules.md R-LLDAS: items",
                   rule="not an LLDAS investigator item (clinical-rules.md R-LLDAS)", condition=lldas),
            in_set("QSORRES", ["PRESENT", "ABSENT"], f"{CONTRACT} qs.csv: SLEDAI-2K items",
                   rule="a SLEDAI-2K item is PRESENT or ABSENT", condition=item),
            regex("QSORRES", r"^\d+$", f"{CONTRACT} qs.csv: SLEDAI-2K total is the score",
                  "the SLEDAI-2K total must be an integer", condition=eq("QSTESTCD", SLEDAI_TOTAL)),
            regex("QSORRES", NUMBER_REGEX, f"{CONTRACT} qs.csv: PGA 0-3", "PGA must be a number 0-3",
                  condition=pga),
            between("QSORRES", 0, 3, f"{CONTRACT} qs.csv: PGA 0-3", "PGA must be between 0 and 3",
                    condition=pga),
            between("QSSTRESN", 0, 3, f"{CONTRACT} qs.csv: PGA 0.0-3.0",
                    "PGA must be between 0.0 and 3.0", condition=pga),
            in_set("QSORRES", ["Y", "N"], f"{CONTRACT} qs.csv: LLDAS INVESTIGATOR Y/N",
                   rule="an LLDAS investigator item is Y or N", condition=lldas),
        ]
    return out


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for domain in DOMAINS:
        path = directory / f"{domain}.json"
        path.write_text(json.dumps(build_suite(domain), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_suites(Path(sys.argv[1]) if len(sys.argv) > 1 else EXPECTATIONS_DIR):
        print(p)
