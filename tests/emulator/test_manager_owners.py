"""Manager and direct reports, group owners (add, remove, last-owner rule) and ownedObjects."""
from __future__ import annotations

from .conftest import graph_error, new_user


def _ref(api, uid):
    return {"@odata.id": f"{api.emu.graph_url}/users/{uid}"}


def test_manager_demo_users_have_managers(api):
    users = api.all("users", params={"$top": "999"})
    managed = 0
    for user in users[1:]:
        resp = api.get(f"users/{user['id']}/manager")
        if resp.status_code == 200:
            boss = resp.json()
            assert boss["@odata.type"] == "#microsoft.graph.user"
            reports = api.ok("GET", f"users/{boss['id']}/directReports")["value"]
            assert user["id"] in {r["id"] for r in reports}
            managed += 1
        else:
            graph_error(resp, 404, "Request_ResourceNotFound")
    assert managed > len(users) // 2


def test_manager_refuses_self_unknown_and_other_tenant(api, other):
    worker = new_user(api)
    graph_error(api.call("PUT", f"users/{worker['id']}/manager/$ref", json=_ref(api, worker["id"])), 400)
    graph_error(api.call("PUT", f"users/{worker['id']}/manager/$ref",
                         json=_ref(api, "00000000-0000-4000-8000-000000000000")), 404)
    foreign = other.all("users", params={"$top": "1"})[0]
    graph_error(api.call("PUT", f"users/{worker['id']}/manager/$ref", json=_ref(api, foreign["id"])), 404)
    graph_error(api.call("PUT", f"users/{worker['id']}/manager/$ref", json={"id": "x"}), 400)
    graph_error(api.get(f"users/{worker['id']}/manager"), 404)
    graph_error(api.delete(f"users/{worker['id']}/manager/$ref"), 404)


def test_owners_add_remove_and_last_owner_rule(api):
    group = next(g for g in api.all("groups", params={"$select": "id,displayName,groupTypes"})
                 if api.ok("GET", f"groups/{g['id']}/owners")["value"])
    first = api.ok("GET", f"groups/{group['id']}/owners")["value"]
    newcomer = new_user(api)
    path = f"groups/{group['id']}/owners"
    assert api.post(f"{path}/$ref", json=_ref(api, newcomer["id"])).status_code == 204
    again = graph_error(api.post(f"{path}/$ref", json=_ref(api, newcomer["id"])), 400, "Request_BadRequest")
    assert "'owners'" in again["message"]
    owned = api.ok("GET", f"users/{newcomer['id']}/ownedObjects")["value"]
    assert [o["id"] for o in owned] == [group["id"]]
    assert owned[0]["@odata.type"] == "#microsoft.graph.group"
    for owner in first:
        assert api.delete(f"{path}/{owner['id']}/$ref").status_code == 204
    last = graph_error(api.delete(f"{path}/{newcomer['id']}/$ref"), 400, "Request_BadRequest")
    assert last["message"] == "The group must have at least one owner, hence this owner cannot be removed."
    for owner in first:
        api.post(f"{path}/$ref", json=_ref(api, owner["id"]))
    assert api.delete(f"{path}/{newcomer['id']}/$ref").status_code == 204
    graph_error(api.delete(f"{path}/{newcomer['id']}/$ref"), 404)
    assert api.ok("GET", f"users/{newcomer['id']}/ownedObjects")["value"] == []


def test_owners_demo_groups_belong_to_several_people(api):
    owners = set()
    for group in api.all("groups", params={"$select": "id"}):
        owners.update(o["id"] for o in api.ok("GET", f"groups/{group['id']}/owners")["value"])
    assert len(owners) >= 3
