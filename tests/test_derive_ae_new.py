"""R-AE (serious, AESI) compared with the site's previous export: what is new since the previous
data cut. Hand-made cases; the expected flags are worked out in the comments."""
from __future__ import annotations

import datetime as dt

import polars as pl

from etl.derive.ae import new_since_previous_flags

U1, U2 = "jRCTs031230358-01-001", "jRCTs031230358-02-001"
INF, SOC_INF = "Infections and infestations", "Infections and infestations"


def adae(rows):
    cols = ["USUBJID", "SITEID", "AESEQ", "AEDECOD", "AEBODSYS", "AESTDTC", "AESER", "AESIFL"]
    return pl.DataFrame([dict(zip(cols, r)) for r in rows])


def previous(rows):
    cols = ["USUBJID", "AEDECOD", "AEBODSYS", "AESTDTC", "AESER"]
    return pl.DataFrame([dict(zip(cols, r)) for r in rows])


EXPORTS = pl.DataFrame({"SITEID": ["01", "02"], "PREV_DATACUT": [dt.date(2024, 6, 30), None]})


def test_r_ae_new_and_newly_serious_events_since_the_previous_data_cut():
    now = adae([
        # 1. same event as before, serious both times -> not new, not newly serious
        (U1, "01", 1, "Pneumonia", SOC_INF, "2024-05-01", "Y", "Y"),
        # 2. was non-serious, now serious (hospitalised) -> old, but newly serious, newly AESI
        #    (a serious infection is an AESI; before, not serious, it was not)
        (U1, "01", 2, "Bronchitis", SOC_INF, "2024-06-10", "Y", "Y"),
        # 3. reported late: onset BEFORE the previous cut, absent from the previous export
        #    -> new, serious, AESI (this is the event an onset-date filter would miss)
        (U1, "01", 3, "Herpes zoster", SOC_INF, "2024-06-01", "Y", "Y"),
        # 4. AESEQ renumbered (was 4, now 9) but the same event -> not new
        (U1, "01", 9, "Nasopharyngitis", SOC_INF, "2024-04-02", "N", "N"),
        # 5. site 02 has no previous export -> nothing to compare: null flags
        (U2, "02", 1, "Herpes zoster", SOC_INF, "2024-07-01", "N", "Y"),
    ])
    prev = previous([
        (U1, "Pneumonia", SOC_INF, "2024-05-01", "Y"),
        (U1, "Bronchitis", SOC_INF, "2024-06-10", "N"),
        (U1, "Nasopharyngitis", SOC_INF, "2024-04-02", "N"),
    ])
    out = new_since_previous_flags(now, prev, EXPORTS).sort("USUBJID", "AESEQ")
    got = {(r["USUBJID"][-6:], r["AESEQ"]): (r["AENEWFL"], r["SAENEWFL"], r["AESINWFL"])
           for r in out.iter_rows(named=True)}
    assert got == {
        ("01-001", 1): ("N", "N", "N"),
        ("01-001", 2): ("N", "Y", "Y"),
        ("01-001", 3): ("Y", "Y", "Y"),
        ("01-001", 9): ("N", "N", "N"),
        ("02-001", 1): (None, None, None),
    }
    assert out.height == now.height          # the comparison never adds or drops events
