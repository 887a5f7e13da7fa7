"""Contract rules that Great Expectations' per-column expectations cannot express.

Rules across rows (uniqueness, SLEDAI-2K completeness and totals, overlapping regimens), across
files (every USUBJID in dm.csv, RFSTDTC = first infusion, ENROLLED milestones, weight before the
first infusion) and against the export (data cut, one site per export). Each rule is a Polars
expression over the whole frame; Python only loops over the rows that break a rule, to build the
``Problem`` (same form as the GX problems: ``<file>:<row>: <column>=<value>: <rule>``).

Frames come from ``etl.read`` (all strings, null = empty). Rules assume only what they check:
a value that is malformed (reported by the GX suite) is ignored here rather than reported twice.
Cited sections are of site-export-contract.md unless a clinical rule ID (R-...) is named.
"""
from __future__ import annotations

import datetime as dt
import json

import polars as pl

from etl.contract import (AE_SERIOUS_CRITERIA, COLUMNS, DATE_COLUMNS, LAB_TESTS,
                          LLDAS_INVESTIGATOR_ITEMS, PGA_TESTCD, REGISTRATION_DATE, SEQ_COLUMN,
                          SLEDAI_ITEMS, SLEDAI_TOTAL, STUDYID, VISITNUM_OF)
from etl.dates import (ISO_PARTIAL_OK_REGEX, DateError, datetime_expr, earliest_day, latest_day,
                       parse_dtc)
from etl.model import Export, Problem

ROW = "_ROW"
_FAR_FUTURE = dt.date(9999, 12, 31)


def check_columns(label: str, domain: str, frame: pl.DataFrame) -> list[Problem]:
    """Contract "Delivery": unknown columns are refused by name; every contract column present."""
    file = f"{domain}.csv"
    allowed = COLUMNS[domain]
    out = [Problem(label, file, None, None, None,
                   f"column {c} is not in the export contract (possible personal data)")
           for c in frame.columns if c not in allowed]
    out += [Problem(label, file, None, None, None, f"required column {c} missing")
            for c in allowed if c not in frame.columns]
    return out


def _frames(export: Export) -> dict[str, pl.DataFrame]:
    """Every present file with its row number (header = 1) and absent contract columns as null."""
    frames = {}
    for domain, ef in export.files.items():
        f = ef.frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
        missing = [pl.lit(None, dtype=pl.String).alias(c) for c in COLUMNS[domain]
                   if c not in f.columns]
        frames[domain] = f.with_columns(missing) if missing else f
    return frames


class _Out:
    def __init__(self, label: str):
        self.label = label
        self.problems: list[Problem] = []

    def rows(self, domain: str, bad: pl.DataFrame, column: str, rule: str | None = None,
             rule_column: str | None = None) -> None:
        """One problem per row of ``bad`` (which holds ROW, ``column`` and maybe ``rule_column``)."""
        if bad.height == 0:
            return
        rules = bad.get_column(rule_column).to_list() if rule_column else [rule] * bad.height
        for row, value, r in zip(bad.get_column(ROW).to_list(), bad.get_column(column).to_list(),
                                 rules):
            self.problems.append(Problem(self.label, f"{domain}.csv", row, column, value, r))


def check_export(export: Export, label: str) -> list[Problem]:
    """Every row and cross-file rule of one export; the GX suites cover the per-column ones."""
    out = _Out(label)
    frames = _frames(export)
    _dates(frames, export, out)
    _site(frames, export, out)
    _identifiers(frames, out)
    _visits(frames, out)
    _dm_vs_other_files(frames, out)
    _ex(frames, out)
    _cm(frames, out)
    _lb(frames, out)
    _qs(frames, out)
    _ae(frames, out)
    return out.problems


def _valid_date(col: pl.Expr) -> pl.Expr:
    """Matches the ISO form and is a real calendar date (and time)."""
    time = col.str.slice(11)
    time_ok = (time.str.len_chars() == 0) | (
        (time.str.slice(0, 2).cast(pl.Int32, strict=False) < 24)
        & (time.str.slice(3, 2).cast(pl.Int32, strict=False) < 60)
        & (time.str.slice(6, 2).cast(pl.Int32, strict=False).fill_null(0) < 60))
    return col.str.contains(ISO_PARTIAL_OK_REGEX) & earliest_day(col).is_not_null() & time_ok


DATE_VALUE = "_DATE"


def _date_tests(frames) -> pl.DataFrame:
    """Every distinct non-null value of every date column of ``frames`` (DATE_VALUE) with its date
    tests: ``form`` (the ISO form), ``valid`` (a real calendar date and time), ``earliest`` and
    ``latest`` (the days it can stand for). A test depends on the value alone, so each distinct
    value is tested once, in one pass: at 10,000 subjects a site's qs.csv holds about 93,000
    QSDTC values but under 1,000 distinct ones (the rules' dates 0.87 -> 0.2 s, issue 15;
    measured 2026-12-04)."""
    values = [f.select(pl.col(col).unique().alias(DATE_VALUE))
              for domain, f in frames.items() for col in DATE_COLUMNS[domain]]
    v = pl.col(DATE_VALUE)
    return (pl.concat(values).unique().drop_nulls() if values
            else pl.DataFrame(schema={DATE_VALUE: pl.String})).with_columns(
        v.str.contains(ISO_PARTIAL_OK_REGEX).alias("form"), _valid_date(v).alias("valid"),
        earliest_day(v).alias("earliest"), latest_day(v).alias("latest"))


def _rows_with(f: pl.DataFrame, col: str, values: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``f`` whose ``col`` is one of ``values``' DATE_VALUE (in ``f``'s row order)."""
    if values.height == 0:
        return f.clear()
    return f.filter(pl.col(col).is_in(values.get_column(DATE_VALUE).implode()))


def _dates(frames, export: Export, out: _Out) -> None:
    """Calendar validity, nothing after the data cut, nothing before registration unless history ok."""
    registration = dt.date.fromisoformat(REGISTRATION_DATE)
    cut = export.data_cut
    source = export.data_cut_source
    tests = _date_tests(frames)
    malformed = tests.filter(pl.col("form") & ~pl.col("valid"))
    good = tests.filter(pl.col("valid"))
    late_values = good.filter(pl.col("earliest") > cut) if cut is not None else None
    early_values = good.filter(pl.col("latest") < registration)
    for domain, f in frames.items():
        for col, (partial_ok, history_ok) in DATE_COLUMNS[domain].items():
            bad = _rows_with(f, col, malformed).select(ROW, col)
            if bad.height:
                msgs = {}
                for v in bad.get_column(col).unique().to_list():
                    try:
                        parse_dtc(v, partial_ok=True)
                        msgs[v] = "not a valid calendar date/time"
                    except DateError as exc:
                        msgs[v] = str(exc)
                bad = bad.with_columns(pl.col(col).replace_strict(msgs).alias("_RULE"))
                out.rows(domain, bad, col, rule_column="_RULE")
            if late_values is not None:
                out.rows(domain, _rows_with(f, col, late_values), col,
                         f"after the data cut {cut.isoformat()} (from {source})")
            early = _rows_with(f, col, early_values)
            if (domain, col) == ("cm", "CMSTDTC"):
                # history ok for non-glucocorticoids only (cm.csv table)
                early = early.filter(pl.col("CMCAT") == "GLUCOCORTICOID")
                rule = (f"before registration {REGISTRATION_DATE}: glucocorticoid dates "
                        "are not history ok")
            elif history_ok:
                continue
            else:
                rule = f"before registration {REGISTRATION_DATE} (only history-ok columns may be earlier)"
            out.rows(domain, early, col, rule)


def _site(frames, export: Export, out: _Out) -> None:
    """One site per export: every dm row has the export's SITEID (export.json's when given)."""
    dm = frames.get("dm")
    if dm is None:
        return
    site = dm.filter(pl.col("SITEID").str.contains(r"^\d{2}$"))
    ref = export.siteid
    where = "export.json" if ref is not None and _meta_siteid(export) == ref else "rows"
    if ref is None:
        counts = site.group_by("SITEID").len().sort(["len", "SITEID"], descending=[True, False])
        if counts.height == 0:
            return
        ref, where = counts.get_column("SITEID")[0], "most rows"
    bad = site.filter(pl.col("SITEID") != ref)
    out.rows("dm", bad, "SITEID", f"SITEID differs from the export's site {ref} ({where}): "
             "one site per export")
    # USUBJID = STUDYID-SITEID-SUBJID (only where all three are well formed)
    ok = dm.filter(pl.col("USUBJID").str.contains(rf"^{STUDYID}-\d{{2}}-\d{{3}}$")
                   & pl.col("SITEID").str.contains(r"^\d{2}$")
                   & pl.col("SUBJID").str.contains(r"^\d{3}$"))
    expected = pl.concat_str([pl.lit(STUDYID), pl.col("SITEID"), pl.col("SUBJID")], separator="-")
    bad = ok.filter(pl.col("USUBJID") != expected).with_columns(
        (pl.lit("USUBJID must equal STUDYID-SITEID-SUBJID (") + expected + pl.lit(")"))
        .alias("_RULE"))
    out.rows("dm", bad, "USUBJID", rule_column="_RULE")


def _meta_siteid(export: Export) -> str | None:
    try:
        meta = json.loads((export.folder / "export.json").read_bytes().decode("utf-8-sig"))
        return meta.get("siteid") if isinstance(meta, dict) else None
    except (OSError, ValueError):
        return None


def _identifiers(frames, out: _Out) -> None:
    """USUBJID and SUBJID unique in dm; --SEQ unique per subject within a file."""
    dm = frames.get("dm")
    if dm is not None:
        for col in ("USUBJID", "SUBJID"):
            bad = dm.filter(pl.col(col).is_not_null() & ~pl.col(col).is_first_distinct())
            out.rows("dm", bad, col, f"{col} not unique in dm.csv")
    for domain, seq in SEQ_COLUMN.items():
        f = frames.get(domain)
        if f is None:
            continue
        bad = f.filter(pl.col(seq).is_not_null() & pl.col("USUBJID").is_not_null()
                       & ~pl.struct("USUBJID", seq).is_first_distinct())
        out.rows(domain, bad, seq, f"{seq} not unique for the subject in {domain}.csv")
        if dm is not None:
            known = dm.get_column("USUBJID").drop_nulls()
            bad = f.filter(pl.col("USUBJID").is_not_null() & ~pl.col("USUBJID").is_in(known.implode()))
            out.rows(domain, bad, "USUBJID", "USUBJID not in dm.csv")


def _visits(frames, out: _Out) -> None:
    """VISIT and VISITNUM agree with the schedule (clinical-rules.md R-DAY)."""
    mapping = {v: str(n) for v, n in VISITNUM_OF.items()}
    for domain, f in frames.items():
        if "VISIT" not in COLUMNS[domain]:
            continue
        expected = pl.col("VISIT").replace_strict(mapping, default=None)
        bad = f.filter(expected.is_not_null() & pl.col("VISITNUM").is_in(list(mapping.values()))
                       & (pl.col("VISITNUM") != expected)).with_columns(
            (pl.lit("VISITNUM does not agree with VISIT=") + pl.col("VISIT")
             + pl.lit(" (expected ") + expected + pl.lit(", R-DAY)")).alias("_RULE"))
        out.rows(domain, bad, "VISITNUM", rule_column="_RULE")


def _ex_times(f: pl.DataFrame) -> pl.DataFrame:
    return f.with_columns(datetime_expr("EXSTDTC").alias("_ST"), datetime_expr("EXENDTC").alias("_EN"))


def _dm_vs_other_files(frames, out: _Out) -> None:
    """RFSTDTC = first infusion; ANIFRO/SCRNFAIL milestones; weight at or before first infusion."""
    dm = frames.get("dm")
    if dm is None:
        return
    ex = frames.get("ex")
    if ex is not None:
        first = (ex.filter(_valid_date(pl.col("EXSTDTC")))
                 .group_by("USUBJID").agg(earliest_day(pl.col("EXSTDTC")).min().alias("_FIRST")))
    else:
        first = pl.DataFrame(schema={"USUBJID": pl.String, "_FIRST": pl.Date})
    d = dm.join(first, on="USUBJID", how="left")
    never = d.filter(pl.col("_FIRST").is_null() & pl.col("RFSTDTC").is_not_null())
    out.rows("dm", never, "RFSTDTC", "RFSTDTC must be empty: the subject has no ex.csv infusion")
    dosed = d.filter(pl.col("_FIRST").is_not_null()
                     & (pl.col("RFSTDTC").is_null()
                        | (pl.col("RFSTDTC").str.slice(0, 10) != pl.col("_FIRST").cast(pl.String)))
                     ).with_columns((pl.lit("RFSTDTC must be the date of the subject's first "
                                            "ex.csv infusion (") + pl.col("_FIRST").cast(pl.String)
                                     + pl.lit(")")).alias("_RULE"))
    out.rows("dm", dosed, "RFSTDTC", rule_column="_RULE")

    ds = frames.get("ds")
    if ds is None:
        ds = pl.DataFrame(schema={"USUBJID": pl.String, "DSDECOD": pl.String, "DSCAT": pl.String})
    enrolled = ds.filter((pl.col("DSDECOD") == "ENROLLED")
                         & (pl.col("DSCAT") == "PROTOCOL MILESTONE")).get_column("USUBJID")
    failed = ds.filter((pl.col("DSDECOD") == "SCREEN FAILURE")
                       & (pl.col("DSCAT") == "DISPOSITION EVENT")).get_column("USUBJID")
    arm = pl.col("ARMCD")
    out.rows("dm", dm.filter((arm == "ANIFRO") & ~pl.col("USUBJID").is_in(enrolled.implode())), "ARMCD",
             "an ANIFRO subject needs an ENROLLED protocol milestone in ds.csv")
    out.rows("dm", dm.filter((arm == "SCRNFAIL") & ~pl.col("USUBJID").is_in(failed.implode())), "ARMCD",
             "a SCRNFAIL subject needs a SCREEN FAILURE disposition event in ds.csv")
    out.rows("dm", dm.filter((arm == "SCRNFAIL") & pl.col("USUBJID").is_in(enrolled.implode())), "ARMCD",
             "a SCRNFAIL subject must not have an ENROLLED milestone in ds.csv")

    vs = frames.get("vs")
    if vs is None:
        vs = pl.DataFrame(schema={"USUBJID": pl.String, "VSTESTCD": pl.String, "VSDTC": pl.String})
    weights = (vs.filter(pl.col("VSTESTCD") == "WEIGHT")
               .select("USUBJID", earliest_day(pl.col("VSDTC")).alias("_WDT"))
               .filter(pl.col("_WDT").is_not_null())
               .group_by("USUBJID").agg(pl.col("_WDT").min()))
    nw = (d.filter((arm == "ANIFRO") & pl.col("_FIRST").is_not_null())
          .join(weights, on="USUBJID", how="left")
          .filter(pl.col("_WDT").is_null() | (pl.col("_WDT") > pl.col("_FIRST")))
          .with_columns((pl.lit("no vs.csv WEIGHT on or before the first infusion (")
                         + pl.col("_FIRST").cast(pl.String)
                         + pl.lit("): needed for mg/kg doses")).alias("_RULE")))
    out.rows("dm", nw, "USUBJID", rule_column="_RULE")


def _ex(frames, out: _Out) -> None:
    """EXENDTC >= EXSTDTC; an infusion lasts at most 4 h."""
    ex = frames.get("ex")
    if ex is None:
        return
    t = _ex_times(ex).filter(pl.col("_ST").is_not_null() & pl.col("_EN").is_not_null())
    out.rows("ex", t.filter(pl.col("_EN") < pl.col("_ST")), "EXENDTC", "EXENDTC before EXSTDTC")
    out.rows("ex", t.filter(pl.col("_EN") - pl.col("_ST") > pl.duration(hours=4)), "EXENDTC",
             "infusion longer than 4 h (EXENDTC - EXSTDTC)")


def _cm(frames, out: _Out) -> None:
    """Rows of the same CMDECOD for one subject must not overlap (cm.csv).

    With partial dates only a certain overlap is refused: the later row's latest possible start
    lies on or before the earlier rows' earliest possible end. An empty CMENDTC is ongoing.
    """
    cm = frames.get("cm")
    if cm is None:
        return
    c = (cm.filter(pl.col("USUBJID").is_not_null() & pl.col("CMDECOD").is_not_null()
                   & _valid_date(pl.col("CMSTDTC"))
                   & (pl.col("CMENDTC").is_null() | _valid_date(pl.col("CMENDTC"))))
         .with_columns(earliest_day(pl.col("CMSTDTC")).alias("_S_LO"),
                       latest_day(pl.col("CMSTDTC")).alias("_S_HI"),
                       earliest_day(pl.col("CMENDTC")).fill_null(_FAR_FUTURE).alias("_E_LO"))
         .sort(["USUBJID", "CMDECOD", "_S_LO", ROW])
         .with_columns(pl.col("_E_LO").cum_max().shift(1).over(["USUBJID", "CMDECOD"])
                       .alias("_PREV_END")))
    bad = c.filter(pl.col("_PREV_END").is_not_null() & (pl.col("_S_HI") <= pl.col("_PREV_END")))
    bad = bad.with_columns((pl.lit("overlaps an earlier ") + pl.col("CMDECOD")
                            + pl.lit(" regimen of the subject (rows of the same CMDECOD must not "
                                     "overlap)")).alias("_RULE"))
    out.rows("cm", bad, "CMSTDTC", rule_column="_RULE")


def _lb(frames, out: _Out) -> None:
    """Unknown test codes only for EXPLORATORY; LBORRES empty only when LBSTAT = NOT DONE."""
    lb = frames.get("lb")
    if lb is None:
        return
    unknown = lb.filter(pl.col("LBTESTCD").is_not_null() & ~pl.col("LBTESTCD").is_in(list(LAB_TESTS))
                        & pl.col("LBCAT").is_not_null() & (pl.col("LBCAT") != "EXPLORATORY"))
    out.rows("lb", unknown, "LBTESTCD", "unknown lab test: codes outside the contract's list are "
             "allowed only with LBCAT = EXPLORATORY")
    missing = lb.filter(pl.col("LBORRES").is_null() & (pl.col("LBSTAT").fill_null("") != "NOT DONE"))
    out.rows("lb", missing, "LBORRES", "LBORRES empty but LBSTAT is not NOT DONE")


def _qs(frames, out: _Out) -> None:
    """QSORRES/QSSTRESN agree; SLEDAI-2K assessments complete and totalled (R-SLEDAI)."""
    qs = frames.get("qs")
    if qs is None:
        return
    weight = {k: float(w) for k, (_n, w, _g) in SLEDAI_ITEMS.items()}
    cat, code, res = pl.col("QSCAT"), pl.col("QSTESTCD"), pl.col("QSORRES")
    stresn = pl.col("QSSTRESN").cast(pl.Float64, strict=False)
    w = code.replace_strict(weight, default=None, return_dtype=pl.Float64)
    is_item = (cat == "SLEDAI-2K") & code.is_in(list(SLEDAI_ITEMS))
    expected = (pl.when(is_item & (res == "PRESENT")).then(w)
                .when(is_item & (res == "ABSENT")).then(pl.lit(0.0))
                .when((cat == "LLDAS INVESTIGATOR") & code.is_in(list(LLDAS_INVESTIGATOR_ITEMS))
                      & res.is_in(["Y", "N"])).then(pl.when(res == "Y").then(1.0).otherwise(0.0))
                .when(((cat == "PHYSICIAN GLOBAL ASSESSMENT") & (code == PGA_TESTCD))
                      | ((cat == "SLEDAI-2K") & (code == SLEDAI_TOTAL)))
                .then(res.cast(pl.Float64, strict=False))
                .otherwise(None))
    q = qs.with_columns(expected.alias("_EXP"), stresn.alias("_N"))
    bad = q.filter(pl.col("_EXP").is_not_null() & pl.col("_N").is_not_null()
                   & ((pl.col("_N") - pl.col("_EXP")).abs() > 1e-9)).with_columns(
        (pl.lit("QSSTRESN must be ") + _number_text(pl.col("_EXP"))
         + pl.lit(" for QSTESTCD=") + code + pl.lit(" QSORRES=") + res).alias("_RULE"))
    out.rows("qs", bad, "QSSTRESN", rule_column="_RULE")

    s = q.filter((cat == "SLEDAI-2K") & pl.col("USUBJID").is_not_null() & pl.col("QSDTC").is_not_null()
                 & code.is_not_null())
    if s.height == 0:
        return
    dup = s.filter(~pl.struct("USUBJID", "QSDTC", "QSTESTCD").is_first_distinct())
    out.rows("qs", dup, "QSTESTCD", "SLEDAI-2K item given twice in one assessment "
             "(same USUBJID and QSDTC)")
    all_codes = list(SLEDAI_ITEMS) + [SLEDAI_TOTAL]
    per = (s.group_by("USUBJID", "QSDTC")
           .agg(pl.col(ROW).min().alias("_FIRSTROW"),
                *[(code == c).any().alias(f"_HAS_{c}") for c in all_codes],
                pl.when(is_item & (res == "PRESENT")).then(w).otherwise(0.0).sum().alias("_SUM"),
                pl.col(ROW).filter(code == SLEDAI_TOTAL).first().alias("_TROW"),
                res.filter(code == SLEDAI_TOTAL).first().alias("_TOTAL")))
    missing_text = pl.concat_str([pl.when(~pl.col(f"_HAS_{c}")).then(pl.lit(c)) for c in all_codes],
                                 separator=", ", ignore_nulls=True)
    missing = per.with_columns(missing_text.alias("_MISSING")).filter(pl.col("_MISSING") != "")
    missing = missing.with_columns(
        pl.col("_FIRSTROW").alias(ROW),
        (pl.lit("SLEDAI-2K assessment incomplete: missing ") + pl.col("_MISSING")
         + pl.lit(" (all 24 items and the total on the same date, R-SLEDAI)")).alias("_RULE"))
    out.rows("qs", missing, "QSDTC", rule_column="_RULE")
    wrong = (per.filter(pl.col("_TROW").is_not_null())
             .with_columns(pl.col("_TOTAL").cast(pl.Float64, strict=False).alias("_T"))
             .filter(pl.col("_T").is_not_null() & ((pl.col("_T") - pl.col("_SUM")).abs() > 1e-9))
             .with_columns(pl.col("_TROW").alias(ROW), pl.col("_TOTAL").alias("QSORRES"),
                           (pl.lit("SLEDAI-2K total does not equal the sum of the item scores (")
                            + pl.col("_SUM").cast(pl.Int64).cast(pl.String)
                            + pl.lit(", R-SLEDAI)")).alias("_RULE")))
    out.rows("qs", wrong, "QSORRES", rule_column="_RULE")


def _number_text(x: pl.Expr) -> pl.Expr:
    """4.0 -> "4", 1.5 -> "1.5"."""
    return pl.when(x == x.round(0)).then(x.cast(pl.Int64).cast(pl.String)).otherwise(x.cast(pl.String))


def _ae(frames, out: _Out) -> None:
    """AEENDTC not before AESTDTC; serious -> a criterion Y; grade 5 iff AESDTH = Y."""
    ae = frames.get("ae")
    if ae is None:
        return
    st, en = pl.col("AESTDTC"), pl.col("AEENDTC")
    ok = ae.filter(_valid_date(st) & _valid_date(en))
    out.rows("ae", ok.filter(latest_day(en) < earliest_day(st)).with_columns(
        (pl.lit("AEENDTC before AESTDTC (") + st + pl.lit(")")).alias("_RULE")),
        "AEENDTC", rule_column="_RULE")
    any_y = pl.any_horizontal([pl.col(c) == "Y" for c in AE_SERIOUS_CRITERIA]).fill_null(False)
    out.rows("ae", ae.filter((pl.col("AESER") == "Y") & ~any_y), "AESER",
             "serious (AESER=Y) but no seriousness criterion (" + ", ".join(AE_SERIOUS_CRITERIA)
             + ") is Y")
    out.rows("ae", ae.filter((pl.col("AETOXGR") == "5") & (pl.col("AESDTH").fill_null("") != "Y")),
             "AETOXGR", "grade 5 requires AESDTH=Y")
    out.rows("ae", ae.filter((pl.col("AESDTH") == "Y") & (pl.col("AETOXGR").fill_null("") != "5")),
             "AESDTH", "AESDTH=Y requires AETOXGR=5")


def check_sites_unique(exports: list[tuple[str, Export]]) -> list[Problem]:
    """Contract "Delivery": a run holds at most one export per site."""
    seen: dict[str, str] = {}
    out = []
    for label, export in exports:
        if export.siteid is None:
            continue
        if export.siteid in seen:
            out.append(Problem(label, label, None, "SITEID", export.siteid,
                               f"a second export of the same site in this run (also {seen[export.siteid]}): "
                               "send one export per site"))
        else:
            seen[export.siteid] = label
    return out

