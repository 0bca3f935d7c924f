"""Graph's replication lag after a create, against the emulator with `replication_lag` on:
follow-up calls on a new user answer 404 Request_ResourceNotFound for a moment, and onboarding
(single and bulk) still creates each user exactly once with every license, group, role and
manager, re-sending only the refused follow-ups."""
from __future__ import annotations

import itertools
import random
from collections import Counter

import pandas as pd
import pytest

from emulator import Emulator
from services import connect
from services.replication import BUDGET_SECONDS, FreshUsers, lag_wait
from tests.helpers import graph_all

_seq = itertools.count(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with Emulator(tenants=1, users_per_tenant=20, seed=23, replication_lag=1.0,
                  state_dir=tmp_path_factory.mktemp("lag-emu")) as emu:
        m365 = connect(emu.config_path)
        m365.sync(progress=False)
        try:
            yield emu, m365
        finally:
            m365.close()


def _facts(m365, tid):
    tenant = m365.tenants().set_index("tenant_id").loc[tid]
    lic = m365.licenses(tid).sort_values("available", ascending=False).iloc[0]
    groups = m365.groups(tid)
    writable = groups[groups["writable"] == True]["display_name"].head(2).tolist()  # noqa: E712
    manager = m365.users(tid).iloc[0]["user_principal_name"]
    return tenant["default_domain"], lic["sku_part_number"], lic["sku_id"], writable, manager


def _writes(emu, tid, method, suffix):
    return [p for t, m, p in emu.writes(tid) if m == method and p.lower().endswith(suffix.lower())]


def _creates(emu, tid) -> int:
    """Successful POST /users so far (plain requests and $batch items alike)."""
    return sum(1 for _t, m, p in emu.writes(tid) if m == "POST" and p.strip("/").lower() == "users")


def test_emulator_replication_lag_answers_graphs_404_on_a_new_user(world):
    emu, _m365 = world
    tid = emu.tenant_ids[0]
    session = emu.session(tid)
    domain = graph_all(emu, tid, "domains")[0]["id"]
    misses = 0
    for _ in range(6):
        n = next(_seq)
        created = session.post(f"{emu.graph_url}/users", json={
            "accountEnabled": True, "displayName": f"Raw Lag {n}", "mailNickname": f"rawlag{n}",
            "userPrincipalName": f"rawlag{n}@{domain}", "usageLocation": "US",
            "passwordProfile": {"password": "Lag-Pa55word!x9"}}).json()
        answer = session.post(f"{emu.graph_url}/users/{created['id']}/assignLicense",
                              json={"addLicenses": [], "removeLicenses": []})
        if answer.status_code == 404:
            misses += 1
            error = answer.json()["error"]
            assert error["code"] == "Request_ResourceNotFound"
            assert error["message"] == (f"Resource '{created['id']}' does not exist or one of its "
                                        "queried reference-property objects are not present.")
        # The user itself reads fine: lag never hides it from a lookup by name.
        assert session.get(f"{emu.graph_url}/users/rawlag{n}@{domain}").status_code == 200
    assert misses > 0


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_onboarding_under_replication_lag_creates_once_with_every_license_group_role(world):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    domain, sku, sku_id, groups, manager = _facts(m365, tid)
    before, creates = emu.stats()["replication_404"], _creates(emu, tid)
    upns = []
    for _ in range(4):
        n = next(_seq)
        user = {"given_name": "Lag", "surname": f"Person{n}", "username": f"lag.person{n}",
                "domain": domain, "usage_location": "US", "manager": manager}
        plan = m365.plan_onboarding(tid, user=user, licenses=[sku], groups=groups,
                                    roles=["Helpdesk Administrator"])
        assert plan.problems == [], plan
        result = plan.apply(refresh_store=False)
        assert result.ok, result
        upns.append((f"lag.person{n}@{domain}".lower(), result.user_id))
    assert emu.stats()["replication_404"] > before, "the lag never struck: the test proves nothing"
    assert m365.graph.stats.total("lagged") > 0
    assert _creates(emu, tid) - creates == len(upns)
    by_upn = Counter(u["userPrincipalName"].lower() for u in graph_all(
        emu, tid, "users", **{"$filter": "startswith(userPrincipalName,'lag.person')",
                              "$select": "userPrincipalName"}))
    for upn, uid in upns:
        assert by_upn[upn] == 1
        assert len(_writes(emu, tid, "POST", f"users/{uid}/assignlicense")) == 1
        licenses = graph_all(emu, tid, f"users/{uid}/licenseDetails")
        assert [d["skuId"].lower() for d in licenses] == [sku_id.lower()]
        member_of = {g["displayName"] for g in graph_all(emu, tid, f"users/{uid}/memberOf")}
        assert set(groups) <= member_of
        assert len(_writes(emu, tid, "PUT", f"users/{uid}/manager/$ref")) == 1
    roles = _writes(emu, tid, "POST", "roleManagement/directory/roleAssignments")
    assert len(roles) == len(upns)


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_bulk_onboarding_under_replication_lag_creates_each_user_once_with_all(world, tmp_path):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    domain, sku, sku_id, groups, _manager = _facts(m365, tid)
    before, creates = emu.stats()["replication_404"], _creates(emu, tid)
    upns = [f"lagbulk{i:03d}@{domain}" for i in range(30)]
    csv = tmp_path / "lag.csv"
    pd.DataFrame([{"User Name": u, "First Name": "Lag", "Last Name": f"Bulk {i}", "Tenant": tid,
                   "Usage Location": "NL", "Licenses": sku, "Groups": ";".join(groups)}
                  for i, u in enumerate(upns)]).to_csv(csv, index=False)
    plan = m365.bulk_onboard(csv)
    assert not plan.problems, plan.problems[:3]
    result = plan.apply(progress=False)
    assert result.ok, result.failed().to_string()
    assert emu.stats()["replication_404"] > before
    users = graph_all(emu, tid, "users", **{"$filter": "startswith(userPrincipalName,'lagbulk')",
                                            "$select": "id,userPrincipalName,assignedLicenses",
                                            "$top": "999"})
    assert sorted(u["userPrincipalName"].lower() for u in users) == sorted(upns)   # once each
    assert all([a["skuId"].lower() for a in u["assignedLicenses"]] == [sku_id.lower()]
               for u in users)
    gids = m365.groups(tid).set_index("display_name").loc[groups, "id"].tolist()
    for gid in gids:
        members = {m["id"] for m in graph_all(emu, tid, f"groups/{gid}/members", **{"$select": "id"})}
        assert {u["id"] for u in users} <= members
    assert _creates(emu, tid) - creates == len(upns)            # no create was sent twice


def test_replication_rule_ignores_404s_on_users_not_created_here_and_other_codes():
    now = [100.0]
    fresh = FreshUsers(clock=lambda: now[0])
    fresh.saw_create("POST", "https://graph.example/v1.0/users", {"id": "ABC-1"})
    path = "https://graph.example/v1.0/users/abc-1/assignLicense"
    assert fresh.lagging(404, "Request_ResourceNotFound", "POST", path, None)
    assert fresh.lagging(404, "Request_ResourceNotFound", "POST", "groups/g/members/$ref",
                         {"@odata.id": "https://graph.example/v1.0/directoryObjects/abc-1"})
    assert not fresh.lagging(404, "Request_ResourceNotFound", "POST", "users/other/assignLicense", None)
    # A read that answers 404 for "none" (no manager yet) is no lag; authentication methods are.
    assert not fresh.lagging(404, "Request_ResourceNotFound", "GET", "users/abc-1/manager", None)
    assert not fresh.lagging(404, "Request_ResourceNotFound", "DELETE",
                             "groups/g/members/abc-1/$ref", None)
    assert fresh.lagging(404, "Request_ResourceNotFound", "GET",
                         "users/abc-1/authentication/temporaryAccessPassMethods", None)
    assert not fresh.lagging(404, "ResourceNotFound", "POST", path, None)
    assert not fresh.lagging(400, "Request_ResourceNotFound", "POST", path, None)
    fresh.saw_create("PATCH", "users/zzz", {"id": "zzz"})           # not a create
    assert not fresh.lagging(404, "Request_ResourceNotFound", "POST", "users/zzz/assignLicense", None)
    now[0] += 10_000                                                 # long ago: a real 404
    assert not fresh.lagging(404, "Request_ResourceNotFound", "POST", path, None)


def test_replication_wait_is_bounded_by_the_budget():
    rng = random.Random(1)
    spent, tries = 0.0, 0
    while (wait := lag_wait(tries, spent, rng)) is not None:
        spent, tries = spent + wait, tries + 1
    assert 5.0 < spent <= BUDGET_SECONDS and tries < 12
