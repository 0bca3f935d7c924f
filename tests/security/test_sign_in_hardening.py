"""Sign-in against what an attacker can try from outside (issue #20): telling which names exist
from how long a refusal takes, getting more guesses past the throttle with a burst sent at once,
and what the server says about itself (its log, its Server header)."""
from __future__ import annotations

import secrets
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from .conftest import PASSWORDS, login_form, post_login, sign_in_http, websocket_handshake


def wait_for(check, seconds: float = 10.0) -> None:
    """Return once check() is true; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.fixture
def quick_refusals(monkeypatch):
    """Failed sign-ins answer after 0.01 s instead of a second, so a test can make many."""
    import dashboard.session_identity
    monkeypatch.setattr(dashboard.session_identity, "FAILED_LOGIN_DELAY", 0.01)


# ---- equal-cost refusals -------------------------------------------------------------------------

@pytest.mark.slow
def test_sign_in_refusal_takes_as_long_for_an_unknown_name_as_for_a_wrong_password(
        extra_server, quick_refusals, monkeypatch):
    """With the delay made small what is left is the password check: one bcrypt either way, so
    the time of a refusal does not tell a guesser that a name exists."""
    import dashboard.signin
    # 20 attempts a name and 40 from this address: a throttle that lets all of them be checked.
    monkeypatch.setattr(dashboard.signin, "LOGIN_LIMIT", 100)
    monkeypatch.setattr(dashboard.signin, "LOGIN_IP_LIMIT", 100)
    base = extra_server()
    s = login_form(base)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    names = [("known", "ada.admin"), ("unknown", "nobody.here")]
    for i in range(20):
        # Alternating which goes first, so a drift of the machine's speed hits both alike.
        for kind, name in names if i % 2 else names[::-1]:
            started = time.perf_counter()
            r = post_login(s, base, name, f"wrong-password-{i:04d}")
            times[kind].append(time.perf_counter() - started)
            assert r.status_code == 401
    known, unknown = statistics.median(times["known"]), statistics.median(times["unknown"])
    figures = (f"median known {known * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms; ranges "
               f"{min(times['known']) * 1000:.1f}-{max(times['known']) * 1000:.1f} / "
               f"{min(times['unknown']) * 1000:.1f}-{max(times['unknown']) * 1000:.1f} ms")
    print(figures)
    assert abs(known - unknown) < 0.05 * min(known, unknown), figures
    assert min(times["unknown"]) <= max(times["known"]), figures
    assert min(times["known"]) <= max(times["unknown"]), figures


# ---- attempts counted before checking ------------------------------------------------------------

@pytest.mark.slow
def test_sign_in_burst_of_parallel_guesses_gets_no_more_checks_than_the_limit(
        secure_served, extra_server, users_file, quick_refusals, monkeypatch):
    """30 wrong passwords for one name sent at once: 10 are checked, 20 refused unchecked; then
    the right password is refused too, while another name still signs in."""
    from dashboard.session_identity import AuthSettings
    users = users_file({"tom.tech": ("technician", PASSWORDS["tom.tech"]),
                        "ada.admin": ("admin", PASSWORDS["ada.admin"])})
    checked = []
    real_verify = users.verify

    def verify(name, password):
        checked.append(name)
        return real_verify(name, password)
    monkeypatch.setattr(users, "verify", verify)
    base = extra_server(AuthSettings("users-file", cookie_secret=secure_served[3].cookie_secret,
                                     users_file=users))
    sessions = [login_form(base) for _ in range(30)]
    go = threading.Barrier(len(sessions), timeout=60)

    def guess(i):
        go.wait()            # all 30 posts leave together, as a burst does
        return post_login(sessions[i], base, "tom.tech", f"wrong-password-{i:04d}").status_code

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        codes = list(pool.map(guess, range(len(sessions))))
    print(f"of {len(codes)} parallel guesses {len(checked)} checked, "
          f"{codes.count(401)} x 401, {codes.count(429)} x 429")
    assert sorted(codes) == [401] * 10 + [429] * 20, codes
    assert len(checked) == 10
    s = login_form(base)
    r = post_login(s, base, "tom.tech", PASSWORDS["tom.tech"])
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text
    assert "user" not in s.cookies
    assert len(checked) == 10                                  # refused without a check
    assert sign_in_http(base, "ada.admin").cookies.get("user")  # the name, not the address


def test_login_throttle_admits_at_most_the_limit_of_simultaneous_attempts():
    from dashboard.signin import LoginThrottle
    throttle = LoginThrottle(limit=10, ip_limit=30, window=60)
    go = threading.Barrier(30, timeout=30)

    def attempt(_):
        go.wait()
        return throttle.admit("ip:10.0.0.1", "name:alice")

    with ThreadPoolExecutor(max_workers=30) as pool:
        stamps = list(pool.map(attempt, range(30)))
    assert sum(stamp is not None for stamp in stamps) == 10
    assert throttle.blocked("ip:10.0.0.2", "name:alice")
    # The 20 refused were not counted against the address: it still has 20 to go.
    assert sum(throttle.admit("ip:10.0.0.1", f"name:n{i}") is not None for i in range(25)) == 20


def test_login_throttle_gives_back_the_attempt_of_a_sign_in_that_succeeded():
    from dashboard.signin import LoginThrottle
    throttle = LoginThrottle(limit=2, ip_limit=3, window=60)
    for _ in range(10):                       # an office signing in all day long
        stamp = throttle.admit("ip:10.0.0.1", "name:alice")
        assert stamp is not None
        throttle.give_back(stamp, "ip:10.0.0.1", "name:alice")
    assert throttle.admit("ip:10.0.0.1", "name:alice") is not None       # a failure stays
    assert throttle.admit("ip:10.0.0.1", "name:alice") is not None
    assert throttle.admit("ip:10.0.0.1", "name:alice") is None


def test_login_throttle_limits_come_from_the_module_settings_when_not_given(monkeypatch):
    import dashboard.signin
    monkeypatch.setattr(dashboard.signin, "LOGIN_LIMIT", 2)
    monkeypatch.setattr(dashboard.signin, "LOGIN_IP_LIMIT", 5)
    throttle = dashboard.signin.LoginThrottle()
    assert (throttle.limit, throttle.ip_limit) == (2, 5)
    assert [throttle.admit("ip:1", "name:a") is not None for _ in range(3)] == [True, True, False]


def test_users_file_provider_takes_the_login_throttle_it_is_given(secure_served):
    from dashboard.signin import LoginThrottle, UsersFileAuthProvider
    throttle = LoginThrottle(limit=3)
    provider = UsersFileAuthProvider(secure_served[3], login_throttle=throttle)
    assert provider.login_handler.throttle_ is throttle
    assert UsersFileAuthProvider(secure_served[3]).login_handler.throttle_ is not throttle


# ---- a clean log for an anonymous /autoload.js ---------------------------------------------------

def test_anonymous_autoload_is_sent_to_sign_in_without_an_error_in_the_log(secure_served,
                                                                         server_log):
    base = secure_served[2]
    first = len(server_log.lines)
    r = requests.get(f"{base}/autoload.js", params={"bokeh-autoload-element": "p1",
                                                    "bokeh-absolute-url": base},
                     allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?")
    assert r.text == ""
    # The server handles requests one after another: once a later request is in the log, any
    # error of the autoload request is too.
    marker = secrets.token_hex(8)
    requests.get(f"{base}/login", params={"marker": marker})
    wait_for(lambda: any(marker in line for line in server_log.lines[first:]))
    logged = "\n".join(server_log.lines[first:])
    assert "Traceback" not in logged and "TypeError" not in logged, logged
    assert "Uncaught exception" not in logged, logged


def test_signed_in_autoload_still_serves_the_script(secure_served):
    base = secure_served[2]
    s = sign_in_http(base, "vera.viewer")
    r = s.get(f"{base}/autoload.js", params={"bokeh-autoload-element": "p1",
                                             "bokeh-absolute-url": base}, allow_redirects=False)
    assert r.status_code == 200
    assert "javascript" in r.headers["Content-Type"] and "p1" in r.text


# ---- no Server header ----------------------------------------------------------------------------

def assert_no_server_name(response_headers, what):
    server = response_headers.get("Server")
    assert server is None or ("tornado" not in server.lower()
                              and not any(c.isdigit() for c in server)), (what, server)


@pytest.mark.parametrize("path", ["/", "/login", "/logout", "/autoload.js",
                                  "/static/js/bokeh.min.js", "/no-such-page", "/favicon.ico",
                                  "/static/no-such-file.js"])
def test_responses_do_not_name_the_server_software_or_version(secure_served, path):
    base = secure_served[2]
    r = requests.get(f"{base}{path}", allow_redirects=False)
    assert_no_server_name(r.headers, (path, r.status_code))


def test_signed_in_error_and_unchanged_static_responses_do_not_name_the_server(secure_served):
    base = secure_served[2]
    s = sign_in_http(base, "vera.viewer")
    page = s.get(f"{base}/")
    assert page.status_code == 200
    assert_no_server_name(page.headers, "signed-in page")
    static = s.get(f"{base}/static/extensions/panel/panel.min.js")
    assert static.status_code == 200
    assert_no_server_name(static.headers, "static file")
    unchanged = s.get(f"{base}/static/extensions/panel/panel.min.js",
                      headers={"If-None-Match": static.headers["Etag"]})
    assert unchanged.status_code == 304
    assert_no_server_name(unchanged.headers, "304")
    no_xsrf = requests.post(f"{base}/login", data={"username": "x", "password": "y"},
                            allow_redirects=False)
    assert no_xsrf.status_code == 403
    assert_no_server_name(no_xsrf.headers, "403")


def test_websocket_handshakes_do_not_name_the_server(secure_served):
    base = secure_served[2]
    s = sign_in_http(base, "vera.viewer")
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    origin = f"http://127.0.0.1:{urlparse(base).port}"
    for status, (cookies, expected) in {"accepted": (cookie, " 101"),
                                        "refused": ("", " 403")}.items():
        line, head = websocket_handshake(base, origin, cookies)
        assert expected in line, (status, line)
        headers = CaseInsensitiveDict(h.split(": ", 1) for h in head.split("\r\n")[1:]
                                      if ": " in h)
        assert_no_server_name(headers, status)
