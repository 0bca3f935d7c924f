"""Two dashboard processes sharing one store see each other's writes, without restarting.

This is the scale-out set-up of docs/DEPLOYMENT.md: several `m365dash serve` processes behind a
reverse proxy, one store. Each "dashboard" here is a separate, long-lived OS process that
connects to the same store URL (PostgreSQL when M365DASH_TEST_BACKEND=postgresql, else one SQLite
file) and the same emulator, and reads the way the dashboard does: `m365.users(tenant)` and an
All Users view model created at start-up (so any per-process cache of the listing is warm before
the other process writes). Process A edits a user's department through the edit workflow and
process B sees it; process B onboards a user and process A sees it.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator import Emulator
from services import Actor, connect
from services.config import load_config

ROOT = Path(__file__).resolve().parents[2]

# One dashboard process: reads JSON commands on stdin, answers one JSON line each.
WORKER = r'''
import json, sys
from services import Actor, connect
from dashboard.viewmodels.users import UsersViewModel

m365 = connect(sys.argv[1], actor=Actor(sys.argv[2], "admin"))
vm = UsersViewModel(m365=m365)
vm.refresh()                                   # warm: the listing as it was at start-up
print(json.dumps({"ready": True, "pid": __import__("os").getpid(), "users": vm.total}), flush=True)

def user_row(frame, upn):
    hit = frame[frame["user_principal_name"].str.lower() == upn.lower()]
    return None if hit.empty else {"id": str(hit.iloc[0]["id"]),
                                   "department": hit.iloc[0]["department"]}

for line in sys.stdin:
    cmd = json.loads(line)
    try:
        op = cmd["op"]
        if op == "read":
            vm.refresh()
            out = {"api": user_row(m365.users(cmd["tenant"]), cmd["upn"]),
                   "view": user_row(vm.filtered, cmd["upn"]), "total": vm.total}
        elif op == "edit":
            plan = m365.plan_edit(cmd["tenant"], cmd["upn"], changes={"department": cmd["department"]})
            out = {"ok": plan.apply().ok, "problems": [p.message for p in plan.problems]}
        elif op == "onboard":
            plan = m365.plan_onboarding(cmd["tenant"], user=cmd["user"])
            result = plan.apply()
            out = {"ok": result.ok, "user_id": result.user_id,
                   "problems": [p.message for p in plan.problems]}
        else:
            out = {"error": f"unknown op {op}"}
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out, default=str), flush=True)
'''


class Dashboard:
    """A long-lived dashboard process on `config`."""

    def __init__(self, config: Path, name: str):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(config), name], cwd=ROOT,
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.hello = self._answer()
        assert self.hello.get("ready"), self.hello

    def _answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"dashboard process ended (exit {self.proc.wait(timeout=10)})")
        return json.loads(line)

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        answer = self._answer()
        assert "error" not in answer, answer["error"]
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def config_for(emu: Emulator, store_url: str, folder: Path) -> Path:
    """The emulator's config with its [store] url pointing at the shared store."""
    text = Path(emu.config_path).read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^url = .*$", lambda _: f"url = {json.dumps(store_url)}", text)
    assert n == 1, "the emulator's config has no [store] url line"
    path = folder / "shared.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tenants=2, users_per_tenant=20, seed=31, groups_per_tenant=4,
                  state_dir=tmp_path_factory.mktemp("shared-emu")) as emulator:
        yield emulator


def wait_for(dash: Dashboard, check, timeout: float = 10.0, **cmd) -> dict:
    """Ask until `check(answer)` holds: a write is visible as soon as it commits, but allow a
    view model cache a moment to notice the store's change."""
    deadline = time.monotonic() + timeout
    while True:
        answer = dash.ask(**cmd)
        if check(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


@pytest.mark.slow            # two dashboard processes started and driven: several seconds
def test_two_dashboard_processes_see_each_others_writes(emu, store_url, tmp_path):
    config = config_for(emu, store_url, tmp_path)
    # In the PostgreSQL pass, conftest redirects configs loaded in this process to a database of
    # their own: name the shared store explicitly (the child processes read the file as it is).
    shared = dataclasses.replace(load_config(config), store_url=store_url)
    with connect(shared, actor=Actor("setup@msp.example", "admin")) as m365:
        report = m365.sync(progress=False)
        assert not report.errors and report.tenants == 2
        tid = sorted(emu.tenant_ids)[0]
        someone = m365.users(tid).iloc[0]
        upn = str(someone["user_principal_name"])
        domain = upn.split("@")[1]
        assert someone["department"] != "Shared Store QA"

    a = Dashboard(config, "alice@msp.example")
    b = Dashboard(config, "bob@msp.example")
    try:
        assert a.hello["pid"] != b.hello["pid"] != os.getpid()
        assert a.hello["users"] == b.hello["users"] == 40
        before = b.ask(op="read", tenant=tid, upn=upn)
        assert before["api"]["department"] == before["view"]["department"] == someone["department"]

        # A edits a department; B, already running with its listing loaded, sees it.
        assert a.ask(op="edit", tenant=tid, upn=upn, department="Shared Store QA")["ok"]
        seen = wait_for(b, lambda r: r["view"] and r["view"]["department"] == "Shared Store QA",
                        op="read", tenant=tid, upn=upn)
        assert seen["api"]["department"] == "Shared Store QA"
        assert seen["view"]["department"] == "Shared Store QA"

        # B onboards a user; A sees the new row, in the API and in its All Users view.
        new_upn = f"shared.store@{domain}"
        assert a.ask(op="read", tenant=tid, upn=new_upn)["api"] is None
        made = b.ask(op="onboard", tenant=tid, user={
            "given_name": "Shared", "surname": "Store", "username": "shared.store",
            "domain": domain, "usage_location": "US", "department": "Scale-out"})
        assert made["ok"], made
        seen = wait_for(a, lambda r: r["view"] is not None, op="read", tenant=tid, upn=new_upn)
        assert seen["api"] == {"id": made["user_id"], "department": "Scale-out"}
        assert seen["view"] == seen["api"] and seen["total"] == 41
    finally:
        a.close()
        b.close()


def test_two_clients_syncing_one_tenant_at_once_both_succeed(emu, store_url, tmp_path):
    """Two processes' syncs of the same tenant on one store (a scheduled job's refresh beside a
    technician's Sync now): the second waits for the first instead of colliding on keys."""
    import threading
    config = config_for(emu, store_url, tmp_path)
    shared = dataclasses.replace(load_config(config), store_url=store_url)
    tid = emu.tenant_ids[0]
    clients = [connect(shared, actor=Actor(f"sync{n}@msp.example", "admin")) for n in (1, 2)]
    try:
        clients[0].sync(progress=False)
        results, errors = [], []

        def full_sync(m365):
            try:
                results.append(m365.sync_tenant(tid, full=True))
            except Exception as exc:  # noqa: BLE001 - the assertion below names it
                errors.append(repr(exc))
        threads = [threading.Thread(target=full_sync, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert [r.ok for r in results] == [True, True], [getattr(r, "error", r) for r in results]
        assert len(clients[1].users(tid)) == len(clients[0].users(tid)) > 0
    finally:
        for c in clients:
            c.close()
