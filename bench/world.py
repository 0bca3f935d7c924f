"""The emulated world the sync benchmarks run against, and what they measure with.

`RemoteEmulator` builds the world (tenants x users, groups with members) and serves it from a
child process, so that serving does not compete with the measured client for its GIL; it offers
the emulator's controls (token, stats, set_faults, and the world's sizes) over a pipe.
`LocalEmulator` serves the same world from a thread of this process. `PeakRSS` and `CPU` measure
the client's memory and the CPU seconds of both processes. Used by bench_sync.py and
bench_baselines.py.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ---- the emulator, in a child process or in this one ---------------------------------------

def world_sizes(emu) -> dict:
    """Per customer tenant, the sizes the minimum request count depends on (server side)."""
    from emulator.roles import DEFINITIONS

    def collect():
        out = {}
        for tid in emu.tenant_ids:
            t = emu.world.tenant(tid)
            users = sum(1 for u in t.user_list if t.live_user(u.id) is not None)
            assignments = sum(1 for a in t.role_assignments.values()
                              if t.live_user(a["principalId"]) is not None or t.group(a["principalId"]))
            out[tid] = {"users": users, "groups": len(t.group_list), "skus": len(t.skus),
                        "domains": len(t.domains), "role_definitions": len(DEFINITIONS),
                        "role_assignments": assignments,
                        "members": [len(g.members) for g in t.group_list],
                        "group_apps": [len(g.apps) for g in t.group_list]}
        partner = emu.world.tenant(emu.partner_tenant_id)
        active = sum(1 for r in partner.relationships if r.get("status") == "active")
        return {"tenants": out, "active_relationships": active}
    return emu._call(collect)


def _serve(conn, kwargs: dict) -> None:
    """Child process: run the Emulator and answer control calls from the parent's pipe."""
    from emulator import Emulator
    with Emulator(**kwargs) as emu:
        conn.send({"config_path": str(emu.config_path), "graph_url": emu.graph_url,
                   "authority_host": emu.authority_host, "ca_file": str(emu.ca_file),
                   "client_id": emu.client_id, "tenant_ids": emu.tenant_ids,
                   "partner_tenant_id": emu.partner_tenant_id, "start_seconds": emu.start_seconds})
        while True:
            cmd, args, kw = conn.recv()
            if cmd == "stop":
                break
            try:
                result = world_sizes(emu) if cmd == "sizes" else getattr(emu, cmd)(*args, **kw)
                conn.send(("ok", result))
            except Exception as exc:  # noqa: BLE001 - handed back to the parent, which raises it
                conn.send(("error", repr(exc)))
    conn.send(("ok", None))


class RemoteEmulator:
    """An `Emulator(**kwargs)` in a child process, with the same controls (token, stats,
    set_faults) and `sizes()`; `pid` is the child's, for its CPU seconds."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self._lock = threading.Lock()

    def __enter__(self):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.kwargs), daemon=True,
                                 name="bench-emulator")
        self._proc.start()
        try:
            info = self._conn.recv()
        except EOFError:
            self._proc.join(timeout=10)
            raise RuntimeError(f"emulator did not start (exit code {self._proc.exitcode})") from None
        for key, value in info.items():
            setattr(self, key, value)
        self.ca_file = Path(self.ca_file)
        self.config_path = Path(self.config_path)
        self.pid = self._proc.pid
        return self

    def _ask(self, cmd, *args, **kw):
        with self._lock:
            self._conn.send((cmd, args, kw))
            status, result = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"emulator {cmd} failed: {result}")
        return result

    def token(self, tenant_id):
        return self._ask("token", tenant_id)

    def stats(self):
        return self._ask("stats")

    def set_faults(self, **kw):
        return self._ask("set_faults", **kw)

    def sizes(self):
        return self._ask("sizes")

    def __exit__(self, *exc):
        try:
            self._ask("stop")
        except (EOFError, OSError, RuntimeError) as err:
            print(f"emulator stop: {err!r}; terminating it", file=sys.stderr)
        self._proc.join(timeout=60)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=10)


class LocalEmulator:
    """The emulator in a thread of this process."""

    def __init__(self, **kwargs):
        from emulator import Emulator
        self.emu = Emulator(**kwargs)

    def __enter__(self):
        self.emu.start()
        self.pid = os.getpid()
        return self

    def __getattr__(self, name):
        return getattr(self.emu, name)

    def sizes(self):
        return world_sizes(self.emu)

    def __exit__(self, *exc):
        self.emu.stop()


# ---- measuring -----------------------------------------------------------------------------

class PeakRSS:
    """Samples this process's resident memory every 20 ms while active."""

    def __init__(self):
        self.proc = psutil.Process()
        self.start = self.peak = 0

    def __enter__(self):
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def mb(self) -> float:
        return self.peak / 2**20

    @property
    def figures(self) -> dict:
        return {"peak_rss_mb": round(self.peak / 2**20, 1),
                "rss_delta_mb": round((self.peak - self.start) / 2**20, 1)}


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


class CPU:
    """CPU seconds used by this process and by the emulator's process while active."""

    def __init__(self, emulator_pid: int):
        self.me = psutil.Process()
        self.emu = psutil.Process(emulator_pid) if emulator_pid != os.getpid() else None

    def __enter__(self):
        self.t0 = (cpu_seconds(self.me), cpu_seconds(self.emu) if self.emu else 0.0)
        return self

    def __exit__(self, *exc):
        self.t1 = (cpu_seconds(self.me), cpu_seconds(self.emu) if self.emu else 0.0)

    @property
    def figures(self) -> dict:
        out = {"client_cpu_s": round(self.t1[0] - self.t0[0], 2)}
        if self.emu:
            out["emulator_cpu_s"] = round(self.t1[1] - self.t0[1], 2)
        return out
