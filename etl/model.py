"""What passes between the ETL's stages: read -> validate -> load -> derive.

Kept small and explicit so each stage can be tested alone.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Callable

import polars as pl


@dataclasses.dataclass(frozen=True, order=True)
class Problem:
    """One broken contract rule.

    Formats as the contract's "What a refusal must say": ``<file>:<row>: <column>=<value>: <rule>``
    for row rules and ``<file>: <rule>`` for file rules. ``row`` is 1-based with the header as
    row 1, so the first data row is row 2. ``export`` names the delivery (folder or zip) so a
    multi-export run says which one.
    """

    export: str
    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        if self.row is None:
            where = f"{self.file}: "
            if self.column is not None and self.value is not None:
                where += f"{self.column}={self.value}: "
            return where + self.rule
        return f"{self.file}:{self.row}: {self.column}={'' if self.value is None else self.value}: {self.rule}"


@dataclasses.dataclass
class ExportFile:
    """One CSV file of an export, as read: every column a string (empty field -> null)."""

    name: str              # e.g. "ae.csv"
    domain: str            # e.g. "ae"
    sha256: str            # of the file's bytes as delivered
    encoding: str          # "utf-8", "utf-8-sig" or "cp932"
    frame: pl.DataFrame    # all columns pl.String; row i of the frame is file row i + 2

    @property
    def rows(self) -> int:
        return self.frame.height


def row_batches(files: list[ExportFile], max_rows: int) -> list[list[ExportFile]]:
    """The files, in order, in consecutive groups of about ``max_rows`` rows: a group takes files
    until it holds ``max_rows`` rows or more (a file is never split; a file of more rows is a
    group of its own). Great Expectations' batches and the sdtm inserts bound their memory so."""
    out: list[list[ExportFile]] = [[]]
    rows = 0
    for f in files:
        if out[-1] and rows >= max_rows:
            out.append([])
            rows = 0
        out[-1].append(f)
        rows += f.rows
    return [b for b in out if b]


@dataclasses.dataclass
class Export:
    """One site's delivery: a folder, or a .zip holding one folder."""

    source: Path                     # what the user named on the command line
    folder: Path                     # the folder the CSV files were read from (extracted, for a zip)
    files: dict[str, ExportFile]     # by domain
    siteid: str | None = None        # from the rows (or export.json); None if it cannot be told
    data_cut: dt.date | None = None  # export.json's, else the latest date in the rows
    data_cut_source: str = "rows"    # "export.json" or "rows"
    notes: list[str] = dataclasses.field(default_factory=list)  # e.g. "ae.csv read as CP932"


@dataclasses.dataclass
class ValidationResult:
    exports: list[Export]
    problems: list[Problem]
    reused_from: str | None = None   # the run whose recorded GX result was reused (etl.validate)

    @property
    def ok(self) -> bool:
        return not self.problems


Progress = Callable[[str], None] | None   # a run's progress line printer (the CLI's stderr)


def say(progress: Progress, message: str) -> None:
    if progress is not None:
        progress(message)
