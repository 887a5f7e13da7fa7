"""The sizes the ETL accepts: every input bound, in one place (``python -m etl --help`` lists
them). Generous for a real site (the whole 10,000-subject benchmark trial is 302 MB over 20
sites), small enough that no delivery, by mistake or on purpose, can exhaust the machine: the
reader needs about 7 bytes of memory per byte it parses, so every size is checked BEFORE reading.

A delivery over a limit is refused with a problem in the contract's form ``<file>: <rule>``
naming the limit; nothing is loaded and the warehouse is not changed.
"""
from __future__ import annotations

MAX_FILE_BYTES = 200_000_000        # one file of an export (a zip member: its expanded size)
MAX_EXPORT_BYTES = 1_000_000_000    # one export: its files together (a zip: expanded)
MAX_ZIP_MEMBERS = 100               # entries of a .zip export (the contract allows 10 files)
MAX_LINES_PER_FILE = 2_000_000      # physical lines of one CSV file
MAX_LINE_BYTES = 1_000_000          # one line of a CSV file
MAX_FIELD_CHARS = 10_000            # one value (field) of a CSV file
MAX_PROBLEMS_PER_RULE = 100         # problems reported per export, file, column and rule; then
                                    # one line says how many more rows break that rule


def size(n: int) -> str:
    """200 MB, 1 GB, or 12,345 bytes."""
    if n >= 1_000_000_000 and n % 1_000_000_000 == 0:
        return f"{n // 1_000_000_000} GB"
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000} MB"
    return f"{n:,} bytes"


def describe() -> str:
    """The limits, as ``python -m etl --help`` shows them (names as in etl/limits.py)."""
    rows = [
        ("MAX_FILE_BYTES", f"{size(MAX_FILE_BYTES)} per file (a zip member: expanded)"),
        ("MAX_EXPORT_BYTES", f"{size(MAX_EXPORT_BYTES)} per export, its files together (a zip: expanded)"),
        ("MAX_ZIP_MEMBERS", f"{MAX_ZIP_MEMBERS} members per zip"),
        ("MAX_LINES_PER_FILE", f"{MAX_LINES_PER_FILE:,} lines per CSV file"),
        ("MAX_LINE_BYTES", f"{size(MAX_LINE_BYTES)} per line"),
        ("MAX_FIELD_CHARS", f"{MAX_FIELD_CHARS:,} characters per value"),
        ("MAX_PROBLEMS_PER_RULE", f"{MAX_PROBLEMS_PER_RULE} problems reported per file, column and "
                                  "rule, then their count"),
    ]
    return "\n".join(f"  {name.ljust(22)} {text}" for name, text in rows)

# The dashboard's upload (intake.py, issue 13): what one upload of one export may weigh, its files
# together as uploaded (a zip compressed; MAX_EXPORT_BYTES still bounds what it expands to).
MAX_UPLOAD_BYTES = 200_000_000
