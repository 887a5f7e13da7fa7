"""One benchmark stage, run alone in its own process: ``python -m bench.stages STAGE ARGS_JSON``.

Each stage prints one JSON line on stdout (its own timings, measured around the work only, so the
interpreter start and imports are excluded unless said otherwise). The parent (bench/__main__.py)
reads the process's peak resident memory from the kernel (os.wait4 rusage, ru_maxrss): that is
the whole process — Python, imported libraries and the work — not only the Python heap that
tracemalloc would see (Polars, DuckDB and Arrow allocate outside it).
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def stage_generate(a: dict) -> dict:
    import datetime as dt

    from synth import generate_trial, write_trial
    t0 = time.perf_counter()
    trial = generate_trial(a["seed"], a["subjects"], a["sites"], dt.date.fromisoformat(a["cut"]))
    t1 = time.perf_counter()
    write_trial(trial, Path(a["out"]), dt.date.fromisoformat(a["cut"]))
    t2 = time.perf_counter()
    return {"seconds": t2 - t0, "generate": t1 - t0, "write": t2 - t1}


def stage_read(a: dict) -> dict:
    from etl.read import read_export
    t0 = time.perf_counter()
    rows = problems = 0
    with tempfile.TemporaryDirectory() as work:
        for p in a["exports"]:
            export, probs = read_export(Path(p), Path(work))
            rows += sum(f.rows for f in export.files.values())
            problems += len(probs)
    return {"seconds": time.perf_counter() - t0, "rows": rows, "problems": problems}


def stage_validate(a: dict) -> dict:
    """etl.validate as ``python -m etl validate`` runs it: Great Expectations' import included
    (in its host process, beside the reading, with several workers; here, with one)."""
    from etl.validate import validate_exports
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        result = validate_exports([Path(p) for p in a["exports"]], Path(work))
    t2 = time.perf_counter()
    return {"seconds": t2 - t1, "problems": len(result.problems),
            "first_problems": [str(p) for p in result.problems[:5]]}


def stage_load(a: dict) -> dict:
    from etl.load import load_exports
    t0 = time.perf_counter()
    result = load_exports([Path(p) for p in a["exports"]], Path(a["warehouse"]))
    return {"seconds": time.perf_counter() - t0, "outcome": result.outcome,
            "timings": result.record.get("timings", {}), "error": result.error,
            "problems": len(result.problems)}


def stage_duckdb(a: dict) -> dict:
    """The floor: DuckDB alone reading the same CSV files into one table per domain."""
    import duckdb
    from etl.contract import DOMAINS
    with tempfile.TemporaryDirectory() as work:
        con = duckdb.connect(str(Path(work) / "floor.duckdb"))
        t0 = time.perf_counter()
        rows = 0
        for domain in DOMAINS:
            files = [str(Path(p) / f"{domain}.csv") for p in a["exports"]
                     if (Path(p) / f"{domain}.csv").is_file()]
            if not files:
                continue
            con.execute(f"CREATE TABLE {domain} AS SELECT * FROM read_csv(?, header = true, "
                        "all_varchar = true)", [files])
            rows += con.execute(f"SELECT count(*) FROM {domain}").fetchone()[0]
        con.execute("CHECKPOINT")
        seconds = time.perf_counter() - t0
        con.close()
    return {"seconds": seconds, "rows": rows}


BLANK = "bench/blank_page.py"   # a page that renders nothing: the floor of every page's time


def stage_page(a: dict) -> dict:
    """Render one page with Streamlit's AppTest through app.py, signed in as the PI (who may see
    every page). After the sign-in run, the page is timed from switch_page to the end of its run
    (the home page too, so every page is timed alike); ``BLANK`` is a page that renders nothing,
    the floor every page is compared with."""
    work = Path(tempfile.mkdtemp(prefix="bench-page-"))
    atexit.register(shutil.rmtree, work, True)   # its sign-in files and logs go with the stage
    os.environ["TRIALDASH_WAREHOUSE"] = a["warehouse"]
    os.environ["TRIALDASH_USERS"] = str(work / "users.toml")
    os.environ["TRIALDASH_ACCESS_LOG"] = str(work / "access.log")
    import auth
    from streamlit.testing.v1 import AppTest
    password = "bench-password-1"
    auth.save_users({"bench": {"role": "pi", "password": auth.hash_password(password)}},
                    work / "users.toml")
    root = Path(__file__).resolve().parent.parent
    page = a["page"]
    if page == BLANK:
        # The blank page is registered for the PI in this process only: AppTest runs app.py in
        # this interpreter, which keeps pages.common imported, so app.py's navigation offers it.
        from pages import common
        common.PAGES["bench_blank"] = (BLANK, "Blank (benchmark)", ":material/crop_free:", ("pi",))
    at = AppTest.from_file(str(root / "app.py"), default_timeout=900)
    at.run()
    at.text_input(key="signin_user").input("bench")
    at.text_input(key="signin_password").input(password)
    t0 = time.perf_counter()
    at.button[0].click().run()
    signin = time.perf_counter() - t0
    t0 = time.perf_counter()       # every page alike, the home page too: one switch_page run
    at.switch_page(page).run()
    seconds = time.perf_counter() - t0
    errors = [str(e.value)[:200] for e in at.exception] + [str(e.value)[:200] for e in at.error]
    return {"seconds": seconds, "signin": signin, "errors": errors,
            "elements": len(list(at.main))}


def stage_packet(a: dict) -> dict:
    """Write one committee packet of the warehouse (report.packet.issue: every query, the charts
    rendered with vl-convert, Typst), as ``python -m report packet`` does; the report package's
    import is timed apart."""
    work = Path(tempfile.mkdtemp(prefix="bench-packet-"))
    atexit.register(shutil.rmtree, work, True)   # its sign-in files and logs go with the stage
    os.environ["TRIALDASH_WAREHOUSE"] = a["warehouse"]
    os.environ["TRIALDASH_ACCESS_LOG"] = str(work / "access.log")
    t0 = time.perf_counter()
    from report.packet import issue
    t1 = time.perf_counter()
    manifest = issue(created_by="bench", via="bench")
    t2 = time.perf_counter()
    from pypdf import PdfReader
    return {"seconds": t2 - t1, "import": t1 - t0, "pages": len(PdfReader(manifest["_pdf"]).pages),
            "pdf_kb": manifest["pdf_bytes"] / 1024}


def stage_browser(a: dict) -> dict:
    """Every page's wait in Chromium on the real server, and the blank page's (bench/browser_pages.py)."""
    from bench.browser_pages import measure
    return measure(a["warehouse"])


STAGES = {"browser": stage_browser, "generate": stage_generate, "read": stage_read, "validate": stage_validate,
          "load": stage_load, "duckdb": stage_duckdb, "page": stage_page, "packet": stage_packet}

if __name__ == "__main__":
    import resource
    out = STAGES[sys.argv[1]](json.loads(sys.argv[2]))
    if "etl.validate" in sys.modules:        # the GX host process, reaped: its memory counts
        sys.modules["etl.validate"].stop_gx()
    # The largest peak RSS among this stage's own child processes (Great Expectations' forked
    # workers, etl/validate.py): the parent reads only this process's from os.wait4.
    out["workers_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    sys.stdout.write(json.dumps(out) + "\n")
