"""End to end through the real loader: what is new since a site's previous data cut (R-AE).

Site 01 is loaded once (tests/data/valid_site01: a non-serious headache and a serious herpes
zoster); then a newer export of site 01, one month later, adds a serious pneumonia whose onset
(2024-01-25) lies BEFORE the first data cut: a late report. Worked out by hand:
- headache: in both exports -> AENEWFL N, not serious -> SAENEWFL N;
- herpes zoster: in both, serious both times -> AENEWFL N, SAENEWFL N, AESINWFL N;
- pneumonia: new -> AENEWFL Y; serious -> SAENEWFL Y; a serious infection is an AESI -> AESINWFL Y.
So the overview shows 1 serious AE and 1 AESI since the previous data cut, although the new
event's onset date is older than that cut (an onset-date filter would have shown 0).
"""
from __future__ import annotations

import datetime as dt

from etl.load import load_exports
from tests.app_fixtures import metric, page_opener, write_users
from tests.conftest import edit_csv, query, set_data_cut



def test_late_reported_serious_event_counts_as_new_since_the_previous_cut(
        warehouse_copy, make_export, tmp_path, monkeypatch):
    (first_cut,) = query(warehouse_copy, "SELECT DATACUT FROM sdtm.exports WHERE SITEID = '01'")[0]
    newer = make_export("01", name="site01_newer")
    set_data_cut(newer, "01", first_cut + dt.timedelta(days=31))

    def add_pneumonia(header, rows):
        row = dict(zip(header, rows[0]))
        row.update(AESEQ="3", AETERM="肺炎", AEDECOD="Pneumonia",
                   AEBODSYS="Infections and infestations", AESTDTC="2024-01-25",
                   AEENDTC="2024-02-05", AETOXGR="3", AESER="Y", AESHOSP="Y",
                   AEREL="POSSIBLY RELATED", AEACN="DRUG INTERRUPTED", AEOUT="RECOVERED/RESOLVED")
        rows.append([row[h] for h in header])
    edit_csv(newer / "ae.csv", add_pneumonia)

    result = load_exports([newer], warehouse_copy)
    assert result.outcome == "loaded", [str(p) for p in result.problems]

    assert query(warehouse_copy, "SELECT PREV_DATACUT FROM sdtm.exports WHERE SITEID = '01'") \
        == [(first_cut,)]
    flags = query(warehouse_copy, "SELECT AEDECOD, AENEWFL, SAENEWFL, AESINWFL FROM adam.adae "
                                  "ORDER BY AESEQ")
    assert flags == [("Headache", "N", "N", "N"), ("Herpes zoster", "N", "N", "N"),
                     ("Pneumonia", "Y", "Y", "Y")]

    # The same newer export delivered again (same data cut, e.g. a correction) is not "the
    # previous export": the baseline stays the first cut, and the pneumonia stays new.
    again = load_exports([newer], warehouse_copy)
    assert again.outcome == "loaded"
    assert query(warehouse_copy, "SELECT PREV_DATACUT FROM sdtm.exports WHERE SITEID = '01'") \
        == [(first_cut,)]
    assert query(warehouse_copy, "SELECT AEDECOD, AENEWFL, SAENEWFL, AESINWFL FROM adam.adae "
                                 "ORDER BY AESEQ") == flags

    open_page = page_opener(warehouse_copy, write_users(tmp_path / "users.toml"),
                            tmp_path / "access.log", monkeypatch)
    at = open_page("home")
    assert metric(at, "Serious AEs since the previous data cut") == "1"
    assert metric(at, "AESIs since the previous data cut") == "1"


def test_first_load_of_a_site_has_nothing_to_compare(warehouse_copy):
    # one load only: no previous export -> PREV_DATACUT and every flag null
    assert query(warehouse_copy, "SELECT PREV_DATACUT FROM sdtm.exports") == [(None,)]
    assert query(warehouse_copy, "SELECT count(*) FROM adam.adae WHERE AENEWFL IS NOT NULL "
                                 "OR SAENEWFL IS NOT NULL OR AESINWFL IS NOT NULL") == [(0,)]
