"""Emulator benchmark: start 200 tenants x 500 users, then page every tenant's users.

    python bench/bench_emulator.py [--tenants 200] [--users-per-tenant 500] [--threads 16]

Prints one JSON line of figures, then a short table: start time, peak RSS, users served per
second when every tenant's users are listed with `$top=999` by 16 threads sharing one pooled
`requests.Session` (the emulator runs in a background thread of this same process, as in tests).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator import Emulator  # noqa: E402

SELECT = "id,userPrincipalName,displayName,accountEnabled,usageLocation,assignedLicenses"


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB."""
    current = 0.0
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def page_tenant(session: requests.Session, emu: Emulator, tenant_id: str, token: str) -> tuple[int, int]:
    url = f"{emu.graph_url}/users"
    params = {"$top": "999", "$select": SELECT}
    headers = {"Authorization": f"Bearer {token}"}
    users = pages = 0
    while url:
        resp = session.get(url, params=params, headers=headers, verify=str(emu.ca_file), timeout=120)
        resp.raise_for_status()
        body = resp.json()
        users += len(body["value"])
        pages += 1
        url, params = body.get("@odata.nextLink"), None
    return users, pages


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--users-per-tenant", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with Emulator(tenants=args.tenants, users_per_tenant=args.users_per_tenant, seed=7) as emu:
        start_seconds = time.perf_counter() - started
        rss_after_start, _ = rss_mib()
        tokens = {tid: emu.token(tid) for tid in emu.tenant_ids}
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=args.threads, pool_maxsize=args.threads)
        session.mount("https://", adapter)
        rounds = []
        for _ in range(2):            # the first round also builds each object's JSON cache
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                results = list(pool.map(lambda tid: page_tenant(session, emu, tid, tokens[tid]),
                                        emu.tenant_ids))
            rounds.append((time.perf_counter() - t0, sum(u for u, _ in results),
                           sum(p for _, p in results)))
        current, peak = rss_mib()
        stats = emu.stats()
    expected = args.tenants * args.users_per_tenant
    figures = {
        "tenants": args.tenants, "users_per_tenant": args.users_per_tenant, "threads": args.threads,
        "start_seconds": round(start_seconds, 2), "rss_after_start_mib": round(rss_after_start),
        "peak_rss_mib": round(peak), "rss_end_mib": round(current),
        "users_listed": rounds[-1][1], "users_expected": expected, "pages": rounds[-1][2],
        "first_round_seconds": round(rounds[0][0], 2),
        "first_round_users_per_second": round(rounds[0][1] / rounds[0][0]),
        "second_round_seconds": round(rounds[1][0], 2),
        "second_round_users_per_second": round(rounds[1][1] / rounds[1][0]),
        "server_requests": stats["requests"],
    }
    print(json.dumps(figures))
    print()
    print(f"{'emulator start':<34}{figures['start_seconds']:>10.2f} s")
    print(f"{'RSS after start / peak':<34}{figures['rss_after_start_mib']:>6} / {figures['peak_rss_mib']} MiB")
    print(f"{'users listed (per round)':<34}{figures['users_listed']:>10} in {figures['pages']} pages")
    print(f"{'round 1 (cold JSON cache)':<34}{figures['first_round_users_per_second']:>10} users/s"
          f"  ({figures['first_round_seconds']} s)")
    print(f"{'round 2 (warm)':<34}{figures['second_round_users_per_second']:>10} users/s"
          f"  ({figures['second_round_seconds']} s)")
    ok = figures["users_listed"] == expected and figures["start_seconds"] < 30 and peak < 2048
    if not ok:
        print("FAILED: wrong user count, start over 30 s, or RSS over 2 GiB", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
