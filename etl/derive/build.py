"""Build every ``adam.*`` table from the typed ``sdtm`` tables (one call per load).

``build_adam(con)`` reads sdtm.dm ... sdtm.ae and sdtm.exports from the connection, derives each
ADaM table with the functions of this package (Polars, no I/O of their own) and replaces the
contents of every table of the ``adam`` schema declared in warehouse/schema.sql. The sites are
derived in groups (``site_groups``, for memory); within a group rows are sorted by their keys, so
the same sdtm input always gives identical tables.
"""
from __future__ import annotations

import duckdb
import polars as pl

from etl.contract import DOMAINS
from etl.duck import insert_frame
from etl.derive.ae import build_adae
from etl.derive.baseline import baseline_characteristics
from etl.derive.consistency import build_dq_warnings
from etl.derive.endpoints import (build_adchg, build_adcmis, build_adeff, build_adpslwk,
                                  visit_dates)
from etl.derive.enrol import build_adsl, enrollment_projection, subject_base
from etl.derive.exposure import build_adex, build_adtte_aesi
from etl.derive.labs import build_adlb, build_edish, with_hylawfl
from etl.derive.lldas import build_adlldas
from etl.derive.protocol import build_protocol_flags
from etl.derive.psl import build_adpsl, psl_initiation
from etl.derive.status import build_adstatus


def derive_all(sdtm: dict[str, pl.DataFrame], consume: bool = False) -> dict[str, pl.DataFrame]:
    """All ADaM frames from the sdtm frames (keys: the contract domains plus 'exports'): each
    table is built by its own ``build_<table>`` function, in the order their inputs allow.

    With ``consume`` the dict is emptied (``build_adam``): then sdtm.qs and sdtm.lb, the largest
    frames, are freed as soon as their last reader is done, not at the end (at 10,000 subjects
    about 450 MB of the load's peak memory, issue 15)."""
    take = sdtm.pop if consume else sdtm.__getitem__
    dm, ds, ie, ex, cm, vs, lb, qs, ae = (take(d) for d in DOMAINS)
    exports = take("exports")
    base = subject_base(dm, ds, ex, exports)
    adpsl = build_adpsl(cm, base)
    vdates = visit_dates((qs, "QSDT"), (ex, "EXSTDT"), (lb, "LBDT"), (vs, "VSDT"))
    # ADSL in two steps: the subject-level rows every other table reads (enrol.build_adsl), then,
    # once those tables exist, the columns derived from them (build_adsl_final).
    adsl = build_adsl(dm, ds, ie, ex, vs, base, psl_initiation(adpsl), vdates)
    dq_warnings = build_dq_warnings(qs, lb, adsl, cm)
    adlldas = build_adlldas(qs, adpsl, cm, base)
    del qs                                   # no reader left below
    adlb = build_adlb(lb, base)
    del lb
    adex = build_adex(ex, adsl)
    adpslwk = build_adpslwk(adsl, vdates, adpsl, cm)
    edish = build_edish(adlb, adsl)
    adae = build_adae(ae, base)
    adeff = build_adeff(adsl, vdates, adlldas, adpslwk)
    flags = build_protocol_flags(adsl, adpsl, adpslwk, adex)
    return {
        "adsl": build_adsl_final(adsl, adlldas, adlb, adpsl, edish),
        "adlldas": adlldas,
        "adpsl": adpsl,
        "adae": adae,
        "adtte_aesi": build_adtte_aesi(adsl, adae),
        "adlb": adlb,
        "edish": edish,
        "adex": adex,
        "adeff": adeff,
        "adchg": build_adchg(adsl, vdates, adlldas, adlb),
        "adpslwk": adpslwk,
        "adcmis": build_adcmis(cm, adsl),
        "protocol_flags": flags,
        "adstatus": build_adstatus(adsl, vdates, adeff, adpsl, flags, adae),
        "dq_warnings": dq_warnings,
        "enrollment_projection": build_enrollment_projection(adsl, exports),
    }


def build_adsl_final(adsl: pl.DataFrame, adlldas: pl.DataFrame, adlb: pl.DataFrame,
                     adpsl: pl.DataFrame, edish: pl.DataFrame) -> pl.DataFrame:
    """ADSL as loaded: ``enrol.build_adsl``'s subject-level rows (R-ENROL, R-DAY, R-AE exposure,
    R-PROTOCOL ceiling) with the baseline characteristics (etl/derive/baseline.py: SLEDAI-2K, PGA,
    complement, anti-dsDNA, PSL dose at initiation) and HYLAWFL (R-LAB potential Hy's law)."""
    with_baseline = adsl.join(baseline_characteristics(adsl, adlldas, adlb, adpsl),
                              on="USUBJID", how="left")
    return with_hylawfl(with_baseline, edish)


def build_enrollment_projection(adsl: pl.DataFrame, exports: pl.DataFrame) -> pl.DataFrame:
    """R-ENROL: one trial-wide row as of the latest data cut (no row before any export)."""
    schema = {"ENROLLED": pl.Int32, "TARGET": pl.Int32, "ASOFDT": pl.Date, "RATE30": pl.Float64,
              "REACHEDDT": pl.Date, "PROJDT": pl.Date, "METHOD": pl.String}
    if exports.height == 0:
        return pl.DataFrame(schema=schema)
    as_of = exports["DATACUT"].max()
    p = enrollment_projection(adsl.filter(pl.col("ENRLFL") == "Y")["ENRLDT"].to_list(), as_of)
    return pl.DataFrame([{"ENROLLED": p["enrolled"], "TARGET": p["target"], "ASOFDT": as_of,
                          "RATE30": p["rate_per_30_days"], "REACHEDDT": p["reached_on"],
                          "PROJDT": p["projected_date"], "METHOD": p["method"]}], schema=schema)


# The sdtm columns the derivations read, per domain: ``read_sdtm`` reads these, not whole rows.
# At 10,000 subjects the unread columns (STUDYID, the --DTC strings whose typed --DT is read, test
# names, original results and units, ...) were half the derivation's memory (issue 15). A
# derivation that starts to read another column fails loudly (Polars' ColumnNotFoundError, in
# the tests) until the column is added here; tests/test_derive_build.py checks that the tables
# derived from these columns equal those derived from whole rows.
DERIVATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "dm": ("SITEID", "USUBJID", "SUBJID", "AGE", "SEX", "ARMCD", "RFICDT", "RFSTDT"),
    "ds": ("USUBJID", "DSSEQ", "DSCAT", "DSDECOD", "DSSTDT"),
    "ie": ("USUBJID", "IETESTCD", "IETEST"),
    "ex": ("USUBJID", "EXSEQ", "EXDOSE", "VISIT", "VISITNUM", "EXSTDT", "EXSTDTM", "EXENDT",
           "EXENDTM"),
    "cm": ("USUBJID", "CMSEQ", "CMTRT", "CMDECOD", "CMCAT", "CMDOSE", "CMDOSFRQ", "CMROUTE",
           "CMSTDTC", "CMENDTC", "CMSTDT", "CMENDT"),
    "vs": ("USUBJID", "VSSEQ", "VSTESTCD", "VSSTRESN", "VISIT", "VSDT"),
    "lb": ("USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBCAT", "LBSTRESN", "LBSTRESU", "LBSTNRLO",
           "LBSTNRHI", "LBSTAT", "VISIT", "VISITNUM", "LBDT", "SITEID"),
    "qs": ("USUBJID", "QSCAT", "QSTESTCD", "QSORRES", "QSSTRESN", "VISIT", "VISITNUM", "QSDT"),
    "ae": ("USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESTDTC", "AEENDTC", "AETOXGR",
           "AESER", "AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE", "AEREL",
           "AEACN", "AEOUT", "AEENDT", "SITEID"),
}


def read_sdtm(con: duckdb.DuckDBPyConnection, whole_rows: bool = False,
              sites: list[str] | None = None) -> dict[str, pl.DataFrame]:
    """The sdtm tables as Polars frames (every domain table exists, possibly empty): the columns
    of ``DERIVATION_COLUMNS``, or every column with ``whole_rows``; the rows of ``sites`` only
    when given (every row otherwise)."""
    # The frames come through ``con.sql(...).pl()``, which skips the extra copy of every row
    # that ``con.execute(...).to_arrow_table()`` makes (about 230 MB for sdtm.qs at 10,000
    # subjects, issue 15; measured 2026-12-04). A result the caller left unfetched on ``con``
    # would make ``con.sql`` raise (DuckDB's ResourceInUseException): a query through
    # ``con.execute``, fetched whole, settles it first.
    con.execute("SELECT 1").fetchall()

    def frame(query: str) -> pl.DataFrame:
        if sites is None:
            return con.sql(query).pl()
        return con.sql(query + " WHERE list_contains($sites, SITEID)",
                       params={"sites": list(sites)}).pl()

    def columns(d: str) -> str:
        return "*" if whole_rows else ", ".join(f'"{c}"' for c in DERIVATION_COLUMNS[d])
    out = {d: frame(f"SELECT {columns(d)} FROM sdtm.{d}") for d in DOMAINS}
    out["exports"] = frame("SELECT SITEID, DATACUT FROM sdtm.exports")
    return out


def adam_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Tables of the adam schema with their columns in declared order."""
    rows = con.execute("""SELECT table_name, column_name FROM information_schema.columns
                          WHERE table_schema = 'adam' ORDER BY table_name, ordinal_position""").fetchall()
    tables: dict[str, list[str]] = {}
    for t, c in rows:
        tables.setdefault(t, []).append(c)
    return tables


# Subjects derived at once (build_adam): the sites, in order, in groups of at least this many
# subjects (a site is never split). Every table but TRIAL_WIDE is derived subject by subject, so
# a group's rows are the whole trial's rows of its subjects (tests/test_derive_build.py compares
# the two). At 10,000 subjects in 20 sites, groups of 2,000 against one group of all: the load's
# peak memory 1950 -> 1420 MB, the derivation 5.6 -> 7.0 s (more, smaller inserts; issue 15,
# measured 2026-12-04). The 10-subject trial is one group.
DERIVE_GROUP_SUBJECTS = 2_000
TRIAL_WIDE = ("enrollment_projection",)   # derived from every site at once, after the groups


def site_groups(con: duckdb.DuckDBPyConnection) -> list[list[str] | None]:
    """Every site of sdtm.exports and of any sdtm domain table, in SITEID order, in consecutive
    groups of at least DERIVE_GROUP_SUBJECTS subjects of sdtm.dm (the last may hold fewer; no
    group without a site); ``[None]``, one group of every row, when a row of a domain table has
    no SITEID (it is in no site)."""
    sites = " UNION ".join(["SELECT SITEID FROM sdtm.exports"]
                           + [f"SELECT DISTINCT SITEID FROM sdtm.{d}" for d in DOMAINS])
    counts = con.execute(f"""SELECT s.SITEID, count(dm.USUBJID) FROM ({sites}) s
                             LEFT JOIN sdtm.dm dm USING (SITEID)
                             WHERE s.SITEID IS NOT NULL GROUP BY s.SITEID ORDER BY s.SITEID""").fetchall()
    unsited = con.execute(" UNION ALL ".join(
        f"SELECT count(*) FROM sdtm.{d} WHERE SITEID IS NULL" for d in DOMAINS)).fetchall()
    if any(n for (n,) in unsited):
        return [None]
    groups: list[list[str]] = [[]]
    held = 0
    for site, n in counts:
        if groups[-1] and held >= DERIVE_GROUP_SUBJECTS:
            groups.append([])
            held = 0
        groups[-1].append(site)
        held += n
    return [g for g in groups if g]


def build_adam(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the contents of every adam.* table from the sdtm tables (R-ENROL ... R-AE): the
    sites in groups (``site_groups``), each group read, derived (``derive_all``) and written
    before the next is read; then the TRIAL_WIDE tables from every site. All in one transaction
    (the caller's, when it holds one)."""
    no_cut = [r[0] for r in con.execute(   # EXCEPT: a set difference, a missing SITEID included
        "SELECT SITEID FROM sdtm.dm EXCEPT SELECT SITEID FROM sdtm.exports ORDER BY 1").fetchall()]
    if no_cut:
        raise RuntimeError(f"sdtm.exports has no data cut for site(s) {no_cut}")
    tables = adam_tables(con)
    try:
        con.execute("BEGIN TRANSACTION")
        own = True
    except duckdb.TransactionException:   # the caller already holds a transaction: join it
        own = False
    try:
        for name in sorted(tables):
            con.execute(f"DELETE FROM adam.{name}")
        enrolled = []                        # each group's ADSL enrolment columns, for TRIAL_WIDE
        for sites in site_groups(con):
            frames = derive_all(read_sdtm(con, sites=sites), consume=True)
            missing = sorted(set(tables) - set(frames))
            if missing:
                raise RuntimeError(f"build_adam derives no rows for adam tables {missing}")
            enrolled.append(frames["adsl"].select("ENRLFL", "ENRLDT"))
            for name in sorted(set(tables) - set(TRIAL_WIDE)):
                _insert(con, name, tables[name], frames.pop(name))   # freed once written
            del frames
        exports = con.sql("SELECT SITEID, DATACUT FROM sdtm.exports").pl()
        adsl = pl.concat(enrolled) if enrolled else pl.DataFrame(
            schema={"ENRLFL": pl.String, "ENRLDT": pl.Date})
        _insert(con, "enrollment_projection", tables["enrollment_projection"],
                build_enrollment_projection(adsl, exports))
        if own:
            con.execute("COMMIT")
    except Exception:
        if own:
            con.execute("ROLLBACK")
        raise


def _insert(con: duckdb.DuckDBPyConnection, name: str, cols: list[str], frame: pl.DataFrame) -> None:
    """Append ``frame``'s rows to adam.<name> (its columns by name; one the schema lacks fails)."""
    extra = sorted(set(frame.columns) - set(cols))
    if extra:
        raise RuntimeError(f"adam.{name}: derived columns {extra} are not in warehouse/schema.sql")
    insert_frame(con, f"adam.{name}", frame.select([c for c in cols if c in frame.columns]))
