"""Shared fixtures. Tests never reach the internet: Graph is `responses` or the emulator."""
import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Keep every test's config, store and state out of the real home directory."""
    monkeypatch.setenv("M365DASH_HOME", str(tmp_path / "m365dash-home"))
    monkeypatch.delenv("M365DASH_CONFIG", raising=False)
    yield


def _store_params():
    params = ["sqlite"]
    if os.environ.get("M365DASH_TEST_POSTGRES_URL"):
        params.append("postgresql")
    return params


@pytest.fixture(params=_store_params())
def store_url(request, tmp_path):
    """A fresh, empty store URL: SQLite always, and PostgreSQL when `make test` started one.

    Tests that take this fixture run once per backend (M365DASH_TEST_POSTGRES=1 in CI).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    import uuid

    import sqlalchemy as sa
    base = os.environ["M365DASH_TEST_POSTGRES_URL"]
    schema_db = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{schema_db}"'))
    url = base.rsplit("/", 1)[0] + "/" + schema_db
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{schema_db}" WITH (FORCE)'))
        admin.dispose()
