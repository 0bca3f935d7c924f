"""Shared fixtures. Tests never reach the internet: Graph is `responses` or the emulator."""
import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Keep every test's config, store and state out of the real home directory."""
    monkeypatch.setenv("M365DASH_HOME", str(tmp_path / "m365dash-home"))
    monkeypatch.delenv("M365DASH_CONFIG", raising=False)
    yield
