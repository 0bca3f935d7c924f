"""Security tests: the dashboard served WITH sign-in (users file) against the emulator.

One emulator and one authenticated server (a background thread on 127.0.0.1, a free port) serve
the whole package (stopped, and the log capture removed, before other packages run); each browser test gets fresh contexts (no shared cookies). Every log record of the
process (server threads included) is kept for the secret scan.
"""
from __future__ import annotations

import logging
import secrets
import shutil
import time
from pathlib import Path

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORDS = {"vera.viewer": "viewer-pass-0123456789", "tom.tech": "technician-pass-0123456789",
             "ada.admin": "admin-pass-0123456789"}
ROLES = {"vera.viewer": "viewer", "tom.tech": "technician", "ada.admin": "admin"}


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore::PendingDeprecationWarning")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/security" in str(item.fspath) and "browser" in item.name:
            item.add_marker(pytest.mark.browser)


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


@pytest.fixture(scope="package")
def secure_served(tmp_path_factory, server_log):
    """(emulator, m365, base_url, settings): 3 tenants x 20 users, synced, served with
    --auth users-file semantics (a viewer, a technician, an admin) on 127.0.0.1."""
    from services import connect
    from services.emulator import Emulator
    from services.webusers import UsersFile

    from dashboard.auth import AuthSettings
    from dashboard.server import free_port, serve
    home = tmp_path_factory.mktemp("security-home")
    users = UsersFile(home / "users.json")
    for name, password in PASSWORDS.items():
        users.add(name, ROLES[name], password)
    emu = Emulator(tenants=3, users_per_tenant=20, seed=11,
                   state_dir=tmp_path_factory.mktemp("security-emulator")).start()
    m365 = connect(emu.config_path)
    m365.sync(progress=False)
    settings = AuthSettings("users-file", cookie_secret=secrets.token_urlsafe(48),
                            users_file=users)
    port = free_port()
    server = serve(m365, port=port, threaded=True, auth=settings)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            requests.get(f"{base}/login", timeout=2)
            break
        except requests.ConnectionError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    yield emu, m365, base, settings
    server.stop()
    m365.close()
    emu.stop()


def sign_in_http(base: str, name: str, password: str) -> requests.Session:
    """A requests session signed in through the login form (with its XSRF token)."""
    s = requests.Session()
    s.get(f"{base}/login")
    r = s.post(f"{base}/login", data={"username": name, "password": password,
                                      "_xsrf": s.cookies.get("_xsrf"), "next": "/"},
               allow_redirects=False)
    assert r.status_code == 302, r.status_code
    return s


def _running_browser():
    """A Chromium that another conftest's session fixture (tests/browser) already launched: one
    process can run only one sync Playwright at a time, so reuse it instead of starting ours."""
    import gc

    from playwright.sync_api import Browser
    for obj in gc.get_objects():
        try:
            if isinstance(obj, Browser) and obj.is_connected():
                return obj
        except Exception:  # noqa: BLE001 - objects half torn down
            continue
    return None


@pytest.fixture(scope="package")
def chromium():
    """Package scope: our Playwright stops when tests/security is done, so tests/browser can
    start its own afterwards in the same run (and we reuse theirs when they ran first)."""
    if not shutil.which("chromium") and not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    existing = _running_browser()
    if existing is not None:
        yield existing
        return
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Capture:
    """What one browser context saw: page HTML, response bodies, websocket frames, requests."""

    def __init__(self):
        self.html: list[str] = []
        self.bodies: list[str] = []
        self.frames: list[str] = []
        self.requests: list[str] = []
        self.websockets: list[str] = []
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
            page.on("websocket", on_ws)
        context.on("page", on_page)
        contexts.append(context)
        return context, capture

    yield make
    for context in contexts:
        context.close()


def sign_in(page, base: str, name: str, password: str, query: str = "") -> None:
    page.goto(f"{base}/?{query}")
    page.locator("#username").fill(name)
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()
