"""Delta queries: pages then a deltaLink, only changes afterwards (with removals), members@delta,
410 syncStateNotFound for expired or foreign tokens, page size by Prefer."""
from __future__ import annotations

import pytest

from emulator import Emulator

from .conftest import Api, graph_error, new_user


@pytest.fixture(scope="module")
def emu():
    with Emulator(tenants=2, users_per_tenant=60, seed=23, groups_per_tenant=8) as emulator:
        yield emulator


def run(api: Api, url: str, params=None, headers=None) -> tuple[list[dict], str, int]:
    """Follow a delta round to its end: (items, deltaLink, pages)."""
    items, pages = [], 0
    while True:
        resp = api.get(url, params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body["value"]
        pages += 1
        params = None
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return items, body["@odata.deltaLink"], pages
        url = body["@odata.nextLink"]


def test_users_delta_full_round_then_changes(emu):
    api = Api(emu, emu.tenant_ids[0])
    items, link, pages = run(api, "users/delta", {"$select": "displayName,jobTitle"})
    assert pages == 1 and len(items) == 60
    assert all(set(i) == {"id", "displayName", "jobTitle"} for i in items)
    assert "/users/delta?$deltatoken=" in link
    changes, link, _ = run(api, link)
    assert changes == []
    created = new_user(api)
    victim = items[3]["id"]
    edited = items[4]["id"]
    api.patch(f"users/{edited}", json={"jobTitle": "Chief Delta Officer"})
    api.delete(f"users/{victim}")
    changes, link, _ = run(api, link)
    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {created["id"], victim, edited}
    assert by_id[edited]["jobTitle"] == "Chief Delta Officer"
    assert by_id[victim] == {"id": victim, "@removed": {"reason": "changed"}}
    assert by_id[created["id"]]["displayName"] == created["displayName"]
    # Purged from the recycle bin: removed for good.
    api.delete(f"directory/deletedItems/{victim}")
    changes, link, _ = run(api, link)
    assert changes == [{"id": victim, "@removed": {"reason": "deleted"}}]
    # A restore shows the user again.
    other = new_user(api)
    run(api, link)
    api.delete(f"users/{other['id']}")
    api.post(f"directory/deletedItems/{other['id']}/restore")
    changes, _, _ = run(api, link)
    assert {c["id"] for c in changes if "@removed" not in c} >= {other["id"]}


def test_page_size_follows_prefer(emu):
    api = Api(emu, emu.tenant_ids[1])
    items, _, pages = run(api, "users/delta", {"$select": "id"})
    assert pages == 1
    small, _, pages = run(api, "users/delta", {"$select": "id"}, headers={"Prefer": "odata.maxpagesize=7"})
    assert pages == 9 and sorted(i["id"] for i in small) == sorted(i["id"] for i in items)
    resp = api.get("users/delta", params={"$select": "id"}, headers={"Prefer": "odata.maxpagesize=7"})
    assert resp.headers["Preference-Applied"] == "odata.maxpagesize=7"
    assert "$skiptoken=" in resp.json()["@odata.nextLink"]


def test_latest_token_skips_the_initial_read(emu):
    api = Api(emu, emu.tenant_ids[1])
    body = api.ok("GET", "users/delta", params={"$deltatoken": "latest", "$select": "displayName"})
    assert body["value"] == [] and "@odata.deltaLink" in body
    user = new_user(api)
    changes, _, _ = run(api, body["@odata.deltaLink"])
    assert [c["id"] for c in changes] == [user["id"]]


def test_groups_delta_with_members(emu):
    api = Api(emu, emu.tenant_ids[0])
    items, link, _ = run(api, "groups/delta", {"$select": "displayName,members"})
    assert len(items) == 8
    vpn = next(g for g in items if g["displayName"] == "SG-VPN Users")
    everyone = next(g for g in items if g["displayName"] == "All Company")
    assert len(everyone["members@delta"]) == len(api.all(f"groups/{everyone['id']}/members", params={"$select": "id"}))
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in everyone["members@delta"])
    joiner = new_user(api)
    api.post(f"groups/{vpn['id']}/members/$ref",
             json={"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{joiner['id']}"})
    leaver = vpn["members@delta"][0]["id"]
    api.delete(f"groups/{vpn['id']}/members/{leaver}/$ref")
    changes, link, _ = run(api, link)
    changed_vpn = next(g for g in changes if g["id"] == vpn["id"])
    members = {m["id"]: m for m in changed_vpn["members@delta"]}
    assert members[joiner["id"]] == {"@odata.type": "#microsoft.graph.user", "id": joiner["id"]}
    assert members[leaver]["@removed"] == {"reason": "deleted"}
    # A deleted user leaves every group it was in.
    groups_of_joiner = {o["id"] for o in api.all(f"users/{joiner['id']}/memberOf")}
    api.delete(f"users/{joiner['id']}")
    changes, link, _ = run(api, link)
    removed = {g["id"] for g in changes for m in g.get("members@delta", ())
               if m["id"] == joiner["id"] and "@removed" in m}
    assert removed == groups_of_joiner
    rename = api.patch(f"groups/{vpn['id']}", json={"description": "VPN access"})
    assert rename.status_code == 204
    changes, _, _ = run(api, link)
    assert [g["id"] for g in changes] == [vpn["id"]] and changes[0]["members@delta"] == []


def test_expired_and_foreign_tokens_are_gone(emu):
    api = Api(emu, emu.tenant_ids[0])
    _, link, _ = run(api, "users/delta", {"$select": "id"})
    first = api.ok("GET", "users/delta", params={"$select": "id"}, headers={"Prefer": "odata.maxpagesize=5"})
    next_link = first["@odata.nextLink"]
    # A token minted for tenant A is not valid for tenant B.
    other = Api(emu, emu.tenant_ids[1])
    graph_error(other.get(link), 410, "syncStateNotFound")
    graph_error(api.get("users/delta", params={"$deltatoken": "garbage"}), 410, "syncStateNotFound")
    graph_error(api.get(link.replace("users/delta", "groups/delta")), 410, "syncStateNotFound")
    emu.expire_delta_tokens()
    graph_error(api.get(link), 410, "syncStateNotFound")
    graph_error(api.get(next_link), 410, "syncStateNotFound")
    # Starting over works.
    items, _, _ = run(api, "users/delta", {"$select": "id"})
    assert items
