"""What a user waits for in a real browser (``python -m bench.stages browser ARGS_JSON``): the real
``streamlit run`` server on a warehouse, Debian's Chromium through Playwright, signed in as a PI.

The blank page (bench/blank_page.py) is registered by a small entry script written at run time
next to app.py (``.bench_entry_<pid>.py``, deleted afterwards; app.py itself is never changed): it
imports pages.common, adds ``PAGES["bench_blank"]`` (absolute path) for the PI and runs app.py with
runpy. It must sit in app.py's folder: the pages' ``st.page_link`` paths are relative to the entry
point.

Each page is opened by clicking its link in the sidebar navigation, as a user does: a new URL load
(page.goto) is a new Streamlit session, which is signed out. The wait is timed inside the page
(performance.now) from the click to the app being idle: the script run has ended (stApp's
``data-test-script-state`` is ``notRunning`` after having left it or after the page changed), the
status widget is hidden (as tests/test_browser*.py wait) and the main area has not changed for ``QUIET_MS``; the
time is that of the main area's last change. Pages are visited in turn, ``ROUNDS`` times (the first
visit of each page is the cold one), and the median is reported.
"""
from __future__ import annotations

import atexit
import os
import socket
import statistics
import subprocess
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
ROUNDS = 3
QUIET_MS = 500
USER, PASSWORD = "bench", "bench-password-1"

ENTRY = '''"""Bench entry point (bench/browser_pages.py, deleted after the run): app.py with the
blank page registered for the PI."""
import runpy
from pages import common

common.PAGES["bench_blank"] = ({blank!r}, "Blank (benchmark)", ":material/crop_free:", ("pi",))
runpy.run_path({app!r}, run_name="__main__")
'''

# Installed before each click: records when the script leaves and re-enters "notRunning" and the
# time of the last change in the main area.
WATCH = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const w = window.__bench = {t0: performance.now(), left: false, last: performance.now()};
  if (window.__benchObs) window.__benchObs.forEach(o => o.disconnect());
  const a = new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') !== 'notRunning') w.left = true; });
  a.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  const m = new MutationObserver(() => { w.last = performance.now(); });
  m.observe(app, {subtree: true, childList: true, attributes: true, characterData: true});
  window.__benchObs = [a, m];
  document.addEventListener('click', () => { w.t0 = w.last = performance.now(); },
                            {capture: true, once: true});
}"""
IDLE = """(quiet) => {
  const w = window.__bench, app = document.querySelector('[data-testid="stApp"]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  // A quick run may go running -> notRunning within one render, never seen as an attribute
  // change: then a change of the page since the click stands for it.
  const idle = (w.left || w.last > w.t0) && app.getAttribute('data-test-script-state') === 'notRunning'
               && (!status || status.offsetParent === null);
  return idle && performance.now() - w.last >= quiet;
}"""


def wait_idle(page, timeout: float = 120) -> float:
    """Seconds from the click to the main area's last change, once the app is idle (IDLE)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(IDLE, QUIET_MS):
        if time.monotonic() > deadline:
            raise RuntimeError("not idle: " + page.evaluate(STATE))
        time.sleep(0.05)
    return page.evaluate("() => (window.__bench.last - window.__bench.t0) / 1000")


STATE = """() => JSON.stringify([window.__bench, performance.now(), document.querySelector(
  '[data-testid="stApp"]').getAttribute('data-test-script-state'),
  !!document.querySelector('[data-testid="stStatusWidget"]')])"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def entry_path() -> Path:
    return ROOT / f".bench_entry_{os.getpid()}.py"


def start_server(warehouse: str, work: Path) -> tuple[subprocess.Popen, str]:
    import auth
    auth.save_users({USER: {"role": "pi", "password": auth.hash_password(PASSWORD)}},
                    work / "users.toml")
    # The entry script sits next to app.py: the pages' st.page_link paths are relative to the
    # entry point's folder, so it cannot live in the temporary folder.
    entry = entry_path()
    entry.write_text(ENTRY.format(blank=str(ROOT / "bench" / "blank_page.py"),
                                  app=str(ROOT / "app.py")), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "TRIALDASH_DEMO"}
    env.update(TRIALDASH_WAREHOUSE=warehouse, TRIALDASH_USERS=str(work / "users.toml"),
               TRIALDASH_ACCESS_LOG=str(work / "access.log"),
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    port = _free_port()
    log = open(work / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(entry), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy: " + (work / "streamlit.log").read_text()[-500:])


def measure(warehouse: str) -> dict:
    from playwright.sync_api import sync_playwright

    from pages import common
    keys = ["bench_blank"] + [k for k in common.PAGES if "pi" in common.PAGES[k][3]]
    titles = {k: common.PAGES[k][1] for k in keys[1:]} | {"bench_blank": "Blank (benchmark)"}
    work = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    atexit.register(shutil.rmtree, work, True)   # its sign-in files and logs go with the stage
    try:
        proc, url = start_server(warehouse, work)
    except BaseException:
        entry_path().unlink(missing_ok=True)
        raise
    times: dict[str, list[float]] = {k: [] for k in keys}
    loads: dict[str, float] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(url)
            page.get_by_label("User name").fill(USER)
            page.locator("input[type=password]").fill(PASSWORD)
            page.evaluate(WATCH)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text(f"Signed in as {USER}").wait_for(timeout=120_000)
            signin = wait_idle(page)
            nav = page.locator('[data-testid="stSidebarNav"]')
            for _ in range(ROUNDS):
                for key in keys:     # the home page (overview) is open: blank comes first
                    link = nav.get_by_role("link", name=titles[key], exact=True)
                    page.evaluate(WATCH)
                    link.click()
                    seconds = wait_idle(page)
                    home = key == common.HOME["pi"]     # the default page's URL is the root
                    if page.url.split("?")[0].rstrip("/") != (url if home else f"{url}/{key}"):
                        raise RuntimeError(f"clicked {key}, landed on {page.url}")
                    if page.locator('[data-testid="stException"]').count():
                        raise RuntimeError(f"{key}: " + page.locator(
                            '[data-testid="stException"]').first.inner_text()[:200])
                    times[key].append(seconds)
                    print(f"browser: {key} {times[key][-1]:.2f} s", file=sys.stderr, flush=True)
                    loads[key] = os.getloadavg()[0]
            browser.close()
        server_rss = _vm_hwm_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        entry_path().unlink(missing_ok=True)
    return {"seconds": None, "signin": signin, "server_rss_mb": server_rss,
            "loadavg": os.getloadavg()[0],
            "pages": {k: {"median": statistics.median(v), "times": v, "loadavg": loads[k]}
                      for k, v in times.items()}}
