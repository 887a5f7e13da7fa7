"""``python -m bench.everyday [--rounds 3]``: the everyday run at the trial's real size, as ratios.

The data team runs ``python -m etl validate`` on a delivery, then ``python -m etl load`` of the
same bytes. Great Expectations' import alone costs seconds on this machine, so the figures are
ratios to a bare ``python -c "import great_expectations"`` measured in the SAME run, ALTERNATING
with the commands (bare import, validate, load, bare import, ...) so that the other processes
sharing the cores weigh on all of them alike. Each is a whole process (interpreter start, imports
and work: what the user waits for), on the committed demo (demo/exports, 10 subjects, two sites),
into a fresh warehouse per round. Goals (issue 15): validate <= 1.5x, load after validate <= 1.5x.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5


def timed(cmd: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT), GX_ANALYTICS_ENABLED="false")
    env.pop("TRIALDASH_WAREHOUSE", None)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if cmd[2:3] == ["etl"] and proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def measure(rounds: int, exports: list[str]) -> dict[str, list[float]]:
    py = sys.executable
    times: dict[str, list[float]] = {"import": [], "validate": [], "load": []}
    for i in range(rounds):
        base = Path(tempfile.mkdtemp(prefix="trialdash-everyday-"))
        wh = str(base / "wh" / "demo.duckdb")
        try:
            times["import"].append(timed([py, "-c", "import great_expectations"]))
            times["validate"].append(timed([py, "-m", "etl", "validate", *exports, "--warehouse", wh]))
            times["import"].append(timed([py, "-c", "import great_expectations"]))
            times["load"].append(timed([py, "-m", "etl", "load", *exports, "--warehouse", wh]))
        finally:
            shutil.rmtree(base, ignore_errors=True)
        print(f"  round {i + 1}: import {times['import'][-2]:.2f}/{times['import'][-1]:.2f} s, "
              f"validate {times['validate'][-1]:.2f} s, load {times['load'][-1]:.2f} s", flush=True)
    return times


def table(times: dict[str, list[float]]) -> str:
    bare = statistics.median(times["import"])
    rows = ["| command (whole process, the demo) | median (s) | runs (s) | × bare GX import | goal |",
            "|---|---:|---|---:|---:|",
            f"| `python -c \"import great_expectations\"` | {bare:.2f} | "
            + ", ".join(f"{t:.2f}" for t in times["import"]) + " | 1.00 | |"]
    for key, label in (("validate", "`python -m etl validate` (demo)"),
                       ("load", "`python -m etl load` right after that validate")):
        med = statistics.median(times[key])
        rows.append(f"| {label} | {med:.2f} | " + ", ".join(f"{t:.2f}" for t in times[key])
                    + f" | {med / bare:.2f} | ≤ {GOAL} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.everyday", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    exports = [str(p) for p in sorted((ROOT / "demo" / "exports").iterdir())]
    before = os.getloadavg()
    times = measure(args.rounds, exports)
    after = os.getloadavg()
    print(f"\nload average before {before[0]:.2f}, after {after[0]:.2f} ({os.cpu_count()} CPUs)\n")
    print(table(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
