"""Shared fixtures. Tests never reach the internet: Graph is `responses` or the emulator."""
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
NO_CHROMIUM = "Debian's chromium is not installed (make test installs it)"


def chromium_installed() -> bool:
    """Debian's chromium is on PATH or at /usr/bin/chromium (`make test` installs it)."""
    return bool(shutil.which("chromium")) or Path(CHROMIUM).exists()


def require_chromium() -> None:
    """Skip a browser test when chromium is missing on a developer's machine; fail it under CI
    (CI=true), where `make test` installs chromium and a silently skipped browser suite would
    pass unseen."""
    if chromium_installed():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{NO_CHROMIUM}; under CI the browser tests must run", pytrace=False)
    pytest.skip(NO_CHROMIUM)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("M365DASH_TEST_BACKEND") == "postgresql":
        skip = pytest.mark.skip(reason="checks the SQLite default; this pass runs on PostgreSQL")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Keep every test's config, store and state out of the real home directory."""
    monkeypatch.setenv("M365DASH_HOME", str(tmp_path / "m365dash-home"))
    monkeypatch.delenv("M365DASH_CONFIG", raising=False)
    yield



@pytest.fixture(scope="session", autouse=True)
def _postgres_backend():
    """With M365DASH_TEST_BACKEND=postgresql, every config loaded in this test process stores into
    its own fresh PostgreSQL database instead of SQLite (`make test` runs the store, sync and
    workflow tests this way when M365DASH_TEST_POSTGRES=1, as CI does)."""
    if os.environ.get("M365DASH_TEST_BACKEND") != "postgresql":
        yield
        return
    import dataclasses
    import uuid

    import sqlalchemy as sa

    from services import config as config_module

    base = os.environ["M365DASH_TEST_POSTGRES_URL"]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    databases: dict[str, str] = {}
    original = config_module.parse_config

    def parse_into_postgres(data, cfg_path):
        cfg = original(data, cfg_path)
        key = str(cfg_path)
        if key not in databases:
            name = f"t_{uuid.uuid4().hex[:16]}"
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            databases[key] = base.rsplit("/", 1)[0] + "/" + name
        return dataclasses.replace(cfg, store_url=databases[key])

    patch = pytest.MonkeyPatch()
    patch.setattr(config_module, "parse_config", parse_into_postgres)
    yield
    patch.undo()
    with admin.connect() as conn:
        for url in databases.values():
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def chromium():
    """The test process's one headless Debian chromium, for tests/browser and tests/security alike
    (a process can run only one sync Playwright at a time). Started by the first test that asks
    for it, closed at the end of the session; skipped when chromium is not installed (failed under CI). Playwright
    is imported here, not at the top, so tests that never open a browser neither pay for it nor
    need it installed."""
    require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def store_url(tmp_path):
    """A fresh, empty store URL: SQLite, or a new PostgreSQL database in the PostgreSQL pass."""
    if os.environ.get("M365DASH_TEST_BACKEND") != "postgresql":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    import uuid

    import sqlalchemy as sa
    base = os.environ["M365DASH_TEST_POSTGRES_URL"]
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
