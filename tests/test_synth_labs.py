"""The synthetic generator's contract-1.1 laboratory tests (BILI, NEUT, LYM) and laboratory stories
(R-LAB), read from the generated frames with plain Polars (not through the ETL):

- every assessment visit has the three new tests, and the differential fits the WBC it came from
  (NEUT + LYM <= WBC), so the SLEDAI-2K LEUKOPEN item derived from the WBC still holds;
- the demo shows one grade-3 neutropenia, one ALT above 3 and at most 5 x ULN that is back within
  its range at the next visit, a post-baseline lymphopenia, and no date with ALT or AST > 3 x ULN
  together with BILI > 2 x ULN;
- the new values come from their own random stream: another stream changes nothing but them (and
  the one ALT value of the ALT story), so every figure worked out from the demo before contract 1.1
  still holds.
"""
from __future__ import annotations

import polars as pl
import pytest

import synth.generator as generator
from synth import demo_trial

NEW = ("BILI", "NEUT", "LYM")


def _all(trial: dict, domain: str) -> pl.DataFrame:
    return pl.concat([frames[domain] for _site, frames in sorted(trial.items())])


@pytest.fixture(scope="module")
def demo():
    return demo_trial()[0]


def _labs(trial) -> pl.DataFrame:
    """lb rows with numbers and the study day's sign (post-baseline = after the first infusion)."""
    dm = _all(trial, "dm").select("USUBJID", "RFSTDTC")
    f = lambda c: pl.col(c).cast(pl.Float64)
    return (_all(trial, "lb").join(dm, on="USUBJID")
            .with_columns(V=f("LBSTRESN"), LO=f("LBSTNRLO"), HI=f("LBSTNRHI"),
                          POST=pl.col("LBDTC") > pl.col("RFSTDTC").fill_null("9999")))


def _wide(labs: pl.DataFrame) -> pl.DataFrame:
    return labs.pivot(on="LBTESTCD", index=["USUBJID", "VISIT", "LBDTC", "POST"], values="V")


def test_every_lab_visit_has_bilirubin_neutrophils_and_lymphocytes_in_contract_units(demo):
    lb = _all(demo, "lb")
    visits = lb.filter(pl.col("LBTESTCD") == "WBC").select("USUBJID", "LBDTC")
    for code, unit, cat in (("BILI", "mg/dL", "CHEMISTRY"), ("NEUT", "10^3/uL", "HEMATOLOGY"),
                            ("LYM", "10^3/uL", "HEMATOLOGY")):
        rows = lb.filter(pl.col("LBTESTCD") == code)
        assert rows.select("USUBJID", "LBDTC").sort(pl.all()).rows() == visits.sort(pl.all()).rows()
        assert set(rows["LBSTRESU"]) == {unit} and set(rows["LBCAT"]) == {cat}


def test_the_differential_fits_the_white_count_on_every_visit(demo):
    w = _wide(_labs(demo))
    assert w.height > 0
    assert w.filter(pl.col("NEUT") + pl.col("LYM") > pl.col("WBC")).height == 0


def test_contract_1_1_rows_come_after_each_subjects_contract_1_rows(demo):
    # LBSEQ of a subject's contract-1 rows run 1..k in file order; BILI/NEUT/LYM take k+1 onwards.
    lb = _all(demo, "lb").with_columns(pl.col("LBSEQ").cast(pl.Int64), NEW=pl.col("LBTESTCD").is_in(NEW))
    per = lb.group_by("USUBJID").agg(last_old=pl.col("LBSEQ").filter(~pl.col("NEW")).max(),
                                     first_new=pl.col("LBSEQ").filter(pl.col("NEW")).min(),
                                     n_old=(~pl.col("NEW")).sum())
    assert per.filter((pl.col("first_new") != pl.col("last_old") + 1)
                      | (pl.col("last_old") != pl.col("n_old"))).height == 0


def test_demo_laboratory_stories_r_lab(demo):
    labs = _labs(demo)
    post = labs.filter(pl.col("POST"))
    # One grade-3 neutropenia after day 1: NEUT below 1.0 and at least 0.5.
    neut3 = post.filter((pl.col("LBTESTCD") == "NEUT") & (pl.col("V") < 1.0) & (pl.col("V") >= 0.5))
    assert neut3.height == 1
    assert post.filter((pl.col("LBTESTCD") == "NEUT") & (pl.col("V") < 0.5)).height == 0
    # One ALT above 3 and at most 5 x ULN after day 1, within the range at the subject's next visit.
    alt = labs.filter(pl.col("LBTESTCD") == "ALT").sort("USUBJID", "LBDTC").with_columns(
        NEXT=pl.col("V").shift(-1).over("USUBJID"))
    high = alt.filter(pl.col("POST") & (pl.col("V") > 3 * pl.col("HI")))
    assert high.height == 1
    assert high["V"][0] <= 5 * high["HI"][0] and high["NEXT"][0] <= high["HI"][0]
    # A lymphopenia after day 1 (LYM below its LLN).
    assert post.filter((pl.col("LBTESTCD") == "LYM") & (pl.col("V") < pl.col("LO"))).height >= 1
    # No potential Hy's law: no date with ALT or AST > 3 x ULN and BILI > 2 x ULN.
    ratio = post.filter(pl.col("LBTESTCD").is_in(["ALT", "AST", "BILI"])).with_columns(
        R=pl.col("V") / pl.col("HI")).pivot(on="LBTESTCD", index=["USUBJID", "LBDTC"], values="R")
    assert ratio.filter(((pl.col("ALT") > 3) | (pl.col("AST") > 3)) & (pl.col("BILI") > 2)).height == 0
    assert post.filter((pl.col("LBTESTCD") == "BILI") & (pl.col("V") > pl.col("HI"))).height == 0


def test_the_lab_stream_changes_only_the_new_tests_and_the_alt_story(demo, monkeypatch):
    """Another LAB_STREAM constant draws other BILI/NEUT/LYM values and may put the ALT story on
    another visit; every other value of every domain stays the same as in the demo."""
    monkeypatch.setattr(generator, "LAB_STREAM", generator.LAB_STREAM + 1)
    other = demo_trial()[0]
    for domain in ("dm", "ds", "ie", "ex", "cm", "vs", "qs", "ae"):
        assert _all(other, domain).equals(_all(demo, domain)), domain
    keep = ~pl.col("LBTESTCD").is_in([*NEW, "ALT"])
    a, b = _all(demo, "lb"), _all(other, "lb")
    assert a.filter(keep).equals(b.filter(keep))
    assert not a.filter(pl.col("LBTESTCD").is_in(NEW)).equals(b.filter(pl.col("LBTESTCD").is_in(NEW)))
    # ALT differs on at most the two story visits (the demo's and the other stream's).
    alt = a.filter(pl.col("LBTESTCD") == "ALT").join(
        b.filter(pl.col("LBTESTCD") == "ALT"), on=["USUBJID", "LBSEQ"], suffix="_b")
    assert alt.height == a.filter(pl.col("LBTESTCD") == "ALT").height
    assert alt.filter(pl.col("LBSTRESN") != pl.col("LBSTRESN_b")).height <= 2
