"""The seeded synthetic-trial generator.

``generate_trial(seed, n_subjects, n_sites, data_cut)`` returns ``{siteid: {domain: frame}}``:
every frame holds exactly the contract's columns (``etl.contract.COLUMNS``), all strings, empty
fields as nulls. Same seed and arguments -> the same frames, value for value: one
``numpy.random.default_rng(seed)`` drawn in a fixed order, no clock, no set/dict-order leaks.

Each subject follows a story the protocol allows (registry-record.txt, clinical-rules.md):
consent -> screening (days -28..-1) -> enrolled (or screen failure with ie.csv reasons) ->
prednisolone (PSL) started at <= 0.6 mg/kg/day up to 14 days before the first anifrolumab
infusion, held 2 weeks, tapered weekly toward <= 7.5 mg/day by week 12 (responders) or stalled
(non-responders) -> anifrolumab 300 mg IV at WEEK 0..WEEK 20 (+ WEEK 24 in some) -> SLEDAI-2K,
PGA, LLDAS investigator items and labs at every assessment visit, the serological SLEDAI-2K
items (LOWCOMP, INCDNA, THROMBO, LEUKOPEN) and PROTURIA computed from the reported lab values
so they always agree with them (R-SLEDAI consistency checks).

Every trial of at least ~10 enrolled subjects also contains, once each, the stories a monitor must
see: a withdrawal, a missed visit, an out-of-window visit, a methylprednisolone pulse, a serious
adverse event (hospitalised), an adverse event with a partial onset date (YYYY-MM), an infusion
related reaction, and a subject still before week 12 at the data cut. Larger trials add more of
each at random rates. The laboratory stories (a grade-3 neutropenia, an ALT of 3-5 x ULN that
resolves, a lymphopenia, no potential Hy's law) and contract 1.1's BILI, NEUT and LYM come from a
stream of their own (``_safety_labs``, LAB_STREAM), so they leave every other value as it was.
Trials of at least 20 enrolled subjects (never the demo) then get every less common branch of the
rules from synth/branches.py (its own stream, BRANCH_STREAM). The bulk domains (qs, lb, vs) are built with numpy over the visit table;
only the short per-subject stories (dm, ds, ie, ex, cm, ae) loop in Python.
"""
from __future__ import annotations

import datetime as dt
import functools
import math

import numpy as np
import polars as pl

from etl import contract as K
from synth.catalog import (AE_CATALOG, AE_INDEX, CONTRACT_1_1_LABS, DS_TERMS, IFNGS_VISITS,
                           LAB_DETAILS, MEDICATIONS, ROUTINE_LABS, VS_DETAILS)
from synth.branches import BRANCH_STREAM, apply_branches

EPOCH = dt.date(1970, 1, 1)
VISIT_NAMES = tuple(K.VISITS)                        # SCREENING, WEEK 0, ..., WEEK 24
N_VISITS = len(VISIT_NAMES)
VISIT_WEEKS = [spec[1] for spec in K.VISITS.values()]
SLEDAI_CODES = tuple(K.SLEDAI_ITEMS)
SLEDAI_WEIGHTS = np.array([K.SLEDAI_ITEMS[c][1] for c in SLEDAI_CODES], dtype=np.int64)
LAB_DERIVED_ITEMS = ("LOWCOMP", "INCDNA", "THROMBO", "LEUKOPEN", "PROTURIA")
# Probability that a clinical descriptor is active at screening in a new-onset, active SLE.
CLINICAL_ITEM_PREVALENCE = {
    "ARTHRIT": 0.55, "RASH": 0.5, "ALOPECIA": 0.3, "MUCULCER": 0.3, "FEVER": 0.3,
    "PLEURISY": 0.08, "PERICARD": 0.04, "HEMATUR": 0.06, "PYURIA": 0.04, "UCASTS": 0.03,
    "VASCUL": 0.03, "MYOSIT": 0.02, "LUPHEAD": 0.01,
}
FLARE_ITEMS = ("ARTHRIT", "RASH", "MUCULCER")
PSL_LEVELS = (60.0, 55.0, 50.0, 45.0, 40.0, 35.0, 30.0, 25.0, 20.0, 17.5, 15.0, 12.5, 10.0,
              7.5, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0)
SCREEN_FAILURE_REASONS = (("IN03",), ("EX04",), ("EX08",), ("EX05",), ("IN03", "EX08"),
                          ("EX02",), ("EX11",))
# The contract-1.1 laboratory values (BILI, NEUT, LYM) and the laboratory stories come from their own
# random stream, numpy.random.default_rng([seed, LAB_STREAM]): drawing them takes nothing from the
# main stream, so every value of a trial that existed before them is unchanged.
LAB_STREAM = 1101
# Stories every trial holds at least once: name -> days of follow-up the subject needs.
STORIES = {"withdrawal": 110, "missed_visit": 95, "out_of_window": 150, "pulse": 70,
           "serious_ae": 90, "partial_ae": 120, "irr": 40}


def day_of(d: dt.date) -> int:
    return (d - EPOCH).days


@functools.lru_cache(maxsize=None)
def iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


def fmt_number(x: float) -> str:
    """Doses and similar: '30', '17.5', '8.75' — no float noise, no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return text


class _Subject:
    """One screened subject's story, in day numbers (days since 1970-01-01)."""

    __slots__ = ("idx", "site", "subjid", "usubjid", "enrolled", "consent", "screening", "enrol",
                 "t1", "psl_start", "age", "sex", "weight", "height", "responder", "sf_reasons",
                 "stories", "withdraw_day", "visit_days", "japanese", "last_day", "end_obs",
                 "irr_day")


def generate_trial(seed: int, n_subjects: int, n_sites: int, data_cut: dt.date, *,
                   screen_failure_rate: float = 0.2,
                   first_enrollment: dt.date | None = None) -> dict[str, dict[str, pl.DataFrame]]:
    """A whole synthetic trial: ``{siteid: {domain: frame of strings}}`` (see module doc).

    ``n_subjects`` counts screened subjects (rows of dm.csv); ``round(screen_failure_rate *
    n_subjects)`` of them fail screening. Enrollment runs from ``first_enrollment`` (default: the
    registry's first enrollment, 2023-12-26) to about 6 weeks before ``data_cut``; no date in the
    output lies after ``data_cut``.
    """
    if n_sites < 1 or n_subjects < n_sites:
        raise ValueError("need at least one subject per site")
    if math.ceil(n_subjects / n_sites) > 999:
        raise ValueError("SUBJID has three digits: at most 999 subjects per site")
    rng = np.random.default_rng(seed)
    cut = day_of(data_cut)
    first = day_of(first_enrollment or dt.date.fromisoformat(K.FIRST_ENROLLMENT_REGISTRY))
    if cut - first < 120:
        raise ValueError("data cut must be at least 120 days after the first enrollment")

    subjects = _draw_subjects(rng, n_subjects, n_sites, first, cut, screen_failure_rate)
    _assign_stories(rng, subjects, cut)
    rows = _Rows()
    for s in subjects:
        _visits(rng, s, cut)
    for s in subjects:
        _dm_ds_ie(rng, s, rows, cut)
        if s.enrolled:
            _ex(rng, s, rows)
            _cm(rng, s, rows, cut)
    clinical = _clinical_model(rng, subjects)
    visit_table = _visit_table(subjects)
    labs = _lab_values(rng, subjects, visit_table, clinical)
    items = _sledai_items(subjects, visit_table, clinical, labs)
    labs = _safety_labs(np.random.default_rng([seed, LAB_STREAM]), subjects, visit_table, labs)
    for s in subjects:
        if s.enrolled:
            _ae(rng, s, rows)
    frames = {
        "dm": rows.frame("dm"), "ds": rows.frame("ds"), "ie": rows.frame("ie"),
        "ex": rows.frame("ex"), "cm": rows.frame("cm"), "ae": rows.frame("ae"),
        "vs": _vs_frame(rng, subjects, visit_table, items),
        "lb": _lb_frame(rng, subjects, visit_table, labs),
        "qs": _qs_frame(rng, subjects, visit_table, items),
    }
    frames = apply_branches(np.random.default_rng([seed, BRANCH_STREAM]), subjects, frames, cut)
    return _split_by_site(frames, n_sites)


# --------------------------------------------------------------------------------------------
# Subjects and their calendars


def _draw_subjects(rng, n, n_sites, first, cut, sf_rate) -> list[_Subject]:
    n_sf = int(round(sf_rate * n))
    if n - n_sf < 1:
        raise ValueError("no enrolled subject left")
    sf = np.zeros(n, dtype=bool)
    sf[rng.choice(n, size=n_sf, replace=False)] = True
    site = rng.permutation(np.arange(n) % n_sites)
    last_t1 = cut - 45
    # Day-1 dates spread over the enrollment period.
    t1 = np.sort(rng.integers(first + 16, last_t1 + 1, size=n))
    first_enrolled = int(np.argmax(~sf))
    order = np.lexsort((t1, site))          # by site, then chronologically -> SUBJID order
    subjects: list[_Subject] = []
    counters = [0] * n_sites
    sex_f = rng.random(n) < 0.9
    ages = np.clip(np.round(rng.gamma(4.0, 7.0, n) + 16), 18, 79).astype(int)
    # Right-skewed body weights without a pile-up at a floor (women ~53 kg, men ~65 kg).
    weights = np.where(sex_f, 40 + rng.gamma(3.0, 4.5, n), 48 + rng.gamma(3.0, 5.7, n))
    heights = np.where(sex_f, rng.normal(157, 6, n), rng.normal(170, 6, n)).clip(140, 195)
    responder = rng.random(n) < 0.6
    japanese = rng.random(n) < 0.5
    lead = rng.integers(1, 15, n)           # PSL started 1..14 days before the first infusion
    enrol_gap = rng.integers(0, 3, n)
    screen_gap = rng.integers(1, 11, n)
    consent_gap = rng.integers(0, 4, n)
    for k, i in enumerate(order):
        s = _Subject()
        s.idx = k
        s.site = int(site[i])
        counters[s.site] += 1
        s.subjid = f"{counters[s.site]:03d}"
        s.usubjid = f"{K.STUDYID}-{s.site + 1:02d}-{s.subjid}"
        s.enrolled = not sf[i]
        s.t1 = int(t1[i])
        s.psl_start = s.t1 - int(lead[i])
        s.enrol = s.psl_start - int(enrol_gap[i])
        s.screening = max(s.t1 - 28, s.enrol - int(screen_gap[i]))
        s.consent = s.screening - int(consent_gap[i])
        s.age, s.sex = int(ages[i]), ("F" if sex_f[i] else "M")
        s.weight, s.height = round(float(weights[i]), 1), round(float(heights[i]), 1)
        s.responder = bool(responder[i])
        s.japanese = bool(japanese[i])
        s.sf_reasons = ()
        s.stories = set()
        s.withdraw_day = None
        s.irr_day = None
        if i == first_enrolled:
            # The first ENROLLED milestone falls on the registry's first enrollment date.
            s.t1 = first + int(lead[i]) + int(enrol_gap[i])
            s.psl_start = s.t1 - int(lead[i])
            s.enrol = s.psl_start - int(enrol_gap[i])
            s.screening = max(s.t1 - 28, s.enrol - int(screen_gap[i]))
            s.consent = s.screening - int(consent_gap[i])
        subjects.append(s)
    sf_subjects = [s for s in subjects if not s.enrolled]
    for j, s in enumerate(sf_subjects):
        s.sf_reasons = SCREEN_FAILURE_REASONS[j % len(SCREEN_FAILURE_REASONS)]
        if "IN03" in s.sf_reasons:
            s.responder = False
    return subjects


def _assign_stories(rng, subjects: list[_Subject], cut: int) -> None:
    enrolled = [s for s in subjects if s.enrolled]
    # One subject still before week 12 at the data cut: the latest starter, moved closer.
    recent = max(enrolled, key=lambda s: (s.t1, s.idx))
    shift = (cut - int(rng.integers(40, 71))) - recent.t1
    for name in ("t1", "psl_start", "enrol", "screening", "consent"):
        setattr(recent, name, getattr(recent, name) + shift)
    recent.stories.add("recent")
    order = [enrolled[i] for i in rng.permutation(len(enrolled))]
    for story, need in STORIES.items():
        fits = [s for s in order if cut - s.t1 >= need and "recent" not in s.stories]
        free = [s for s in fits if not s.stories]
        pick = (free or fits or [None])[0]
        if pick is not None:
            pick.stories.add(story)
    # Larger trials: more of each story at random rates.
    for s in order:
        if s.stories or cut - s.t1 < 150:
            continue
        u = rng.random()
        for story, rate in (("withdrawal", 0.04), ("missed_visit", 0.04), ("out_of_window", 0.03),
                            ("pulse", 0.02), ("serious_ae", 0.03), ("partial_ae", 0.03)):
            if u < rate:
                s.stories.add(story)
                break
            u -= rate
    for s in enrolled:
        if "pulse" in s.stories:
            s.responder = False


def _visits(rng, s: _Subject, cut: int) -> None:
    """The days of the assessment visits done (None = not done), and the end of observation."""
    days: list[int | None] = [None] * N_VISITS
    days[0] = s.screening
    if not s.enrolled:
        s.visit_days, s.last_day, s.end_obs = days, s.screening, s.screening
        return
    jitter = rng.integers(-3, 4, N_VISITS)
    if "withdrawal" in s.stories:
        s.withdraw_day = s.t1 + 56 + int(rng.integers(12, 30))   # after WEEK 8
    for v in range(1, N_VISITS):
        week = VISIT_WEEKS[v]
        day = s.t1 if week == 0 else s.t1 + 7 * week + int(jitter[v])
        if "out_of_window" in s.stories and VISIT_NAMES[v] == "WEEK 16":
            day = s.t1 + 7 * week + 10                              # window is +-7
        if "missed_visit" in s.stories and VISIT_NAMES[v] == "WEEK 8":
            continue
        if day > cut or (s.withdraw_day is not None and day > s.withdraw_day):
            continue
        days[v] = day
    s.visit_days = days
    done = [d for d in days if d is not None]
    s.last_day = max(done)
    if s.withdraw_day is not None and s.withdraw_day <= cut:
        s.end_obs = s.withdraw_day
    elif days[-1] is not None:
        s.end_obs = min(cut, days[-1] + 28)
    else:
        s.end_obs = cut


class _Rows:
    """Row buffers of the small domains, one list per contract column."""

    def __init__(self) -> None:
        self.cols = {d: {c: [] for c in K.COLUMNS[d]} for d in ("dm", "ds", "ie", "ex", "cm", "ae")}

    def add(self, domain: str, **values) -> None:
        cols = self.cols[domain]
        for c, lst in cols.items():
            lst.append(values.get(c))

    def frame(self, domain: str) -> pl.DataFrame:
        df = pl.DataFrame(self.cols[domain], schema={c: pl.String for c in K.COLUMNS[domain]})
        if domain == "dm":
            return df
        seq = K.SEQ_COLUMN[domain]
        return df.with_columns(
            pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.String).alias(seq))


def _dm_ds_ie(rng, s: _Subject, rows: _Rows, cut: int) -> None:
    site = f"{s.site + 1:02d}"
    age = s.age
    if "IN04" in s.sf_reasons:
        age = 80
    rows.add("dm", STUDYID=K.STUDYID, SITEID=site, USUBJID=s.usubjid, SUBJID=s.subjid,
             RFICDTC=iso(s.consent), RFSTDTC=iso(s.t1) if s.enrolled else None, AGE=str(age),
             AGEU="YEARS", SEX=s.sex, ARMCD="ANIFRO" if s.enrolled else "SCRNFAIL",
             ARM="Anifrolumab 300 mg IV Q4W" if s.enrolled else "Screen Failure")
    base = dict(STUDYID=K.STUDYID, USUBJID=s.usubjid)
    rows.add("ds", **base, DSCAT="PROTOCOL MILESTONE",
             DSTERM=DS_TERMS["INFORMED CONSENT OBTAINED"], DSDECOD="INFORMED CONSENT OBTAINED",
             DSSTDTC=iso(s.consent))
    if not s.enrolled:
        fail_day = min(cut, s.screening + int(rng.integers(2, 10)))
        rows.add("ds", **base, DSCAT="DISPOSITION EVENT", DSTERM=DS_TERMS["SCREEN FAILURE"],
                 DSDECOD="SCREEN FAILURE", DSSTDTC=iso(fail_day))
        for code in s.sf_reasons:
            inclusion = code.startswith("IN")
            rows.add("ie", **base, IETESTCD=code, IETEST=K.CRITERIA[code],
                     IECAT="INCLUSION" if inclusion else "EXCLUSION",
                     IEORRES="N" if inclusion else "Y", IEDTC=iso(s.screening))
        return
    rows.add("ds", **base, DSCAT="PROTOCOL MILESTONE", DSTERM=DS_TERMS["ENROLLED"],
             DSDECOD="ENROLLED", DSSTDTC=iso(s.enrol))
    if s.withdraw_day is not None and s.withdraw_day <= cut:
        term = DS_TERMS["WITHDRAWAL BY SUBJECT"] if s.japanese else "SUBJECT WITHDREW CONSENT"
        rows.add("ds", **base, DSCAT="DISPOSITION EVENT", DSTERM=term,
                 DSDECOD="WITHDRAWAL BY SUBJECT", DSSTDTC=iso(s.withdraw_day))
    elif s.visit_days[-1] is not None:
        rows.add("ds", **base, DSCAT="DISPOSITION EVENT", DSTERM=DS_TERMS["COMPLETED"],
                 DSDECOD="COMPLETED", DSSTDTC=iso(s.visit_days[-1]))


def _ex(rng, s: _Subject, rows: _Rows) -> None:
    continuation = rng.random() < 0.5
    irr_visit = None
    if "irr" in s.stories:
        irr_visit = 2 if s.visit_days[2] is not None else 1        # WEEK 4 (else WEEK 0)
    for v in range(1, N_VISITS):
        day = s.visit_days[v]
        if day is None or (VISIT_NAMES[v] == "WEEK 24" and not continuation):
            continue
        start_min = int(rng.integers(36, 60)) * 15                  # 09:00 .. 14:45
        minutes = 90 if v == irr_visit else int(rng.integers(30, 41))
        end_min = start_min + minutes
        date = iso(day)
        rows.add("ex", STUDYID=K.STUDYID, USUBJID=s.usubjid, EXTRT="ANIFROLUMAB",
                 EXDOSE="300", EXDOSU="mg", EXROUTE="INTRAVENOUS",
                 EXSTDTC=f"{date}T{start_min // 60:02d}:{start_min % 60:02d}",
                 EXENDTC=f"{date}T{end_min // 60:02d}:{end_min % 60:02d}",
                 VISIT=VISIT_NAMES[v], VISITNUM=str(v + 1))
    if irr_visit is not None:
        s.irr_day = s.visit_days[irr_visit]


def _psl_schedule(rng, s: _Subject) -> list[tuple[int, float]]:
    """(start day, mg/day) steps of prednisolone (R-PSL; registry record's taper)."""
    limit = 0.6 * s.weight * float(rng.uniform(0.8, 1.0))
    start_level = next(i for i, d in enumerate(PSL_LEVELS) if d <= max(limit, 15.0) and d <= 0.6 * s.weight)
    steps = [(s.psl_start, PSL_LEVELS[start_level])]
    day, level = s.psl_start + 14, start_level
    week12 = s.t1 + 84
    if s.responder:
        floor_level = PSL_LEVELS.index(7.5)
    else:
        floor_level = PSL_LEVELS.index(float(rng.choice([15.0, 12.5, 10.0])))
    while level < floor_level and day <= week12:
        level += 1
        steps.append((day, PSL_LEVELS[level]))
        day += 7
    # After week 12: at the investigator's discretion.
    day = max(day, week12) + 14
    if s.responder:
        discontinue = rng.random() < 0.4
        step_days = 14 if discontinue else 28
        stop_level = len(PSL_LEVELS) - 1 if discontinue else PSL_LEVELS.index(5.0)
        while level < stop_level and day <= s.t1 + 24 * 7:
            level += 1
            steps.append((day, PSL_LEVELS[level]))
            day += step_days
    else:
        while level < PSL_LEVELS.index(7.5) and day <= s.t1 + 24 * 7:
            level += 1
            steps.append((day, PSL_LEVELS[level]))
            day += 28
    return steps


def _cm(rng, s: _Subject, rows: _Rows, cut: int) -> None:
    withdrawn = s.withdraw_day is not None
    last = s.end_obs if withdrawn else cut
    jp = s.japanese
    base = dict(STUDYID=K.STUDYID, USUBJID=s.usubjid, CMDOSU="mg")

    def add(decod, dose_per_admin, frq, route, start, end, start_text=None):
        """end None = planned ongoing. Regimens still running at the end of observation are
        ongoing (empty CMENDTC), or end on the withdrawal date."""
        if start > last:
            return
        cat, en, ja = MEDICATIONS[decod]
        if end is not None and end <= last:
            end_text = iso(end)
        else:
            end_text = iso(last) if withdrawn else None
        rows.add("cm", **base, CMTRT=ja if jp else en, CMDECOD=decod, CMCAT=cat,
                 CMDOSE=fmt_number(dose_per_admin), CMDOSFRQ=frq, CMROUTE=route,
                 CMSTDTC=start_text or iso(start), CMENDTC=end_text)

    steps = _psl_schedule(rng, s)
    split_bid = rng.random() < 0.4
    for i, (start, dose) in enumerate(steps):
        nxt = steps[i + 1][0] if i + 1 < len(steps) else None
        if dose == 0:
            break
        end = nxt - 1 if nxt is not None else None
        bid = split_bid and dose >= 20
        add("PREDNISOLONE", dose / 2 if bid else dose, "BID" if bid else "QD", "ORAL", start, end)
    if "pulse" in s.stories:
        pulse = s.t1 + 35 + int(rng.integers(0, 7))
        add("METHYLPREDNISOLONE", 500, "QD", "INTRAVENOUS", pulse, pulse + 2)
    if rng.random() < (0.15 if s.responder else 0.45) and s.visit_days[2] is not None:
        start = s.visit_days[2 + int(rng.integers(0, 2))] or s.visit_days[2]
        if rng.random() < 0.5:
            add("TACROLIMUS", 3, "QD", "ORAL", start, None)
        else:
            add("MYCOPHENOLATE MOFETIL", 500, "BID", "ORAL", start, start + 13)
            add("MYCOPHENOLATE MOFETIL", 1000, "BID", "ORAL", start + 14, None)
    if rng.random() < 0.2:
        add("HYDROXYCHLOROQUINE", 200, "QD", "ORAL", s.t1, None)
    if rng.random() < 0.25:
        # A medication since before consent, start known to the month only (partial, history ok).
        history = EPOCH + dt.timedelta(days=s.consent - int(rng.integers(60, 400)))
        add("FAMOTIDINE", 20, "BID", "ORAL", s.consent - 400, None,
            start_text=f"{history.year:04d}-{history.month:02d}")


def _ae(rng, s: _Subject, rows: _Rows) -> None:
    window = max(1, s.end_obs - s.t1)
    n = int(rng.poisson(0.06 * window / 7))
    probs = np.array([row[4] for row in AE_CATALOG])
    picks = list(rng.choice(len(AE_CATALOG), size=n, p=probs / probs.sum()))
    specials = []
    if s.irr_day is not None:
        specials.append(("irr", s.irr_day))
    if "serious_ae" in s.stories:
        specials.append(("serious", min(s.end_obs, s.t1 + 60 + int(rng.integers(0, 21)))))
    if "partial_ae" in s.stories:
        specials.append(("partial", min(s.end_obs, s.t1 + 40 + int(rng.integers(0, 30)))))
    events = []
    for p in picks:
        code = AE_CATALOG[p][0]
        if code == "Infusion related reaction":
            infusions = [d for d in s.visit_days[1:7] if d is not None]
            onset = infusions[int(rng.integers(0, len(infusions)))]
        else:
            onset = s.t1 + int(rng.integers(1, window + 1))
        events.append((onset, p, "plain"))
    for kind, day in specials:
        p = AE_INDEX[{"irr": "Infusion related reaction", "serious": "Herpes zoster",
                      "partial": "Nasopharyngitis"}[kind]]
        events.append((day, p, kind))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    for onset, p, kind in events:
        pt, soc, en, ja, _, rel = AE_CATALOG[p]
        if kind == "irr" or pt == "Infusion related reaction":
            duration = 0
        elif pt == "Herpes zoster":
            duration = int(rng.integers(10, 22))
        else:
            duration = int(rng.integers(2, 15))
        end = onset + duration
        grade = "3" if kind == "serious" else str(1 + int(rng.random() < 0.3))
        start_text = iso(onset)
        if kind == "partial":
            # Onset known to the month only; the whole month lies before the end of observation.
            d = EPOCH + dt.timedelta(days=onset)
            month_end = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1) - dt.timedelta(days=1)
            if day_of(month_end) <= s.end_obs:
                start_text = f"{d.year:04d}-{d.month:02d}"
                end = max(end, day_of(month_end) + 1)
        ongoing = end > s.end_obs
        criteria = {c: None for c in K.AE_SERIOUS_CRITERIA}
        if kind == "serious":
            criteria = {c: "N" for c in K.AE_SERIOUS_CRITERIA}
            criteria["AESHOSP"] = "Y"
        rows.add("ae", STUDYID=K.STUDYID, USUBJID=s.usubjid, AETERM=ja if s.japanese else en,
                 AEDECOD=pt, AEBODSYS=soc, AESTDTC=start_text,
                 AEENDTC=None if ongoing else iso(end), AETOXGR=grade,
                 AESER="Y" if kind == "serious" else "N", **criteria, AEREL=rel,
                 AEACN=("DRUG INTERRUPTED" if kind in ("serious", "irr") else "DOSE NOT CHANGED"),
                 AEOUT="NOT RECOVERED/NOT RESOLVED" if ongoing else "RECOVERED/RESOLVED")


# --------------------------------------------------------------------------------------------
# The bulk domains, vectorised over the visit table


def _visit_table(subjects: list[_Subject]) -> dict[str, np.ndarray]:
    subj, visit, day = [], [], []
    for s in subjects:
        for v, d in enumerate(s.visit_days):
            if d is not None:
                subj.append(s.idx)
                visit.append(v)
                day.append(d)
    subj_a = np.array(subj, dtype=np.int64)
    t1 = np.array([s.t1 for s in subjects], dtype=np.int64)
    day_a = np.array(day, dtype=np.int64)
    weeks = np.clip((day_a - t1[subj_a]) / 7.0, 0, None)
    return {"subj": subj_a, "visit": np.array(visit, dtype=np.int64), "day": day_a,
            "weeks": weeks}


def _clinical_model(rng, subjects: list[_Subject]) -> dict[str, np.ndarray]:
    n = len(subjects)
    items = len(SLEDAI_CODES)
    base = np.zeros((n, items), dtype=bool)
    for code, prevalence in CLINICAL_ITEM_PREVALENCE.items():
        base[:, SLEDAI_CODES.index(code)] = rng.random(n) < prevalence
    enrolled = np.array([s.enrolled for s in subjects])
    responder = np.array([s.responder for s in subjects])
    in03 = np.array(["IN03" in s.sf_reasons for s in subjects])
    clin_score = (base * SLEDAI_WEIGHTS).sum(axis=1)
    arthrit = SLEDAI_CODES.index("ARTHRIT")
    base[enrolled & (clin_score < 4), arthrit] = True          # IN03: SLEDAI-2K >= 4
    base[in03, :] = False
    base[in03, SLEDAI_CODES.index("RASH")] = True
    # Visit index (0 = SCREENING ... 7 = WEEK 24) from which each descriptor is absent.
    resolve = np.where(responder[:, None], rng.integers(2, 5, (n, items)),
                       rng.integers(3, 10, (n, items)))
    flare = (~responder) & enrolled & (rng.random(n) < 0.5)
    flare_item = np.array([SLEDAI_CODES.index(c) for c in FLARE_ITEMS])[rng.integers(0, 3, n)]
    flare_visit = rng.integers(4, 6, n)                          # WEEK 8 or WEEK 12
    pulse = np.array(["pulse" in s.stories for s in subjects])
    flare |= pulse
    flare_visit[pulse] = 4
    renal = enrolled & (rng.random(n) < 0.15)
    low_c = enrolled & (rng.random(n) < 0.85)
    high_dna = enrolled & (rng.random(n) < 0.85)
    return {"base": base, "resolve": resolve, "flare": flare, "flare_item": flare_item,
            "flare_visit": flare_visit, "renal": renal, "low_c": low_c,
            "high_dna": high_dna, "responder": responder, "enrolled": enrolled}


def _lab_values(rng, subjects, vt, clin) -> dict[str, np.ndarray]:
    """Reported (rounded) lab values per visit row, each test drawn per subject then moved
    toward a target along 1 - exp(-weeks / tau)."""
    n = len(subjects)
    resp = clin["responder"]
    sj, weeks = vt["subj"], vt["weeks"]
    tau = np.where(resp, 3.0, 8.0)[sj]
    frac = 1 - np.exp(-weeks / tau)
    m = len(sj)

    def move(base, target, noise, lo=0.0):
        v = base[sj] + (target[sj] - base[sj]) * frac + rng.normal(0, noise, m)
        return np.clip(v, lo, None)

    def u(a, b):
        return rng.uniform(a, b, n)

    low_c, high_dna, renal = clin["low_c"], clin["high_dna"], clin["renal"]
    c3b = np.where(low_c, u(40, 70), u(78, 115))
    c4b = np.where(low_c, u(3, 9), u(12, 25))
    ch50b = np.where(low_c, u(10, 26), u(31, 42))
    labs = {
        "C3": move(c3b, np.where(resp, u(80, 115), c3b + u(3, 15)), 2.5, 10),
        "C4": move(c4b, np.where(resp, u(12, 22), c4b + u(0.5, 2)), 0.6, 1),
        "CH50": move(ch50b, np.where(resp, u(32, 44), ch50b + u(1, 4)), 1.2, 5),
    }
    dna_b = np.where(high_dna, np.exp(u(math.log(20), math.log(400))), u(1.5, 10))
    dna_t = dna_b * np.where(resp, u(0.03, 0.25), u(0.4, 0.9))
    labs["DDNAIGAB"] = np.clip(dna_b[sj] * (dna_t[sj] / dna_b[sj]) ** frac
                               * np.exp(rng.normal(0, 0.05, m)), 0.5, None)
    leuko = rng.random(n) < 0.2
    thrombo = rng.random(n) < 0.1
    labs["WBC"] = move(np.where(leuko, u(2.0, 2.9), u(3.4, 7.0)), u(5.5, 9.5), 0.3, 1.0)
    labs["PLAT"] = move(np.where(thrombo, u(55, 95), u(150, 320)), u(175, 330), 8, 20)
    labs["HGB"] = move(u(9.8, 13.5), u(11.8, 14.2), 0.3, 6)
    labs["ALT"] = move(u(8, 30), u(10, 35), 3, 5)
    labs["AST"] = move(u(13, 30), u(14, 32), 2.5, 8)
    labs["CREAT"] = move(u(0.45, 0.78), u(0.45, 0.8), 0.03, 0.3)
    upcr_b = np.where(renal, u(0.7, 2.5), u(0.03, 0.12))
    upcr_t = np.where(renal, np.where(resp, u(0.05, 0.3), u(0.6, 1.2)), upcr_b)
    labs["UPCR"] = move(upcr_b, upcr_t, 0.01, 0.01)
    ifn_b = np.where(rng.random(n) < 0.75, u(8, 40), u(0.5, 3))
    labs["IFNGS"] = move(ifn_b, np.minimum(ifn_b, u(1, 5)), 0.3, 0.1)
    # Screen-failure reasons visible in the screening labs (EX04 liver, EX05 kidney).
    ex04 = np.array(["EX04" in s.sf_reasons for s in subjects])[sj]
    ex05 = np.array(["EX05" in s.sf_reasons for s in subjects])[sj]
    labs["ALT"] = np.where(ex04, 112 + 40 * rng.random(m), labs["ALT"])
    labs["AST"] = np.where(ex04, 104 + 30 * rng.random(m), labs["AST"])
    labs["CREAT"] = np.where(ex05, 2.1 + 0.4 * rng.random(m), labs["CREAT"])
    # Round to what the laboratory reports: the SLEDAI-2K items are derived from these values.
    for code in labs:
        labs[code] = np.round(labs[code], LAB_DETAILS[code][1])
    # A few CH50 results not done (sample haemolysed): NaN.
    labs["CH50"] = np.where(rng.random(m) < 0.02, np.nan, labs["CH50"])
    return labs


def _safety_labs(lab_rng, subjects, vt, labs) -> dict[str, np.ndarray]:
    """Contract 1.1's BILI, NEUT and LYM at every assessment visit, and the laboratory stories a
    safety committee must see, once each where a subject fits (R-LAB grades):

    - a grade-3 neutropenia (NEUT < 1.0 and >= 0.5 x10^3/uL) at the post-baseline visit with the
      lowest WBC; the lymphocytes make up the rest of that WBC (relative lymphocytosis);
    - an ALT above 3 and at most 5 x ULN (grade 2) at a post-baseline visit, back within the range
      at the subject's next visit (that ALT value is the only contract-1 value the stories change);
    - a grade-2 lymphopenia (LYM < 0.8 and >= 0.5) at a post-baseline visit;
    - no potential Hy's law case: bilirubin stays within its range throughout.

    The differential is a share of the reported WBC, which no story changes (the SLEDAI-2K
    LEUKOPEN item is derived from it): NEUT + LYM <= WBC on every row. Drawn from ``lab_rng`` only
    (see LAB_STREAM); returns a new dict, ``labs`` is not modified."""
    n, sj, m = len(subjects), vt["subj"], len(vt["subj"])
    wbc = labs["WBC"]
    lym_share = np.clip(lab_rng.uniform(0.26, 0.36, n)[sj] + lab_rng.normal(0, 0.015, m), 0.2, 0.42)
    other_share = np.clip(lab_rng.uniform(0.07, 0.11, n)[sj] + lab_rng.normal(0, 0.01, m), 0.05, 0.14)
    bili = np.clip(lab_rng.uniform(0.4, 0.9, n)[sj] + lab_rng.normal(0, 0.08, m), 0.2, 1.3)
    lym = wbc * lym_share
    neut = wbc * (1 - lym_share - other_share)
    alt = labs["ALT"].copy()
    t1 = np.array([s.t1 for s in subjects])[sj]
    enrolled = np.array([s.enrolled for s in subjects])[sj]
    post = np.nonzero(enrolled & (vt["day"] > t1))[0]         # after day 1, within observation
    used: set[int] = set()
    if post.size:
        row = int(post[np.argmin(wbc[post])])                   # the lowest post-baseline WBC
        neut[row] = lab_rng.uniform(0.6, 0.95)
        lym[row] = wbc[row] * (1 - other_share[row]) - neut[row]
        used.add(int(sj[row]))
    alt_uln = LAB_DETAILS["ALT"][3]
    nxt = np.r_[post[1:], -1] if post.size else post
    resolves = [int(r) for r, q in zip(post, nxt)
                if q == r + 1 and sj[q] == sj[r] and alt[q] <= alt_uln and int(sj[r]) not in used]
    if resolves:
        row = resolves[int(lab_rng.integers(0, len(resolves)))]
        alt[row] = alt_uln * lab_rng.uniform(3.3, 4.6)         # 75.9 .. 105.8 U/L with ULN 23
        used.add(int(sj[row]))
    free = [int(r) for r in post if int(sj[r]) not in used]
    if free:
        row = free[int(lab_rng.integers(0, len(free)))]
        lym[row] = lab_rng.uniform(0.55, 0.75)
        neut[row] = wbc[row] * (1 - other_share[row]) - lym[row]
    out = dict(labs)
    out["ALT"] = np.round(alt, LAB_DETAILS["ALT"][1])
    for code, values in (("BILI", bili), ("NEUT", neut), ("LYM", lym)):
        out[code] = np.round(values, LAB_DETAILS[code][1])
    return out


def _sledai_items(subjects, vt, clin, labs) -> np.ndarray:
    """Presence matrix (visit rows x 24 descriptors), in SLEDAI_CODES order."""
    sj, v = vt["subj"], vt["visit"]
    present = clin["base"][sj] & (v[:, None] < clin["resolve"][sj])
    fl = clin["flare"][sj] & (v >= clin["flare_visit"][sj]) & (v < clin["flare_visit"][sj] + 2)
    rows = np.nonzero(fl)[0]
    present[rows, clin["flare_item"][sj][rows]] = True

    def lo(code):
        low = LAB_DETAILS[code][2]
        return np.nan_to_num(labs[code], nan=np.inf) < low

    idx = SLEDAI_CODES.index
    present[:, idx("LOWCOMP")] = lo("C3") | lo("C4") | lo("CH50")
    present[:, idx("INCDNA")] = labs["DDNAIGAB"] > LAB_DETAILS["DDNAIGAB"][3]
    present[:, idx("THROMBO")] = labs["PLAT"] < 100
    present[:, idx("LEUKOPEN")] = labs["WBC"] < 3
    present[:, idx("PROTURIA")] = labs["UPCR"] > 0.5
    return present


def _fixed_text(values: np.ndarray, decimals: int) -> pl.Series:
    """Non-negative numbers as fixed-decimal text ('4.70', '61'); NaN -> null. Integer arithmetic,
    so the text is exactly the rounded value the SLEDAI-2K items were derived from."""
    scale = 10 ** decimals
    n = pl.Series(np.round(values * scale)).fill_nan(None).cast(pl.Int64)
    if decimals == 0:
        return n.cast(pl.String)
    frame = pl.DataFrame({"n": n})
    return frame.select(
        ((pl.col("n") // scale).cast(pl.String) + "."
         + (pl.col("n") % scale).cast(pl.String).str.zfill(decimals))).to_series()


def _visit_frame(subjects, vt) -> pl.DataFrame:
    """One row per visit done: the columns every per-visit domain repeats."""
    usubjid = pl.Series([s.usubjid for s in subjects], dtype=pl.String)
    return pl.DataFrame({
        "USUBJID": usubjid.gather(vt["subj"]),
        "VISIT": pl.Series(VISIT_NAMES, dtype=pl.String).gather(vt["visit"]),
        "VISITNUM": pl.Series(vt["visit"] + 1).cast(pl.String),
        "DTC": pl.Series(vt["day"]).cast(pl.Int32).cast(pl.Date).cast(pl.String),
    })


def _finish(domain: str, df: pl.DataFrame, dtc: str) -> pl.DataFrame:
    """Rename the visit date, number --SEQ per subject, contract column order."""
    seq = K.SEQ_COLUMN[domain]
    df = df.rename({"DTC": dtc}).with_columns(
        pl.lit(K.STUDYID).alias("STUDYID"),
        pl.int_range(1, pl.len() + 1).over("USUBJID").cast(pl.String).alias(seq))
    return df.select(list(K.COLUMNS[domain]))


def _qs_frame(rng, subjects, vt, present) -> pl.DataFrame:
    m = len(vt["subj"])
    n_items = len(SLEDAI_CODES)
    scores = present * SLEDAI_WEIGHTS
    total = scores.sum(axis=1)
    clinical_cols = [i for i, c in enumerate(SLEDAI_CODES) if c not in ("LOWCOMP", "INCDNA")]
    clinical_score = scores[:, clinical_cols].sum(axis=1)
    pga = np.clip(np.round(0.2 + 0.11 * clinical_score + rng.normal(0, 0.12, m), 1), 0, 3)
    pga = np.abs(pga)                                             # no "-0.0"
    # NEWACT: a clinical descriptor present that was absent at the previous assessment.
    sj = vt["subj"]
    same_prev = np.r_[False, sj[1:] == sj[:-1]]
    prev = np.vstack([np.zeros((1, n_items), dtype=bool), present[:-1]])
    clin_mask = np.array([c not in LAB_DERIVED_ITEMS for c in SLEDAI_CODES])
    newact = same_prev & (present & ~prev & clin_mask).any(axis=1)
    # Per visit: 24 items, the total, PGA, NEWACT, HEMOLYT, GIACT, ISTOL (ISTOL = Y: maintenance
    # doses well tolerated, or no immunosuppressant). "flag" = PRESENT for items, Y for Y/N items.
    per_visit = n_items + 6
    flag = np.zeros((m, per_visit), dtype=bool)
    flag[:, :n_items] = present
    flag[:, n_items + 2] = newact
    flag[:, n_items + 5] = True
    k = np.tile(np.arange(per_visit), m)
    v = np.repeat(np.arange(m), per_visit)
    codes = list(SLEDAI_CODES) + [K.SLEDAI_TOTAL, K.PGA_TESTCD] + list(K.LLDAS_INVESTIGATOR_ITEMS)
    names = ([K.SLEDAI_ITEMS[c][0] for c in SLEDAI_CODES]
             + ["SLEDAI-2K Total Score", "Physician Global Assessment",
                "New lupus activity since previous assessment", "Haemolytic anaemia",
                "Gastrointestinal lupus activity",
                "Immunosuppressants at standard maintenance dose, well tolerated"])
    cats = (["SLEDAI-2K"] * (n_items + 1) + ["PHYSICIAN GLOBAL ASSESSMENT"]
            + ["LLDAS INVESTIGATOR"] * 4)
    weights = [str(w) for w in SLEDAI_WEIGHTS] + [None] * 6
    kk = pl.Series(k)
    visits = _visit_frame(subjects, vt).with_columns(
        pl.Series(total).cast(pl.String).alias("_TOTAL"), _fixed_text(pga, 1).alias("_PGA"))
    vv = pl.Series(v)
    df = pl.DataFrame({
        **{c: visits.get_column(c).gather(vv) for c in visits.columns},
        "_k": kk, "_f": pl.Series(flag.ravel()),
        "QSCAT": pl.Series(cats, dtype=pl.String).gather(kk),
        "QSTESTCD": pl.Series(codes, dtype=pl.String).gather(kk),
        "QSTEST": pl.Series(names, dtype=pl.String).gather(kk),
        "_w": pl.Series(weights, dtype=pl.String).gather(kk),
    })
    item, f = pl.col("_k") < n_items, pl.col("_f")
    is_total, is_pga = pl.col("_k") == n_items, pl.col("_k") == n_items + 1
    df = df.with_columns(
        pl.when(item).then(pl.when(f).then(pl.lit("PRESENT")).otherwise(pl.lit("ABSENT")))
        .when(is_total).then(pl.col("_TOTAL")).when(is_pga).then(pl.col("_PGA"))
        .otherwise(pl.when(f).then(pl.lit("Y")).otherwise(pl.lit("N"))).alias("QSORRES"),
        pl.when(item).then(pl.when(f).then(pl.col("_w")).otherwise(pl.lit("0")))
        .when(is_total).then(pl.col("_TOTAL")).when(is_pga).then(pl.col("_PGA"))
        .otherwise(pl.when(f).then(pl.lit("1")).otherwise(pl.lit("0"))).alias("QSSTRESN"),
    )
    return _finish("qs", df, "QSDTC")


def _lb_frame(rng, subjects, vt, labs) -> pl.DataFrame:
    m = len(vt["subj"])
    visits = _visit_frame(subjects, vt)
    names = np.array(VISIT_NAMES, dtype=object)
    ifn_visit = np.isin(names[vt["visit"]], IFNGS_VISITS) & np.array(
        [s.enrolled for s in subjects])[vt["subj"]]
    parts = []
    # Block 0: the contract-1 tests per visit; block 1: contract 1.1's, after all of the subject's
    # block-0 rows (so the contract-1 rows keep their LBSEQ).
    tests = [(0, code) for code in list(ROUTINE_LABS) + ["IFNGS"]] + [(1, c) for c in CONTRACT_1_1_LABS]
    for t_i, (block, code) in enumerate(tests):
        rows = np.arange(m) if code != "IFNGS" else np.nonzero(ifn_visit)[0]
        unit, cat = K.LAB_TESTS[code]
        name, dec, lo, hi = LAB_DETAILS[code]
        text = _fixed_text(labs[code][rows], dec)
        done = text.is_not_null()
        unit_or_null = pl.when(done & (pl.lit(unit) != "")).then(pl.lit(unit))
        parts.append(pl.DataFrame({"_row": pl.Series(rows), "LBORRES": text}).with_columns(
            pl.Series("_subj", vt["subj"][rows]), pl.lit(block).alias("_block"),
            pl.lit(t_i).alias("_t"), pl.lit(code).alias("LBTESTCD"), pl.lit(name).alias("LBTEST"),
            pl.lit(cat).alias("LBCAT"), pl.col("LBORRES").alias("LBSTRESN"),
            unit_or_null.alias("LBORRESU"), unit_or_null.alias("LBSTRESU"),
            pl.lit(None if lo is None else f"{lo:.{dec}f}", dtype=pl.String).alias("LBSTNRLO"),
            pl.lit(None if hi is None else f"{hi:.{dec}f}", dtype=pl.String).alias("LBSTNRHI"),
            pl.when(~done).then(pl.lit("NOT DONE")).alias("LBSTAT")))
    df = pl.concat(parts, how="diagonal").sort(["_subj", "_block", "_row", "_t"])
    rows = df.get_column("_row")
    df = df.with_columns(**{c: visits.get_column(c).gather(rows) for c in visits.columns})
    return _finish("lb", df, "LBDTC")


def _vs_frame(rng, subjects, vt, present) -> pl.DataFrame:
    m = len(vt["subj"])
    sj, v = vt["subj"], vt["visit"]
    fever = present[:, SLEDAI_CODES.index("FEVER")]
    temp = np.round(np.where(fever, rng.uniform(38.1, 38.9, m), rng.uniform(36.0, 37.2, m)), 1)
    weight0 = np.array([s.weight for s in subjects])[sj]
    weight = np.round(weight0 + np.clip(vt["weeks"], 0, None) * rng.uniform(0.0, 0.12, m), 1)
    height = np.array([s.height for s in subjects])[sj]
    names = np.array(VISIT_NAMES, dtype=object)
    weigh_visit = np.isin(names[v], ("SCREENING", "WEEK 12", "WEEK 24"))
    visits = _visit_frame(subjects, vt)
    parts = []
    for t_i, (code, values, mask) in enumerate((
            ("WEIGHT", weight, weigh_visit), ("HEIGHT", height, v == 0),
            ("TEMP", temp, np.ones(m, dtype=bool)))):
        rows = np.nonzero(mask)[0]
        name, unit, dec = VS_DETAILS[code]
        parts.append(pl.DataFrame({"_row": pl.Series(rows),
                                   "VSORRES": _fixed_text(values[rows], dec)}).with_columns(
            pl.lit(t_i).alias("_t"), pl.lit(code).alias("VSTESTCD"), pl.lit(name).alias("VSTEST"),
            pl.lit(unit).alias("VSORRESU"), pl.col("VSORRES").alias("VSSTRESN"),
            pl.lit(unit).alias("VSSTRESU")))
    df = pl.concat(parts).sort(["_row", "_t"])
    rows = df.get_column("_row")
    df = df.with_columns(**{c: visits.get_column(c).gather(rows) for c in visits.columns})
    return _finish("vs", df, "VSDTC")


def _split_by_site(frames: dict[str, pl.DataFrame], n_sites: int) -> dict[str, dict[str, pl.DataFrame]]:
    """Rows are in subject order, which is site-major: each site is one contiguous slice."""
    sites = [f"{i + 1:02d}" for i in range(n_sites)]
    out: dict[str, dict[str, pl.DataFrame]] = {s: {} for s in sites}
    start = len(K.STUDYID) + 1
    for domain in K.DOMAINS:
        df = frames[domain]
        site_col = df.get_column("USUBJID").str.slice(start, 2)
        for siteid in sites:
            lo = int(site_col.search_sorted(siteid, side="left"))
            hi = int(site_col.search_sorted(siteid, side="right"))
            out[siteid][domain] = df.slice(lo, hi - lo)
    return out
