"""``python -m etl``: exit codes 0 / 1 / 2, the --help manual, progress on stderr, refusals printed
in the contract's format, the run history. Real processes where the exit status or the streams
are what is tested; argparse's own behaviour in process."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from etl.__main__ import main
from tests.conftest import edit_csv, etl_env, run_etl


def test_help_is_the_data_teams_manual(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    manual = capsys.readouterr().out
    for must in ("validate EXPORT", "load EXPORT", "runs", "exit status:", "refused",
                 "wrong usage", "report.html", "TRIALDASH_WAREHOUSE", "warehouse/trial.duckdb",
                 "what to do next", "archive", "stderr"):
        assert must in manual, must


@pytest.mark.parametrize("argv", [[], ["load"], ["validate"], ["frobnicate"],
                                  ["load", "x", "--no-such-option"]])
def test_wrong_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage: python -m etl" in capsys.readouterr().err


@pytest.mark.slow
def test_no_command_exits_2_in_a_real_process():
    proc = run_etl()
    assert proc.returncode == 2
    assert "usage: python -m etl" in proc.stderr


def test_validate_valid_export_exits_0_with_progress_on_stderr(make_export, tmp_path, capsys):
    wh = tmp_path / "wh" / "trial.duckdb"

    code = main(["validate", str(make_export("01")), "--warehouse", str(wh)])

    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "validating 1 export(s)" in err and "site01" in err   # stage lines go to stderr
    assert "valid:" not in err and "validating" not in out
    assert out.startswith("valid: 1 export(s)")
    assert not wh.exists()
    report = Path(out.split("report: ")[1].split("\n")[0])
    assert report.is_file() and report.parent.parent == wh.parent / "trial.runs"


@pytest.mark.slow
def test_refused_load_exits_1_prints_every_problem_and_changes_nothing(warehouse_copy,
                                                                       make_export):
    wh = warehouse_copy
    before = hashlib.sha256(wh.read_bytes()).hexdigest()
    bad = make_export("01", name="site01_bad")

    def two_breaks(header, rows):
        rows[0][header.index("RFICDTC")] = "2024/01/15"      # not ISO 8601
        header.append("PHONE")                              # not in the contract
        for r in rows:
            r.append("000-0000-0000")

    edit_csv(bad / "dm.csv", two_breaks)

    proc = run_etl("load", str(bad), "--warehouse", str(wh))

    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("dm.csv:2: RFICDTC=2024/01/15: ") for line in lines), lines
    assert any(line.startswith("dm.csv: ") and "PHONE" in line for line in lines), lines
    assert any(line.startswith("refused: ") for line in lines)
    assert any(line.startswith("next: ") for line in lines)
    report = Path(next(line for line in lines if line.startswith("report: "))[8:])
    recorded = json.loads((report.parent / "run.json").read_text(encoding="utf-8"))
    assert recorded["outcome"] == "refused"
    assert len(recorded["problems"]) >= 2
    assert hashlib.sha256(wh.read_bytes()).hexdigest() == before


@pytest.mark.slow
def test_load_then_runs_lists_the_history(make_export, tmp_path):
    wh = tmp_path / "env_wh" / "trial.duckdb"
    env = etl_env(TRIALDASH_WAREHOUSE=str(wh))   # the environment variable, no --warehouse

    loaded = run_etl("load", str(make_export("01")), env=env)
    runs = run_etl("runs", env=env)

    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert wh.is_file()
    for stage in ("writing site 01", "deriving", "swapping in"):
        assert stage in loaded.stderr, stage
    assert loaded.stdout.startswith("loaded: site 01")
    assert runs.returncode == 0
    [run_dir] = [p for p in (wh.parent / "trial.runs").iterdir() if p.is_dir()]  # not .load.lock
    [row] = [line for line in runs.stdout.splitlines() if line.startswith(run_dir.name)]
    assert row.split()[1:4] == ["load", "loaded", "01"]


def test_runs_without_history_says_so(tmp_path, capsys):
    wh = tmp_path / "nothing" / "trial.duckdb"
    assert main(["runs", "--warehouse", str(wh)]) == 0
    assert "no runs recorded yet" in capsys.readouterr().out


@pytest.mark.parametrize("how", ["option", "environment"])
def test_next_hint_keeps_the_warehouse_the_run_used(make_export, tmp_path, how, monkeypatch,
                                                    capsys):
    """Issue 13: the `next:` line of a valid validate, copied and run as printed (with no
    environment variable set), loads into the warehouse the validate run used, not the default.
    The command line's own function (etl.__main__.main) in this process: what is tested is the
    hint's text, not a process boundary."""
    import shlex

    monkeypatch.delenv("TRIALDASH_WAREHOUSE", raising=False)
    wh = tmp_path / "elsewhere" / "my trial.duckdb"      # a space: the hint must quote it
    export = make_export("01")
    if how == "option":
        code = main(["validate", str(export), "--warehouse", str(wh)])
    else:
        monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(wh))
        code = main(["validate", str(export)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    hint = next(line for line in out.out.splitlines() if line.startswith("next: "))
    argv = shlex.split(hint.removeprefix("next: "))
    assert argv[:3] == ["python", "-m", "etl"]
    # without the option the hint would load into the default warehouse: never run it then
    assert "--warehouse" in argv, hint
    assert not wh.exists()
    monkeypatch.delenv("TRIALDASH_WAREHOUSE", raising=False)   # run as printed, nothing else set
    code = main(argv[3:])
    loaded = capsys.readouterr()
    assert code == 0, loaded.out + loaded.err
    assert wh.is_file()
    assert loaded.out.startswith("loaded: site 01") and str(wh) in loaded.out
