"""OData details checked against Microsoft's v1.0 docs: `@odata.context` carries the `$select`
list on every resource, `$select` takes every v1.0 user property, the user's appRoleAssignments
and one sign-in by id exist, and hybrid (synced) users refuse AD-mastered writes."""
from __future__ import annotations

import re

import pytest

from emulator.schema import USER_ON_PREMISES_MASTERED, USER_PROPERTIES

from .conftest import graph_error, new_user

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MSG_SYNCED = ("Unable to update the specified properties for on-premises mastered Directory Sync "
              "objects or objects currently undergoing migration.")


def context(body: dict) -> str:
    return body["@odata.context"].split("$metadata#", 1)[1]


def synced_users(api) -> list[dict]:
    return [u for u in api.all("users", params={
        "$select": "id,userPrincipalName,onPremisesSyncEnabled,onPremisesImmutableId,"
                   "onPremisesSamAccountName,onPremisesLastSyncDateTime,onPremisesDomainName,"
                   "onPremisesSecurityIdentifier,onPremisesUserPrincipalName,"
                   "onPremisesDistinguishedName"})
            if u["onPremisesSyncEnabled"]]


@pytest.mark.parametrize("path, select, expected", [
    ("organization", "id,displayName", "organization(id,displayName)"),
    ("domains", "id,isDefault", "domains(id,isDefault)"),
    ("roleManagement/directory/roleDefinitions", "id,displayName",
     "roleManagement/directory/roleDefinitions(id,displayName)"),
    ("roleManagement/directory/roleAssignments", "id,principalId",
     "roleManagement/directory/roleAssignments(id,principalId)"),
    ("directory/deletedItems/microsoft.graph.user", "id,displayName,deletedDateTime",
     "users(id,displayName,deletedDateTime)"),
    ("auditLogs/signIns", "id,userId", "auditLogs/signIns(id,userId)"),
])
def test_context_carries_select_list_on_tenant_resources(api, path, select, expected):
    body = api.ok("GET", path, params={"$select": select})
    assert context(body) == expected
    assert body["value"] and all(set(v) - {"@odata.type"} == set(select.split(","))
                                 for v in body["value"])


def test_context_carries_select_list_on_group_members_and_app_assignments(api):
    group = next(g for g in api.all("groups", params={"$select": "id,displayName"})
                 if api.ok("GET", f"groups/{g['id']}/appRoleAssignments")["value"])
    members = api.ok("GET", f"groups/{group['id']}/members", params={"$select": "id,displayName"})
    assert context(members) == "directoryObjects(id,displayName)"
    apps = api.ok("GET", f"groups/{group['id']}/appRoleAssignments",
                  params={"$select": "id,resourceId"})
    assert context(apps) == f"groups('{group['id']}')/appRoleAssignments(id,resourceId)"


def test_context_without_select_names_the_plain_entity_set(api):
    assert context(api.ok("GET", "organization")) == "organization"
    assert context(api.ok("GET", "domains")) == "domains"


def test_entity_context_carries_select_list(api, tid):
    org = api.ok("GET", f"organization/{tid}", params={"$select": "id"})
    assert context(org) == "organization(id)/$entity" and set(org) == {"@odata.context", "id"}
    domain = api.ok("GET", "domains")["value"][0]["id"]
    one = api.ok("GET", f"domains/{domain}", params={"$select": "id,isVerified"})
    assert context(one) == "domains(id,isVerified)/$entity"


def test_select_accepts_every_v1_user_property(api):
    body = api.ok("GET", "users", params={"$select": ",".join(USER_PROPERTIES), "$top": "5"})
    assert body["value"] and all(set(u) == set(USER_PROPERTIES) for u in body["value"])


def test_select_unmodelled_user_properties_answer_graph_defaults(api):
    props = ("employeeOrgData,preferredDataLocation,onPremisesExtensionAttributes,skills,"
             "preferredName,employeeLeaveDateTime,onPremisesProvisioningErrors")
    user = api.ok("GET", "users", params={"$select": props, "$top": "1"})["value"][0]
    assert user["employeeOrgData"] is None and user["preferredDataLocation"] is None
    assert user["skills"] == [] and user["onPremisesProvisioningErrors"] == []
    assert user["preferredName"] == ""
    assert set(user["onPremisesExtensionAttributes"]) == {f"extensionAttribute{n}"
                                                         for n in range(1, 16)}


def test_select_unknown_user_property_still_answers_400(api):
    graph_error(api.get("users", params={"$select": "id,favouriteColour"}), 400)


def test_user_app_role_assignments_list_direct_groups_apps(api):
    group = next(g for g in api.all("groups", params={"$select": "id"})
                 if api.ok("GET", f"groups/{g['id']}/appRoleAssignments")["value"]
                 and api.ok("GET", f"groups/{g['id']}/members")["value"])
    member = api.ok("GET", f"groups/{group['id']}/members")["value"][0]["id"]
    body = api.ok("GET", f"users/{member}/appRoleAssignments")
    assert context(body) == f"users('{member}')/appRoleAssignments"
    row = next(a for a in body["value"] if a["principalId"] == group["id"])
    assert row["principalType"] == "Group" and GUID.match(row["resourceId"])
    assert GUID.match(row["appRoleId"]) and row["resourceDisplayName"]
    picked = api.ok("GET", f"users/{member}/appRoleAssignments",
                    params={"$select": "id,resourceDisplayName"})
    assert context(picked).endswith("/appRoleAssignments(id,resourceDisplayName)")


def test_user_app_role_assignments_of_unknown_user_answer_404(api):
    graph_error(api.get("users/00000000-0000-4000-8000-000000000000/appRoleAssignments"), 404,
                "Request_ResourceNotFound")


def test_sign_in_by_id_answers_the_listed_event(api):
    listed = api.ok("GET", "auditLogs/signIns", params={"$top": "3"})["value"]
    one = api.ok("GET", f"auditLogs/signIns/{listed[1]['id']}")
    assert context(one) == "auditLogs/signIns/$entity"
    assert {k: v for k, v in one.items() if k != "@odata.context"} == listed[1]
    picked = api.ok("GET", f"auditLogs/signIns/{listed[0]['id']}", params={"$select": "id,userId"})
    assert set(picked) == {"@odata.context", "id", "userId"}


def test_sign_in_by_unknown_id_answers_404(api):
    graph_error(api.get("auditLogs/signIns/00000000-0000-4000-8000-000000000000"), 404)


def test_demo_has_synced_users_with_on_premises_properties(api):
    users = synced_users(api)
    assert 2 <= len(users) <= 5
    for user in users:
        assert user["onPremisesImmutableId"] and user["onPremisesSamAccountName"]
        assert ISO.match(user["onPremisesLastSyncDateTime"])
        assert user["onPremisesSecurityIdentifier"].startswith("S-1-5-21-")
        assert user["onPremisesDistinguishedName"].startswith("CN=")
        assert user["onPremisesUserPrincipalName"].endswith(user["onPremisesDomainName"])
    filtered = api.ok("GET", "users", params={"$select": "id", "$count": "true",
                                              "$filter": "onPremisesSyncEnabled eq true"},
                      headers={"ConsistencyLevel": "eventual"})
    assert filtered["@odata.count"] == len(users)


@pytest.mark.parametrize("prop, value", [("jobTitle", "Boss"), ("displayName", "New Name"),
                                         ("department", "Sales"), ("mobilePhone", "+1 555 0100")])
def test_patch_of_on_premises_mastered_property_of_synced_user_is_400(api, prop, value):
    assert prop in USER_ON_PREMISES_MASTERED
    user = synced_users(api)[0]
    error = graph_error(api.patch(f"users/{user['id']}", json={prop: value}), 400,
                        "Request_BadRequest")
    assert error["message"] == MSG_SYNCED
    again = api.ok("GET", f"users/{user['id']}", params={"$select": prop})
    assert again[prop] != value


def test_patch_of_cloud_owned_property_of_synced_user_is_allowed(api):
    user = synced_users(api)[0]
    assert api.patch(f"users/{user['id']}", json={"usageLocation": "CA"}).status_code == 204
    assert api.ok("GET", f"users/{user['id']}", params={"$select": "usageLocation"})[
        "usageLocation"] == "CA"


def test_password_reset_of_synced_user_is_400(api):
    user = synced_users(api)[0]
    resp = api.patch(f"users/{user['id']}", json={"passwordProfile": {
        "password": "Zq8!mNb4#rT6", "forceChangePasswordNextSignIn": True}})
    assert graph_error(resp, 400, "Request_BadRequest")["message"] == MSG_SYNCED


def test_delete_of_synced_user_is_refused_and_user_stays(api):
    user = synced_users(api)[0]
    assert graph_error(api.delete(f"users/{user['id']}"), 400)["message"] == MSG_SYNCED
    assert api.ok("GET", f"users/{user['id']}", params={"$select": "id"})["id"] == user["id"]


def test_manager_write_of_synced_user_is_400(api):
    user = synced_users(api)[0]
    other = new_user(api)
    resp = api.call("PUT", f"users/{user['id']}/manager/$ref",
                    json={"@odata.id": f"{api.emu.graph_url}/users/{other['id']}"})
    assert graph_error(resp, 400)["message"] == MSG_SYNCED


def test_cloud_user_edits_of_same_properties_succeed(api):
    user = new_user(api)
    assert api.patch(f"users/{user['id']}", json={"jobTitle": "Boss"}).status_code == 204
    assert api.delete(f"users/{user['id']}").status_code == 204
