"""Build every ``adam.*`` table from the typed ``sdtm`` tables (one call per load).

``build_adam(con)`` reads sdtm.dm ... sdtm.ae and sdtm.exports from the connection, derives each
ADaM table with the functions of this package (Polars, no I/O of their own) and replaces the
contents of every table of the ``adam`` schema declared in warehouse/schema.sql. Rows are sorted
by their keys, so the same sdtm input always gives identical tables.
"""
from __future__ import annotations

import duckdb
import polars as pl

from etl.contract import DOMAINS
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


def read_sdtm(con: duckdb.DuckDBPyConnection, whole_rows: bool = False) -> dict[str, pl.DataFrame]:
    """The sdtm tables as Polars frames (every domain table exists, possibly empty): the columns
    of ``DERIVATION_COLUMNS``, or every column with ``whole_rows``."""
    # The frames come through ``con.sql(...).pl()``, which skips the extra copy of every row
    # that ``con.execute(...).to_arrow_table()`` makes (about 230 MB for sdtm.qs at 10,000
    # subjects, issue 15; measured 2026-12-04). A result the caller left unfetched on ``con``
    # would make ``con.sql`` raise (DuckDB's ResourceInUseException): a query through
    # ``con.execute``, fetched whole, settles it first.
    con.execute("SELECT 1").fetchall()

    def frame(query: str) -> pl.DataFrame:
        return con.sql(query).pl()

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


def build_adam(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the contents of every adam.* table from the sdtm tables (R-ENROL ... R-AE)."""
    sdtm = read_sdtm(con)
    no_cut = sorted(set(sdtm["dm"]["SITEID"].to_list()) - set(sdtm["exports"]["SITEID"].to_list()))
    if no_cut:
        raise RuntimeError(f"sdtm.exports has no data cut for site(s) {no_cut}")
    frames = derive_all(sdtm, consume=True)
    tables = adam_tables(con)
    missing = sorted(set(tables) - set(frames))
    if missing:
        raise RuntimeError(f"build_adam derives no rows for adam tables {missing}")
    try:
        con.execute("BEGIN TRANSACTION")
        own = True
    except duckdb.TransactionException:   # the caller already holds a transaction: join it
        own = False
    try:
        for name, cols in sorted(tables.items()):
            frame = frames.pop(name)         # each derived frame is freed once it is written
            extra = sorted(set(frame.columns) - set(cols))
            if extra:
                raise RuntimeError(f"adam.{name}: derived columns {extra} are not in warehouse/schema.sql")
            con.register("__adam_frame", frame.select([c for c in cols if c in frame.columns]).to_arrow())
            con.execute(f"DELETE FROM adam.{name}")
            con.execute(f"INSERT INTO adam.{name} BY NAME SELECT * FROM __adam_frame")
            con.unregister("__adam_frame")
        if own:
            con.execute("COMMIT")
    except Exception:
        if own:
            con.execute("ROLLBACK")
        raise
