"""Invalid copies of a valid site export, each breaking exactly ONE contract rule.

``corrupt_variants(frames, data_cut)`` takes one site's valid frames (as ``generate_trial`` makes
them) and returns ``CorruptVariant``s: a short name, the contract rule it breaks, and the exact
problem line the ETL must report (``<file>:<row>: <column>=<value>: <rule>`` or
``<file>: <rule>``, site-export-contract.md "What a refusal must say"). ``variant.write(dest)``
writes the invalid export (a folder, or a .zip for the zip-slip variant) and returns its path.

The rows to break are found in the frames (the first row that fits), and the expected text is
computed from them, so the variants follow any valid export. Row numbers count the header as
row 1, as the contract does. Each corruption is chosen so that it breaks one rule only: e.g. the
date after the data cut is put on an adverse event's end date, where no other rule looks.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import zipfile
from pathlib import Path

import polars as pl

from etl.contract import (AE_SERIOUS_CRITERIA, CONTROLLED_TERMS, DOMAINS, EXPORT_META_FILE,
                          VISITNUM_OF as K_VISITNUM,
                          REGISTRATION_DATE, SLEDAI_TOTAL, STUDYID)
from synth.export import csv_text, site_folder_name, write_export

ALLOWED_NAMES = ", ".join([f"{d}.csv" for d in DOMAINS] + [EXPORT_META_FILE])


@dataclasses.dataclass
class CorruptVariant:
    name: str                      # e.g. "ae_bad_date"
    rule: str                      # the contract rule broken, in words
    expected: str                  # the one problem line the ETL must report
    frames: dict[str, pl.DataFrame]
    siteid: str
    data_cut: dt.date
    raw_files: dict[str, bytes] = dataclasses.field(default_factory=dict)   # replace/add bytes
    drop_files: tuple[str, ...] = ()
    zip_members: dict[str, bytes] | None = None   # extra zip members (zip variants only)

    def write(self, dest: Path) -> Path:
        """Write the invalid export under ``dest/<name>/``; returns the folder or .zip to validate."""
        root = Path(dest) / self.name
        if root.exists():
            shutil.rmtree(root)
        folder = write_export(self.frames, root / site_folder_name(self.siteid), "utf-8",
                              siteid=self.siteid, data_cut=self.data_cut)
        for name in self.drop_files:
            (folder / name).unlink()
        for name, data in sorted(self.raw_files.items()):
            (folder / name).write_bytes(data)
        if self.zip_members is None:
            return folder
        archive = root / f"{folder.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(folder.iterdir()):
                info = zipfile.ZipInfo(f"{folder.name}/{path.name}", date_time=(2026, 1, 1, 0, 0, 0))
                zf.writestr(info, path.read_bytes())
            for member, data in sorted(self.zip_members.items()):
                zf.writestr(zipfile.ZipInfo(member, date_time=(2026, 1, 1, 0, 0, 0)), data)
        shutil.rmtree(folder)
        return archive


def _set(df: pl.DataFrame, index: int, column: str, value: str | None) -> pl.DataFrame:
    """Copy of ``df`` with one cell replaced (index 0-based over data rows)."""
    return df.with_columns(
        pl.when(pl.int_range(pl.len()) == index).then(pl.lit(value, dtype=pl.String))
        .otherwise(pl.col(column)).alias(column))


def _first(df: pl.DataFrame, condition: pl.Expr) -> int:
    """0-based index of the first row meeting ``condition``."""
    hits = df.with_row_index("_i").filter(condition).get_column("_i")
    if hits.len() == 0:
        raise ValueError(f"the base export has no row with {condition}")
    return int(hits[0])


def _row(index: int) -> int:
    return index + 2            # header is row 1


def corrupt_variants(frames: dict[str, pl.DataFrame], data_cut: dt.date) -> list[CorruptVariant]:
    """Every invalid variant of one valid site export (see module doc)."""
    siteid = frames["dm"].get_column("SITEID")[0]
    out: list[CorruptVariant] = []

    def variant(name: str, rule: str, expected: str, changed: dict[str, pl.DataFrame] | None = None,
                **kw) -> None:
        out.append(CorruptVariant(name, rule, expected, {**frames, **(changed or {})}, siteid,
                                  data_cut, **kw))

    dm, ds, ex, cm, vs, qs, ae = (frames[d] for d in ("dm", "ds", "ex", "cm", "vs", "qs", "ae"))
    plain_ae = (pl.col("AESER") == "N") & pl.col("AEENDTC").is_not_null() & (
        pl.col("AESTDTC").str.len_chars() == 10)

    # --- Delivery
    variant("unknown_file", "any other file in the folder is refused",
            f"notes.txt: file not in the export contract: only {ALLOWED_NAMES} are allowed",
            raw_files={"notes.txt": b"sent by the site\n"})
    variant("missing_dm", "dm.csv is required", "dm.csv: required file missing",
            drop_files=("dm.csv",))
    variant("unknown_column", "columns not listed are refused (possible personal data)",
            "dm.csv: column PATIENT_NAME is not in the export contract (possible personal data)",
            {"dm": dm.with_columns(pl.lit("SYNTHETIC NAME").alias("PATIENT_NAME"))})
    ae_bytes = csv_text(ae).encode("utf-8")
    cut_at = ae_bytes.index(b"\n") + 1
    variant("not_utf8_nor_cp932", "encoding: UTF-8, else CP932, anything else refused",
            "ae.csv: not UTF-8 and not Shift_JIS (CP932) text: save the file as UTF-8",
            raw_files={"ae.csv": ae_bytes[:cut_at] + b"\x81\x20" + ae_bytes[cut_at:]})
    variant("zip_slip", "a zip member may not leave the extraction folder",
            f"{site_folder_name(siteid)}.zip: zip refused: member ../evil.csv would leave the "
            "extraction folder (absolute path, '..' or symbolic link)",
            zip_members={"../evil.csv": b"a,b\n1,2\n"})

    # --- Required values, controlled terms, identifiers
    i = _first(ae, plain_ae)
    variant("ae_empty_required", "R columns are never empty",
            f"ae.csv:{_row(i)}: AEDECOD=: required value missing (column is R: never empty)",
            {"ae": _set(ae, i, "AEDECOD", None)})
    i = _first(dm, pl.col("SEX") == "F")
    variant("dm_bad_sex", "controlled terms",
            f"dm.csv:{_row(i)}: SEX=W: not one of the allowed values: "
            + ", ".join(CONTROLLED_TERMS["dm"]["SEX"]), {"dm": _set(dm, i, "SEX", "W")})
    i = _first(ae, plain_ae)
    wrong_study = "jRCTs031230385"
    variant("ae_bad_studyid", "STUDYID equals the registry ID on every row",
            f"ae.csv:{_row(i)}: STUDYID={wrong_study}: STUDYID must be {STUDYID}",
            {"ae": _set(ae, i, "STUDYID", wrong_study)})
    i = _first(dm, pl.col("ARMCD") == "ANIFRO")
    usubjid = dm.get_column("USUBJID")[i]
    variant("dm_usubjid_mismatch", "USUBJID = STUDYID-SITEID-SUBJID",
            f"dm.csv:{_row(i)}: USUBJID={usubjid}: USUBJID must equal STUDYID-SITEID-SUBJID "
            f"({STUDYID}-{siteid}-998)", {"dm": _set(dm, i, "SUBJID", "998")})
    i = _first(cm, pl.col("USUBJID") == pl.col("USUBJID").shift(1))
    seq = cm.get_column("CMSEQ")[i - 1]
    variant("cm_duplicate_seq", "--SEQ unique per subject within a file",
            f"cm.csv:{_row(i)}: CMSEQ={seq}: CMSEQ not unique for the subject in cm.csv",
            {"cm": _set(cm, i, "CMSEQ", seq)})
    i = _first(ae, plain_ae)
    stranger = f"{STUDYID}-{siteid}-999"
    variant("ae_usubjid_not_in_dm", "every USUBJID in any file appears in dm.csv",
            f"ae.csv:{_row(i)}: USUBJID={stranger}: USUBJID not in dm.csv",
            {"ae": _set(ae, i, "USUBJID", stranger)})

    # --- Dates
    i = _first(ae, plain_ae)
    y, m, d = ae.get_column("AESTDTC")[i].split("-")
    bad = f"{d}/{m}/{y}"
    variant("ae_bad_date", "dates are ISO 8601; day/month order never guessed",
            f"ae.csv:{_row(i)}: AESTDTC={bad}: not an ISO 8601 date",
            {"ae": _set(ae, i, "AESTDTC", bad)})
    i = _first(vs, (pl.col("VSTESTCD") == "TEMP") & (pl.col("VISIT") != "SCREENING"))
    partial = vs.get_column("VSDTC")[i][:7]
    variant("vs_partial_date", "partial dates only where the table says partial ok",
            f"vs.csv:{_row(i)}: VSDTC={partial}: partial date not allowed in this column "
            "(full ISO 8601 date required)", {"vs": _set(vs, i, "VSDTC", partial)})
    i = _first(ae, plain_ae)
    late = (data_cut + dt.timedelta(days=5)).isoformat()
    variant("ae_date_after_cut", "no date after the export's data cut",
            f"ae.csv:{_row(i)}: AEENDTC={late}: after the data cut {data_cut.isoformat()} "
            f"(from {EXPORT_META_FILE})", {"ae": _set(ae, i, "AEENDTC", late)})
    i = _first(ae, plain_ae)
    early = (dt.date.fromisoformat(REGISTRATION_DATE) - dt.timedelta(days=21)).isoformat()
    variant("ae_date_before_registration", "no date before registration unless history ok",
            f"ae.csv:{_row(i)}: AESTDTC={early}: before registration {REGISTRATION_DATE} "
            "(only history-ok columns may be earlier)", {"ae": _set(ae, i, "AESTDTC", early)})
    i = _first(ae, plain_ae)
    start = dt.date.fromisoformat(ae.get_column("AESTDTC")[i])
    before = (start - dt.timedelta(days=3)).isoformat()
    variant("ae_end_before_start", "AEENDTC not before AESTDTC",
            f"ae.csv:{_row(i)}: AEENDTC={before}: AEENDTC before AESTDTC ({start.isoformat()})",
            {"ae": _set(ae, i, "AEENDTC", before)})

    # --- Clinical content rules
    i = _first(qs, pl.col("QSTESTCD") == SLEDAI_TOTAL)
    total = qs.get_column("QSORRES")[i]
    wrong = str(int(total) + 2)
    variant("qs_sledai_total_mismatch", "the SLEDAI-2K total equals the sum of its items (R-SLEDAI)",
            f"qs.csv:{_row(i)}: QSORRES={wrong}: SLEDAI-2K total does not equal the sum of the "
            f"item scores ({total}, R-SLEDAI)",
            {"qs": _set(_set(qs, i, "QSORRES", wrong), i, "QSSTRESN", wrong)})
    i = _first(qs, (pl.col("QSTESTCD") == "SEIZURE") & (pl.col("QSORRES") == "ABSENT")
               & (pl.col("VISIT") != "SCREENING"))
    who, when = qs.get_column("USUBJID")[i], qs.get_column("QSDTC")[i]
    dropped = qs.with_row_index("_i").filter(pl.col("_i") != i).drop("_i")
    first_row = _first(dropped, (pl.col("USUBJID") == who) & (pl.col("QSDTC") == when)
                       & (pl.col("QSCAT") == "SLEDAI-2K"))
    variant("qs_missing_sledai_item", "a SLEDAI-2K assessment has all 24 items and the total",
            f"qs.csv:{_row(first_row)}: QSDTC={when}: SLEDAI-2K assessment incomplete: missing "
            "SEIZURE (all 24 items and the total on the same date, R-SLEDAI)", {"qs": dropped})
    psl = (pl.col("CMDECOD") == "PREDNISOLONE") & pl.col("CMENDTC").is_not_null()
    i = _first(cm, psl & (pl.col("USUBJID") == pl.col("USUBJID").shift(-1))
               & (pl.col("CMDECOD").shift(-1) == "PREDNISOLONE"))
    nxt_start = cm.get_column("CMSTDTC")[i + 1]
    variant("cm_overlapping_regimens", "rows of the same CMDECOD for one subject must not overlap",
            f"cm.csv:{_row(i + 1)}: CMSTDTC={nxt_start}: overlaps an earlier PREDNISOLONE regimen "
            "of the subject (rows of the same CMDECOD must not overlap)",
            {"cm": _set(cm, i, "CMENDTC", nxt_start)})
    i = _first(cm, pl.col("CMDECOD") == "PREDNISOLONE")
    variant("cm_unknown_glucocorticoid", "a glucocorticoid needs a prednisolone-equivalent factor "
            "(R-PSL)", f"cm.csv:{_row(i)}: CMDECOD=FLUDROCORTISONE: unknown glucocorticoid: no "
            "prednisolone-equivalent factor in clinical-rules.md R-PSL",
            {"cm": _set(_set(cm, i, "CMDECOD", "FLUDROCORTISONE"), i, "CMTRT", "Fludrocortisone")})
    i = _first(dm, pl.col("ARMCD") == "ANIFRO")
    who, first_dose = dm.get_column("USUBJID")[i], dm.get_column("RFSTDTC")[i]
    variant("vs_missing_weight", "every enrolled subject has a WEIGHT at or before the first "
            "infusion", f"dm.csv:{_row(i)}: USUBJID={who}: no vs.csv WEIGHT on or before the first "
            f"infusion ({first_dose}): needed for mg/kg doses",
            {"vs": vs.filter(~((pl.col("USUBJID") == who) & (pl.col("VSTESTCD") == "WEIGHT")))})
    i = 0
    start = dt.datetime.fromisoformat(ex.get_column("EXSTDTC")[i])
    end_before = (start - dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    variant("ex_end_before_start", "EXENDTC >= EXSTDTC",
            f"ex.csv:{_row(i)}: EXENDTC={end_before}: EXENDTC before EXSTDTC",
            {"ex": _set(ex, i, "EXENDTC", end_before)})
    end_late = (start + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    variant("ex_infusion_over_4h", "an infusion lasts at most 4 h",
            f"ex.csv:{_row(i)}: EXENDTC={end_late}: infusion longer than 4 h (EXENDTC - EXSTDTC)",
            {"ex": _set(ex, i, "EXENDTC", end_late)})
    i = _first(ae, plain_ae)
    variant("ae_serious_without_criterion", "AESER = Y needs a seriousness criterion Y",
            f"ae.csv:{_row(i)}: AESER=Y: serious (AESER=Y) but no seriousness criterion ("
            + ", ".join(AE_SERIOUS_CRITERIA) + ") is Y", {"ae": _set(ae, i, "AESER", "Y")})
    i = _first(ae, plain_ae)
    variant("ae_grade5_without_death", "AETOXGR 5 iff AESDTH = Y",
            f"ae.csv:{_row(i)}: AETOXGR=5: grade 5 requires AESDTH=Y",
            {"ae": _set(ae, i, "AETOXGR", "5")})
    i = _first(dm, pl.col("ARMCD") == "ANIFRO")
    rfst = dm.get_column("RFSTDTC")[i]
    shifted = (dt.date.fromisoformat(rfst) + dt.timedelta(days=1)).isoformat()
    variant("dm_rfstdtc_not_first_infusion", "RFSTDTC is the date of the earliest ex.csv row",
            f"dm.csv:{_row(i)}: RFSTDTC={shifted}: RFSTDTC must be the date of the subject's first "
            f"ex.csv infusion ({rfst})", {"dm": _set(dm, i, "RFSTDTC", shifted)})
    first_psl = (pl.col("CMDECOD") == "PREDNISOLONE") & (
        pl.col("USUBJID") != pl.col("USUBJID").shift(1).fill_null(""))
    i = _first(cm, first_psl)
    month = cm.get_column("CMSTDTC")[i][:7]
    variant("cm_glucocorticoid_partial_date", "glucocorticoid rows are full dates",
            f"cm.csv:{_row(i)}: CMSTDTC={month}: glucocorticoid rows need full dates (YYYY-MM-DD): "
            "partial date not allowed", {"cm": _set(cm, i, "CMSTDTC", month)})
    ie = frames["ie"]
    i = _first(ie, pl.col("IETESTCD").str.starts_with("IN"))
    variant("ie_category_disagrees_with_code", "IECAT agrees with the code's prefix",
            f"ie.csv:{_row(i)}: IECAT=EXCLUSION: IECAT must be INCLUSION for an IN code",
            {"ie": _set(ie, i, "IECAT", "EXCLUSION")})
    i = _first(vs, (pl.col("VSTESTCD") == "TEMP") & (pl.col("VISIT") == "WEEK 4"))
    variant("vs_visitnum_disagrees_with_visit", "VISIT and VISITNUM follow the schedule (R-DAY)",
            f"vs.csv:{_row(i)}: VISITNUM=4: VISITNUM does not agree with VISIT=WEEK 4 "
            f"(expected {K_VISITNUM['WEEK 4']}, R-DAY)", {"vs": _set(vs, i, "VISITNUM", "4")})
    lb = frames["lb"]
    i = _first(lb, pl.col("LBTESTCD") == "BILI")
    umol = f"{float(lb.get_column('LBSTRESN')[i]) * 17.1:.0f}"     # 1 mg/dL bilirubin = 17.1 umol/L
    variant("lb_bilirubin_not_in_mg_dl", "a contract lab test is in its standard unit (contract "
            "1.1: BILI in mg/dL)", f"lb.csv:{_row(i)}: LBSTRESU=umol/L: LBSTRESU must be mg/dL for BILI",
            {"lb": _set(_set(lb, i, "LBSTRESN", umol), i, "LBSTRESU", "umol/L")})
    i = _first(ds, pl.col("DSDECOD") == "ENROLLED")
    who = ds.get_column("USUBJID")[i]
    j = _first(dm, pl.col("USUBJID") == who)
    variant("ds_enrolled_missing", "an ANIFRO subject has an ENROLLED milestone",
            f"dm.csv:{_row(j)}: ARMCD=ANIFRO: an ANIFRO subject needs an ENROLLED protocol "
            "milestone in ds.csv", {"ds": ds.with_row_index("_i").filter(pl.col("_i") != i).drop("_i")})
    return out


