"""A second delivery of the demo's site 02 with exactly three changes, made from the committed
export with the csv module (site 02 is CP932), and the three changes it holds, worked out here
from the rows edited (never by etl.changes):

1. one past SLEDAI-2K item: the first item PRESENT at an assessment dated before the previous
   data cut becomes ABSENT (score 0), and that assessment's total SLEDAITS drops by the item's
   score (the contract requires total = sum of items);
2. one past AE's grade: the first grade-1 AE with a full onset date before the previous cut
   becomes grade 2;
3. one new AE (Nausea, onset 2026-11-15, after the previous cut 2026-11-01), next AESEQ.

The new delivery's data cut (export.json) is 2026-12-01.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_SITE02 = ROOT / "demo" / "exports" / "site02"
NEW_CUT = "2026-12-01"
NEW_AE_ONSET = "2026-11-15"


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    text = path.read_bytes().decode("cp932")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("cp932"))


def site02_redelivery(dest: Path) -> tuple[Path, list[dict]]:
    """Write the redelivery under ``dest/site02``; return it and its expected changes, one dict
    per changed record: domain, usubjid, key (the natural key's values other than USUBJID, as
    delivered), change, columns {name: (old, new)}, retro ('Y'/'N')."""
    folder = dest / "site02"
    shutil.copytree(DEMO_SITE02, folder)
    meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    previous_cut = meta["data_cut"]                    # "2026-11-01"
    meta["data_cut"] = NEW_CUT
    (folder / "export.json").write_text(json.dumps(meta), encoding="utf-8")
    expected: list[dict] = []

    header, qs = _read(folder / "qs.csv")
    item = next(r for r in qs if r["QSCAT"] == "SLEDAI-2K" and r["QSTESTCD"] != "SLEDAITS"
                and r["QSORRES"] == "PRESENT" and r["QSDTC"] <= previous_cut)
    total = next(r for r in qs if r["USUBJID"] == item["USUBJID"] and r["QSDTC"] == item["QSDTC"]
                 and r["QSTESTCD"] == "SLEDAITS")
    score, old_total = item["QSSTRESN"], total["QSSTRESN"]
    new_total = str(int(old_total) - int(score))      # e.g. 10 - 4 = 6
    item["QSORRES"], item["QSSTRESN"] = "ABSENT", "0"
    total["QSORRES"] = total["QSSTRESN"] = new_total
    _write(folder / "qs.csv", header, qs)
    expected.append({"domain": "qs", "usubjid": item["USUBJID"],
                     "key": (item["QSTESTCD"], item["QSDTC"]), "change": "changed",
                     "columns": {"QSORRES": ("PRESENT", "ABSENT"), "QSSTRESN": (score, "0")},
                     "retro": "Y", "total": (old_total, new_total)})

    header, ae = _read(folder / "ae.csv")
    graded = next(r for r in ae if r["AETOXGR"] == "1" and len(r["AESTDTC"]) == 10
                  and r["AESTDTC"] <= previous_cut)
    graded["AETOXGR"] = "2"
    expected.append({"domain": "ae", "usubjid": graded["USUBJID"],
                     "key": (graded["AEDECOD"], graded["AESTDTC"]), "change": "changed",
                     "columns": {"AETOXGR": ("1", "2")}, "retro": "Y"})
    subject = graded["USUBJID"]
    seq = max(int(r["AESEQ"]) for r in ae if r["USUBJID"] == subject) + 1
    added = dict(graded, AESEQ=str(seq), AETERM="悪心", AEDECOD="Nausea",
                 AEBODSYS="Gastrointestinal disorders", AESTDTC=NEW_AE_ONSET, AEENDTC="2026-11-20",
                 AETOXGR="1", AESER="N", AEREL="POSSIBLY RELATED", AEACN="DOSE NOT CHANGED",
                 AEOUT="RECOVERED/RESOLVED")
    ae.append(added)
    _write(folder / "ae.csv", header, ae)
    expected.append({"domain": "ae", "usubjid": subject, "key": ("Nausea", NEW_AE_ONSET),
                     "change": "added", "columns": {}, "retro": "N"})
    return folder, expected


def load_as(user: str, exports: list[Path], warehouse: Path):
    """``etl.load.load_exports`` as the dashboard runs it for a signed-in ``user`` (the run log's
    user comes from etl.runlog.RUN_USER_ENV, as intake.py sets it); the environment is restored."""
    import os

    from etl import runlog
    from etl.load import load_exports

    before = os.environ.get(runlog.RUN_USER_ENV)
    os.environ[runlog.RUN_USER_ENV] = user
    try:
        return load_exports(exports, warehouse)
    finally:
        if before is None:
            os.environ.pop(runlog.RUN_USER_ENV, None)
        else:
            os.environ[runlog.RUN_USER_ENV] = before
