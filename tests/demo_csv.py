"""The committed demo exports read as raw CSV rows, for tests that recount a figure independently
of the ETL (the csv module only; each file decoded as the contract allows: UTF-8, else CP932)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "demo" / "exports"


def demo_rows(domain: str) -> list[dict[str, str]]:
    """Every row of one domain across the demo's sites, decoded as the contract allows."""
    rows: list[dict[str, str]] = []
    for site in sorted(DEMO.iterdir()):
        raw = (site / f"{domain}.csv").read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp932")
        rows += list(csv.DictReader(io.StringIO(text, newline="")))
    return rows
