"""``python -m bench [--sizes 10,1000,10000]``: how long each stage takes, and its peak memory, on
synthetic trials of growing size. Not part of the test suite.

For each size N the benchmark writes a trial of N screened subjects (``synth``; about 500 subjects
per site, all UTF-8, export.json data cut 2026-11-01) into a temporary folder, then runs each
stage ALONE in a fresh Python process (bench/stages.py) and reports:

- time: measured inside the process around the work (interpreter start and imports excluded;
  the validator's Great Expectations import is shown apart);
- peak memory: the process's peak resident set size from the kernel (``os.wait4`` rusage
  ``ru_maxrss``: for a process that forked workers, the larger of its own and its children's),
  i.e. everything the process held — Python, the libraries it imported, Polars /
  DuckDB / Arrow buffers — not only the Python heap (tracemalloc sees Python objects only, so it is
  not used). A bare ``python -c "import polars, duckdb"`` is the floor of that column (shown).

Stages: generate (synth), read (etl.read.read_export of every export), validate
(etl.validate.validate_exports: read + GX suites + cross-file rules), load (etl.load.load_exports;
its per-stage timings validate / archive / write / deliveries / derive / audit come from the run's run.json
"timings"), each page under pages/ rendered with Streamlit's AppTest through app.py on the loaded
warehouse, the committee packet (``report.packet.issue``, up to 1,000 subjects: its full AE
listing grows with the trial) and the floor: DuckDB alone reading the same CSV files into one
table per domain.

Pages are compared with a blank signed-in page (bench/blank_page.py: the app's own cost of a
signed-in run), in two ways: the AppTest script run above ("x blank" column), and what a user
waits for in a real browser (bench/browser_pages.py: the real ``streamlit run`` server on the
loaded warehouse, Debian's Chromium through Playwright, signed in as PI; each page clicked in
the sidebar, timed to the app being idle, median of 3; "browser:" rows).

Every row carries the machine's 1-minute load average when it was taken (os.getloadavg: other
processes share the CPUs). Under the table, the issue's goals (they apply at 10,000 subjects):
load / read <= 4x, the load process's peak RSS <= 1.5 GB (1536 MB), the slowest page <= 2x the
blank page (AppTest and browser), each with yes/no.

``--packet-demo`` instead loads the committed 10-subject demo (demo/exports) and times writing
its committee packet (target: under 15 s), as ``python -m report packet`` does.

The table is printed and written to ``bench/results/<UTC date>-<N>.md``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CUT = "2026-11-01"
SUBJECTS_PER_SITE = 500


def run_stage(stage: str, args: dict, timeout: float = 3600) -> dict:
    """Run one stage in a child process; its JSON result plus wall time and peak RSS (MB).

    The child is reaped with ``os.wait4`` so its OWN rusage is read (``RUSAGE_CHILDREN`` would
    give the maximum over every child so far)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), GX_ANALYTICS_ENABLED="false")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "bench.stages", stage, json.dumps(args)],
                                cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    result: dict = {"wall": wall, "rss_mb": usage.ru_maxrss / 1024.0,  # Linux: kilobytes
                    "loadavg": os.getloadavg()[0]}
    if proc.returncode != 0:
        lines = stderr.strip().splitlines() or [f"exit status {proc.returncode}"]
        result["error"] = lines[-1]
        return result
    result.update(json.loads(stdout.strip().splitlines()[-1]))
    return result


def row(stage: str, r: dict, note: str = "", ratio: str = "") -> list[str]:
    """One table row: stage, time, x blank, peak RSS, load average (1 min) when it ended, notes."""
    if r.get("error"):
        note = (note + "; " if note else "") + "ERROR: " + str(r["error"])[:160]
    secs = r.get("seconds")
    out = [stage, "" if secs is None else f"{secs:.2f}", ratio,
           "" if r.get("rss_mb") is None else f"{r['rss_mb']:.0f}",
           "" if r.get("loadavg") is None else f"{r['loadavg']:.1f}", note]
    print(f"  {stage:<32} {out[1]:>8} s {ratio:>6} {out[3]:>7} MB  load {out[4]:>4}  {note}",
          flush=True)
    return out


def workers_note(r: dict) -> str:
    """The largest peak RSS of the stage's Great Expectations processes (etl/gx_engine.py: its
    host process and the workers forked from it, up to TRIALDASH_GX_WORKERS or one per CPU at
    once, beside the stage's own)."""
    mb = r.get("workers_rss_mb")
    return f"; largest GX process (host or worker) {mb:.0f} MB (beside it)" if mb else ""


def peak_with_workers(r: dict) -> float | None:
    """The larger of the stage process's peak RSS and its largest worker's (the goal's figure)."""
    values = [v for v in (r.get("rss_mb"), r.get("workers_rss_mb")) if v]
    return max(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def page_files() -> list[Path]:
    return sorted((ROOT / "pages").glob("page_*.py"))


def bench_size(n: int, seed: int) -> tuple[list[list[str]], dict]:
    sites = max(1, math.ceil(n / SUBJECTS_PER_SITE))
    if n < 20:
        sites = min(2, n)
    base = Path(tempfile.mkdtemp(prefix=f"trialdash-bench-{n}-"))
    exports_dir = base / "exports"
    rows: list[list[str]] = []
    info: dict = {"subjects": n, "sites": sites, "seed": seed}

    def add(stage: str, r: dict, note: str = "", ratio: str = "") -> None:
        rows.append(row(stage, r, note, ratio))

    print(f"== {n} subjects, {sites} site(s) in {base}", flush=True)
    r = run_stage("generate", {"seed": seed, "subjects": n, "sites": sites, "cut": CUT,
                               "out": str(exports_dir)})
    add("generate (synth)", r, f"generate {r.get('generate', 0):.2f} s + write "
        f"{r.get('write', 0):.2f} s")
    exports = [str(p) for p in sorted(exports_dir.iterdir())]
    size_mb = sum(f.stat().st_size for f in exports_dir.rglob("*") if f.is_file()) / 2**20
    info["csv_mb"] = round(size_mb, 1)

    r = run_stage("duckdb", {"exports": exports})
    info["rows"] = r.get("rows")
    add("floor: DuckDB read_csv only", r, f"{r.get('rows', '?')} rows, {size_mb:.1f} MB of CSV")
    r = run_stage("read", {"exports": exports})
    info["read"] = r
    add("read (etl.read)", r, "")
    r = run_stage("validate", {"exports": exports})
    add("validate (etl.validate)", r, f"{r.get('problems', '?')} problems; GX's import "
        "included (in its host process, beside the reading)" + workers_note(r))
    if r.get("problems"):
        info["validate_problems"] = r.get("first_problems")

    warehouse = base / "warehouse" / "bench.duckdb"
    warehouse.parent.mkdir()
    r = run_stage("load", {"exports": exports, "warehouse": str(warehouse)})
    t = r.get("timings", {})
    info["load"] = r
    add("load (etl.load), whole", r, f"outcome {r.get('outcome', '?')}; peak memory: the load "
        "process or a child of it, whichever peaked higher (the kernel's figure)" + workers_note(r))
    for stage in ("validate", "archive", "write", "deliveries", "derive", "audit"):
        if stage in t:
            rows.append([f"  load: {stage}", f"{t[stage]:.2f}", "", "", "",
                         "from run.json timings"])
            print(f"  {'  load: ' + stage:<32} {t[stage]:>8.2f} s", flush=True)
    if warehouse.exists():
        info["warehouse_mb"] = round(warehouse.stat().st_size / 2**20, 1)
        blank = run_stage("page", {"warehouse": str(warehouse), "page": BLANK})
        add("page: blank (floor)", blank, "AppTest, signed in as PI: a page that renders "
            "nothing (bench/blank_page.py)", "1.0")
        info["apptest"] = {}
        for page in page_files():
            r = run_stage("page", {"warehouse": str(warehouse), "page": f"pages/{page.name}"})
            note = f"AppTest, signed in as PI; {r.get('elements', '?')} elements rendered"
            if r.get("errors"):
                note += "; page errors: " + " | ".join(r["errors"])[:160]
            if page.stem == "page_overview":
                note += "; the home page: already run once by the sign-in (warm caches)"
            x = ratio(r.get("seconds"), blank.get("seconds"))
            name = page.stem.removeprefix("page_")
            info["apptest"][name] = x
            add(f"page: {name}", r, note, "" if x is None else f"{x:.1f}")
        add_browser(rows, info, warehouse)
        if n <= PACKET_MAX_SUBJECTS:
            add_packet(add, warehouse)
    else:
        rows.append(["pages", "", "", "", "", "not measured: the load did not produce a warehouse"])
    shutil.rmtree(base, ignore_errors=True)
    return rows, info


PACKET_MAX_SUBJECTS = 1000
BLANK = "bench/blank_page.py"
GOAL_LOAD_READ = 4.0        # issue 15, at 10,000 subjects: load <= 4x etl.read of the same exports
GOAL_LOAD_RSS_MB = 1536.0   # ... and the load process's peak RSS <= 1.5 GB
GOAL_PAGE_BLANK = 2.0       # ... and every page <= 2x the blank signed-in page


def add_browser(rows: list[list[str]], info: dict, warehouse: Path) -> None:
    """The real server and Chromium (bench/browser_pages.py): each page's median wait, x blank."""
    r = run_stage("browser", {"warehouse": str(warehouse)})
    if r.get("error") or not r.get("pages"):
        rows.append(row("browser: pages", r, "not measured"))
        return
    blank = r["pages"]["bench_blank"]
    info["browser"] = {}
    for key, p in r["pages"].items():
        x = ratio(p["median"], blank["median"])
        name = "blank (floor)" if key == "bench_blank" else key
        if key != "bench_blank":
            info["browser"][key] = x
        rows.append(row(f"browser: {name}", {"seconds": p["median"], "loadavg": p["loadavg"]},
                        f"median of {len(p['times'])} ({', '.join(f'{t:.2f}' for t in p['times'])}"
                        f" s; first visit first), click in the sidebar to idle", f"{x:.1f}"))
    rows.append(row("browser: server process", {"rss_mb": r.get("server_rss_mb"),
                                                 "loadavg": r.get("loadavg")},
                    f"`streamlit run` peak RSS (VmHWM); sign-in {r.get('signin', 0):.2f} s"))


def goals(info: dict) -> str:
    """The issue's goals against this run's figures (they apply at 10,000 subjects)."""
    out = ["| figure | goal | this run | met |", "|---|---|---|---|"]

    def line(figure: str, goal: str, value: float | None, fmt: str, ok: bool | None) -> None:
        shown = "not measured" if value is None else format(value, fmt)
        out.append(f"| {figure} | {goal} | {shown} | "
                   f"{'-' if ok is None else ('yes' if ok else 'NO')} |")

    load, read = info.get("load", {}), info.get("read", {})
    x = ratio(load.get("seconds"), read.get("seconds"))
    line(f"load / read (load avg {load.get('loadavg', float('nan')):.1f})",
         f"<= {GOAL_LOAD_READ:.0f}x", x, ".1f", None if x is None else x <= GOAL_LOAD_READ)
    rss = peak_with_workers(load)
    line(f"load peak RSS, MB, the load process or its largest GX worker (load avg "
         f"{load.get('loadavg', float('nan')):.1f})",
         f"<= {GOAL_LOAD_RSS_MB:.0f} (1.5 GB)", rss, ".0f",
         None if rss is None else rss <= GOAL_LOAD_RSS_MB)
    for kind, label in (("apptest", "AppTest script run"), ("browser", "browser wait")):
        ratios = {k: v for k, v in info.get(kind, {}).items() if v is not None}
        worst = max(ratios, key=ratios.get) if ratios else None
        line(f"slowest page / blank, {label}" + (f" ({worst})" if worst else ""),
             f"<= {GOAL_PAGE_BLANK:.0f}x", ratios.get(worst), ".1f",
             None if worst is None else ratios[worst] <= GOAL_PAGE_BLANK)
    return "\n".join(out)


def add_packet(add, warehouse: Path) -> dict:
    r = run_stage("packet", {"warehouse": str(warehouse)})
    add("committee packet (report)", r, f"{r.get('pages', '?')} pages, {r.get('pdf_kb', 0):.0f} kB; "
        f"import {r.get('import', 0):.1f} s not included; whole process {r.get('wall', 0):.1f} s")
    return r


def bench_packet_demo() -> tuple[list[list[str]], dict]:
    """The committed demo (10 enrolled subjects, two sites, site 02 in CP932): load, then packet."""
    base = Path(tempfile.mkdtemp(prefix="trialdash-bench-packet-"))
    rows: list[list[str]] = []
    demo = ROOT / "demo" / "exports"
    csvs = sorted(demo.rglob("*.csv"))
    info: dict = {"subjects": "the committed demo's 13 screened (10 enrolled)", "sites": 2,
                  "seed": "-", "csv_mb": round(sum(f.stat().st_size for f in csvs) / 2**20, 2),
                  "rows": sum(len(f.read_bytes().splitlines()) - 1 for f in csvs)}

    def add(stage: str, r: dict, note: str = "", ratio: str = "") -> None:
        rows.append(row(stage, r, note, ratio))

    warehouse = base / "warehouse" / "demo.duckdb"
    warehouse.parent.mkdir()
    exports = [str(p) for p in sorted((ROOT / "demo" / "exports").iterdir())]
    add("load the demo (etl.load)", run_stage("load", {"exports": exports, "warehouse": str(warehouse)}))
    info["warehouse_mb"] = round(warehouse.stat().st_size / 2**20, 1) if warehouse.exists() else "?"
    r = add_packet(add, warehouse)
    print(f"committee packet of the 10-subject demo: {r.get('seconds', float('nan')):.2f} s "
          f"(whole process {r.get('wall', float('nan')):.1f} s; target < 15 s)", flush=True)
    shutil.rmtree(base, ignore_errors=True)
    return rows, info


def baseline_rss() -> float:
    """Peak RSS of a process that only imports Polars and DuckDB: the floor of the memory column."""
    proc = subprocess.Popen([sys.executable, "-c", "import polars, duckdb"], cwd=ROOT)
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_maxrss / 1024.0


def markdown(rows: list[list[str]], info: dict, base_rss: float | None) -> str:
    subjects = f"{info['subjects']:,}" if isinstance(info['subjects'], int) else info['subjects']
    head = (f"# Benchmark: {subjects} subjects ({info['sites']} sites)\n\n"
            f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.node() or 'host'} · "
            f"{os.cpu_count()} CPUs (load average at the end {os.getloadavg()[0]:.1f}: other "
            "processes share them, so times are upper bounds) · Python "
            f"{platform.python_version()} · "
            f"{info.get('rows', '?')} CSV rows, {info.get('csv_mb', '?')} MB · warehouse "
            f"{info.get('warehouse_mb', '?')} MB · seed {info['seed']}\n\n"
            "Each stage ran alone in a fresh Python process (`python -m bench`, bench/stages.py). "
            "Time: around the work only, imports excluded. Peak memory: the process's peak "
            "resident set size (kernel rusage `ru_maxrss`), libraries included; "
            f"`python -c \"import polars, duckdb\"` alone peaks at {base_rss or 0:.0f} MB.\n\n")
    table = ["| stage | time (s) | x blank | peak RSS (MB) | load avg | notes |",
             "|---|---:|---:|---:|---:|---|"]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    if "load" in info:
        table += ["", "Goals (issue 15; they apply at 10,000 subjects, smaller sizes shown for the "
                  "trend). Load avg: the machine's 1-minute load average when the figure was "
                  f"taken (os.getloadavg; {os.cpu_count()} CPUs).", "", goals(info)]
    extra = ""
    if info.get("validate_problems"):
        extra = "\n\nFirst validation problems:\n\n" + "\n".join(
            f"- `{p}`" for p in info["validate_problems"])
    return head + "\n".join(table) + extra + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,1000,10000",
                        help="comma-separated numbers of screened subjects (default 10,1000,10000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    parser.add_argument("--packet-demo", action="store_true",
                        help="only: load the committed demo and time its committee packet")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    base_rss = baseline_rss()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.packet_demo:
        rows, info = bench_packet_demo()
        text = markdown(rows, info, base_rss)
        print(text)
        if not args.no_write:
            path = RESULTS / f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}-packet-demo.md"
            path.write_text(text, encoding="utf-8")
            print(f"written: {path.relative_to(ROOT)}")
        return 0
    for n in sizes:
        rows, info = bench_size(n, args.seed)
        text = markdown(rows, info, base_rss)
        print(text)
        if not args.no_write:
            path = RESULTS / f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}-{n}.md"
            path.write_text(text, encoding="utf-8")
            print(f"written: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
