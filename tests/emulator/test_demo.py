"""The demo world: deterministic from the seed, sizes, groups, domains, people; and the speed of
a full listing of a 1,000-user tenant."""
from __future__ import annotations

import time

from emulator import Emulator
from emulator.world import World

from .conftest import Api


def _world(seed, tenants=3, users=None, groups=20) -> World:
    world = World(seed=seed, tenants=tenants, users_per_tenant=users, groups_per_tenant=groups, state_dir=None)
    world.build_all()
    return world


def _fingerprint(world: World) -> list:
    out = []
    for tid, tenant in sorted(world.tenants.items()):
        out.append((tid, tenant.info.display_name,
                    [(u.id, u.p["userPrincipalName"], u.p.get("jobTitle")) for u in tenant.user_list],
                    [(g.id, g.p["displayName"], sorted(g.members)) for g in tenant.group_list],
                    sorted((s["skuPartNumber"], s["prepaidUnits"]["enabled"], s["consumedUnits"])
                           for s in tenant.skus.values())))
    return out


def test_same_seed_same_world_other_seed_other_world():
    assert _fingerprint(_world(42)) == _fingerprint(_world(42))
    assert _fingerprint(_world(42))[0][0] != _fingerprint(_world(43))[0][0]


def test_sizes_are_varied_by_default_and_exact_when_given():
    varied = _world(5, tenants=6)
    sizes = [sum(1 for u in varied.tenant(i.id).user_list if u.deleted is None) for i in varied.customers]
    assert len(varied.customers) == 6 and len(set(sizes)) > 1 and all(15 <= s <= 120 for s in sizes)
    exact = _world(5, tenants=2, users=33, groups=25)
    for info in exact.customers:
        tenant = exact.tenant(info.id)
        assert sum(1 for u in tenant.user_list if u.deleted is None) == 33
        assert len(tenant.group_list) == 25
    assert all(len(_world(5, 1, 10, groups=3).tenant(i.id).group_list) == 3
               for i in _world(5, 1, 10, groups=3).customers)


def test_tenants_have_three_domains_and_distinct_names():
    world = _world(9, tenants=8)
    names = [i.display_name for i in world.customers]
    assert len(set(names)) == 8
    for info in world.customers:
        domains = world.tenant(info.id).domains
        assert [d["isInitial"] for d in domains].count(True) == 1
        assert any(d["isDefault"] and not d["id"].endswith(".onmicrosoft.com") for d in domains)
        assert any(not d["isVerified"] for d in domains)


def test_people_look_real():
    world = _world(12, tenants=1, users=120)
    users = [u for u in world.tenant(world.customers[0].id).user_list]
    assert len({u.p["department"] for u in users}) >= 6
    assert len({u.p["jobTitle"] for u in users}) >= 12
    assert all(" " in u.p["displayName"] and "@" in u.p["userPrincipalName"] for u in users)
    assert len({u.p["userPrincipalName"].lower() for u in users}) == len(users)
    assert sum(1 for u in users if u.manager) > len(users) // 2


def test_listing_a_thousand_users_is_quick():
    with Emulator(tenants=1, users_per_tenant=1000, seed=2, groups_per_tenant=20) as emu:
        api = Api(emu, emu.tenant_ids[0])
        assert len(api.all("groups")) == 20
        params = {"$top": "999", "$select": "id,userPrincipalName,displayName,accountEnabled,assignedLicenses"}
        api.all("users", params=params)                      # builds the JSON cache
        started = time.perf_counter()
        users = api.all("users", params=params)
        elapsed = time.perf_counter() - started
        assert len(users) == 1000
        assert elapsed < 1.0, elapsed
