"""/users: listing rules (paging, $top, $select, $filter, advanced queries), CRUD and its
errors, deleted items and restore, manager, memberOf, devices, sessions and sign-ins."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from .conftest import graph_error, new_user

EVENTUAL = {"ConsistencyLevel": "eventual"}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_default_page_is_100_and_next_links_reach_every_user():
    from emulator import Emulator

    from .conftest import Api
    with Emulator(tenants=1, users_per_tenant=250, seed=5, groups_per_tenant=3) as emu:
        api = Api(emu, emu.tenant_ids[0])
        first = api.ok("GET", "users")
        assert len(first["value"]) == 100 and "@odata.nextLink" in first
        assert "$skiptoken=" in first["@odata.nextLink"]
        users = api.all("users")
        assert len(users) == 250 and len({u["id"] for u in users}) == 250
        big = api.ok("GET", "users", params={"$top": "999", "$select": "id"})
        assert len(big["value"]) == 250 and "@odata.nextLink" not in big
        pages = api.ok("GET", "users", params={"$top": "125"})
        second = api.ok("GET", pages["@odata.nextLink"])
        assert len(second["value"]) == 125 and "@odata.nextLink" not in second


def test_top_limits(api):
    graph_error(api.get("users", params={"$top": "1000"}), 400, "Request_UnsupportedQuery")
    graph_error(api.get("users", params={"$top": "0"}), 400)
    assert len(api.ok("GET", "users", params={"$top": "999"})["value"]) == 40
    # signInActivity caps $top at 500.
    graph_error(api.get("users", params={"$select": "id,signInActivity", "$top": "999"}), 400)
    assert api.ok("GET", "users", params={"$select": "id,signInActivity", "$top": "500"})["value"]


def test_default_properties_and_select(api):
    user = api.ok("GET", "users", params={"$top": "1"})["value"][0]
    assert set(user) == {"businessPhones", "displayName", "givenName", "jobTitle", "mail",
                         "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                         "userPrincipalName", "id"}
    picked = api.ok("GET", "users", params={"$top": "2", "$select": "ID,accountEnabled,usageLocation"})
    assert set(picked["value"][0]) == {"id", "accountEnabled", "usageLocation"}
    assert picked["@odata.context"].endswith("$metadata#users(id,accountEnabled,usageLocation)")
    err = graph_error(api.get("users", params={"$select": "id,shoeSize"}), 400)
    assert "shoeSize" in err["message"]


def test_filters(api):
    users = api.all("users", params={"$select": "id,displayName,givenName,accountEnabled,department,"
                                                 "usageLocation,userPrincipalName", "$top": "999"})
    some = users[5]
    by_upn = api.ok("GET", "users", params={"$filter": f"userPrincipalName eq '{some['userPrincipalName'].upper()}'"})
    assert [u["id"] for u in by_upn["value"]] == [some["id"]]
    disabled = api.all("users", params={"$filter": "accountEnabled eq false", "$select": "id,accountEnabled"})
    assert disabled and {u["id"] for u in disabled} == {u["id"] for u in users if not u["accountEnabled"]}
    prefix = some["givenName"][:2]
    starts = api.all("users", params={"$filter": f"startswith(givenName,'{prefix.lower()}')", "$select": "id"})
    assert {u["id"] for u in starts} == {u["id"] for u in users if u["givenName"].lower().startswith(prefix.lower())}
    combined = api.all("users", params={"$filter": "department eq 'Sales' and accountEnabled eq true",
                                        "$select": "id"})
    assert {u["id"] for u in combined} == {u["id"] for u in users
                                           if u["department"] == "Sales" and u["accountEnabled"]}
    quoted = api.ok("GET", "users", params={"$filter": "displayName eq 'O''Brien'"})
    assert quoted["value"] == []
    graph_error(api.get("users", params={"$filter": "shoeSize eq 4"}), 400, "Request_UnsupportedQuery")
    graph_error(api.get("users", params={"$filter": "displayName eq"}), 400)


def test_advanced_queries_need_consistency_level(api):
    ne = {"$filter": "accountEnabled ne true", "$count": "true", "$select": "id"}
    graph_error(api.get("users", params=ne), 400, "Request_UnsupportedQuery")
    graph_error(api.get("users", params={**ne, "$count": None}, headers=EVENTUAL), 400,
                "Request_UnsupportedQuery")
    answer = api.ok("GET", "users", params=ne, headers=EVENTUAL)
    assert answer["@odata.count"] == len(answer["value"]) > 0
    ends = {"$filter": "endswith(userPrincipalName,'.onmicrosoft.com')", "$count": "true"}
    graph_error(api.get("users", params=ends), 400, "Request_UnsupportedQuery")
    assert api.ok("GET", "users", params=ends, headers=EVENTUAL)["@odata.count"] == 0
    graph_error(api.get("users", params={"$filter": "not(accountEnabled eq true)"}), 400,
                "Request_UnsupportedQuery")
    graph_error(api.get("users", params={"$count": "true"}), 400, "Request_BadRequest")
    counted = api.ok("GET", "users", params={"$count": "true", "$top": "5"}, headers=EVENTUAL)
    assert counted["@odata.count"] == 40 and len(counted["value"]) == 5
    raw = api.get("users/$count", headers=EVENTUAL)
    assert raw.status_code == 200 and raw.text == "40"
    graph_error(api.get("users/$count"), 400, "Request_UnsupportedQuery")


def test_orderby_and_search(api):
    ordered = api.all("users", params={"$orderby": "displayName", "$select": "displayName", "$top": "999"})
    names = [u["displayName"].lower() for u in ordered]
    assert names == sorted(names)
    desc = api.ok("GET", "users", params={"$orderby": "displayName desc", "$select": "displayName"})
    assert desc["value"][0]["displayName"].lower() == names[-1]
    with_filter = {"$orderby": "displayName", "$filter": "accountEnabled eq true"}
    graph_error(api.get("users", params=with_filter), 400, "Request_UnsupportedQuery")
    graph_error(api.get("users", params={"$orderby": "createdDateTime"}), 400, "Request_UnsupportedQuery")
    assert api.ok("GET", "users", params={**with_filter, "$count": "true"}, headers=EVENTUAL)["value"]
    term = ordered[3]["displayName"].split()[1][:3]
    search = {"$search": f'"displayName:{term}"', "$select": "displayName"}
    graph_error(api.get("users", params=search), 400, "Request_UnsupportedQuery")
    found = api.all("users", params=search, headers=EVENTUAL)
    assert found and all(any(w.lower().startswith(term.lower()) for w in u["displayName"].split())
                         for u in found)


def test_get_by_id_and_upn(api):
    user = api.ok("GET", "users", params={"$top": "1", "$select": "id,userPrincipalName"})["value"][0]
    assert api.ok("GET", f"users/{user['id']}")["id"] == user["id"]
    assert api.ok("GET", f"users/{user['userPrincipalName'].upper()}")["id"] == user["id"]
    one = api.ok("GET", f"users/{user['id']}", params={"$select": "accountEnabled"})
    assert set(one) == {"@odata.context", "accountEnabled"}
    graph_error(api.get("users/00000000-0000-0000-0000-000000000001"), 404, "Request_ResourceNotFound")
    graph_error(api.get("me"), 400)


def test_create_user_and_its_errors(api):
    created = new_user(api, jobTitle="Tester")
    assert "passwordProfile" not in created and created["jobTitle"] == "Tester"
    upn = created["userPrincipalName"]
    body = {"accountEnabled": True, "displayName": "Dup", "mailNickname": "dup",
            "userPrincipalName": upn.upper(),
            "passwordProfile": {"password": "Xy7!kLm9#pQ2", "forceChangePasswordNextSignIn": True}}
    err = graph_error(api.post("users", json=body), 400, "Request_BadRequest")
    assert err["message"] == ("Another object with the same value for property userPrincipalName "
                              "already exists.")
    assert err["details"] == [{"target": "userPrincipalName", "code": "ObjectConflict"}]
    domains = api.ok("GET", "domains")["value"]
    unverified = next(d["id"] for d in domains if not d["isVerified"])
    err = graph_error(api.post("users", json={**body, "userPrincipalName": f"x@{unverified}"}), 400)
    assert "verified domain" in err["message"]
    graph_error(api.post("users", json={**body, "userPrincipalName": "x@example.org"}), 400)
    weak = {**body, "userPrincipalName": f"weak@{upn.split('@')[1]}", "passwordProfile": {"password": "abc"}}
    assert "password complexity" in graph_error(api.post("users", json=weak), 400)["message"]
    missing = {k: v for k, v in body.items() if k != "mailNickname"}
    assert "mailNickname" in graph_error(api.post("users", json=missing), 400)["message"]
    graph_error(api.post("users", json={**body, "shoeSize": 4}), 400)
    graph_error(api.post("users", data="{not json", headers={"Content-Type": "application/json"}), 400)


def test_update_block_and_password_reset(api):
    user = new_user(api)
    assert api.patch(f"users/{user['id']}", json={"department": "QA", "accountEnabled": False}).status_code == 204
    got = api.ok("GET", f"users/{user['id']}", params={"$select": "department,accountEnabled"})
    assert got["department"] == "QA" and got["accountEnabled"] is False
    reset = {"passwordProfile": {"password": "N3w!Passw0rd#", "forceChangePasswordNextSignIn": True}}
    assert api.patch(f"users/{user['id']}", json=reset).status_code == 204
    graph_error(api.patch(f"users/{user['id']}", json={"id": "x"}), 400)
    graph_error(api.patch(f"users/{user['id']}", json={"assignedLicenses": []}), 400)
    graph_error(api.patch(f"users/{user['id']}", json={"usageLocation": "USA"}), 400)
    revoked = api.ok("POST", f"users/{user['id']}/revokeSignInSessions")
    assert revoked["value"] is True


def test_delete_then_restore_within_30_days(api):
    user = new_user(api)
    uid, upn = user["id"], user["userPrincipalName"]
    assert api.delete(f"users/{uid}").status_code == 204
    graph_error(api.get(f"users/{uid}"), 404)
    graph_error(api.delete(f"users/{uid}"), 404)
    deleted = api.all("directory/deletedItems/microsoft.graph.user")
    mine = next(d for d in deleted if d["id"] == uid)
    assert mine["@odata.type"] == "#microsoft.graph.user"
    assert mine["userPrincipalName"] == uid.replace("-", "") + upn
    assert _time(mine["deletedDateTime"]) > datetime.now(timezone.utc) - timedelta(minutes=5)
    picked = api.ok("GET", "directory/deletedItems/microsoft.graph.user",
                    params={"$select": "id,userPrincipalName,deletedDateTime"})["value"]
    assert all(set(d) == {"@odata.type", "id", "userPrincipalName", "deletedDateTime"} for d in picked)
    restored = api.ok("POST", f"directory/deletedItems/{uid}/restore")
    assert restored["id"] == uid and restored["userPrincipalName"] == upn
    assert api.ok("GET", f"users/{upn}")["id"] == uid
    graph_error(api.post(f"directory/deletedItems/{uid}/restore"), 404)


def test_demo_recycle_bin_holds_recent_deletions(api):
    deleted = api.all("directory/deletedItems/microsoft.graph.user")
    assert deleted
    now = datetime.now(timezone.utc)
    assert all(now - _time(d["deletedDateTime"]) < timedelta(days=30) for d in deleted)


def test_restore_refused_when_upn_was_taken(api):
    user = new_user(api)
    api.delete(f"users/{user['id']}")
    upn = user["userPrincipalName"]
    local = upn.split("@")[0]
    new_user(api, userPrincipalName=upn, mailNickname=local + "x")
    err = graph_error(api.post(f"directory/deletedItems/{user['id']}/restore"), 400)
    assert err["details"][0]["code"] == "ObjectConflict"


def test_manager_and_direct_reports(api):
    boss, worker = new_user(api), new_user(api)
    graph_error(api.get(f"users/{worker['id']}/manager"), 404, "Request_ResourceNotFound")
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{boss['id']}"}
    assert api.call("PUT", f"users/{worker['id']}/manager/$ref", json=ref).status_code == 204
    manager = api.ok("GET", f"users/{worker['id']}/manager", params={"$select": "id"})
    assert manager["id"] == boss["id"]
    reports = api.ok("GET", f"users/{boss['id']}/directReports")["value"]
    assert [r["id"] for r in reports] == [worker["id"]]
    assert api.delete(f"users/{worker['id']}/manager/$ref").status_code == 204
    graph_error(api.get(f"users/{worker['id']}/manager"), 404)


def test_member_of_licenses_devices_and_sign_ins(api):
    users = api.all("users", params={"$select": "id,assignedLicenses,signInActivity", "$top": "500"})
    licensed = next(u for u in users if u["assignedLicenses"] and u.get("signInActivity"))
    member_of = api.all(f"users/{licensed['id']}/memberOf")
    assert member_of and all(o["@odata.type"] in ("#microsoft.graph.group", "#microsoft.graph.directoryRole")
                             for o in member_of)
    details = api.ok("GET", f"users/{licensed['id']}/licenseDetails")["value"]
    assert {d["skuId"] for d in details} == {a["skuId"] for a in licensed["assignedLicenses"]}
    assert all(d["skuPartNumber"] and d["servicePlans"] for d in details)
    devices = [api.ok("GET", f"users/{u['id']}/managedDevices")["value"] for u in users[:15]]
    assert any(devices) and all(d["userId"] for ds in devices for d in ds)
    sign_ins = api.ok("GET", "auditLogs/signIns", params={"$filter": f"userId eq '{licensed['id']}'"})["value"]
    assert sign_ins and all(s["userId"] == licensed["id"] for s in sign_ins)
    assert sign_ins[0]["createdDateTime"] == licensed["signInActivity"]["lastSignInDateTime"]
    admin = api.ok("GET", "users", params={"$filter": "startswith(userPrincipalName,'admin@')",
                                           "$select": "id"})["value"][0]
    roles = [o for o in api.all(f"users/{admin['id']}/memberOf") if o["@odata.type"].endswith("directoryRole")]
    assert any(r["roleTemplateId"] == "62e90394-69f5-4237-9190-012177145e10" for r in roles)


def test_sign_in_activity_spread(emu):
    from .conftest import Api
    users = []
    for tid in emu.tenant_ids:
        users += Api(emu, tid).all("users", params={"$select": "id,signInActivity,accountEnabled,usageLocation,assignedLicenses",
                                                    "$top": "500"})
    never = [u for u in users if not u.get("signInActivity")]
    now = datetime.now(timezone.utc)
    stale = [u for u in users if u.get("signInActivity")
             and now - _time(u["signInActivity"]["lastSignInDateTime"]) > timedelta(days=90)]
    assert never and stale
    assert any(not u["accountEnabled"] for u in users)
    assert any(not u.get("usageLocation") for u in users)
    assert any(not u["assignedLicenses"] for u in users)


@pytest.mark.parametrize("method,path", [("PUT", "users"), ("DELETE", "subscribedSkus")])
def test_unsupported_methods(api, method, path):
    assert api.call(method, path).status_code == 405
