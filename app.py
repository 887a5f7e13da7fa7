"""trialdash: the Streamlit entry point. Sign-in first; then the navigation of the user's role
(issue 6: a page outside the role is not registered, so not reachable even by URL), the shared
sidebar (who is signed in, sign-out, site filter; in demo mode a DEMO banner), and the page.
Outside demo mode (TRIALDASH_DEMO=1) the app refuses to start with the published demo passwords.

Before sign-in a visitor never sees a traceback: any error on the way (an unreadable users file,
an access log that cannot be written) shows a plain message, and the detail goes to the server's
standard error and, where it can, to the access log (event ``signin_error``)."""
from __future__ import annotations

import sys
import traceback

import streamlit as st

import auth
from pages import common

st.set_page_config(page_title="trialdash — jRCTs031230358", layout="wide")

DEMO_BANNER = "DEMO: synthetic data and demo accounts"
UNAVAILABLE = ("Sign-in is unavailable because of a server error. The administrator finds the "
               "details in the server log.")
MESSAGES = {
    "signin_failed": "Sign-in refused: wrong user name or password.",
    "signin_invalid": "Sign-in refused: wrong user name or password.",
    "signin_locked": "Too many failed sign-ins for this user: try again in 15 minutes.",
    "signin_busy": "The sign-in is busy: please try again in a moment.",
}


def report_error(where: str) -> None:
    """The current exception's detail to stderr and the access log (never to the visitor)."""
    exc = sys.exc_info()[1]
    print(f"trialdash: error in {where}:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
    try:
        auth.log_access("signin_error", None, where=where, error=type(exc).__name__)
    except Exception:
        print("trialdash: the access log could not record it either:\n"
              + traceback.format_exc(), file=sys.stderr, flush=True)


def remote_address() -> str | None:
    """The session's TCP peer (None when local); behind a proxy, the proxy's address."""
    try:
        ip = st.context.ip_address
    except Exception:
        return None
    return ip if isinstance(ip, str) else None


@st.cache_resource(show_spinner=False)
def _demo_accounts(users_file: str, mtime_ns: int) -> list[str]:
    return auth.demo_accounts_present(auth.load_users())


def _try_sign_in() -> None:
    user = st.session_state.get("signin_user", "")
    password = st.session_state.get("signin_password", "")
    st.session_state["signin_password"] = ""
    try:
        result = auth.sign_in(user, password, remote_address())
    except Exception:
        report_error("sign-in")
        st.session_state["signin_error"] = UNAVAILABLE
        return
    if result.role is None:
        st.session_state["signin_error"] = MESSAGES.get(result.outcome, MESSAGES["signin_failed"])
        return
    st.session_state.pop("signin_error", None)
    st.session_state.update(user=user, role=result.role)


def sign_in() -> None:
    if auth.demo_mode():
        # In the main area as well as the sidebar: on a narrow screen (768 px) the sidebar is
        # collapsed, and the sign-in form must still say that this is the demo.
        st.warning(DEMO_BANNER, icon=":material/science:")
    st.title("trialdash — sign in")
    st.caption("jRCTs031230358 monitoring dashboard. Sign in to see the trial's data.")
    st.text_input("User name", key="signin_user", max_chars=auth.MAX_USER_CHARS)
    st.text_input("Password", type="password", key="signin_password",
                  max_chars=auth.MAX_PASSWORD_BYTES)
    st.button("Sign in", type="primary", on_click=_try_sign_in)
    if st.session_state.get("signin_error"):
        st.error(st.session_state.pop("signin_error"))


def sign_out() -> None:
    auth.log_access("signout", st.session_state.get("user"))
    for k in ("user", "role", "_last_page", "site_filter"):
        st.session_state.pop(k, None)


def startup_problem() -> str | None:
    """Why the app cannot offer sign-in (plain text for the visitor), or None."""
    users_file = auth.users_path()
    if not users_file.exists():
        return (f"No users file at {users_file}. Add a user with `python -m auth add-user NAME "
                "--role pi|monitor|data` (or set TRIALDASH_USERS; `make run` uses demo/users.toml).")
    if auth.demo_mode():
        return None
    demo = _demo_accounts(str(users_file), users_file.stat().st_mtime_ns)
    if demo:
        return ("Refusing to start: the demo accounts (" + ", ".join(sorted(demo)) + ") are in "
                "the users file while the app is not in demo mode (TRIALDASH_DEMO=1, set by "
                "`make run`). Set real passwords with `python -m auth add-user NAME --role ...`.")
    return None


if auth.demo_mode():
    # Every page, the sign-in form included: demo data and demo accounts are never mistaken for real.
    st.sidebar.warning(DEMO_BANNER, icon=":material/science:")
try:
    problem = startup_problem()
except Exception:
    report_error("start-up")
    problem = UNAVAILABLE
if problem:
    st.error(problem)
    st.stop()

common.start_download_sweeper()
role = st.session_state.get("role")
if role not in auth.ROLES:
    st.navigation([st.Page(sign_in, title="Sign in", icon=":material/login:")]).run()
    st.stop()

with st.sidebar:
    st.text(f"Signed in as {st.session_state['user']} ({role})")
    st.button("Sign out", on_click=sign_out)
common.site_filter()
for warning in common.delivery_banner():   # issue 13: a site whose newest delivery is refused
    st.warning(warning, icon=":material/report:")

pages = [st.Page(common.PAGES[k][0], title=common.PAGES[k][1], icon=common.PAGES[k][2],
                 url_path=k, default=(k == common.HOME[role]))
         for k in common.pages_for(role)]
st.navigation(pages).run()
