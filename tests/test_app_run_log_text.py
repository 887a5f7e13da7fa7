"""Values from run.json files are shown as text on the data-quality page, never as Markdown
(issue 17: the OS user name of a run was rendered as Markdown, and a remote image was fetched)."""
from __future__ import annotations

import json

import pytest

from tests.app_fixtures import build_warehouse, page_opener, write_run_log, write_users
from warehouse import runs_dir

HOSTILE_USER = "![x](http://attacker.invalid/pixel.png)"
HOSTILE_HOST = "**host** <img src=http://attacker.invalid/h.png>"
HOSTILE_RUN = "run-9 [click](http://attacker.invalid/r)"


@pytest.fixture
def app(tmp_path, monkeypatch):
    wh = build_warehouse(tmp_path / "trial.duckdb")
    write_run_log(wh)
    d = runs_dir(wh) / "run-9"
    d.mkdir()
    (d / "run.json").write_text(json.dumps({
        "run_id": HOSTILE_RUN, "command": "validate", "started_at": "2024-09-20T10:00:00",
        "finished_at": "2024-09-20T10:01:00", "user": HOSTILE_USER, "host": HOSTILE_HOST,
        "outcome": "refused", "exports": [], "problems": [
            {"export": "site02", "file": "ae.csv", "row": 3, "column": "AETERM", "value": "x",
             "rule": "r", "message": "ae.csv:3: AETERM=x: r"}]}))
    (d / "report.html").write_text("<html></html>")
    return page_opener(wh, write_users(tmp_path / "users.toml"), tmp_path / "access.log", monkeypatch)


def test_run_log_values_are_shown_as_text_not_markdown(app):
    at = app("data_quality", role="data")
    markdown = [str(e.value) for kind in ("markdown", "caption", "title", "subheader", "info",
                                          "warning", "error", "success") for e in getattr(at, kind)]
    markdown += [m.label + str(m.proto.help) for m in at.metric]
    assert not [m for m in markdown if "attacker.invalid" in m]
    plain = "\n".join(t.value for t in at.text)
    assert f"by {HOSTILE_USER} on {HOSTILE_HOST}" in plain
    # started 2024-09-20T10:00:00 UTC, shown in the trial's zone: Tokyo, UTC+9 -> 19:00
    assert f"Run {HOSTILE_RUN} (2024-09-20 19:00 (Asia/Tokyo)): 1 problems." in plain
