"""Comparative sync benchmark: our sync against Microsoft's Graph SDK, a bare floor, and the
minimum number of HTTP requests Graph's paging and batching allow.

One emulated world (default 100 tenants x 1,000 users, 20 groups each) is built once and served
by one emulator; its latency is changed with `set_faults(latency_ms=...)`. For each latency
(default 0 ms and 50 ms), against that same emulator:
  ours   `connect(config).sync(full=True, progress=False)` into a fresh SQLite store:
         seconds, HTTP requests (SyncReport.requests) and the client's peak RSS;
  sdk    what an analyst writes with the official `msgraph-sdk`: per tenant, one after the other,
         users page by page (`with_url(odata_next_link)`), subscribedSkus, groups and every
         group's members, parsed into the SDK's models. It is slow, so it runs on the first
         `--sdk-tenants` tenants and its time is scaled linearly to all tenants (printed as such);
  floor  a bare `requests` + `json` loop that only pages through every tenant's users
         (`$top=999`, our sync's `$select`) with 16 threads sharing one pooled Session and keeps
         nothing. Its bearer tokens are fetched before the clock starts.
and the minimum number of HTTP requests for the data our full sync reads (see
`min_requests_tenant`). Ours and the floor run `--repeat` times (default 3), interleaved; the
fastest run counts (the machine may be shared), and every run's time is printed.

By default the emulator runs in a child process (as in bench_sync.py), so that serving does not
compete with the measured client for this process's GIL; `--in-process` serves it from a thread
of this process instead. Targets: ours/floor <= 2.5x, sdk/ours >= 50x, ours/minimum requests
<= 1.2x. Prints one JSON line (`BENCH {...}`), then a readable table.

    .venv/bin/python bench/bench_baselines.py [--tenants 100] [--users 1000] [--sdk-tenants 10]
    .venv/bin/python bench/bench_baselines.py --tenants 20 --users 200 --sdk-tenants 2   # smoke
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import ssl
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.api import connect                 # noqa: E402
from services.store import rows as R             # noqa: E402
from world import CPU, LocalEmulator, PeakRSS, RemoteEmulator   # noqa: E402

SEED = 7
FLOOR_WORKERS = 16
GRAPH_MAX_TOP = 999           # $top / odata.maxpagesize ceiling for users, groups, delta
SIGN_IN_TOP = 500             # $top ceiling when signInActivity is selected
BATCH_LIMIT = 20              # requests per $batch
TARGETS = {"ours_over_floor": 2.5, "sdk_over_ours": 50.0, "requests_over_minimum": 1.2}


# ---- the emulator and the meters (RemoteEmulator, PeakRSS, CPU) are in world.py -------------


def emulator_delta(before: dict, after: dict) -> dict:
    """Graph requests as the emulator counted them ($batch = 1 request) and token grants."""
    return {k: after[k] - before[k] for k in ("requests", "batches", "batch_requests", "tokens")}


# ---- 1. our full sync ----------------------------------------------------------------------

def config_with_store(emu, folder: Path, name: str) -> Path:
    """A copy of the emulator's config whose [store] url is a fresh SQLite file."""
    url = "sqlite:///" + str(folder / f"{name}.db")
    text = Path(emu.config_path).read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^url = .*$", lambda _: f"url = {json.dumps(url)}", text)
    assert n == 1, "the emulator's config has no [store] url line"
    path = folder / f"{name}.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def run_ours(emu, folder: Path, name: str) -> dict:
    config = config_with_store(emu, folder, name)
    before = emu.stats()
    with connect(config) as m365, PeakRSS() as rss, CPU(emu.pid) as cpu:
        report = m365.sync(full=True, progress=False)
        tokens_acquired = m365.graph.tokens.acquired
    if report.errors:
        raise RuntimeError(f"our sync failed: {dict(list(report.errors.items())[:3])}")
    return {"seconds": round(report.seconds, 2), "requests": report.requests,
            "objects": report.objects, "tenants": report.tenants,
            "tokens_acquired": tokens_acquired, **rss.figures, **cpu.figures,
            "emulator": emulator_delta(before, emu.stats())}


def profile_ours(emu, folder: Path, name: str, out: Path) -> float:
    """An untimed extra pass: the same per-tenant sync, one tenant after the other in this
    thread, under pyinstrument (which samples one thread; the real sync runs in a pool)."""
    from pyinstrument import Profiler          # profiling only; not a project dependency
    config = config_with_store(emu, folder, name)
    with connect(config) as m365:
        ids = [t.tenant_id for t in m365.syncer.discover()]
        profiler = Profiler(interval=0.002, async_mode="disabled")
        started = time.perf_counter()
        profiler.start()
        for tid in ids:
            result = m365.syncer.sync_tenant(tid, full=True)
            if not result.ok:
                raise RuntimeError(f"profiled sync of {tid} failed: {result.error}")
        profiler.stop()
        seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(profiler.output_text(unicode=False, color=False, show_all=False),
                   encoding="utf-8")
    return round(seconds, 2)


# ---- 2. the msgraph-sdk baseline -------------------------------------------------------------

SDK_USER_SELECT = R.USER_SELECT.split(",")        # the same user properties our sync reads


def _sdk_imports():
    with warnings.catch_warnings():
        # The SDK's generated classes warn about their own deprecations when imported and used.
        warnings.simplefilter("ignore", DeprecationWarning)
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider)
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
        from msgraph.generated.groups.item.members.members_request_builder import (
            MembersRequestBuilder)
        from msgraph.generated.users.users_request_builder import UsersRequestBuilder
        from msgraph_core import GraphClientFactory
    return {"RequestConfiguration": RequestConfiguration,
            "AzureIdentityAuthenticationProvider": AzureIdentityAuthenticationProvider,
            "GraphRequestAdapter": GraphRequestAdapter, "GraphServiceClient": GraphServiceClient,
            "GroupsRequestBuilder": GroupsRequestBuilder, "MembersRequestBuilder": MembersRequestBuilder,
            "UsersRequestBuilder": UsersRequestBuilder, "GraphClientFactory": GraphClientFactory}


class EmulatorAsyncCredential:
    """An azure.core AsyncTokenCredential handing the SDK `emu.token(tenant)` (kept for its life)."""

    def __init__(self, emu, tenant_id: str):
        self.emu, self.tenant_id = emu, tenant_id
        self._token = None

    async def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken
        if self._token is None or self._token.expires_on < time.time() + 300:
            self._token = AccessToken(self.emu.token(self.tenant_id), int(time.time()) + 3000)
        return self._token

    async def close(self) -> None:
        pass

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


async def sdk_tenant(emu, tenant_id: str, sdk, top: int | None) -> dict:
    """Everything an analyst's script reads for one tenant, one request after the other."""
    import httpx
    cred = EmulatorAsyncCredential(emu, tenant_id)
    auth = sdk["AzureIdentityAuthenticationProvider"](
        cred, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"])
    http = httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(emu.ca_file)))
    adapter = sdk["GraphRequestAdapter"](
        auth, client=sdk["GraphClientFactory"].create_with_default_middleware(client=http))
    adapter.base_url = emu.graph_url
    client = sdk["GraphServiceClient"](request_adapter=adapter)
    RC = sdk["RequestConfiguration"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            query = sdk["UsersRequestBuilder"].UsersRequestBuilderGetQueryParameters(
                select=SDK_USER_SELECT, top=top)
            page = await client.users.get(request_configuration=RC(query_parameters=query))
            users = list(page.value or [])
            while page.odata_next_link:
                page = await client.users.with_url(page.odata_next_link).get()
                users.extend(page.value or [])
            skus = (await client.subscribed_skus.get()).value or []
            gquery = sdk["GroupsRequestBuilder"].GroupsRequestBuilderGetQueryParameters(top=top)
            page = await client.groups.get(request_configuration=RC(query_parameters=gquery))
            groups = list(page.value or [])
            while page.odata_next_link:
                page = await client.groups.with_url(page.odata_next_link).get()
                groups.extend(page.value or [])
            members = {}
            for group in groups:
                builder = client.groups.by_group_id(group.id).members
                mquery = sdk["MembersRequestBuilder"].MembersRequestBuilderGetQueryParameters(top=top)
                page = await builder.get(request_configuration=RC(query_parameters=mquery))
                found = list(page.value or [])
                while page.odata_next_link:
                    page = await builder.with_url(page.odata_next_link).get()
                    found.extend(page.value or [])
                members[group.id] = found
    finally:
        await http.aclose()
        await cred.close()
    assert users and all(u.id and u.user_principal_name for u in users)
    return {"users": len(users), "skus": len(skus), "groups": len(groups),
            "members": sum(len(m) for m in members.values())}


def run_sdk(emu, tenant_ids: list[str], all_tenants: int, top: int | None) -> dict:
    sdk = _sdk_imports()

    async def all_of_them():
        return [await sdk_tenant(emu, tid, sdk, top) for tid in tenant_ids]

    before = emu.stats()
    with PeakRSS() as rss, CPU(emu.pid) as cpu:
        started = time.perf_counter()
        read = asyncio.run(all_of_them())
        seconds = time.perf_counter() - started
    counted = emulator_delta(before, emu.stats())
    scale = all_tenants / len(tenant_ids)
    return {"slice_tenants": len(tenant_ids), "slice_seconds": round(seconds, 2),
            "seconds": round(seconds * scale, 1), "scaled": f"x{scale:g} (linear)",
            "slice_requests": counted["requests"], "requests": round(counted["requests"] * scale),
            "page_top": top or "default (100)",
            "users": sum(r["users"] for r in read), "members": sum(r["members"] for r in read),
            **rss.figures, **cpu.figures}


# ---- 3. the floor: bare requests + json, users only ----------------------------------------

FLOOR_SELECT = R.USER_SELECT


def run_floor(emu, tenant_ids: list[str]) -> dict:
    ca = str(emu.ca_file)
    tokens = {tid: emu.token(tid) for tid in tenant_ids}        # fetched before the clock
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=FLOOR_WORKERS, pool_maxsize=FLOOR_WORKERS, max_retries=0)
    session.mount("https://", adapter)
    first = f"{emu.graph_url}/users?$top={GRAPH_MAX_TOP}&$select={FLOOR_SELECT}"

    def one_tenant(tid: str) -> tuple[int, int]:
        headers = {"Authorization": f"Bearer {tokens[tid]}", "Accept": "application/json"}
        url, users, pages = first, 0, 0
        while url:
            # verify= on each call: REQUESTS_CA_BUNDLE would override Session.verify.
            resp = session.get(url, headers=headers, verify=ca, timeout=60)
            resp.raise_for_status()
            body = json.loads(resp.content)
            users += len(body["value"])
            pages += 1
            url = body.get("@odata.nextLink")
        return users, pages

    before = emu.stats()
    with PeakRSS() as rss, CPU(emu.pid) as cpu:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=FLOOR_WORKERS) as pool:
            results = list(pool.map(one_tenant, tenant_ids))
        seconds = time.perf_counter() - started
    session.close()
    return {"seconds": round(seconds, 2), "requests": sum(p for _, p in results),
            "users": sum(u for u, _ in results), "tokens": "fetched before timing",
            **rss.figures, **cpu.figures,
            "emulator": emulator_delta(before, emu.stats())}


# ---- 4. the minimum number of HTTP requests --------------------------------------------------

def pages(n: int, top: int) -> int:
    """Pages of a listing of n items at `top` per page (an empty listing is still one page)."""
    return max(1, math.ceil(n / top))


def min_requests_tenant(s: dict) -> dict:
    """The fewest HTTP requests that read one tenant's data as our full sync does.

    Our full sync stores: organization, domains, subscribedSkus, role definitions, role
    assignments, users (with delta links for the next sync), every user's signInActivity,
    groups with their members (groups/delta with members@delta: members come inside the group
    pages), and each group's app role assignments. Graph's rules bound it:
      - a listing is a chain of pages: page k+1's link comes with page k. Chains:
        users/delta ceil(U/999), users?$select=signInActivity ceil(U/500) (signInActivity is not
        in delta and caps $top at 500), groups/delta ceil(G/999), roleDefinitions and
        roleAssignments ceil(n/999), organization, domains and subscribedSkus one page each;
      - a $batch carries at most 20 requests and is one HTTP request; its items cannot use
        each other's answers, so each step of a chain needs its own round;
      - app role assignments are per group (G requests, 1 page each when <= 999 apps) and need the
        group ids, so they come after the first groups page, i.e. from round 2 on.
    Round 1 is one $batch of every chain's first page (8 requests <= 20). Every later item (the
    rest of the chains plus the G app listings) packs into $batch rounds of 20 as the chains
    allow: rounds = max(longest remaining chain, ceil(remaining items / 20)). A round with one
    item could be a plain GET, which is still one HTTP request. Token requests (one OAuth
    client-credentials POST per tenant, plus msal's OpenID discovery GET) are not counted, as
    SyncReport.requests does not count them (services/graph.py counts Graph calls only).
    """
    U, G = s["users"], s["groups"]
    chains = [pages(U, GRAPH_MAX_TOP), pages(U, SIGN_IN_TOP), pages(G, GRAPH_MAX_TOP),
              pages(s["role_definitions"], GRAPH_MAX_TOP), pages(s["role_assignments"], GRAPH_MAX_TOP),
              1, 1, 1]                                    # organization, domains, subscribedSkus
    first_round = len(chains)                               # 8: one $batch
    assert first_round <= BATCH_LIMIT
    apps = sum(pages(a, GRAPH_MAX_TOP) for a in s["group_apps"])
    rest_items = sum(c - 1 for c in chains) + apps
    rest_chain = max([c - 1 for c in chains] + [1 if apps else 0])
    later_rounds = max(rest_chain, math.ceil(rest_items / BATCH_LIMIT)) if rest_items else 0
    # The per-resource count (no sharing of $batch rounds between resources): the core five in
    # one $batch, each listing's pages on their own, app role assignments 20 groups a $batch.
    per_resource = (1 + pages(U, GRAPH_MAX_TOP) + pages(U, SIGN_IN_TOP) + pages(G, GRAPH_MAX_TOP)
                    + math.ceil(G / BATCH_LIMIT))
    return {"strict": 1 + later_rounds, "per_resource": per_resource}


def min_requests(sizes: dict) -> dict:
    per = [min_requests_tenant(s) for s in sizes["tenants"].values()]
    # Discovery: the partner's active GDAP relationships, one page of up to 100 (Graph's default
    # for delegatedAdminRelationships); SyncReport.requests counts it.
    discovery = pages(sizes["active_relationships"], 100)
    return {"strict": discovery + sum(p["strict"] for p in per),
            "per_resource": discovery + sum(p["per_resource"] for p in per),
            "discovery": discovery, "per_tenant_strict": sorted({p["strict"] for p in per}),
            "per_tenant_per_resource": sorted({p["per_resource"] for p in per})}


# ---- main ------------------------------------------------------------------------------------

def best_of(runs: list[dict]) -> dict:
    """The fastest run's figures, with every run's seconds; memory from the first run (the
    process's RSS only grows across runs)."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["all_seconds"] = [r["seconds"] for r in runs]
    for key in ("peak_rss_mb", "rss_delta_mb"):
        best[key] = runs[0][key]
    assert len({r["requests"] for r in runs}) == 1, "request counts differ between runs"
    return best


def table(figures: dict) -> str:
    lines = []
    head = (f"{'latency':>8} {'ours s':>8} {'ours req':>9} {'ours MB':>8} {'sdk s*':>9} "
            f"{'floor s':>8} {'ours/floor':>11} {'sdk/ours':>9} {'req/min':>8}")
    lines.append(head)
    for lat, f in figures["runs"].items():
        r = f["ratios"]
        lines.append(f"{lat:>8} {f['ours']['seconds']:>8.2f} {f['ours']['requests']:>9} "
                     f"{f['ours']['peak_rss_mb']:>8.1f} {f['sdk']['seconds']:>9.1f} "
                     f"{f['floor']['seconds']:>8.2f} {r['ours_over_floor']:>10.2f}x "
                     f"{r['sdk_over_ours']:>8.1f}x {r['requests_over_minimum']:>7.2f}x")
    for lat, f in figures["runs"].items():
        lines.append(f"{lat:>8} ours runs {f['ours']['all_seconds']} s, floor runs "
                     f"{f['floor']['all_seconds']} s; sdk slice {f['sdk']['slice_seconds']} s for "
                     f"{f['sdk']['slice_tenants']} tenant(s), {f['sdk']['slice_requests']} requests; "
                     f"load average {f['loadavg_before'][0]} -> {f['loadavg_after'][0]}")
    m = figures["minimum_requests"]
    t = figures["targets"]
    lines.append(f"targets: ours/floor <= {t['ours_over_floor']}x, sdk/ours >= {t['sdk_over_ours']}x, "
                 f"requests/min <= {t['requests_over_minimum']}x")
    lines.append(f"* sdk: measured on {figures['sdk_tenants']} tenant(s), scaled linearly to "
                 f"{figures['tenants']} tenants")
    lines.append(f"minimum HTTP requests: {m['strict']} (strict: shared $batch rounds; per tenant "
                 f"{m['per_tenant_strict']} + {m['discovery']} discovery); per-resource count "
                 f"{m['per_resource']} (ours/per-resource = "
                 f"{list(figures['runs'].values())[0]['ours']['requests'] / m['per_resource']:.2f}x)")
    lines.append(f"({figures['tenants']} tenants x {figures['users_per_tenant']} users, "
                 f"{figures['groups_per_tenant']} groups each; emulator "
                 f"{'in this process' if figures['in_process'] else 'in a child process'}; "
                 f"{figures['cores']} cores; commit {figures['commit']}; ours and floor: best of {figures['repeat']} runs; "
                 f"floor tokens fetched before timing)")
    return "\n".join(lines)


def code_version() -> str:
    """The commit the measured code comes from (plus '+dirty' when services/ has local edits)."""
    import subprocess
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "services"], cwd=ROOT,
                               text=True, capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--sdk-tenants", type=int, default=10)
    parser.add_argument("--sdk-top", type=int, default=None,
                        help="$top for the SDK's listings (default: none, Graph's page of 100)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of ours and of the floor per latency; the fastest counts")
    parser.add_argument("--latencies", default="0,50", help="emulator latencies in ms")
    parser.add_argument("--in-process", action="store_true",
                        help="serve the emulator from a thread of this process")
    parser.add_argument("--profile", type=Path, default=None,
                        help="also write a pyinstrument profile of our sync per latency into this folder "
                             "(an extra untimed pass; pip install pyinstrument)")
    args = parser.parse_args(argv)
    latencies = [float(x) for x in args.latencies.split(",") if x.strip()]
    figures = {"bench": "baselines", "tenants": args.tenants, "users_per_tenant": args.users,
               "groups_per_tenant": args.groups, "sdk_tenants": min(args.sdk_tenants, args.tenants),
               "cores": os.cpu_count(), "in_process": args.in_process, "repeat": args.repeat,
               "date": time.strftime("%Y-%m-%d"), "commit": code_version(), "targets": TARGETS,
               "runs": {}}
    host = LocalEmulator if args.in_process else RemoteEmulator
    with tempfile.TemporaryDirectory(prefix="bench-baselines-") as tmp, \
            host(tenants=args.tenants, users_per_tenant=args.users, groups_per_tenant=args.groups,
                 seed=SEED, latency_ms=0) as emu:
        folder = Path(tmp)
        figures["emulator_start_seconds"] = round(emu.start_seconds, 1)
        sizes = emu.sizes()
        minimum = figures["minimum_requests"] = min_requests(sizes)
        tenant_ids = list(emu.tenant_ids)
        for latency in latencies:
            emu.set_faults(latency_ms=latency)
            name = f"{latency:g}ms"
            load_before = [round(x, 2) for x in os.getloadavg()]
            ours_runs, floor_runs = [], []
            for i in range(args.repeat):
                # Interleaved, so that a neighbour's load on the machine hits both alike.
                print(f"[{name}] our full sync ({i + 1}/{args.repeat}) ...", file=sys.stderr, flush=True)
                ours_runs.append(run_ours(emu, folder, f"store-{name}-{i}"))
                print(f"[{name}] floor ({i + 1}/{args.repeat}) ...", file=sys.stderr, flush=True)
                floor_runs.append(run_floor(emu, tenant_ids))
            ours, floor = best_of(ours_runs), best_of(floor_runs)
            print(f"[{name}] msgraph-sdk on {figures['sdk_tenants']} tenant(s) ...",
                  file=sys.stderr, flush=True)
            sdk = run_sdk(emu, tenant_ids[:figures["sdk_tenants"]], len(tenant_ids), args.sdk_top)
            figures["runs"][name] = {
                "ours": ours, "sdk": sdk, "floor": floor,
                "loadavg_before": load_before, "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                "ratios": {"ours_over_floor": round(ours["seconds"] / floor["seconds"], 2),
                           "sdk_over_ours": round(sdk["seconds"] / ours["seconds"], 1),
                           "requests_over_minimum": round(ours["requests"] / minimum["strict"], 2),
                           "requests_over_per_resource": round(ours["requests"] / minimum["per_resource"], 2)}}
            if args.profile:
                print(f"[{name}] profiling our sync (untimed, sequential) ...", file=sys.stderr, flush=True)
                figures["runs"][name]["ours"]["profiled_sequential_seconds"] = profile_ours(
                    emu, folder, f"profile-{name}", args.profile / f"ours-{name}.txt")
    met = {}
    for name, run in figures["runs"].items():
        r = run["ratios"]
        met[name] = {"ours_over_floor": r["ours_over_floor"] <= TARGETS["ours_over_floor"],
                     "sdk_over_ours": r["sdk_over_ours"] >= TARGETS["sdk_over_ours"],
                     "requests_over_minimum": r["requests_over_minimum"] <= TARGETS["requests_over_minimum"]}
    figures["targets_met"] = met
    print("BENCH " + json.dumps(figures))
    print(table(figures))
    return 0 if all(all(m.values()) for m in met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
