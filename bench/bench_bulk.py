"""Bulk onboarding of 1,000 users with one license and two groups each, against the emulator.

Prints HTTP requests and seconds for the whole job (validation, plan, apply and the store refresh
after it), against the request count of doing it one Graph call per operation. Target: <= 200
HTTP requests. Run: .venv/bin/python bench/bench_bulk.py
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from emulator import Emulator
from services import connect

USERS = 1000


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp, \
            Emulator(tenants=1, users_per_tenant=200, seed=5, state_dir=Path(tmp) / "emu") as emu:
        m365 = connect(emu.config_path)
        m365.sync(progress=False)
        tid = emu.tenant_ids[0]
        tenant = m365.tenants().set_index("tenant_id").loc[tid]
        groups = m365.groups(tid)
        writable = groups[groups["writable"] == True]["display_name"].head(2).tolist()  # noqa: E712
        csv = Path(tmp) / "onboard.csv"
        pd.DataFrame([{"User Name": f"bench{i:04d}@{tenant['default_domain']}", "First Name": "Bench",
                       "Last Name": f"User {i}", "Tenant": tid, "Usage Location": "US",
                       "Licenses": "FLOW_FREE", "Groups": ";".join(writable)}
                      for i in range(USERS)]).to_csv(csv, index=False)
        before = m365.graph.stats.total()
        started = time.perf_counter()
        plan = m365.bulk_onboard(csv)
        assert not plan.problems, plan.problems[:3]
        planned = m365.graph.stats.total() - before
        result = plan.apply(progress=False)
        seconds = time.perf_counter() - started
        requests = m365.graph.stats.total() - before
        assert result.ok, result.failed().head()
        naive = USERS * (1 + 1 + len(writable))   # one create, one assignLicense, one $ref per group
        figures = {"bench": "bulk_onboarding", "users": USERS, "groups_per_user": len(writable),
                   "seconds": round(seconds, 2), "http_requests": requests,
                   "http_requests_validation": planned,
                   "one_request_per_operation": naive, "target_http_requests": 200,
                   "meets_target": requests <= 200}
        m365.close()
    print("BENCH " + json.dumps(figures))
    print(f"\n{'bulk onboarding of':<34}{USERS} users, 1 license, {len(writable)} groups")
    print(f"{'seconds':<34}{figures['seconds']}")
    print(f"{'HTTP requests (all)':<34}{requests}  (validation {planned}; target <= 200)")
    print(f"{'one request per operation':<34}{naive}  ({naive / max(requests, 1):.0f}x more)")
    return figures


if __name__ == "__main__":
    raise SystemExit(0 if main()["meets_target"] else 1)
