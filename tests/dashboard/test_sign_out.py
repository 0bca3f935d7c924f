"""Signing out in one tab ends that person's sign-in everywhere in this server process: the old
cookie is refused (a copied cookie too), and open sessions opened with it are closed."""
from __future__ import annotations

import secrets
import time
from types import SimpleNamespace

import pytest
import tornado.web

from dashboard import session_identity as identity
from dashboard.users_file import UsersFile

SECRET = secrets.token_urlsafe(48)


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    """One users file for the module (each bcrypt hash costs a good part of a second); the tests
    only read it."""
    users = UsersFile(tmp_path_factory.mktemp("sign-out") / "users.toml")
    users.add("tom.tech", "technician", "a long enough password 1")
    users.add("ada.admin", "admin", "a long enough password 2")
    return users


@pytest.fixture
def settings(users, monkeypatch):
    monkeypatch.setattr(identity, "_signed_out", {})
    return identity.AuthSettings("users-file", cookie_secret=SECRET, users_file=users)


def cookie_for(name: str, age_seconds: float = 0.0) -> dict[str, str]:
    """A signed sign-in cookie issued `age_seconds` ago (negative: that much later than now)."""
    value = tornado.web.create_signed_value(SECRET, "user", name,
                                            clock=lambda: time.time() - age_seconds)
    return {"user": value.decode()}


def open_session(settings, cookies):
    """A stand-in for a served Bokeh document: the periodic check and its websocket."""
    closed, checks = [], []
    socket = SimpleNamespace(close=lambda code, reason: closed.append((code, reason)))
    context = SimpleNamespace(request=SimpleNamespace(cookies=cookies),
                              _session=SimpleNamespace(_subscribed_connections=[SimpleNamespace(_socket=socket)]))
    doc = SimpleNamespace(session_context=context,
                          add_periodic_callback=lambda fn, ms: checks.append(fn))
    identity.watch_session(doc, settings)
    assert len(checks) == 1
    return checks[0], closed


def test_sign_out_refuses_the_cookie_issued_before_it(settings):
    old = cookie_for("tom.tech", age_seconds=60)
    assert identity.actor_from_cookies(old, settings).name == "tom.tech"
    identity.record_sign_out("tom.tech")
    with pytest.raises(PermissionError, match="tom.tech has signed out"):
        identity.actor_from_cookies(old, settings)


def test_sign_out_leaves_a_later_sign_in_and_other_people_alone(settings):
    other = cookie_for("ada.admin", age_seconds=60)
    identity.record_sign_out("tom.tech")
    # A sign-in in the next second (cookie timestamps are whole seconds): the cookie's own clock
    # is moved on instead of the test sleeping a second.
    later = cookie_for("tom.tech", age_seconds=-1.05)
    assert identity.actor_from_cookies(later, settings).name == "tom.tech"
    assert identity.actor_from_cookies(other, settings).name == "ada.admin"


def test_sign_out_closes_the_persons_other_open_sessions(settings):
    check_tom, closed_tom = open_session(settings, cookie_for("tom.tech", age_seconds=60))
    check_ada, closed_ada = open_session(settings, cookie_for("ada.admin", age_seconds=60))
    check_tom(), check_ada()
    assert closed_tom == [] and closed_ada == []
    identity.record_sign_out("tom.tech")
    check_tom(), check_ada()
    assert closed_tom == [(1008, "signed out")]
    assert closed_ada == []
