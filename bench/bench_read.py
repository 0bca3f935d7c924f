"""Benchmark: `m365.users()` over 100,000 synced users (100 tenants x 1,000 users).

Fills a fresh SQLite store through the same snapshot writer sync uses (no Graph needed), then
times the listing and measures the DataFrame's memory. Targets: <= 1 s and <= 150 MB.
Prints a readable table and one JSON line (`BENCH {...}`) for scripts.

    .venv/bin/python bench/bench_read.py [--tenants 100] [--users 1000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.api import connect                                      # noqa: E402
from services.config import Config, GraphSettings, Secret, TenantEntry  # noqa: E402
from services.store import Change, GroupChange, TenantSnapshot          # noqa: E402
from services.store import rows as R                                    # noqa: E402

SKUS = [("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB"), ("05e9a617-0261-4cee-bb44-138d3ef5d965", "SPE_E3"),
        ("4b585984-651b-448a-9e53-3b10f069cf7f", "O365_BUSINESS_ESSENTIALS"),
        ("f245ecc8-75af-4f8e-b61f-27d8114de5f3", "O365_BUSINESS_PREMIUM")]
DEPARTMENTS = ["Sales", "Finance", "IT", "Operations", "HR", "Legal", "Marketing", "Support"]
TITLES = ["Manager", "Analyst", "Engineer", "Assistant", "Director", "Consultant"]


def snapshot(tid: str, n_users: int, rng: random.Random) -> TenantSnapshot:
    snap = TenantSnapshot(tid, organization={"display_name": f"Customer {tid[:8]}",
                                             "default_domain": f"c{tid[:8]}.example"})
    snap.skus = [R.sku_row(tid, {"skuId": s, "skuPartNumber": p, "capabilityStatus": "Enabled",
                                 "consumedUnits": n_users // 3, "prepaidUnits": {"enabled": n_users // 2}})
                 for s, p in SKUS]
    group_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(20)]
    users = []
    for i in range(n_users):
        uid = str(uuid.UUID(int=rng.getrandbits(128)))
        held = rng.sample(SKUS, rng.choice([0, 1, 1, 2]))
        states = [{"skuId": s, "assignedByGroup": rng.choice([None, None, None, group_ids[0]]),
                   "state": "Active"} for s, _ in held]
        users.append(R.user_row({
            "id": uid, "userPrincipalName": f"user{i}@c{tid[:8]}.example", "displayName": f"User {i}",
            "givenName": "User", "surname": str(i), "accountEnabled": rng.random() > 0.1,
            "usageLocation": rng.choice(["US", "GB", "DE"]), "department": rng.choice(DEPARTMENTS),
            "jobTitle": rng.choice(TITLES), "mail": f"user{i}@c{tid[:8]}.example",
            "officeLocation": "HQ", "mobilePhone": "+1 555 0100", "businessPhones": ["+1 555 0101"],
            "createdDateTime": "2024-03-04T05:06:07Z",
            "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s, _ in held],
            "licenseAssignmentStates": states}))
    snap.users = Change(full=True, rows=users, delta_link=None)
    snap.sign_ins = {u["id"]: (f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T10:00:00Z", None)
                     for u in users}
    snap.groups = GroupChange(full=True, rows=[R.group_row({"id": g, "displayName": f"Group {j}",
                                                            "groupTypes": [], "securityEnabled": True})
                                               for j, g in enumerate(group_ids)],
                              members={g: {} for g in group_ids})
    return snap


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        tids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(args.tenants)]
        config = Config(graph=GraphSettings(client_id="bench", client_secret=Secret("unused"),
                                            graph_url="https://graph.invalid/v1.0"),
                        store_url=f"sqlite:///{tmp}/store.db",
                        tenants=tuple(TenantEntry(t) for t in tids))
        with connect(config) as m365:
            m365.discover()
            started = time.perf_counter()
            for tid in tids:
                m365.store.write(snapshot(tid, args.users, rng))
            fill = time.perf_counter() - started
            timings = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                users = m365.users()
                timings.append(time.perf_counter() - started)
            memory_mb = users.memory_usage(deep=True).sum() / 2**20
    figures = {"bench": "read", "tenants": args.tenants, "users": int(len(users)),
               "fill_seconds": round(fill, 2), "users_seconds_best": round(min(timings), 3),
               "users_seconds_first": round(timings[0], 3), "dataframe_mb": round(memory_mb, 1),
               "target_seconds": 1.0, "target_mb": 150}
    print(f"{'store filled':<28}{fill:>10.2f} s  ({len(users):,} users in {args.tenants} tenants)")
    print(f"{'m365.users() first':<28}{timings[0]:>10.3f} s")
    print(f"{'m365.users() best':<28}{min(timings):>10.3f} s   (target <= 1.0 s)")
    print(f"{'DataFrame memory':<28}{memory_mb:>10.1f} MB  (target <= 150 MB)")
    print("BENCH " + json.dumps(figures))
    return 0 if min(timings) <= 1.0 and memory_mb <= 150 else 1


if __name__ == "__main__":
    sys.exit(main())
