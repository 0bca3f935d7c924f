"""Security tests: the dashboard served WITH sign-in (users file) against the emulator.

One emulator and one authenticated server (a background thread on 127.0.0.1, a free port) serve
the whole package (stopped, and the log capture removed, before other packages run); each browser
test gets fresh contexts (no shared cookies) from the session's one chromium (`chromium` in
tests/conftest.py, shared with tests/browser). Every log record of the process (server threads
included) is kept for the secret scan.

Factories for what the modules repeat: `extra_server` (one more server of the same m365, e.g.
with another expiry, throttle or sign-in provider), `users_file` (a users file with given
people), `browser_context` / `signed_in_page` (a recording browser context, signed in through
the login page), `session_cookies` (the cookies `pn.state` reports); and helpers for the login
form over HTTP (`login_form`, `post_login`, `sign_in_http`), signed cookies (`signed_cookie`)
and the dashboard's forms in a page (`fill`, `confirm_plan`).
"""
from __future__ import annotations

import logging
import secrets
import time

import pytest
import requests

PASSWORDS = {"vera.viewer": "viewer-pass-0123456789", "tom.tech": "technician-pass-0123456789",
             "ada.admin": "admin-pass-0123456789"}
ROLES = {"vera.viewer": "viewer", "tom.tech": "technician", "ada.admin": "admin"}


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore::PendingDeprecationWarning")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/security" in str(item.fspath) and "browser" in item.name:
            item.add_marker(pytest.mark.browser)


# ---- the log capture -----------------------------------------------------------------------------

class Records(logging.Handler):
    """Every formatted log record, from every thread."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot format is itself kept as repr
            self.lines.append(repr(record.__dict__))


@pytest.fixture(scope="package")
def server_log():
    handler = Records()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    levels = {}
    for name in ("services", "dashboard", "tornado.access", "bokeh.server", "panel"):
        levels[name] = logging.getLogger(name).level
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


# ---- users files and servers ---------------------------------------------------------------------

def write_users(path, people: dict[str, tuple[str, str]]):
    """A UsersFile at `path` holding `people`: {name: (role, password)}."""
    from dashboard.users_file import UsersFile
    users = UsersFile(path)
    for name, (role, password) in people.items():
        users.add(name, role, password)
    return users


@pytest.fixture
def users_file(tmp_path):
    """users_file({name: (role, password)}) -> a UsersFile at tmp_path/u.json holding them."""
    return lambda people: write_users(tmp_path / "u.json", people)


def wait_until_answering(url: str, seconds: float = 30.0) -> None:
    """Return once `url` answers (any status); the last ConnectionError after `seconds`."""
    deadline = time.time() + seconds
    while True:
        try:
            requests.get(url, timeout=2, allow_redirects=False)
            return
        except requests.ConnectionError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def serve_with_auth(m365, settings, *, ready: str = "/login", **options):
    """(server, base_url): `m365` served with sign-in `settings` in a background thread on a free
    127.0.0.1 port, once `ready` (a path) answers."""
    from dashboard.server import free_port, serve
    port = free_port()
    server = serve(m365, port=port, threaded=True, auth=settings, **options)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}{ready}")
    except BaseException:
        server.stop()
        raise
    return server, base


@pytest.fixture(scope="package")
def secure_served(tmp_path_factory, server_log):
    """(emulator, m365, base_url, settings): 3 tenants x 20 users, synced, served with
    --auth users-file semantics (a viewer, a technician, an admin) on 127.0.0.1."""
    from emulator import Emulator
    from services import connect

    from dashboard.session_identity import AuthSettings
    home = tmp_path_factory.mktemp("security-home")
    users = write_users(home / "users.json",
                        {name: (ROLES[name], password) for name, password in PASSWORDS.items()})
    emu = Emulator(tenants=3, users_per_tenant=20, seed=11,
                   state_dir=tmp_path_factory.mktemp("security-emulator")).start()
    m365 = connect(emu.config_path)
    m365.sync(progress=False)
    settings = AuthSettings("users-file", cookie_secret=secrets.token_urlsafe(48),
                            users_file=users)
    server, base = serve_with_auth(m365, settings)
    yield emu, m365, base, settings
    server.stop()
    m365.close()
    emu.stop()


def like_shared(shared, **changes):
    """Users-file sign-in with the package server's users file and cookie secret (Panel keeps one
    cookie secret per process: pn.state.user reads it), changed by `changes` (expiry_hours=...)."""
    from dashboard.session_identity import AuthSettings
    return AuthSettings("users-file", cookie_secret=shared.cookie_secret,
                        users_file=shared.users_file, **changes)


@pytest.fixture
def extra_server(secure_served):
    """extra_server(settings=None, *, ready="/login", **serve_options) -> base_url: the package's
    m365 served once more, on its own port (its own login throttle), until the test ends. Without
    settings: like_shared(the package server's settings)."""
    _emu, m365, _base, shared = secure_served
    servers = []

    def start(settings=None, *, ready: str = "/login", **serve_options) -> str:
        server, base = serve_with_auth(m365, settings or like_shared(shared), ready=ready,
                                       **serve_options)
        servers.append(server)
        return base

    yield start
    for server in servers:
        server.stop()


# ---- sign-in over HTTP and signed cookies --------------------------------------------------------

def login_form(base: str) -> requests.Session:
    """A requests session that has loaded the login page (so it holds the _xsrf cookie)."""
    s = requests.Session()
    s.get(f"{base}/login")
    return s


def post_login(s: requests.Session, base: str, name: str, password: str, *,
               next: str | None = None, **kwargs) -> requests.Response:
    """The login form posted with the session's XSRF token (and `next` when given), unfollowed."""
    data = {"username": name, "password": password, "_xsrf": s.cookies.get("_xsrf")}
    if next is not None:
        data["next"] = next
    return s.post(f"{base}/login", data=data, allow_redirects=False, **kwargs)


def sign_in_http(base: str, name: str, password: str | None = None) -> requests.Session:
    """A requests session signed in through the login form (with its XSRF token); the password
    defaults to the person's in PASSWORDS."""
    s = login_form(base)
    r = post_login(s, base, name, PASSWORDS[name] if password is None else password, next="/")
    assert r.status_code == 302, r.status_code
    return s


def signed_cookie(secret: str, name: str, value, *, age_seconds: float = 0.0) -> str:
    """A tornado signed cookie value, as the server would set it `age_seconds` ago."""
    import tornado.web
    return tornado.web.create_signed_value(secret, name, value,
                                           clock=lambda: time.time() - age_seconds).decode()


@pytest.fixture
def session_cookies(monkeypatch):
    """The dict of cookies pn.state reports for 'the current session' (empty until set)."""
    import panel as pn
    box = {}
    monkeypatch.setattr(type(pn.state), "cookies", property(lambda self: box))
    return box


def websocket_handshake(base: str, origin: str, cookie: str) -> tuple[str, str]:
    """(status line, the whole response head) of a websocket upgrade of /ws from `origin`
    with `cookie` (a Cookie header value, may be empty)."""
    import base64
    import os
    import socket
    from urllib.parse import urlparse
    host = urlparse(base)
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{host.port}\r\n"
                      f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\nCookie: {cookie}\r\n"
                      "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return text.split("\r\n", 1)[0], text


# ---- the browser -------------------------------------------------------------------------------

class Capture:
    """What one browser context saw: page HTML, response bodies, websocket frames, requests."""

    def __init__(self):
        self.html: list[str] = []
        self.bodies: list[str] = []
        self.frames: list[str] = []
        self.requests: list[str] = []
        self.websockets: list[str] = []
        self.closed_websockets: list[str] = []
        self.console: list[str] = []
        self.page_errors: list[str] = []

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]

    def text(self) -> str:
        return "\n".join(self.html + self.bodies + self.frames)


def _frame_text(payload) -> str:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload).decode("utf-8", "replace")
    return str(payload)


@pytest.fixture
def browser_context(chromium, secure_served):
    """browser_context() -> (context, capture): a fresh context that records everything."""
    contexts = []

    def make():
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        capture = Capture()

        def on_page(page):
            page.set_default_timeout(20_000)
            page.on("request", lambda r: capture.requests.append(r.url))
            page.on("console", lambda m: capture.console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: capture.page_errors.append(str(e)))

            def on_response(response):
                kind = response.headers.get("content-type", "")
                if any(t in kind for t in ("html", "json", "javascript", "text")):
                    try:
                        capture.bodies.append(response.text())
                    except Exception:  # noqa: BLE001 - redirects and aborted bodies have none
                        pass
            page.on("response", on_response)

            def on_ws(ws):
                capture.websockets.append(ws.url)
                ws.on("framereceived", lambda p: capture.frames.append(_frame_text(p)))
                ws.on("framesent", lambda p: capture.frames.append(_frame_text(p)))
                ws.on("close", lambda _ws: capture.closed_websockets.append(ws.url))
            page.on("websocket", on_ws)
        context.on("page", on_page)
        contexts.append(context)
        return context, capture

    yield make
    for context in contexts:
        context.close()


def sign_in(page, base: str, name: str, password: str, query: str = "") -> None:
    """Open the dashboard at `?query`, which shows the login page, and submit it."""
    page.goto(f"{base}/?{query}")
    page.locator("#username").fill(name)
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()


@pytest.fixture
def signed_in_page(browser_context, secure_served):
    """signed_in_page(name, query="", *, base=None, password=None) -> (page, capture): a fresh
    recording context whose page signed in through the login page as `name` (password from
    PASSWORDS unless given) at `?query` of the package server (or `base`), dashboard shown."""
    def open_(name: str, query: str = "", *, base: str | None = None,
              password: str | None = None):
        context, capture = browser_context()
        page = context.new_page()
        sign_in(page, base or secure_served[2], name,
                PASSWORDS[name] if password is None else password, query)
        # A new session's first page under a loaded two-core machine took over 20 s once.
        page.locator(".m365-main").wait_for(timeout=45_000)
        return page, capture

    return open_


def fill(page, field: str, value: str):
    """Type `value` into the dashboard form field `field` and press Enter."""
    box = page.locator(f".m365-field-{field} input")
    box.fill(value)
    box.press("Enter")


def confirm_plan(page):
    """Confirm the plan on screen and wait for its success alert."""
    page.locator(".m365-confirm button").wait_for(state="visible")
    page.locator(".m365-confirm button").click()
    page.locator(".m365-alert-success").last.wait_for()
