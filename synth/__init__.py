"""Seeded synthetic trials of jRCTs031230358: demo data, test exports, benchmark trials.

- ``generate_trial(seed, n_subjects, n_sites, data_cut)`` -> ``{siteid: {domain: frame}}``
  (synth/generator.py: the per-subject stories and what every trial contains; synth/branches.py:
  every rule branch, added to trials of at least 20 enrolled subjects, so never to the demo).
- ``write_export(frames, folder, encoding="utf-8", siteid=, data_cut=)`` one site's folder;
  ``write_trial(trial, out, data_cut, encodings)`` every site as ``out/site<SITEID>/``.
- ``corrupt_variants(frames, data_cut)`` -> invalid copies of one export, each breaking exactly
  one contract rule, with the problem text the ETL must report (synth/corrupt.py).
- ``write_demo(out)``: the demo trial committed in ``demo/exports`` (``python -m synth demo``).

No real patient data: every identifier, date and value is drawn from a seeded generator.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from synth.corrupt import CorruptVariant, corrupt_variants
from synth.export import csv_text, site_folder_name, write_export, write_trial
from synth.generator import generate_trial

# The demo trial: two sites, 13 screened = 10 enrolled (the target) + 3 screen failures, one data
# cut (export.json), site 02 written in CP932 as spreadsheet software in Japan saves it.
DEMO = {"seed": 20261101, "n_subjects": 13, "n_sites": 2, "data_cut": "2026-11-01",
        "encodings": {"02": "cp932"}}


def demo_trial():
    cut = dt.date.fromisoformat(DEMO["data_cut"])
    return generate_trial(DEMO["seed"], DEMO["n_subjects"], DEMO["n_sites"], cut), cut


def write_demo(out: Path) -> list[Path]:
    """Write the demo trial to ``out/site01``, ``out/site02``; returns the folders."""
    trial, cut = demo_trial()
    return write_trial(trial, Path(out), cut, DEMO["encodings"])


__all__ = ["DEMO", "CorruptVariant", "corrupt_variants", "csv_text", "demo_trial",
           "generate_trial", "site_folder_name", "write_demo", "write_export", "write_trial"]
