"""State that survives restarts, fresh worlds for new seeds or folders, and the command line
(`python -m emulator`, `m365dash emulator` registration, signals)."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import requests

from emulator import Emulator
from emulator import cli as emulator_cli

from .conftest import Api, new_user

ROOT = Path(__file__).resolve().parents[2]


def test_state_persists_across_restarts(tmp_path):
    state = tmp_path / "emu"
    with Emulator(tenants=1, users_per_tenant=8, seed=4, groups_per_tenant=3, state_dir=state) as emu:
        tid, client_id, secret = emu.tenant_ids[0], emu.client_id, emu.client_secret
        api = Api(emu, tid)
        user = new_user(api)
        flow = next(s for s in api.ok("GET", "subscribedSkus")["value"] if s["skuPartNumber"] == "FLOW_FREE")
        api.ok("POST", f"users/{user['id']}/assignLicense",
               json={"addLicenses": [{"skuId": flow["skuId"]}], "removeLicenses": []})
        delta = api.ok("GET", "users/delta", params={"$select": "id"})["@odata.deltaLink"]
        ca = emu.ca_file.read_bytes()
    with Emulator(tenants=1, users_per_tenant=8, seed=4, groups_per_tenant=3, state_dir=state) as emu:
        assert (emu.tenant_ids[0], emu.client_id, emu.client_secret) == (tid, client_id, secret)
        assert emu.ca_file.read_bytes() == ca
        api = Api(emu, tid)
        back = api.ok("GET", f"users/{user['id']}", params={"$select": "id,assignedLicenses"})
        assert back["assignedLicenses"][0]["skuId"] == flow["skuId"]
        after = next(s for s in api.ok("GET", "subscribedSkus")["value"] if s["skuId"] == flow["skuId"])
        assert after["consumedUnits"] == flow["consumedUnits"] + 1
        delta = delta.replace(delta.split("/v1.0")[0], emu.authority_host)
        assert api.ok("GET", delta)["value"] == []          # the delta token is still valid
    with Emulator(tenants=1, users_per_tenant=8, seed=5, groups_per_tenant=3, state_dir=state) as emu:
        assert emu.client_id == client_id                  # same app registration...
        assert emu.tenant_ids[0] != tid                    # ...in a fresh world


def test_unreadable_snapshot_falls_back_to_the_seed(tmp_path):
    state = tmp_path / "emu"
    with Emulator(tenants=1, users_per_tenant=5, seed=8, groups_per_tenant=2, state_dir=state) as emu:
        tid = emu.tenant_ids[0]
        new_user(Api(emu, tid))
    snapshots = list(state.glob("worlds/*/*.pickle"))
    assert snapshots
    snapshots[0].write_bytes(b"not a pickle")
    with Emulator(tenants=1, users_per_tenant=5, seed=8, groups_per_tenant=2, state_dir=state) as emu:
        assert len(Api(emu, tid).all("users")) == 5


def test_temporary_state_is_removed(tmp_path):
    with Emulator(tenants=1, users_per_tenant=3, seed=1, groups_per_tenant=1) as emu:
        folder = emu.state_dir
        assert folder.exists()
    assert not folder.exists()


def test_register_adds_the_emulator_command():
    parser = argparse.ArgumentParser(prog="m365dash")
    sub = parser.add_subparsers(dest="command")
    emulator_cli.register(sub)
    args = parser.parse_args(["emulator", "--tenants", "3", "--users-per-tenant", "50",
                              "--throttle-rate", "0.1", "--drop-after-write-rate", "0.05"])
    assert args.func is emulator_cli.run
    assert (args.host, args.port, args.tenants, args.users_per_tenant) == ("127.0.0.1", 0, 3, 50)
    assert (args.seed, args.groups_per_tenant, args.latency_ms) == (7, 20, 0)
    assert args.throttle_rate == 0.1 and args.drop_after_write_rate == 0.05 and args.error_rate == 0.0


def _start(args, env=None):
    proc = subprocess.Popen([sys.executable, "-m", "emulator", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    line = proc.stdout.readline().strip()
    return proc, line


def test_foreground_command_prints_ready_and_stops_on_sigterm(tmp_path):
    state = tmp_path / "state"
    proc, line = _start(["--state-dir", str(state), "--tenants", "1", "--users-per-tenant", "6",
                         "--groups-per-tenant", "2", "--seed", "3"])
    try:
        word, graph_url, config = line.split(" ")
        assert word == "ready" and graph_url.startswith("https://127.0.0.1:") and graph_url.endswith("/v1.0")
        assert Path(config) == state / "m365dash.toml"
        settings = tomllib.loads(Path(config).read_text())["graph"]
        token = requests.post(f"{settings['authority_host']}/{settings['partner_tenant_id']}/oauth2/v2.0/token",
                              data={"client_id": settings["client_id"], "client_secret": settings["client_secret"],
                                    "grant_type": "client_credentials",
                                    "scope": "https://graph.microsoft.com/.default"},
                              verify=settings["ca_file"], timeout=30).json()["access_token"]
        org = requests.get(f"{graph_url}/organization", headers={"Authorization": f"Bearer {token}"},
                           verify=settings["ca_file"], timeout=30)
        assert org.json()["value"][0]["id"] == settings["partner_tenant_id"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip() == ""                       # exactly one line was printed


def test_sigint_and_default_state_folder(tmp_path):
    home = tmp_path / "home"
    proc, line = _start(["--tenants", "1", "--users-per-tenant", "4", "--groups-per-tenant", "1"],
                        env={"M365DASH_HOME": str(home)})
    try:
        assert line.startswith("ready ") and line.endswith(str(home / "emulator" / "m365dash.toml"))
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert (home / "emulator" / "emulator-ca.pem").exists()
