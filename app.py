"""trialdash: the Streamlit entry point. Sign-in first; then the navigation of the user's role
(issue 6: a page outside the role is not registered, so not reachable even by URL), the shared
sidebar (who is signed in, sign-out, site filter; in demo mode a DEMO banner), and the page.
Outside demo mode (TRIALDASH_DEMO=1) the app refuses to start with the published demo passwords."""
from __future__ import annotations

import streamlit as st

import auth
from pages import common

st.set_page_config(page_title="trialdash — jRCTs031230358", layout="wide")


@st.cache_resource(show_spinner=False)
def _demo_accounts(users_file: str, mtime_ns: int) -> list[str]:
    return auth.demo_accounts_present(auth.load_users())


def _try_sign_in() -> None:
    user = st.session_state.get("signin_user", "")
    password = st.session_state.get("signin_password", "")
    st.session_state["signin_password"] = ""
    if auth.locked_out(user):
        auth.log_access("signin_locked", user)
        st.session_state["signin_error"] = "Too many failed sign-ins for this user: try again in 15 minutes."
        return
    role = auth.authenticate(user, password)
    if role is None:
        st.session_state["signin_error"] = "Sign-in refused: wrong user name or password."
        return
    st.session_state.pop("signin_error", None)
    st.session_state.update(user=user, role=role)


def sign_in() -> None:
    st.title("trialdash — sign in")
    st.caption("jRCTs031230358 monitoring dashboard. Sign in to see the trial's data.")
    st.text_input("User name", key="signin_user")
    st.text_input("Password", type="password", key="signin_password")
    st.button("Sign in", type="primary", on_click=_try_sign_in)
    if st.session_state.get("signin_error"):
        st.error(st.session_state.pop("signin_error"))


def sign_out() -> None:
    auth.log_access("signout", st.session_state.get("user"))
    for k in ("user", "role", "_last_page", "site_filter"):
        st.session_state.pop(k, None)


users_file = auth.users_path()
if not users_file.exists():
    st.error(f"No users file at {users_file}. Add a user with `python -m auth add-user NAME "
             "--role pi|monitor|data` (or set TRIALDASH_USERS; `make run` uses demo/users.toml).")
    st.stop()
if auth.demo_mode():
    # Every page, the sign-in form included: demo data and demo accounts are never mistaken for real.
    st.sidebar.warning("DEMO: synthetic data and demo accounts", icon=":material/science:")
else:
    demo = _demo_accounts(str(users_file), users_file.stat().st_mtime_ns)
    if demo:
        st.error("Refusing to start: the demo accounts (" + ", ".join(demo) + ") are in the users "
                 "file while the app is not in demo mode (TRIALDASH_DEMO=1, set by `make run`). "
                 "Set real passwords with `python -m auth add-user NAME --role ...`.")
        st.stop()

role = st.session_state.get("role")
if role not in auth.ROLES:
    st.navigation([st.Page(sign_in, title="Sign in", icon=":material/login:")]).run()
    st.stop()

with st.sidebar:
    st.text(f"Signed in as {st.session_state['user']} ({role})")
    st.button("Sign out", on_click=sign_out)
common.site_filter()

pages = [st.Page(common.PAGES[k][0], title=common.PAGES[k][1], icon=common.PAGES[k][2],
                 url_path=k, default=(k == common.HOME[role]))
         for k in common.pages_for(role)]
st.navigation(pages).run()
