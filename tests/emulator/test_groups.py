"""Groups (kinds, Teams, members, $ref, members@odata.bind, read-only and dynamic groups,
app role assignments), directory roles, organization and domains."""
from __future__ import annotations

from .conftest import graph_error, new_user

ZERO = "00000000-0000-0000-0000-000000000000"


def ref(uid: str) -> dict:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{uid}"}


def kind(group: dict) -> str:
    if "Unified" in group["groupTypes"]:
        return "microsoft365"
    if group["mailEnabled"]:
        return "mail_security" if group["securityEnabled"] else "distribution"
    return "security"


def by_name(api) -> dict[str, dict]:
    return {g["displayName"]: g for g in api.all("groups")}


def test_every_kind_of_group_exists(emu):
    from .conftest import Api
    for tid in emu.tenant_ids:
        groups = list(by_name(Api(emu, tid)).values())
        assert len(groups) == 20
        kinds = {kind(g) for g in groups}
        assert kinds == {"microsoft365", "security", "mail_security", "distribution"}
        teams = [g for g in groups if "Team" in g["resourceProvisioningOptions"]]
        assert teams and any("Unified" in g["groupTypes"] and g not in teams for g in groups)
        dynamic = [g for g in groups if g["membershipRule"]]
        assert dynamic and all("DynamicMembership" in g["groupTypes"] for g in dynamic)
    partner = Api(emu, emu.partner_tenant_id)
    assert partner.ok("GET", "groups")["value"]


def test_groups_query_options(api):
    teams = api.all("groups", params={"$filter": "resourceProvisioningOptions/Any(x:x eq 'Team')",
                                      "$select": "id,displayName,resourceProvisioningOptions"})
    assert teams and all(t["resourceProvisioningOptions"] == ["Team"] for t in teams)
    unified = api.all("groups", params={"$filter": "groupTypes/any(c:c eq 'Unified')", "$select": "groupTypes"})
    assert unified and all("Unified" in g["groupTypes"] for g in unified)
    one = api.ok("GET", "groups", params={"$filter": "displayName eq 'sg-vpn users'"})["value"]
    assert [g["displayName"] for g in one] == ["SG-VPN Users"]
    assert api.ok("GET", f"groups/{one[0]['id']}")["displayName"] == "SG-VPN Users"
    graph_error(api.get("groups/00000000-0000-0000-0000-00000000000a"), 404)


def test_members_paging_and_types(api):
    everyone = by_name(api)["All Company"]
    members = api.all(f"groups/{everyone['id']}/members", params={"$top": "7"})
    assert len(members) == 40
    assert all(m["@odata.type"] == "#microsoft.graph.user" for m in members)
    picked = api.ok("GET", f"groups/{everyone['id']}/members", params={"$select": "id"})["value"][0]
    assert set(picked) == {"@odata.type", "id"}


def test_add_and_remove_a_member(api):
    group = by_name(api)["SG-VPN Users"]
    user = new_user(api)
    assert api.post(f"groups/{group['id']}/members/$ref", json=ref(user["id"])).status_code == 204
    err = graph_error(api.post(f"groups/{group['id']}/members/$ref", json=ref(user["id"])), 400,
                      "Request_BadRequest")
    assert err["message"] == ("One or more added object references already exist for the following "
                              "modified properties: 'members'.")
    ids = {m["id"] for m in api.all(f"groups/{group['id']}/members", params={"$select": "id"})}
    assert user["id"] in ids
    groups_of_user = [o["id"] for o in api.all(f"users/{user['id']}/memberOf")]
    assert group["id"] in groups_of_user
    assert api.delete(f"groups/{group['id']}/members/{user['id']}/$ref").status_code == 204
    graph_error(api.delete(f"groups/{group['id']}/members/{user['id']}/$ref"), 404, "Request_ResourceNotFound")
    graph_error(api.post(f"groups/{group['id']}/members/$ref",
                         json=ref("00000000-0000-0000-0000-0000000000ff")), 404, "Request_ResourceNotFound")


def test_read_only_kinds_refuse_member_writes(api):
    groups = list(by_name(api).values())
    user = new_user(api)
    for refused in [g for g in groups if kind(g) in ("distribution", "mail_security")]:
        err = graph_error(api.post(f"groups/{refused['id']}/members/$ref", json=ref(user["id"])), 400)
        assert err["message"] == "Cannot Update a mail-enabled security groups and or distribution list."
        member = api.ok("GET", f"groups/{refused['id']}/members", params={"$select": "id"})["value"]
        if member:
            graph_error(api.delete(f"groups/{refused['id']}/members/{member[0]['id']}/$ref"), 400)
        graph_error(api.patch(f"groups/{refused['id']}", json={"members@odata.bind": [ref(user["id"])["@odata.id"]]}), 400)


def test_dynamic_group_refuses_manual_members_and_follows_its_rule(api):
    dynamic = by_name(api)["Dynamic - Sales Department"]
    assert dynamic["membershipRule"] == 'user.department -eq "Sales"'
    user = new_user(api)
    err = graph_error(api.post(f"groups/{dynamic['id']}/members/$ref", json=ref(user["id"])), 400)
    assert "dynamic" in err["message"]
    members = lambda: {m["id"] for m in api.all(f"groups/{dynamic['id']}/members", params={"$select": "id"})}  # noqa: E731
    assert user["id"] not in members()
    api.patch(f"users/{user['id']}", json={"department": "Sales"})
    assert user["id"] in members()
    api.patch(f"users/{user['id']}", json={"department": "Finance"})
    assert user["id"] not in members()


def test_members_odata_bind_is_all_or_nothing(api):
    group = by_name(api)["Social Committee"]
    fresh = [new_user(api) for _ in range(3)]
    urls = [ref(u["id"])["@odata.id"] for u in fresh]
    bad = urls[:2] + ["https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-0000-0000-0000000000ee"]
    graph_error(api.patch(f"groups/{group['id']}", json={"members@odata.bind": bad}), 404)
    current = {m["id"] for m in api.all(f"groups/{group['id']}/members", params={"$select": "id"})}
    assert not current & {u["id"] for u in fresh}
    assert api.patch(f"groups/{group['id']}", json={"members@odata.bind": urls}).status_code == 204
    current = {m["id"] for m in api.all(f"groups/{group['id']}/members", params={"$select": "id"})}
    assert {u["id"] for u in fresh} <= current
    again = graph_error(api.patch(f"groups/{group['id']}", json={"members@odata.bind": urls[:1]}), 400)
    assert "already exist" in again["message"]
    many = [f"https://graph.microsoft.com/v1.0/directoryObjects/{'%08d' % i}-0000-0000-0000-000000000000"
            for i in range(21)]
    err = graph_error(api.patch(f"groups/{group['id']}", json={"members@odata.bind": many}), 400)
    assert "20" in err["message"]


def test_app_role_assignments(api):
    groups = by_name(api)
    apps = api.ok("GET", f"groups/{groups['SG-App-Salesforce']['id']}/appRoleAssignments")["value"]
    assert [a["resourceDisplayName"] for a in apps] == ["Salesforce"]
    assert apps[0]["appRoleId"] == ZERO and apps[0]["principalId"] == groups["SG-App-Salesforce"]["id"]
    assert apps[0]["principalType"] == "Group" and apps[0]["resourceId"]
    names = set()
    for group in groups.values():
        names |= {a["resourceDisplayName"] for a in
                  api.ok("GET", f"groups/{group['id']}/appRoleAssignments")["value"]}
    assert {"Salesforce", "Zoom", "Adobe Creative Cloud", "ServiceNow"} <= names


def test_role_definitions_and_assignments(api):
    definitions = api.ok("GET", "roleManagement/directory/roleDefinitions")["value"]
    names = {d["displayName"]: d for d in definitions}
    assert names["Global Administrator"]["id"] == "62e90394-69f5-4237-9190-012177145e10"
    assert names["User Administrator"]["templateId"] == "fe930be7-5e62-47db-91af-98c3a49a38b1"
    assert names["Helpdesk Administrator"]["id"] == "729827e3-9c14-49f7-bb1b-9608f156bbb8"
    assert all(d["isBuiltIn"] for d in definitions)
    picked = api.ok("GET", "roleManagement/directory/roleDefinitions",
                    params={"$select": "id,displayName,isBuiltIn"})["value"][0]
    assert set(picked) == {"id", "displayName", "isBuiltIn"}
    user = new_user(api)
    body = {"roleDefinitionId": names["Helpdesk Administrator"]["id"], "principalId": user["id"],
            "directoryScopeId": "/"}
    created = api.post("roleManagement/directory/roleAssignments", json=body)
    assert created.status_code == 201
    assignment = created.json()
    mine = api.ok("GET", "roleManagement/directory/roleAssignments",
                  params={"$filter": f"principalId eq '{user['id']}'"})["value"]
    assert [a["id"] for a in mine] == [assignment["id"]]
    graph_error(api.post("roleManagement/directory/roleAssignments", json=body), 400)
    assert api.delete(f"roleManagement/directory/roleAssignments/{assignment['id']}").status_code == 204
    assert api.ok("GET", "roleManagement/directory/roleAssignments",
                  params={"$filter": f"principalId eq '{user['id']}'"})["value"] == []
    graph_error(api.delete(f"roleManagement/directory/roleAssignments/{assignment['id']}"), 404)
    every = api.ok("GET", "roleManagement/directory/roleAssignments")["value"]
    held = {a["roleDefinitionId"] for a in every}
    assert {names[n]["id"] for n in ("Global Administrator", "User Administrator", "Helpdesk Administrator")} <= held


def test_organization_and_domains(api, tid):
    org = api.ok("GET", "organization")["value"][0]
    assert org["id"] == tid and org["displayName"]
    domains = api.ok("GET", "domains")["value"]
    assert sum(d["isInitial"] for d in domains) == 1 and sum(d["isDefault"] for d in domains) == 1
    initial = next(d for d in domains if d["isInitial"])
    assert initial["id"].endswith(".onmicrosoft.com") and initial["isVerified"]
    assert any(not d["isVerified"] for d in domains)
    assert {v["name"] for v in org["verifiedDomains"]} == {d["id"] for d in domains if d["isVerified"]}
    picked = api.ok("GET", "domains", params={"$select": "id,isVerified,isDefault"})["value"]
    assert all(set(d) == {"id", "isVerified", "isDefault"} for d in picked)
