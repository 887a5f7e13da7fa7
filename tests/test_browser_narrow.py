"""Narrow screens (issue 14), in Debian's Chromium on the real server with the demo trial (the
fixtures of tests/test_browser.py): as the PI, at viewport widths 1440, 1024 and 768 px, a
full-page screenshot of Overview, Efficacy and Safety is saved under test-artifacts/screenshots/
(``narrow-<width>-<page>.png``, for review), and
- at 768 px (Streamlit collapses the sidebar) the DEMO banner, the signed-in user, the sign-out
  button and the site filter are reachable: inside the viewport, or inside it once the sidebar's
  expand button is pressed; the sign-in page shows DEMO in its main area without any click;
- at 1024 px and 768 px no metric label is cut off (an element of the label whose content is
  wider than its box: scrollWidth > clientWidth, i.e. an ellipsis) and no chart runs past the
  right edge of the page's content (the LLDAS grid wraps, the SLEDAI-2K panels fit).
"""
from __future__ import annotations

import pytest

from tests.test_browser import (ARTIFACTS, DEMO_PASSWORDS, LAST_ELEMENT, _wait_idle,  # noqa: F401
                                browser_context_args, browser_type_launch_args, demo_warehouse,
                                server)

pytestmark = pytest.mark.browser

WIDTHS = (1440, 1024, 768)
PAGES = {"Overview": "overview", "Efficacy (LLDAS)": "efficacy", "Safety": "safety"}
HEIGHT = 900
# Per metric label: its text, and whether any element of it shows an ellipsis (content wider
# than the box; checked by hand on a 60-character label in a quarter column at 1024 px: True).
CLIPPED_LABELS = """els => els.map(l => [l.innerText.trim(),
    [l, ...l.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1)])"""


def in_viewport(page, locator) -> bool:
    """The element's box lies inside the viewport horizontally and has a size (Playwright's
    is_visible() is also true for the collapsed sidebar's contents, drawn off-screen)."""
    if locator.count() == 0:
        return False
    box = locator.first.bounding_box()
    width = page.viewport_size["width"]
    return bool(box and box["width"] > 0 and box["height"] > 0 and box["x"] >= 0
                and box["x"] + box["width"] <= width + 1)


def sidebar_open(page) -> bool:
    return in_viewport(page, page.locator('[data-testid="stSidebarContent"]'))


def open_sidebar(page) -> None:
    if not sidebar_open(page):
        page.locator('[data-testid="stExpandSidebarButton"]').click()
        page.wait_for_function("""() => { const s = document.querySelector('[data-testid="stSidebarContent"]');
            const b = s && s.getBoundingClientRect(); return b && b.x >= 0 && b.width > 0; }""", timeout=30_000)
        page.wait_for_timeout(500)      # the slide-in animation


def close_sidebar_if_overlaying(page, width: int) -> None:
    """At 768 px the open sidebar lies over the page: close it before a screenshot."""
    if width <= 768 and sidebar_open(page):
        page.locator('[data-testid="stSidebar"]').hover()
        page.locator('[data-testid="stSidebarCollapseButton"] button').click()
        page.wait_for_timeout(600)


def reachable(page, locator) -> bool:
    """In the viewport, or in it once the sidebar is opened (the collapsed sidebar's toggle)."""
    if in_viewport(page, locator):
        return True
    open_sidebar(page)
    return in_viewport(page, locator)


def sign_in_at(browser, url: str, width: int):
    """A new browser context of that width, signed in as the PI (a page load is a new session)."""
    context = browser.new_context(viewport={"width": width, "height": HEIGHT})
    page = context.new_page()
    page.goto(url)
    page.get_by_label("User name").fill("pi")
    page.locator("input[type=password]").fill(DEMO_PASSWORDS["pi"])
    page.get_by_role("button", name="Sign in").click()
    page.locator('[data-testid="stMain"]').get_by_text(LAST_ELEMENT["Overview"], exact=True) \
        .wait_for(timeout=60_000)
    _wait_idle(page)
    return context, page


def go(page, title: str, width: int) -> None:
    """Open a page from the sidebar navigation (opening the sidebar first if collapsed)."""
    open_sidebar(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    page.locator('[data-testid="stMain"]').get_by_text(LAST_ELEMENT[title], exact=True) \
        .wait_for(timeout=60_000)
    _wait_idle(page)
    close_sidebar_if_overlaying(page, width)


# Resolves once the page's layout has stopped changing: the main container's height and every
# chart's drawn size the same at 6 samples 50 ms apart (a resize makes the Vega charts draw again,
# from a ResizeObserver, within a frame or two; no script rerun).
SETTLED = """() => new Promise(resolve => {
    const sig = () => document.querySelector('[data-testid="stMain"]').scrollHeight + '|' +
        [...document.querySelectorAll('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg')]
            .map(c => { const b = c.getBoundingClientRect(); return b.width + 'x' + b.height; }).join(',');
    let last = sig(), same = 0;
    const tick = () => { const now = sig(); same = now === last ? same + 1 : 0; last = now;
                         if (same >= 5) resolve(true); else setTimeout(tick, 50); };
    setTimeout(tick, 50);
})"""


def full_page_shot(page, width: int, name: str) -> None:
    """Streamlit scrolls inside its main container, so the viewport is made as tall as the page
    for the screenshot, then set back; each time, the layout is let settle (SETTLED)."""
    tall = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(HEIGHT, int(tall) + 40)})
    page.evaluate(SETTLED)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"narrow-{width}-{name}.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.evaluate(SETTLED)


def overflowing_charts(page) -> list[str]:
    """Charts whose right edge passes the right edge of the page's content block."""
    return page.evaluate("""() => {
        const main = document.querySelector('[data-testid="stMainBlockContainer"]').getBoundingClientRect();
        return [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
            .map((c, i) => [i, c.getBoundingClientRect(), c.scrollWidth, c.clientWidth])
            .filter(([i, b, sw, cw]) => b.right > main.right + 1 || sw > cw + 1)
            .map(([i, b, sw, cw]) => `chart ${i}: right ${Math.round(b.right)} > ${Math.round(main.right)} or scroll ${sw} > ${cw}`);
    }""")


@pytest.mark.parametrize("width", WIDTHS)
def test_pi_pages_at_width(browser, server, width):
    context, page = sign_in_at(browser, server, width)
    try:
        problems = []
        for title, name in PAGES.items():
            if title != "Overview":
                go(page, title, width)
            else:
                close_sidebar_if_overlaying(page, width)
            full_page_shot(page, width, name)
            errors = page.locator('[data-testid="stException"]')
            assert errors.count() == 0, errors.first.inner_text()
            if width <= 1024:
                clipped = [t for t, cut in page.eval_on_selector_all('[data-testid="stMetricLabel"]',
                                                                     CLIPPED_LABELS) if cut]
                if clipped:
                    problems.append(f"{title}: metric labels cut off: {clipped}")
                wide = overflowing_charts(page)
                if wide:
                    problems.append(f"{title}: charts past the right edge: {wide}")
        assert not problems, problems
        if width == 768:
            main = page.locator('[data-testid="stMain"]')
            for what, locator in (
                    ("DEMO banner", page.get_by_text("DEMO: synthetic data and demo accounts")),
                    ("signed-in user", page.get_by_text("Signed in as pi (pi)")),
                    ("sign-out", page.get_by_role("button", name="Sign out")),
                    ("site filter", page.get_by_role("combobox", name="Site"))):
                assert reachable(page, locator), f"{what} not reachable at 768 px"
            assert main.count() == 1
            page.screenshot(path=str(ARTIFACTS / "narrow-768-sidebar-open.png"))
    finally:
        context.close()


def test_sign_in_page_at_768_shows_demo_in_the_main_area(browser, server):
    context = browser.new_context(viewport={"width": 768, "height": HEIGHT})
    try:
        page = context.new_page()
        page.goto(server)
        page.get_by_label("User name").wait_for(timeout=60_000)
        demo = page.locator('[data-testid="stMain"]').get_by_text("DEMO: synthetic data and demo accounts")
        demo.wait_for(timeout=30_000)
        assert in_viewport(page, demo)             # without opening the sidebar
        assert not sidebar_open(page)              # the sidebar is collapsed at this width
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "narrow-768-sign-in.png"))
    finally:
        context.close()
