"""The sign-in page under hostile or broken conditions (issue 17), through the real app in
AppTest: no traceback for a visitor, a poisoned access log breaks nothing, unknown names are
masked on the data-quality page, and Streamlit is configured to show no error details and no
unfiltered table export."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import auth
from tests.app_fixtures import hand_built_files, new_app, sign_in, texts
from warehouse import PROJECT_ROOT

UNAVAILABLE = ("Sign-in is unavailable because of a server error. The administrator finds the "
               "details in the server log.")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return hand_built_files(tmp_path_factory, "signin_hardening")


@pytest.fixture
def app_env(files, tmp_path, monkeypatch):
    wh, users = files
    monkeypatch.setenv("TRIALDASH_WAREHOUSE", str(wh))
    monkeypatch.setenv("TRIALDASH_USERS", str(users))
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(tmp_path / "access.log"))
    monkeypatch.delenv("TRIALDASH_DEMO", raising=False)
    return tmp_path


def shown(at) -> str:
    """Everything drawn, tables and exception boxes included."""
    parts = [texts(at)] + [d.value.to_csv() for d in at.dataframe]
    parts += [str(e.value) + " ".join(getattr(e, "stack_trace", []) or []) for e in at.exception]
    return "\n".join(parts)


def test_an_unreadable_users_file_shows_a_plain_error_and_logs_the_detail(app_env, monkeypatch,
                                                                         capfd):
    broken = app_env / "users.toml"
    broken.write_text('[users."pi"\nrole = "pi"\n', encoding="utf-8")   # invalid TOML
    monkeypatch.setenv("TRIALDASH_USERS", str(broken))
    at = new_app().run()
    assert not at.exception
    assert [e.value for e in at.error] == [UNAVAILABLE]
    assert "TOMLDecodeError" not in shown(at) and "Traceback" not in shown(at)
    assert "TOMLDecodeError" in capfd.readouterr().err
    assert [(e["event"], e["error"]) for e in auth.read_access_log()] == [
        ("signin_error", "TOMLDecodeError")]


def test_an_error_during_sign_in_shows_a_plain_error(app_env, monkeypatch, capfd):
    log_dir = app_env / "a-folder-not-a-file"
    log_dir.mkdir()
    monkeypatch.setenv("TRIALDASH_ACCESS_LOG", str(log_dir))   # appending to it fails
    at = sign_in(new_app().run(), "pi")
    assert not at.exception
    assert [e.value for e in at.error] == [UNAVAILABLE]
    assert "role" not in at.session_state
    assert "IsADirectoryError" not in shown(at)
    assert "IsADirectoryError" in capfd.readouterr().err


def test_a_poisoned_access_log_breaks_no_sign_in(app_env):
    (app_env / "access.log").write_bytes(
        b'1\nnull\n{"at": 5, "event": "signin_failed", "user": "pi"}\n\xe2\x80\xa8\n')
    at = sign_in(new_app().run(), "pi", "x\u2028wrong\x85pass")      # a hostile failed attempt
    assert not at.exception
    at = sign_in(new_app().run(), "data")
    assert not at.exception and at.session_state["role"] == "data"
    assert at.title[0].value == "Data quality"
    assert "3 malformed lines of the access log were skipped." in texts(at)


def test_unknown_user_names_are_masked_on_the_data_quality_page(app_env):
    typed = "correct-horse-battery-staple"       # a password typed into the user-name field
    sign_in(new_app().run(), typed, "whatever-password")
    at = sign_in(new_app().run(), "data")
    log = next(d.value for d in at.dataframe if "event" in d.value.columns)
    assert "c… (28 characters)" in log["user"].tolist()
    assert typed not in shown(at)
    assert typed in (app_env / "access.log").read_text(encoding="utf-8")   # whole in the file


def test_streamlit_shows_no_error_details_and_no_toolbar_export():
    code = ("from streamlit import config\n"
            "print(config.get_option('client.showErrorDetails'), "
            "config.get_option('client.disableDataExport'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["none", "True"]
