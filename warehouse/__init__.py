"""The DuckDB warehouse: its location, its schema, and the read-only queries the pages use."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = PROJECT_ROOT / "warehouse" / "trial.duckdb"
ENV_VAR = "TRIALDASH_WAREHOUSE"


def warehouse_path(explicit: str | os.PathLike | None = None) -> Path:
    """The warehouse file: ``--warehouse`` if given, else $TRIALDASH_WAREHOUSE, else the default."""
    if explicit:
        return Path(explicit).resolve()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).resolve()
    return DEFAULT_WAREHOUSE


def runs_dir(warehouse: Path) -> Path:
    """The run log beside the warehouse: one folder per run (run.json, report.html)."""
    return warehouse.parent / f"{warehouse.stem}.runs"


def archive_dir(warehouse: Path) -> Path:
    """Read-only copies of every accepted export, so any data cut can be rebuilt."""
    return warehouse.parent / f"{warehouse.stem}.archive"


def packets_dir(warehouse: Path) -> Path:
    """The committee packets beside the run log: one read-only folder per packet
    (packet.pdf, manifest.json), written by ``python -m report packet`` or the Safety page."""
    return warehouse.parent / f"{warehouse.stem}.packets"
