"""The authenticated server over plain HTTP: login, cookies, XSRF, headers, websocket origin."""
from __future__ import annotations

import time

import pytest
import requests

from .conftest import (PASSWORDS, login_form, post_login, sign_in_http, signed_cookie,
                       websocket_handshake)

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def assert_security_headers(response):
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name, response.headers)
    assert "frame-ancestors 'none'" in response.headers.get("Content-Security-Policy", ""), \
        response.url


def test_anonymous_request_for_the_dashboard_redirects_to_login(secure_served):
    _emu, m365, base, _ = secure_served
    r = requests.get(f"{base}/?page=users", allow_redirects=False)
    assert r.status_code == 302
    assert "/login" in r.headers["Location"]
    assert r.text == ""
    page = requests.get(f"{base}/?page=users")       # follows to the login page
    assert page.url.startswith(f"{base}/login")
    assert 'name="password"' in page.text
    tenant = m365.tenants()["display_name"].iloc[0]
    assert tenant not in page.text and "bokeh" not in page.text.lower()
    assert "<script" not in page.text and "http://" not in page.text and "https://" not in page.text


@pytest.mark.parametrize("path", ["/", "/login", "/logout", "/static/js/bokeh.min.js",
                                  "/no-such-page", "/favicon.ico"])
def test_security_headers_on_every_response(secure_served, path):
    base = secure_served[2]
    r = requests.get(f"{base}{path}", allow_redirects=False)
    assert_security_headers(r)


def test_security_headers_on_signed_in_page_and_static_files(secure_served):
    base = secure_served[2]
    s = sign_in_http(base, "vera.viewer")
    page = s.get(f"{base}/")
    assert page.status_code == 200 and "bokeh" in page.text.lower()
    assert_security_headers(page)
    assert page.headers.get("Cache-Control") == "no-store"
    static = s.get(f"{base}/static/extensions/panel/panel.min.js")
    assert static.status_code == 200
    assert_security_headers(static)


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_wrong_password_and_unknown_user_get_the_same_generic_answer_after_a_delay(secure_served):
    base = secure_served[2]
    answers = []
    for name, password in (("ada.admin", "not-the-password-1"), ("nobody.here", "whatever-12345")):
        s = login_form(base)
        started = time.monotonic()
        r = post_login(s, base, name, password)
        elapsed = time.monotonic() - started
        assert r.status_code == 401
        assert elapsed >= 1.0
        assert "user" not in s.cookies
        answers.append(r.text.replace(s.cookies.get("_xsrf", ""), ""))
        assert password not in r.text and name not in r.text
    assert "Sign-in failed: wrong user name or password." in answers[0]
    # Same page for both (the XSRF form token differs per browser; it is masked per request).
    strip = [a.split('name="_xsrf"')[0] + a.split('name="_xsrf"')[1].split(">", 1)[1]
             for a in answers]
    assert strip[0] == strip[1]


def test_login_post_without_the_xsrf_token_is_refused(secure_served):
    base = secure_served[2]
    page = requests.get(f"{base}/login")
    xsrf = page.headers["Set-Cookie"].lower()
    assert "_xsrf=" in xsrf and "httponly" in xsrf and "samesite=strict" in xsrf
    r = requests.post(f"{base}/login", data={"username": "ada.admin",
                                             "password": PASSWORDS["ada.admin"]},
                      allow_redirects=False)
    assert r.status_code == 403
    assert "user" not in r.cookies


def test_sign_in_sets_a_signed_httponly_expiring_cookie_and_logout_clears_it(secure_served):
    base, settings = secure_served[2], secure_served[3]
    s = login_form(base)
    r = post_login(s, base, "tom.tech", PASSWORDS["tom.tech"], next="/?page=users")
    assert r.status_code == 302 and r.headers["Location"] == "/?page=users"
    cookie = next(c for c in s.cookies if c.name == "user")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.expires and cookie.expires - time.time() <= settings.expiry_hours * 3600 + 5
    assert "samesite=lax" in r.headers["Set-Cookie"].lower()
    assert s.get(f"{base}/", allow_redirects=False).status_code == 200
    out = s.get(f"{base}/logout")
    assert out.status_code == 200 and 'href="/login"' in out.text
    assert s.get(f"{base}/", allow_redirects=False).status_code == 302


def test_an_offsite_next_url_is_ignored(secure_served):
    base = secure_served[2]
    s = login_form(base)
    r = post_login(s, base, "tom.tech", PASSWORDS["tom.tech"], next="//evil.example/steal")
    assert r.headers["Location"] == "/"


def test_forged_expired_or_removed_user_cookies_are_refused(secure_served):
    base, settings = secure_served[2], secure_served[3]

    def with_cookie(value):
        return requests.get(f"{base}/", cookies={"user": value}, allow_redirects=False).status_code

    good = signed_cookie(settings.cookie_secret, "user", "ada.admin")
    assert with_cookie(good) == 200
    assert with_cookie("ada.admin") == 302                                   # unsigned
    forged = signed_cookie("another-secret-" * 4, "user", "ada.admin")
    assert with_cookie(forged) == 302                                        # wrong key
    old = signed_cookie(settings.cookie_secret, "user", "ada.admin",
                        age_seconds=settings.expiry_hours * 3600 + 60)
    assert with_cookie(old) == 302                                           # expired
    ghost = signed_cookie(settings.cookie_secret, "user", "ghost")
    assert with_cookie(ghost) == 302                                         # not in the file
    assert requests.get(f"{base}/", cookies={"is_guest": "1"},
                        allow_redirects=False).status_code == 302            # no guests


def test_removed_user_is_refused_at_the_next_request(secure_served):
    base, settings = secure_served[2], secure_served[3]
    users = settings.users_file
    users.add("temp.user", "viewer", "temporary-pass-0123")
    s = sign_in_http(base, "temp.user", "temporary-pass-0123")
    assert s.get(f"{base}/", allow_redirects=False).status_code == 200
    users.remove("temp.user")
    assert s.get(f"{base}/", allow_redirects=False).status_code == 302
    login = s.get(f"{base}/login?next=%2F", allow_redirects=False)   # no redirect loop
    assert login.status_code == 200 and 'name="password"' in login.text


def test_websocket_from_a_foreign_origin_is_refused(secure_served):
    """The websocket allow-list is the served address: a page on another origin cannot open one,
    even with the signed-in cookie."""
    from urllib.parse import urlparse
    base = secure_served[2]
    s = sign_in_http(base, "ada.admin")
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    host = urlparse(base)
    status = {origin: websocket_handshake(base, origin, sent)[0] for origin, sent in (
        (f"http://127.0.0.1:{host.port}", cookie), ("http://evil.example", cookie),
        (f"http://127.0.0.1:{host.port}/anonymous", ""))}
    assert " 101" in status[f"http://127.0.0.1:{host.port}"], status
    assert " 403" in status["http://evil.example"], status
    assert " 403" in status[f"http://127.0.0.1:{host.port}/anonymous"], status   # no cookie


@pytest.mark.slow
def test_repeated_failures_for_a_name_are_throttled_even_with_the_right_password(extra_server,
                                                                                monkeypatch):
    """A fresh server (its own throttle) so the shared one's other tests are not throttled."""
    import dashboard.session_identity
    monkeypatch.setattr(dashboard.session_identity, "FAILED_LOGIN_DELAY", 0.05)
    base = extra_server()
    s = login_form(base)

    def attempt(password):
        return post_login(s, base, "tom.tech", password)
    codes = [attempt(f"wrong-password-{i:04d}").status_code for i in range(10)]
    assert codes == [401] * 10
    r = attempt(PASSWORDS["tom.tech"])
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert "user" not in s.cookies
    assert sign_in_http(base, "ada.admin")                          # others still can


def test_https_behind_a_proxy_adds_hsts_and_secure_cookies(extra_server):
    """With --behind-proxy (tornado xheaders) a request the proxy marks https gets HSTS and a
    Secure sign-in cookie; plain http gets neither."""
    base = extra_server(use_xheaders=True)
    assert "Strict-Transport-Security" not in requests.get(f"{base}/login").headers
    proxied = {"X-Forwarded-Proto": "https"}
    s = requests.Session()
    page = s.get(f"{base}/login", headers=proxied)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    r = post_login(s, base, "ada.admin", PASSWORDS["ada.admin"], headers=proxied)
    assert r.status_code == 302
    assert "secure" in r.headers["Set-Cookie"].lower()


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_sign_out_ends_the_sign_in_for_every_copy_of_the_cookie(secure_served, extra_server,
                                                              users_file):
    """Signing out in one tab refuses the same sign-in cookie everywhere else (another tab of the
    browser, a copy taken from it); signing in again works."""
    from dashboard.session_identity import AuthSettings
    shared = secure_served[3]
    # A person of their own: the sign-out holds for the whole process, and other tests sign in
    # the package's people.
    password = "leaving-person-0123456789"
    settings = AuthSettings("users-file", cookie_secret=shared.cookie_secret,
                            users_file=users_file({"lee.leaving": ("technician", password)}))
    base = extra_server(settings)
    tab = sign_in_http(base, "lee.leaving", password)
    copy = requests.Session()
    copy.cookies.set("user", tab.cookies.get("user"))
    assert copy.get(f"{base}/?page=tenants", allow_redirects=False).status_code == 200
    out = tab.get(f"{base}/logout")
    assert out.status_code == 200
    refused = copy.get(f"{base}/?page=tenants", allow_redirects=False)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    time.sleep(1.05)           # sign-in cookies carry whole seconds
    again = sign_in_http(base, "lee.leaving", password)
    assert again.get(f"{base}/?page=tenants", allow_redirects=False).status_code == 200
