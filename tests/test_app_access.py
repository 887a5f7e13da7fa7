"""Access by role (issue 6), through the real app in AppTest: nothing before sign-in, wrong
password and lock-out, each role's navigation holds exactly its pages (and no other page is
reachable by URL), the page guard, sign-out, the access log, demo accounts refused outside
demo mode (TRIALDASH_DEMO=1) whatever the warehouse path, the DEMO banner in demo mode."""
from __future__ import annotations

import pytest

import auth
from tests.app_fixtures import (hand_built_files, PAGE_FILES, metric, new_app, sign_in, texts)
from warehouse import DEFAULT_WAREHOUSE, PROJECT_ROOT

EXPECTED = {"pi": set(PAGE_FILES), "monitor": {"overview", "enrollment", "safety", "labs", "subject"},
            "data": {"data_quality", "enrollment"}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return hand_built_files(tmp_path_factory, "access")


@pytest.fixture
def app_env(files, tmp_path, monkeypatch):
    wh, users = files
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(wh))
    monkeypatch.setenv("TRIALDASH_USERS", str(users))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(tmp_path / "access.log"))
    return tmp_path


def reachable(at) -> set[str]:
    """Pages a URL can open: AppTest.switch_page refuses a page st.navigation did not register."""
    ok = set()
    for key, path in PAGE_FILES.items():
        try:
            at.switch_page(path)
            ok.add(key)
        except ValueError:
            pass
    return ok


def test_nothing_but_the_sign_in_form_before_sign_in(app_env):
    at = new_app().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["trialdash — sign in"]
    assert len(at.metric) == 0 and len(at.dataframe) == 0 and len(at.get("vega_lite_chart")) == 0
    assert reachable(at) == set()  # no page registered, so no URL opens one


def test_wrong_password_is_refused(app_env):
    at = sign_in(new_app().run(), "pi", "not-the-password")
    assert "Sign-in refused: wrong user name or password." in [e.value for e in at.error]
    assert "role" not in at.session_state and len(at.metric) == 0
    assert auth.read_access_log()[-1]["event"] == "signin_failed"


def test_unknown_user_is_refused(app_env):
    at = sign_in(new_app().run(), "mallory", "whatever-password")
    assert "Sign-in refused: wrong user name or password." in [e.value for e in at.error]


def test_five_failed_sign_ins_lock_the_user_out(app_env):
    at = new_app().run()
    for _ in range(auth.LOCKOUT_FAILURES):
        sign_in(at, "pi", "wrong-password")
    sign_in(at, "pi")  # the right password, now refused
    assert any("Too many failed sign-ins" in e.value for e in at.error)
    assert "role" not in at.session_state
    assert [e["event"] for e in auth.read_access_log()][-1] == "signin_locked"


@pytest.mark.parametrize("role", ["pi", "monitor", "data"])
def test_each_role_reaches_exactly_its_pages(app_env, role):
    at = sign_in(new_app().run(), role)
    assert not at.exception
    assert reachable(at) == EXPECTED[role]


def test_data_team_home_is_data_quality_and_shows_no_efficacy(app_env):
    at = sign_in(new_app().run(), "data")
    assert at.title[0].value == "Data quality"
    assert "LLDAS" not in texts(at)


def test_monitor_overview_has_no_efficacy_result(app_env):
    at = sign_in(new_app().run(), "monitor")
    assert at.title[0].value == "Overview"
    assert metric(at, "Enrolled") == "3 / 10"
    assert not [m for m in at.metric if "LLDAS" in m.label]


def test_a_page_refuses_a_role_outside_it_even_when_run_directly(app_env):
    at = new_app()
    at = type(at).from_file(str(PROJECT_ROOT / "pages" / "page_efficacy.py"), default_timeout=60)
    at.session_state["role"] = "data"
    at.session_state["user"] = "data"
    at.run()
    assert [e.value for e in at.error] == ["This page is not available to your role."]
    assert len(at.metric) == 0
    assert auth.read_access_log()[-1]["event"] == "denied"


def test_sign_out_returns_to_the_sign_in_form(app_env):
    at = sign_in(new_app().run(), "pi")
    assert at.title[0].value == "Overview"
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert [t.value for t in at.title] == ["trialdash — sign in"]
    assert reachable(at) == set()
    assert auth.read_access_log()[-1]["event"] == "signout"


def test_sign_in_and_page_views_are_logged(app_env):
    at = sign_in(new_app().run(), "monitor")
    at.switch_page(PAGE_FILES["safety"]).run()
    log = [(e["event"], e["user"], e["page"]) for e in auth.read_access_log()]
    assert log == [("signin", "monitor", None), ("view", "monitor", "overview"),
                   ("view", "monitor", "safety")]


def demo_sidebar_warnings(at) -> list[str]:
    return [w.value for w in at.sidebar.warning if w.value.startswith("DEMO")]


def demo_main_warnings(at) -> list[str]:
    return [w.value for w in at.main.warning if w.value.startswith("DEMO")]


@pytest.mark.parametrize("warehouse", ["fixture", "default"])
def test_demo_accounts_refused_without_trialdash_demo(app_env, files, monkeypatch, warehouse):
    # Any warehouse path: the fixture's tmp .../trial.duckdb (not the default path) or the default
    # warehouse/trial.duckdb. Demo-ness comes only from TRIALDASH_DEMO=1.
    monkeypatch.delenv("TRIALDASH_DEMO", raising=False)
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(files[0] if warehouse == "fixture" else DEFAULT_WAREHOUSE))
    monkeypatch.setenv("TRIALDASH_USERS", str(auth.DEMO_USERS))
    at = new_app().run()
    assert any(e.value.startswith("Refusing to start: the demo accounts (data, monitor, pi)")
               for e in at.error)
    assert len(at.text_input) == 0 and len(at.button) == 0  # no sign-in form at all
    assert demo_sidebar_warnings(at) == []


def test_trialdash_demo_other_than_1_is_not_demo_mode(app_env, monkeypatch):
    monkeypatch.setenv("TRIALDASH_DEMO", "true")
    monkeypatch.setenv("TRIALDASH_USERS", str(auth.DEMO_USERS))
    at = new_app().run()
    assert any(e.value.startswith("Refusing to start: the demo accounts") for e in at.error)


def test_demo_accounts_work_in_demo_mode_with_the_demo_banner(app_env, monkeypatch):
    monkeypatch.setenv("TRIALDASH_DEMO", "1")
    monkeypatch.setenv("TRIALDASH_USERS", str(auth.DEMO_USERS))
    at = new_app().run()
    assert demo_sidebar_warnings(at) == ["DEMO: synthetic data and demo accounts"]  # on sign-in too
    # ... and in the sign-in page's main area: at 768 px the sidebar is collapsed (issue 14)
    assert demo_main_warnings(at) == ["DEMO: synthetic data and demo accounts"]
    at = sign_in(at, "pi", auth.DEMO_PASSWORDS["pi"])
    assert not at.exception and not at.error
    assert at.session_state["role"] == "pi" and at.title[0].value == "Overview"
    assert demo_sidebar_warnings(at) == ["DEMO: synthetic data and demo accounts"]
    at.switch_page(PAGE_FILES["safety"]).run()
    assert at.title[0].value == "Safety"
    assert demo_sidebar_warnings(at) == ["DEMO: synthetic data and demo accounts"]


def test_real_accounts_start_without_demo_mode_and_without_banner(app_env, monkeypatch):
    monkeypatch.delenv("TRIALDASH_DEMO", raising=False)
    at = new_app().run()
    assert demo_sidebar_warnings(at) == [] and demo_main_warnings(at) == []   # sign-in page
    at = sign_in(at, "pi")
    assert at.session_state["role"] == "pi" and not at.error
    assert demo_sidebar_warnings(at) == []
