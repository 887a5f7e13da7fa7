"""Every branch a rule has, in every generated trial of at least ``MIN_ENROLLED`` enrolled subjects.

The per-subject stories of synth/generator.py give a trial what a monitor must see; this module
adds, once each and to subjects drawn from their own random stream (``BRANCH_STREAM``), the cases
in which a rule takes its less common branch, so that the independent re-derivation of the spec
(tests/test_independent_derivation.py) meets each of them:

- R-ENDPOINT / R-AE: an **enrolled subject never dosed** (ENROLLED, prednisolone started, withdrawn
  by the investigator before the first infusion: RFSTDTC empty, no ex.csv row, outside the FAS),
  with an adverse event before day 1 (TRTEMFL N without a first infusion);
- R-PSL: a **dexamethasone** regimen (factor 6.67), a **QID** and a **TID** prednisolone regimen
  (the same daily dose split in 4 or 3), and a **topical** betamethasone regimen (not counted);
- R-SLEDAI / R-LLDAS C1: the four **renal descriptors** (urinary casts, haematuria, proteinuria with
  a urine protein/creatinine ratio above 0.5, pyuria), each at one post-baseline visit of its own
  subject, the total and NEWACT adjusted as the site would send them;
- R-AE: an **anaphylactic reaction** (AESI hypersensitivity, serious), a **pulmonary tuberculosis**
  (AESI tuberculosis, not serious), a **basal cell carcinoma** (AESI malignancy), two onsets known to
  the **year only** (one in the first infusion's year: imputed to day 1; one in a later year: 1
  January), an onset known to the month in the first infusion's month (imputed to day 1), and a
  full-date adverse event before day 1 of a dosed subject (not treatment-emergent);
- R-LLDAS C5: **ISTOL = N** at an assessment where C1 to C4 hold (a WEEK 12 one when there is one),
  on an immunosuppressant that day (tacrolimus added from the previous assessment when not).

Each change keeps the export valid under the site-export contract (``python -m etl validate``
accepts it). Smaller trials, the 10-enrolled demo among them, are returned unchanged, so
``python -m synth demo`` still writes the committed demo byte for byte. The frames are whole-trial
(before the split by site); --SEQ is renumbered per subject where rows are added or removed.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from etl import contract as K
from synth.catalog import DS_TERMS, MEDICATIONS

MIN_ENROLLED = 20
# numpy.random.default_rng([seed, BRANCH_STREAM]): the branches draw nothing from the main stream.
BRANCH_STREAM = 1602
C1_EXCLUDED_GROUPS = ("CNS", "renal", "cardiorespiratory", "vasculitis", "constitutional (fever)")
RENAL_ITEMS = ("UCASTS", "HEMATUR", "PROTURIA", "PYURIA")
EPOCH = dt.date(1970, 1, 1)

# (AEDECOD, AEBODSYS, English verbatim, Japanese verbatim)
ANAPHYLAXIS = ("Anaphylactic reaction", "Immune system disorders", "Anaphylaxis", "アナフィラキシー")
TUBERCULOSIS = ("Pulmonary tuberculosis", "Infections and infestations", "Pulmonary tuberculosis",
                "肺結核")
MALIGNANCY = ("Basal cell carcinoma", "Neoplasms benign, malignant and unspecified (incl cysts and "
              "polyps)", "Basal cell carcinoma", "基底細胞癌")
HEADACHE = ("Headache", "Nervous system disorders", "Headache", "頭痛")
INSOMNIA = ("Insomnia", "Psychiatric disorders", "Insomnia", "不眠症")
NASOPHARYNGITIS = ("Nasopharyngitis", "Infections and infestations", "Common cold", "鼻咽頭炎")
STOMATITIS = ("Stomatitis", "Gastrointestinal disorders", "Mouth sores", "口内炎")


def iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


def day_of(text: str) -> int:
    return (dt.date.fromisoformat(text[:10]) - EPOCH).days


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def apply_branches(rng: np.random.Generator, subjects: list, frames: dict[str, pl.DataFrame],
                   cut: int) -> dict[str, pl.DataFrame]:
    """The trial's frames with every branch added (see the module doc); unchanged below
    ``MIN_ENROLLED`` enrolled subjects. ``subjects``: the generator's subjects (their stories,
    day 1, prednisolone start, end of observation); ``cut``: the data cut's day number."""
    enrolled = [s for s in subjects if s.enrolled]
    if len(enrolled) < MIN_ENROLLED:
        return frames
    f = dict(frames)
    full = [s for s in enrolled if "recent" not in s.stories and s.end_obs - s.t1 >= 175]
    plain = [s for s in full if not s.stories]
    rest = [s for s in enrolled if s not in plain and "recent" not in s.stories]
    pool = [plain[i] for i in rng.permutation(len(plain))] + [rest[i] for i in rng.permutation(len(rest))]
    never, dex, qid, tid, topical, *renal = pool[:9]
    _never_dosed(rng, never, f)
    dosed = [s for s in enrolled if s is not never]
    _add_cm(f, dex, "DEXAMETHASONE", 1.0, "QD", "ORAL", dex.t1 + 30 + int(rng.integers(0, 10)), 6)
    _add_cm(f, topical, "BETAMETHASONE", 0.5, "BID", "TOPICAL",
            topical.t1 + 20 + int(rng.integers(0, 20)), 13)
    _split_prednisolone(f, qid, "QID")
    _split_prednisolone(f, tid, "TID")
    for code, s in zip(RENAL_ITEMS, renal):
        _renal_descriptor(rng, f, s, code)
    _branch_aes(rng, f, dosed, never)
    _istol_n(rng, f, dosed, cut)
    for domain in ("ds", "cm", "ae"):                   # rows added: sort them in, renumber
        f[domain] = _renumber(domain, f[domain])
    # The bulk domains only lost the never-dosed subject's later visits: renumber that subject
    # (lb lists contract 1.1's tests after all contract-1 rows, so its LBSEQ has gaps otherwise).
    for domain in ("qs", "lb", "vs"):
        f[domain] = _renumber_subject(domain, f[domain], never.usubjid)
    return f


# ---- helpers over the string frames ---------------------------------------------------------

def _renumber(domain: str, df: pl.DataFrame) -> pl.DataFrame:
    """Rows in subject order (USUBJID sorts site-major like the generator's order), --SEQ 1..n."""
    seq = K.SEQ_COLUMN[domain]
    return (df.sort("USUBJID", maintain_order=True)
            .with_columns(pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.String).alias(seq))
            .select(list(K.COLUMNS[domain])))


def _rows_of(df: pl.DataFrame, where: pl.Expr) -> pl.Series:
    """Row positions of ``df`` where ``where`` holds."""
    return df.with_row_index("_i").filter(where).get_column("_i")


def _patch(df: pl.DataFrame, rows: pl.Series, **values) -> pl.DataFrame:
    """``df`` with each column of ``values`` set at ``rows`` (a value, or one per row): a scatter
    into a copy of the column, cheap on the bulk domains of a large trial."""
    if rows.len() == 0:
        return df
    cols = []
    for c, v in values.items():
        col = df.get_column(c).clone()
        col.scatter(rows, v if isinstance(v, list) else [v] * rows.len())
        cols.append(col)
    return df.with_columns(cols)


def _renumber_subject(domain: str, df: pl.DataFrame, usubjid: str) -> pl.DataFrame:
    rows = _rows_of(df, pl.col("USUBJID") == usubjid)
    return _patch(df, rows, **{K.SEQ_COLUMN[domain]: [str(i) for i in range(1, rows.len() + 1)]})


def _append(f: dict, domain: str, **values) -> None:
    row = {c: values.get(c) for c in K.COLUMNS[domain]}
    row[K.SEQ_COLUMN[domain]] = "0"                      # renumbered at the end
    f[domain] = pl.concat([f[domain], pl.DataFrame([row], schema=f[domain].schema)])


def _set(df: pl.DataFrame, where: pl.Expr, **values) -> pl.DataFrame:
    return df.with_columns(pl.when(where).then(pl.lit(v, dtype=pl.String)).otherwise(pl.col(c)).alias(c)
                           for c, v in values.items())


def _withdrawal_day(f: dict, usubjid: str) -> int | None:
    ds = f["ds"].filter((pl.col("USUBJID") == usubjid) & (pl.col("DSCAT") == "DISPOSITION EVENT")
                        & (pl.col("DSDECOD") != "COMPLETED"))
    return day_of(ds["DSSTDTC"][0]) if ds.height else None


# ---- the branches ---------------------------------------------------------------------------

def _never_dosed(rng, s, f: dict) -> None:
    """Enrolled, prednisolone started, withdrawn (physician decision) before the first infusion."""
    w = s.psl_start + int(rng.integers(0, max(1, s.t1 - s.psl_start)))
    w = max(w, s.enrol)
    u, wt = s.usubjid, iso(w)
    me = pl.col("USUBJID") == u
    f["dm"] = _set(f["dm"], me, RFSTDTC=None)
    f["ex"] = f["ex"].filter(~me)
    f["ae"] = f["ae"].filter(~me)
    for domain, col in (("qs", "QSDTC"), ("lb", "LBDTC"), ("vs", "VSDTC")):
        f[domain] = f[domain].filter(~me | (pl.col(col) <= wt))
    cm = f["cm"].filter(~me | (pl.col("CMSTDTC") <= wt))
    f["cm"] = _set(cm, me & (pl.col("CMENDTC").is_null() | (pl.col("CMENDTC") > wt)), CMENDTC=wt)
    f["ds"] = f["ds"].filter(~me | (pl.col("DSCAT") != "DISPOSITION EVENT"))
    _append(f, "ds", STUDYID=K.STUDYID, USUBJID=u, DSCAT="DISPOSITION EVENT",
            DSTERM="INVESTIGATOR DECISION BEFORE FIRST INFUSION", DSDECOD="PHYSICIAN DECISION",
            DSSTDTC=wt)
    # An adverse event of the prednisolone lead-in, before any infusion (TRTEMFL N).
    onset = max(s.psl_start, w - 1)
    _add_ae(f, s, INSOMNIA, iso(onset), iso(w), grade="1", rel="NOT RELATED", acn="NOT APPLICABLE")
    s.stories.add("never_dosed")


def _add_cm(f: dict, s, decod: str, dose: float, frq: str, route: str, start: int, days: int) -> None:
    cat, en, ja = MEDICATIONS[decod]
    start = min(start, s.end_obs - days)
    _append(f, "cm", STUDYID=K.STUDYID, USUBJID=s.usubjid, CMTRT=ja if s.japanese else en,
            CMDECOD=decod, CMCAT=cat, CMDOSE=_fmt(dose), CMDOSU="mg", CMDOSFRQ=frq,
            CMROUTE=route, CMSTDTC=iso(start), CMENDTC=iso(start + days))
    s.stories.add(f"cm_{decod.lower()}")


def _split_prednisolone(f: dict, s, frq: str) -> None:
    """One prednisolone regimen given as the same daily dose in ``frq`` administrations (the one
    of 15 mg/day if any, else the first whose share has at most two decimals)."""
    n = K.DOSES_PER_DAY[frq]
    cm = f["cm"].with_row_index("_i")
    mine = cm.filter((pl.col("USUBJID") == s.usubjid) & (pl.col("CMDECOD") == "PREDNISOLONE"))
    daily = [float(d) * K.DOSES_PER_DAY[q] for d, q in zip(mine["CMDOSE"], mine["CMDOSFRQ"])]
    fits = [(i, d) for i, d in zip(mine["_i"], daily) if round(d * 100) % n == 0 and d >= n]
    if not fits:
        return
    i, d = next((x for x in fits if x[1] == 15.0), fits[0])
    f["cm"] = _set(cm, pl.col("_i") == i, CMDOSE=_fmt(d / n), CMDOSFRQ=frq).drop("_i")
    s.stories.add(f"cm_{frq.lower()}")


def _renal_descriptor(rng, f: dict, s, code: str) -> None:
    """``code`` present at one post-baseline visit (WEEK 4 .. WEEK 20) of ``s``: item weight 4,
    the total +4, NEWACT Y when it was absent at the previous assessment; for PROTURIA the same
    visit's UPCR above 0.5 g/gCr (the generator derives PROTURIA from UPCR)."""
    qs = f["qs"]
    mine = qs.filter((pl.col("USUBJID") == s.usubjid) & (pl.col("QSTESTCD") == code))
    visits = mine.filter(pl.col("VISIT").is_in([f"WEEK {w}" for w in (4, 8, 12, 16, 20)]))
    if visits.height == 0:
        return
    row = visits.row(int(rng.integers(0, visits.height)), named=True)
    s.stories.add(f"renal_{code.lower()}")
    if row["QSORRES"] == "PRESENT":
        return
    date = row["QSDTC"]
    earlier = mine.filter(pl.col("QSDTC") < date).sort("QSDTC")
    was_absent = earlier.height > 0 and earlier["QSORRES"][-1] == "ABSENT"
    weight = K.SLEDAI_ITEMS[code][1]
    at = _rows_of(qs, (pl.col("USUBJID") == s.usubjid) & (pl.col("QSDTC") == date))
    visit = qs[at]
    pos = dict(zip(visit["QSTESTCD"], at))
    total = str(int(visit.filter(pl.col("QSTESTCD") == K.SLEDAI_TOTAL)["QSORRES"][0]) + weight)
    qs = _patch(qs, pl.Series([pos[code]]), QSORRES="PRESENT", QSSTRESN=str(weight))
    qs = _patch(qs, pl.Series([pos[K.SLEDAI_TOTAL]]), QSORRES=total, QSSTRESN=total)
    if was_absent:
        qs = _patch(qs, pl.Series([pos["NEWACT"]]), QSORRES="Y", QSSTRESN="1")
    f["qs"] = qs
    if code == "PROTURIA":
        lb_at = ((pl.col("USUBJID") == s.usubjid) & (pl.col("LBDTC") == date)
                 & (pl.col("LBTESTCD") == "UPCR") & pl.col("LBSTRESN").is_not_null())
        upcr = f"{rng.uniform(0.6, 1.4):.2f}"
        f["lb"] = _patch(f["lb"], _rows_of(f["lb"], lb_at), LBORRES=upcr, LBSTRESN=upcr)


def _add_ae(f: dict, s, term: tuple, start: str, end: str | None, *, grade: str, rel: str,
            acn: str = "DOSE NOT CHANGED", serious: str | None = None) -> None:
    pt, soc, en, ja = term
    criteria = {c: None for c in K.AE_SERIOUS_CRITERIA}
    if serious:
        criteria = {c: "N" for c in K.AE_SERIOUS_CRITERIA}
        criteria[serious] = "Y"
    _append(f, "ae", STUDYID=K.STUDYID, USUBJID=s.usubjid, AETERM=ja if s.japanese else en,
            AEDECOD=pt, AEBODSYS=soc, AESTDTC=start, AEENDTC=end, AETOXGR=grade,
            AESER="Y" if serious else "N", **criteria, AEREL=rel, AEACN=acn,
            AEOUT="RECOVERED/RESOLVED" if end else "NOT RECOVERED/NOT RESOLVED")


def _branch_aes(rng, f: dict, dosed: list, never) -> None:
    """The R-AE branches, each on a dosed subject drawn from the branch stream."""
    order = [dosed[i] for i in rng.permutation(len(dosed))]

    def end_or_ongoing(s, end: int) -> str | None:
        return iso(end) if end <= s.end_obs else None

    used: list = []

    def pick(fits):
        """The first subject that fits, one not given an R-AE branch yet if there is one."""
        s = next((s for s in order if fits(s) and s not in used), None)
        s = s or next((s for s in order if fits(s)), None)
        used.append(s)
        return s

    # Anaphylaxis at an infusion (WEEK 4's, else WEEK 0's), resolved the next day.
    s = pick(lambda s: s.end_obs - s.t1 >= 40)
    if s is not None:
        day = s.visit_days[2] if s.visit_days[2] is not None else s.t1
        _add_ae(f, s, ANAPHYLAXIS, iso(day), iso(day + 1), grade="3", rel="RELATED",
                acn="DRUG INTERRUPTED", serious="AESMIE")
    # Pulmonary tuberculosis, not serious, treated for months.
    s = pick(lambda s: s.end_obs - s.t1 >= 100)
    if s is not None:
        day = s.t1 + 60 + int(rng.integers(0, 30))
        _add_ae(f, s, TUBERCULOSIS, iso(day), end_or_ongoing(s, day + 120), grade="2",
                rel="POSSIBLY RELATED", acn="DRUG INTERRUPTED")
    s = pick(lambda s: s.end_obs - s.t1 >= 130)
    if s is not None:
        day = s.t1 + 90 + int(rng.integers(0, 30))
        _add_ae(f, s, MALIGNANCY, iso(day), end_or_ongoing(s, day + 21), grade="2",
                rel="UNLIKELY RELATED")
    # Onset known to the year only, in the first infusion's year (imputed to day 1): a subject
    # with at least 30 days of that year left after day 1, within observation.

    def year_end(day: int) -> int:
        d = EPOCH + dt.timedelta(days=day)
        return (dt.date(d.year, 12, 31) - EPOCH).days

    s = pick(lambda s: min(year_end(s.t1), s.end_obs) - s.t1 >= 30)
    if s is not None:
        day = s.t1 + 10 + int(rng.integers(0, 15))
        _add_ae(f, s, HEADACHE, str((EPOCH + dt.timedelta(days=day)).year), iso(day + 3),
                grade="1", rel="UNLIKELY RELATED")
    # ... and in a later year than day 1 (imputed to 1 January of that year).
    s = pick(lambda s: s.end_obs - (year_end(s.t1) + 1) >= 20)
    if s is not None:
        day = year_end(s.t1) + 5 + int(rng.integers(0, 10))
        _add_ae(f, s, STOMATITIS, str((EPOCH + dt.timedelta(days=day)).year), iso(day + 5),
                grade="1", rel="NOT RELATED")
    # Onset known to the month, in the first infusion's month (imputed to day 1).

    def month_left(s) -> int:
        d = EPOCH + dt.timedelta(days=s.t1)
        nxt = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return min((nxt - EPOCH).days - 1, s.end_obs) - s.t1

    s = pick(lambda s: month_left(s) >= 5)
    if s is not None:
        day = s.t1 + 1 + int(rng.integers(0, 4))
        d = EPOCH + dt.timedelta(days=day)
        _add_ae(f, s, NASOPHARYNGITIS, f"{d.year:04d}-{d.month:02d}", end_or_ongoing(s, day + 20),
                grade="1", rel="POSSIBLY RELATED")
    # A full-date event during the prednisolone lead-in of a dosed subject (not treatment-emergent).
    s = pick(lambda s: s.t1 - s.psl_start >= 2)
    if s is not None:
        day = s.psl_start + int(rng.integers(0, s.t1 - s.psl_start))
        _add_ae(f, s, INSOMNIA, iso(day), iso(day + 3), grade="1", rel="NOT RELATED",
                acn="NOT APPLICABLE")


def _assessments(f: dict, dosed: list) -> pl.DataFrame:
    """One row per dosed subject's assessment: date, visit, present descriptors, the total, PGA,
    investigator items and the previous assessment's descriptors."""
    ids = [s.usubjid for s in dosed]
    qs = f["qs"].filter(pl.col("USUBJID").is_in(ids))
    items = list(K.SLEDAI_ITEMS)
    wide = (qs.group_by("USUBJID", "QSDTC", maintain_order=True).agg(
        pl.col("VISIT").first(),
        pl.col("QSTESTCD").filter(pl.col("QSTESTCD").is_in(items) & (pl.col("QSORRES") == "PRESENT"))
        .alias("PRESENT"),
        pl.col("QSORRES").filter(pl.col("QSTESTCD") == K.SLEDAI_TOTAL).first().cast(pl.Int64).alias("TOTAL"),
        pl.col("QSSTRESN").filter(pl.col("QSTESTCD") == K.PGA_TESTCD).first().cast(pl.Float64).alias("PGA"),
        *[pl.col("QSORRES").filter(pl.col("QSTESTCD") == c).first().alias(c)
          for c in K.LLDAS_INVESTIGATOR_ITEMS])
        .sort("USUBJID", "QSDTC")
        .with_columns(pl.col("PRESENT").shift(1).over("USUBJID").alias("PREV")))
    return wide


def _gc_dose(gc: pl.DataFrame, usubjid: str, date: str) -> float:
    """Prednisolone-equivalent dose (R-PSL) on ``date`` from the subject's rows of ``gc`` (the
    oral and intravenous glucocorticoid rows of cm)."""
    cm = gc.filter((pl.col("USUBJID") == usubjid) & (pl.col("CMSTDTC") <= date)
                   & (pl.col("CMENDTC").is_null() | (pl.col("CMENDTC") >= date)))
    return sum(float(d) * K.DOSES_PER_DAY[q] * K.PSL_FACTORS[c]
               for d, q, c in zip(cm["CMDOSE"], cm["CMDOSFRQ"], cm["CMDECOD"]))


def _istol_n(rng, f: dict, dosed: list, cut: int) -> None:
    """ISTOL = N at an assessment where C1-C4 hold, a WEEK 12 one if any (R-LLDAS C5 decides)."""
    by_id = {s.usubjid: s for s in dosed}
    a = _assessments(f, dosed)
    excluded = [c for c, (_, _, g) in K.SLEDAI_ITEMS.items() if g in C1_EXCLUDED_GROUPS]
    cand = a.filter(
        (pl.col("TOTAL") <= 4) & ~pl.col("PRESENT").list.eval(pl.element().is_in(excluded)).list.any()
        & (pl.col("HEMOLYT") == "N") & (pl.col("GIACT") == "N") & (pl.col("NEWACT") == "N")
        & (pl.col("ISTOL") == "Y") & pl.col("PREV").is_not_null()
        & (pl.col("PRESENT").list.set_difference(pl.col("PREV")).list.len() == 0)
        & (pl.col("PGA") <= 1.0))
    wk12 = cand.filter(pl.col("VISIT") == "WEEK 12")
    others = cand.filter(pl.col("VISIT") != "WEEK 12")
    ordered = (part[int(i)].row(0, named=True) for part in (wk12, others)
               for i in rng.permutation(part.height))
    # C4 as R-LLDAS compares it: at 0.01 mg (7.5 mg/day, the responders' week-12 dose, holds).
    gc = f["cm"].filter((pl.col("CMCAT") == "GLUCOCORTICOID")
                        & pl.col("CMROUTE").is_in(["ORAL", "INTRAVENOUS"]))
    choice = next((r for r in ordered if round(_gc_dose(gc, r["USUBJID"], r["QSDTC"]), 2) <= 7.5), None)
    if choice is None:
        return
    u, date = choice["USUBJID"], choice["QSDTC"]
    at = (pl.col("USUBJID") == u) & (pl.col("QSDTC") == date) & (pl.col("QSTESTCD") == "ISTOL")
    f["qs"] = _patch(f["qs"], _rows_of(f["qs"], at), QSORRES="N", QSSTRESN="0")
    s = by_id[u]
    s.stories.add("istol_n")
    cm = f["cm"].filter(pl.col("USUBJID") == u)
    on_is = cm.filter((pl.col("CMCAT") == "IMMUNOSUPPRESSANT") & (pl.col("CMSTDTC") <= date)
                      & (pl.col("CMENDTC").is_null() | (pl.col("CMENDTC") >= date)))
    if on_is.height or cm.filter(pl.col("CMDECOD") == "TACROLIMUS").height:
        return
    prev = a.filter((pl.col("USUBJID") == u) & (pl.col("QSDTC") < date))["QSDTC"][-1]
    w = _withdrawal_day(f, u)
    cat, en, ja = MEDICATIONS["TACROLIMUS"]
    _append(f, "cm", STUDYID=K.STUDYID, USUBJID=u, CMTRT=ja if s.japanese else en,
            CMDECOD="TACROLIMUS", CMCAT=cat, CMDOSE="3", CMDOSU="mg", CMDOSFRQ="QD", CMROUTE="ORAL",
            CMSTDTC=prev, CMENDTC=None if w is None else iso(w))
