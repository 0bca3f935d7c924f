"""Browser tests: the served dashboard against the emulator, driven in Debian's headless chromium.

One emulator and one dashboard server (a background thread, a free port) serve the whole module
run; every test gets a fresh browser page from the session's one chromium (`chromium` in
tests/conftest.py, shared with tests/security). Screenshots go to test-artifacts/screenshots/.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import require_chromium

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_configure(config):
    # Panel 1.9 renames Button.name/button_type to label/color; we keep the names that Panel
    # 1.5 (our lowest supported version) knows, so silence that notice here.
    config.addinivalue_line("filterwarnings", "ignore::PendingDeprecationWarning")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """(emulator, m365, base_url): 3 tenants x 40 users, synced, dashboard on 127.0.0.1."""
    require_chromium()
    from emulator import Emulator
    from services import connect

    from dashboard.server import free_port, serve
    emu = Emulator(tenants=3, users_per_tenant=40, seed=7,
                   state_dir=tmp_path_factory.mktemp("browser-emulator")).start()
    m365 = connect(emu.config_path)
    m365.sync(progress=False)
    port = free_port()
    server = serve(m365, port=port, threaded=True)
    yield emu, m365, f"http://127.0.0.1:{port}"
    server.stop()
    m365.close()
    emu.stop()


@pytest.fixture(scope="session")
def network_log():
    """Every URL any test page requested: checked for requests leaving the machine."""
    return []


@pytest.fixture
def open_page(served, chromium, network_log):
    """open_page(query) -> a Playwright page showing the dashboard at `?query`, loaded."""
    _emu, _m365, base = served
    pages = []

    def open_(query: str = ""):
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("request", lambda r: network_log.append(r.url))
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        pages.append(context)
        page.goto(f"{base}/?{query}")
        # The first page of a session under a loaded machine (CI, two cores) took over 20 s once.
        page.wait_for_selector(".m365-main", timeout=45_000)
        return page

    yield open_
    for context in pages:
        context.close()


@pytest.fixture
def shot():
    """shot(page, name): a full-window screenshot under test-artifacts/screenshots/."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def off_machine(urls: list[str]) -> list[str]:
    """URLs that would leave this machine (anything but loopback, data: and blob:)."""
    out = []
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about"):
            continue
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            out.append(url)
    return out
