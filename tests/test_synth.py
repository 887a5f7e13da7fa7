"""The synthetic-trial generator (synth/): determinism, the committed demo, validity, stories,
and the corrupt variants that prove every contract rule refuses with its exact message.

Validation runs through the real ETL (``etl.validate.validate_exports``: Great Expectations suites
and cross-file rules); the GX import is paid once per module.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from etl import contract as K
from synth import DEMO, corrupt_variants, demo_trial, generate_trial, write_demo, write_trial

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT_ROOT / "demo" / "exports"
CUT = dt.date(2026, 11, 1)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _all(trial: dict, domain: str) -> pl.DataFrame:
    return pl.concat([frames[domain] for _site, frames in sorted(trial.items())])


@pytest.fixture(scope="module")
def demo():
    trial, cut = demo_trial()
    return trial


@pytest.fixture(scope="module")
def validate(tmp_path_factory):
    from etl.validate import validate_exports
    work = tmp_path_factory.mktemp("validate-work")
    return lambda paths: validate_exports(list(paths), work)


# --- determinism and the committed demo ------------------------------------------------------

def test_same_seed_writes_same_bytes_and_another_seed_differs(tmp_path):
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        write_trial(generate_trial(seed, 30, 2, CUT), tmp_path / name, CUT, {"02": "cp932"})
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert set(a) == set(c) and a != c
    assert all(b"\r\n" not in data for data in a.values())


def test_demo_regenerates_byte_for_byte_identical_to_the_committed_exports(tmp_path):
    write_demo(tmp_path)
    committed = _files(DEMO_DIR)
    assert sorted(committed) == sorted(_files(tmp_path))
    assert committed == _files(tmp_path), "run `python -m synth demo --out demo/exports` and commit"


def test_demo_has_two_sites_ten_enrolled_screen_failures_and_one_data_cut(demo):
    assert sorted(p.name for p in DEMO_DIR.iterdir()) == ["site01", "site02"]
    dm = _all(demo, "dm")
    assert dm.filter(pl.col("ARMCD") == "ANIFRO").height == K.TARGET_ENROLLED
    assert 2 <= dm.filter(pl.col("ARMCD") == "SCRNFAIL").height <= 3
    for site in ("01", "02"):
        meta = json.loads((DEMO_DIR / f"site{site}" / "export.json").read_text())
        assert meta == {"siteid": site, "data_cut": DEMO["data_cut"]}


def test_demo_site02_is_cp932_and_site01_utf8():
    japanese = "プレドニゾロン"
    site02 = (DEMO_DIR / "site02" / "cm.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        site02.decode("utf-8")
    assert japanese in site02.decode("cp932")
    for path in (DEMO_DIR / "site01").glob("*.csv"):
        path.read_bytes().decode("utf-8")  # raises if not UTF-8


def test_frames_hold_exactly_the_contract_columns_as_strings(demo):
    for frames in demo.values():
        assert sorted(frames) == sorted(K.DOMAINS)
        for domain, df in frames.items():
            assert df.columns == list(K.COLUMNS[domain]), domain
            assert set(df.dtypes) <= {pl.String}, domain


# --- validity through the real ETL -------------------------------------------------------------

def test_demo_exports_validate_with_zero_problems(validate):
    result = validate(sorted(DEMO_DIR.iterdir()))
    assert [str(p) for p in result.problems] == []
    assert [e.siteid for e in result.exports] == ["01", "02"]
    assert all(e.data_cut == CUT and e.data_cut_source == "export.json" for e in result.exports)
    assert any("CP932" in note for note in result.exports[1].notes)


def test_fifty_subject_trial_without_export_json_validates_with_zero_problems(validate, tmp_path):
    trial = generate_trial(50, 50, 3, CUT)
    paths = write_trial(trial, tmp_path, None, {"03": "cp932"})
    result = validate(paths)
    assert [str(p) for p in result.problems] == []
    # Without export.json the cut is the latest date in the rows: never after CUT.
    assert all(e.data_cut_source == "rows" and e.data_cut <= CUT for e in result.exports)


# --- the stories a monitor must see ------------------------------------------------------------

def test_demo_tells_the_protocol_stories(demo):
    ds, ex, ae, cm = (_all(demo, d) for d in ("ds", "ex", "ae", "cm"))
    qs, dm, ie = _all(demo, "qs"), _all(demo, "dm"), _all(demo, "ie")
    assert ds.filter(pl.col("DSDECOD") == "WITHDRAWAL BY SUBJECT").height == 1
    # Screen failures: SCREEN FAILURE event, reasons in ie.csv, no RFSTDTC.
    sf = dm.filter(pl.col("ARMCD") == "SCRNFAIL")
    assert sf.get_column("RFSTDTC").null_count() == sf.height
    assert set(sf.get_column("USUBJID")) == set(ie.get_column("USUBJID"))
    # A serious, hospitalised event; a partial onset date; Japanese verbatim terms.
    serious = ae.filter(pl.col("AESER") == "Y")
    assert serious.height >= 1 and (serious.get_column("AESHOSP") == "Y").all()
    assert ae.filter(pl.col("AESTDTC").str.len_chars() == 7).height >= 1
    assert ae.get_column("AETERM").str.contains("帯状疱疹|上気道炎|鼻咽頭炎|気管支炎").any()
    assert {"Herpes zoster", "Infusion related reaction"} <= set(ae.get_column("AEDECOD"))
    # A methylprednisolone pulse (>= 250 mg prednisolone-equivalent IV, R-PSL) and an
    # immunosuppressant started.
    pulse = cm.filter((pl.col("CMDECOD") == "METHYLPREDNISOLONE")
                      & (pl.col("CMROUTE") == "INTRAVENOUS"))
    assert pulse.height == 1 and float(pulse.get_column("CMDOSE")[0]) * 1.25 >= 250
    assert cm.filter(pl.col("CMCAT") == "IMMUNOSUPPRESSANT").height >= 1
    # A missed visit (a subject with a WEEK 12 assessment but none at WEEK 8) and an
    # out-of-window visit (WEEK 16 nominal day 113, window +-7: study day beyond 120).
    visits = qs.filter(pl.col("QSTESTCD") == K.SLEDAI_TOTAL).join(
        dm.select("USUBJID", "RFSTDTC"), on="USUBJID")
    per = visits.group_by("USUBJID").agg(pl.col("VISIT"))
    assert per.filter(pl.col("VISIT").list.contains("WEEK 12")
                      & ~pl.col("VISIT").list.contains("WEEK 8")).height >= 1
    study_day = (pl.col("QSDTC").str.to_date() - pl.col("RFSTDTC").str.to_date()).dt.total_days() + 1
    wk16 = visits.filter(pl.col("VISIT") == "WEEK 16").with_columns(study_day.alias("DY"))
    assert wk16.filter((pl.col("DY") - 113).abs() > 7).height == 1
    # One subject still before week 12 at the data cut: due when day 7*12+1+7 = 92 <= cut day.
    enrolled = dm.filter(pl.col("ARMCD") == "ANIFRO").with_columns(
        ((pl.lit(CUT) - pl.col("RFSTDTC").str.to_date()).dt.total_days() + 1).alias("CUTDY"))
    assert enrolled.filter(pl.col("CUTDY") < 92).height == 1
    # Anifrolumab 300 mg at visits WEEK 0..WEEK 24 only.
    assert set(ex.get_column("EXDOSE")) == {"300"}
    assert set(ex.get_column("VISIT")) <= {f"WEEK {w}" for w in range(0, 25, 4)}


def test_serological_sledai_items_agree_with_the_labs_of_the_same_visit(demo):
    """R-SLEDAI consistency checks: LOWCOMP iff C3, C4 or CH50 < LBSTNRLO; INCDNA iff DDNAIGAB >
    LBSTNRHI; THROMBO iff PLAT < 100; LEUKOPEN iff WBC < 3 (recomputed here from lb.csv)."""
    lb, qs = _all(demo, "lb"), _all(demo, "qs")
    num = lambda c: pl.col(c).cast(pl.Float64)
    flags = lb.with_columns(
        ((pl.col("LBTESTCD").is_in(["C3", "C4", "CH50"])) & (num("LBSTRESN") < num("LBSTNRLO")))
        .alias("LOWCOMP"),
        ((pl.col("LBTESTCD") == "DDNAIGAB") & (num("LBSTRESN") > num("LBSTNRHI"))).alias("INCDNA"),
        ((pl.col("LBTESTCD") == "PLAT") & (num("LBSTRESN") < 100)).alias("THROMBO"),
        ((pl.col("LBTESTCD") == "WBC") & (num("LBSTRESN") < 3)).alias("LEUKOPEN"),
    ).group_by("USUBJID", "LBDTC").agg(
        pl.col(c).fill_null(False).any() for c in ("LOWCOMP", "INCDNA", "THROMBO", "LEUKOPEN"))
    items = (qs.filter(pl.col("QSTESTCD").is_in(["LOWCOMP", "INCDNA", "THROMBO", "LEUKOPEN"]))
             .with_columns((pl.col("QSORRES") == "PRESENT").alias("P"))
             .pivot(on="QSTESTCD", index=["USUBJID", "QSDTC"], values="P"))
    joined = items.join(flags, left_on=["USUBJID", "QSDTC"], right_on=["USUBJID", "LBDTC"],
                        suffix="_LAB")
    assert joined.height == items.height > 0
    for item in ("LOWCOMP", "INCDNA", "THROMBO", "LEUKOPEN"):
        assert (joined.get_column(item) == joined.get_column(f"{item}_LAB")).all(), item
    assert joined.get_column("LOWCOMP").any() and not joined.get_column("LOWCOMP").all()


def test_prednisolone_starts_at_most_06_mg_per_kg_and_within_14_days_before_day_1(demo):
    """R-PROTOCOL: first PSL dose <= 0.6 mg/kg x screening weight; first infusion no more than
    14 days after PSL initiation. E.g. 66.0 kg -> at most 39.6 mg/day."""
    cm, vs, dm = _all(demo, "cm"), _all(demo, "vs"), _all(demo, "dm")
    per_day = {"QD": 1, "BID": 2, "TID": 3, "QID": 4}
    first = (cm.filter(pl.col("CMDECOD") == "PREDNISOLONE")
             .with_columns((pl.col("CMDOSE").cast(pl.Float64)
                            * pl.col("CMDOSFRQ").replace_strict(per_day, return_dtype=pl.Float64))
                           .alias("DAILY"))
             .sort("CMSTDTC").group_by("USUBJID", maintain_order=True).first())
    weight = vs.filter((pl.col("VSTESTCD") == "WEIGHT") & (pl.col("VISIT") == "SCREENING"))
    joined = (first.join(weight.select("USUBJID", pl.col("VSSTRESN").cast(pl.Float64).alias("KG")),
                         on="USUBJID")
              .join(dm.select("USUBJID", "RFSTDTC"), on="USUBJID"))
    assert joined.height == K.TARGET_ENROLLED
    assert (joined.get_column("DAILY") <= 0.6 * joined.get_column("KG")).all()
    lead = (joined.get_column("RFSTDTC").str.to_date()
            - joined.get_column("CMSTDTC").str.to_date()).dt.total_days()
    assert lead.min() >= 0 and lead.max() <= 14


def test_sledai_total_is_the_sum_of_item_weights_at_every_assessment(demo):
    qs = _all(demo, "qs").filter(pl.col("QSCAT") == "SLEDAI-2K")
    sums = (qs.filter(pl.col("QSTESTCD") != K.SLEDAI_TOTAL)
            .group_by("USUBJID", "QSDTC")
            .agg(pl.col("QSSTRESN").cast(pl.Int64).sum().alias("SUM"), pl.len().alias("N")))
    totals = qs.filter(pl.col("QSTESTCD") == K.SLEDAI_TOTAL).select(
        "USUBJID", "QSDTC", pl.col("QSORRES").cast(pl.Int64).alias("TOTAL"))
    joined = sums.join(totals, on=["USUBJID", "QSDTC"])
    assert joined.height == totals.height == sums.height
    assert (joined.get_column("N") == 24).all()
    assert (joined.get_column("SUM") == joined.get_column("TOTAL")).all()


def test_no_date_after_the_data_cut_in_a_large_trial():
    trial = generate_trial(3, 400, 4, CUT)
    for domain, cols in K.DATE_COLUMNS.items():
        df = _all(trial, domain)
        for col in cols:
            latest = df.get_column(col).drop_nulls().str.slice(0, 10).max()
            assert latest is None or latest <= CUT.isoformat(), (domain, col, latest)


def test_more_than_999_subjects_per_site_is_refused():
    with pytest.raises(ValueError, match="999"):
        generate_trial(1, 2000, 2, CUT)


def test_cli_trial_writes_one_folder_per_site(tmp_path):
    out = tmp_path / "trial"
    run = subprocess.run([sys.executable, "-m", "synth", "trial", "--subjects", "20", "--sites",
                          "2", "--seed", "5", "--out", str(out)], cwd=PROJECT_ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["site01", "site02"]
    assert (out / "site01" / "export.json").is_file()


# --- corrupt variants: each refused with exactly its problem -----------------------------------

_BASE = generate_trial(4, 12, 1, CUT)["01"]
VARIANTS = {v.name: v for v in corrupt_variants(_BASE, CUT)}


def test_the_base_of_the_corrupt_variants_is_valid(validate, tmp_path):
    paths = write_trial({"01": _BASE}, tmp_path, CUT)
    assert [str(p) for p in validate(paths).problems] == []


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_corrupt_variant_is_refused_with_exactly_its_problem(name, validate, tmp_path):
    variant = VARIANTS[name]
    result = validate([variant.write(tmp_path)])
    assert [str(p) for p in result.problems] == [variant.expected]


def test_cli_corrupt_writes_every_variant_and_a_manifest_of_expected_problems(tmp_path):
    run = subprocess.run([sys.executable, "-m", "synth", "corrupt", "--out", str(tmp_path)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((tmp_path / "variants.json").read_text(encoding="utf-8"))
    assert sorted(manifest) == sorted(VARIANTS)
    assert {n: m["expected"] for n, m in manifest.items()} == {
        n: v.expected for n, v in VARIANTS.items()}
    assert all(Path(m["path"]).exists() for m in manifest.values())
    assert manifest["zip_slip"]["path"].endswith(".zip")


# --- every branch a rule has, in a generated trial of >= 20 enrolled (synth/branches.py) ------

def _csv_rows(folders: list[Path]) -> dict[str, list[dict]]:
    """Every domain of the sites as csv.DictReader rows (site 02 is CP932), nothing derived."""
    import csv
    import io
    out: dict[str, list[dict]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.csv")):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("cp932")
            out.setdefault(path.stem, []).extend(csv.DictReader(io.StringIO(text, newline="")))
    return out


def test_branch_trial_holds_every_rule_branch_counted_from_its_csv_files(validate, tmp_path):
    """The trial tests/test_independent_derivation.py compares (30 screened, 24 enrolled) holds
    each branch, counted from the CSV files it wrote, and is a valid export. ISTOL = N "where C1-C4
    hold" is judged by that test module's independent re-derivation (csv + datetime, no etl)."""
    from tests.test_independent_derivation import BRANCH_TRIAL, lldas_per_visit, read_exports
    args = dict(zip(BRANCH_TRIAL[::2], BRANCH_TRIAL[1::2]))
    trial = generate_trial(int(args["--seed"]), int(args["--subjects"]), int(args["--sites"]), CUT)
    paths = write_trial(trial, tmp_path, CUT, {"02": "cp932"})
    assert [str(p) for p in validate(paths).problems] == []
    rows = _csv_rows(paths)
    dm, ex, ds, cm, qs, lb, ae = (rows[d] for d in ("dm", "ex", "ds", "cm", "qs", "lb", "ae"))
    day1 = {r["USUBJID"]: r["RFSTDTC"] for r in dm}
    dosed = {r["USUBJID"] for r in ex}
    # An enrolled subject never dosed: ANIFRO, an ENROLLED milestone, no RFSTDTC, no infusion.
    enrolled = {r["USUBJID"] for r in ds if r["DSDECOD"] == "ENROLLED"}
    never = [r["USUBJID"] for r in dm if r["ARMCD"] == "ANIFRO" and r["RFSTDTC"] == ""]
    assert len(never) == 1 and never[0] in enrolled and never[0] not in dosed
    # R-PSL: dexamethasone, QID, TID, and a topical glucocorticoid regimen.
    gc = [r for r in cm if r["CMCAT"] == "GLUCOCORTICOID"]
    systemic = [r for r in gc if r["CMROUTE"] in ("ORAL", "INTRAVENOUS")]
    assert any(r["CMDECOD"] == "DEXAMETHASONE" for r in systemic)
    assert {"QID", "TID"} <= {r["CMDOSFRQ"] for r in systemic}
    assert any(r["CMROUTE"] == "TOPICAL" for r in gc)
    # R-SLEDAI renal descriptors, each present at some assessment; proteinuria with UPCR > 0.5.
    present = {(r["QSTESTCD"], r["USUBJID"], r["QSDTC"]) for r in qs if r["QSORRES"] == "PRESENT"}
    for code in ("UCASTS", "HEMATUR", "PROTURIA", "PYURIA"):
        assert any(c == code for c, _, _ in present), code
    upcr = {(r["USUBJID"], r["LBDTC"]): float(r["LBSTRESN"]) for r in lb
            if r["LBTESTCD"] == "UPCR" and r["LBSTRESN"]}
    assert all(upcr[(u, d)] > 0.5 for c, u, d in present if c == "PROTURIA")
    # R-AE: anaphylaxis, tuberculosis, malignancy; onsets known to the year (in day 1's year and
    # in a later one), to the month in day 1's month; a full-date event before day 1 of a dosed
    # subject.
    assert any(r["AEDECOD"] == "Anaphylactic reaction" for r in ae)
    assert any("tuberculosis" in r["AEDECOD"].lower() for r in ae)
    assert any(r["AEBODSYS"].startswith("Neoplasms benign, malignant") for r in ae)
    year_only = [(r["AESTDTC"], day1[r["USUBJID"]][:4]) for r in ae if len(r["AESTDTC"]) == 4]
    assert any(y == y1 for y, y1 in year_only) and any(y > y1 for y, y1 in year_only)
    assert any(len(r["AESTDTC"]) == 7 and r["AESTDTC"] == day1[r["USUBJID"]][:7] for r in ae)
    assert any(len(r["AESTDTC"]) == 10 and r["USUBJID"] in dosed
               and r["AESTDTC"] < day1[r["USUBJID"]] for r in ae)
    # R-LLDAS C5: ISTOL = N at an assessment where C1-C4 are all Y (so LLDAS is N by C5 alone).
    lldas = lldas_per_visit(read_exports(paths))
    istol_n = {(r["USUBJID"], r["VISIT"]) for r in qs if r["QSTESTCD"] == "ISTOL" and r["QSORRES"] == "N"}
    decided_by_c5 = [k for k in istol_n
                     if all(lldas[k][c] == "Y" for c in ("CRIT1FL", "CRIT2FL", "CRIT3FL", "CRIT4FL"))]
    assert decided_by_c5 and all(lldas[k]["LLDASFL"] == "N" for k in decided_by_c5)
