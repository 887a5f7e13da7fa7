"""Tiny hand-written sdtm inputs for the derivation tests (etl/derive).

Rows are given as dicts of the columns that matter; every other contract column is filled with a
valid default, then the frame goes through the real ``etl.sdtm.to_sdtm`` so the tests see the
same types the loader writes.
"""
from __future__ import annotations

import datetime as dt

import polars as pl

from etl.contract import COLUMNS, DOMAINS, SLEDAI_ITEMS, STUDYID
from etl.sdtm import to_sdtm

D = dt.date


def usubjid(subjid: str, site: str = "01") -> str:
    return f"{STUDYID}-{site}-{subjid}"


DEFAULTS = {
    "dm": {"AGE": "40", "AGEU": "YEARS", "SEX": "F", "ARMCD": "ANIFRO",
           "ARM": "Anifrolumab 300 mg IV Q4W", "RFICDTC": "2024-01-01"},
    "ds": {"DSCAT": "PROTOCOL MILESTONE", "DSTERM": "x"},
    "ie": {"IETEST": "x", "IEDTC": "2024-01-01"},
    "ex": {"EXTRT": "ANIFROLUMAB", "EXDOSE": "300", "EXDOSU": "mg", "EXROUTE": "INTRAVENOUS"},
    "cm": {"CMCAT": "GLUCOCORTICOID", "CMDOSU": "mg", "CMDOSFRQ": "QD", "CMROUTE": "ORAL"},
    "vs": {"VSTESTCD": "WEIGHT", "VSTEST": "Weight", "VSORRESU": "kg", "VSSTRESU": "kg",
           "VISIT": "SCREENING"},
    "lb": {"LBCAT": "IMMUNOLOGY"},
    "qs": {},
    "ae": {"AETERM": "x", "AETOXGR": "1", "AESER": "N", "AEREL": "NOT RELATED",
           "AEACN": "NOT APPLICABLE", "AEOUT": "RECOVERED/RESOLVED", "AEBODSYS": "General disorders"},
}


def raw(domain: str, rows: list[dict]) -> pl.DataFrame:
    """All-string raw frame with every contract column; SEQ numbered per subject when absent."""
    cols = list(COLUMNS[domain])
    out = []
    seq: dict[str, int] = {}
    for r in rows:
        r = {**DEFAULTS[domain], **r}
        r.setdefault("STUDYID", STUDYID)
        if "USUBJID" not in r:
            r["USUBJID"] = usubjid(r.get("SUBJID", "001"))
        if domain == "dm":
            r.setdefault("SUBJID", r["USUBJID"][-3:])
            r.setdefault("SITEID", r["USUBJID"].split("-")[1])
        else:
            key = f"{domain.upper()}SEQ"
            seq[r["USUBJID"]] = seq.get(r["USUBJID"], 0) + 1
            r.setdefault(key, str(seq[r["USUBJID"]]))
        if domain == "vs":
            r.setdefault("VSORRES", r.get("VSSTRESN"))
        if domain in ("ex", "vs", "lb", "qs") and "VISIT" in r:
            from etl.contract import VISITNUM_OF
            r.setdefault("VISITNUM", str(VISITNUM_OF[r["VISIT"]]))
        if domain == "lb":
            r.setdefault("LBTEST", r["LBTESTCD"])
            r.setdefault("LBORRES", r.get("LBSTRESN"))
        out.append({c: (None if r.get(c) is None else str(r[c])) for c in cols})
    return pl.DataFrame(out, schema={c: pl.String for c in cols})


def sdtm(domain: str, rows: list[dict] | None = None) -> pl.DataFrame:
    """A typed sdtm frame, exactly as etl.sdtm.to_sdtm gives it."""
    return to_sdtm(domain, raw(domain, rows or []))


def sledai_rows(subjid: str, visit: str, date: str, present: list[str]) -> list[dict]:
    """A whole SLEDAI-2K assessment: the 24 items (PRESENT for ``present``) and the total."""
    rows = []
    for code, (name, weight, _) in SLEDAI_ITEMS.items():
        p = code in present
        rows.append({"USUBJID": usubjid(subjid), "QSCAT": "SLEDAI-2K", "QSTESTCD": code, "QSTEST": name,
                     "QSORRES": "PRESENT" if p else "ABSENT", "QSSTRESN": weight if p else 0,
                     "VISIT": visit, "QSDTC": date})
    total = sum(SLEDAI_ITEMS[c][1] for c in present)
    rows.append({"USUBJID": usubjid(subjid), "QSCAT": "SLEDAI-2K", "QSTESTCD": "SLEDAITS",
                 "QSTEST": "Total score", "QSORRES": total, "QSSTRESN": total, "VISIT": visit, "QSDTC": date})
    return rows


def pga_row(subjid: str, visit: str, date: str, pga: float) -> dict:
    return {"USUBJID": usubjid(subjid), "QSCAT": "PHYSICIAN GLOBAL ASSESSMENT", "QSTESTCD": "PGA",
            "QSTEST": "Physician global assessment", "QSORRES": pga, "QSSTRESN": pga,
            "VISIT": visit, "QSDTC": date}


def lldas_items(subjid: str, visit: str, date: str, newact="N", hemolyt="N", giact="N",
                istol="Y") -> list[dict]:
    vals = {"NEWACT": newact, "HEMOLYT": hemolyt, "GIACT": giact, "ISTOL": istol}
    return [{"USUBJID": usubjid(subjid), "QSCAT": "LLDAS INVESTIGATOR", "QSTESTCD": k, "QSTEST": k,
             "QSORRES": v, "QSSTRESN": 1 if v == "Y" else 0, "VISIT": visit, "QSDTC": date}
            for k, v in vals.items() if v is not None]


def assessment(subjid, visit, date, present, pga, **items) -> list[dict]:
    """SLEDAI-2K + PGA + LLDAS investigator items of one visit."""
    rows = sledai_rows(subjid, visit, date, present)
    if pga is not None:
        rows.append(pga_row(subjid, visit, date, pga))
    return rows + lldas_items(subjid, visit, date, **items)


def empty_sdtm() -> dict[str, pl.DataFrame]:
    return {d: sdtm(d) for d in DOMAINS}


def subjects(rows: list[tuple], site: str = "01") -> pl.DataFrame:
    """USUBJID, SITEID, TRTSDT, DATACUT, EOSDT, OBSENDT frame from (subjid, first infusion, data
    cut[, end of study]); OBSENDT comes from the real R-DAY expression the ETL runs
    (etl.derive.enrol.observation_end_expr)."""
    from etl.derive.enrol import observation_end_expr
    rows = [tuple(r) + (None,) * (4 - len(r)) for r in rows]
    return pl.DataFrame({"USUBJID": [usubjid(r[0], site) for r in rows],
                         "SITEID": [site] * len(rows),
                         "TRTSDT": [r[1] for r in rows], "DATACUT": [r[2] for r in rows],
                         "EOSDT": [r[3] for r in rows]},
                        schema={"USUBJID": pl.String, "SITEID": pl.String, "TRTSDT": pl.Date,
                                "DATACUT": pl.Date, "EOSDT": pl.Date}
                        ).with_columns(OBSENDT=observation_end_expr())
