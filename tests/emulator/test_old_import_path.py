"""`services.emulator`, the emulator's old home: a deprecated alias of `emulator` for one release."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import emulator
import emulator.cli
import emulator.world

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def forget_old_path(monkeypatch):
    """Make the next import of services.emulator a first one (earlier tests may have imported it)."""
    for name in [n for n in sys.modules if n == "services.emulator" or n.startswith("services.emulator.")]:
        monkeypatch.delitem(sys.modules, name)


def test_old_path_warns_and_gives_the_same_emulator(forget_old_path):
    with pytest.warns(DeprecationWarning, match=r"services\.emulator is deprecated.*import emulator") as record:
        from services.emulator import Emulator, EmulatorSession
    assert Emulator is emulator.Emulator and EmulatorSession is emulator.EmulatorSession
    deprecations = [w for w in record if issubclass(w.category, DeprecationWarning)]
    assert [w.filename for w in deprecations] == [__file__]   # once, pointing at the importing line
    assert sys.modules["services.emulator"].__all__ == emulator.__all__


def test_old_submodule_paths_are_the_new_modules(forget_old_path):
    with pytest.warns(DeprecationWarning):
        old_cli = importlib.import_module("services.emulator.cli")
    assert old_cli is emulator.cli and old_cli.__spec__.name == "emulator.cli"
    from services.emulator.world import World
    assert World is emulator.world.World
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("services.emulator.no_such_module")


def test_importing_services_does_not_import_the_emulator():
    code = ("import sys, services, services.config; "
            "print(sorted(m for m in sys.modules if 'emulator' in m))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_old_command_still_runs_and_says_it_is_deprecated():
    out = subprocess.run([sys.executable, "-m", "services.emulator", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("usage: python -m emulator")
    assert "DeprecationWarning: services.emulator is deprecated" in out.stderr
