"""Access traps real tenants set, over HTTPS with plain requests: the token's `roles` claim,
403 for a withdrawn permission, no consent at the token endpoint, no Entra ID P1, the app's own
service principal and directory roles."""
from __future__ import annotations

import jwt
import pytest
import requests

from emulator import Emulator
from emulator.access import ALL_PERMISSIONS

from .conftest import Api, graph_error

SCOPE = "https://graph.microsoft.com/.default"
DENIED = "Insufficient privileges to complete the operation."


@pytest.fixture(scope="module")
def emu():
    with Emulator(tenants=5, users_per_tenant=15, seed=13, access_traps=True) as emulator:
        yield emulator


def _token(emu, tenant_id):
    return requests.post(f"{emu.authority_host}/{tenant_id}/oauth2/v2.0/token",
                         data={"client_id": emu.client_id, "client_secret": emu.client_secret,
                               "grant_type": "client_credentials", "scope": SCOPE},
                         verify=str(emu.ca_file), timeout=30)


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _trap(emu, label: str) -> str:
    return next(tid for tid, trap in emu.traps.items() if trap == label)


def test_access_traps_are_off_unless_asked_for():
    with Emulator(tenants=4, users_per_tenant=3, seed=13) as plain:
        assert plain.traps == {}
        for tid in plain.tenant_ids:
            resp = _token(plain, tid)
            assert resp.status_code == 200
            assert set(_claims(resp.json()["access_token"])["roles"]) == set(ALL_PERMISSIONS)


def test_access_demo_traps_pick_four_customers(emu):
    assert sorted(emu.traps.values()) == ["missing AuditLog.Read.All", "no Entra ID P1",
                                          "no Intune", "no consent (AADSTS65001)"]
    assert emu.tenant_ids[0] not in emu.traps        # the first customer is fully granted


def test_access_token_roles_claim_lists_the_granted_permissions(emu):
    full = _claims(_token(emu, emu.tenant_ids[0]).json()["access_token"])
    assert set(full["roles"]) == set(ALL_PERMISSIONS)
    assert full["oid"] == emu.service_principal_id(emu.tenant_ids[0])
    lacking = _claims(_token(emu, _trap(emu, "missing AuditLog.Read.All")).json()["access_token"])
    assert set(lacking["roles"]) == set(ALL_PERMISSIONS) - {"AuditLog.Read.All"}


def test_access_no_consent_tenant_is_refused_at_the_token_endpoint(emu):
    resp = _token(emu, _trap(emu, "no consent (AADSTS65001)"))
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [65001]
    assert body["error_description"].startswith("AADSTS65001: The user or administrator has not "
                                                "consented to use the application")
    tid = emu.tenant_ids[-1]
    emu.set_access(tid, consent=700016)
    try:
        resp = _token(emu, tid)
        assert resp.status_code == 400 and resp.json()["error_codes"] == [700016]
        assert "was not found in the directory" in resp.json()["error_description"]
    finally:
        emu.set_access(tid, consent=None)
    assert _token(emu, tid).status_code == 200


def test_access_withdrawn_permission_answers_403_as_graph_does(emu):
    tid = _trap(emu, "missing AuditLog.Read.All")
    api = Api(emu, tid, _token(emu, tid).json()["access_token"])
    error = graph_error(api.get("users", params={"$select": "id,signInActivity"}), 403,
                        "Authorization_RequestDenied")
    assert error["message"] == DENIED
    graph_error(api.get("auditLogs/signIns", params={"$top": "1"}), 403, "Authorization_RequestDenied")
    assert api.get("users", params={"$select": "id,displayName"}).status_code == 200
    # Inside $batch each item is judged on its own.
    answer = api.ok("POST", "$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/users?$select=id,signInActivity"},
        {"id": "2", "method": "GET", "url": "/users?$select=id"}]})
    statuses = {r["id"]: r["status"] for r in answer["responses"]}
    assert statuses == {"1": 403, "2": 200}


def test_access_graph_decides_from_the_token_not_the_current_grant(emu):
    tid = emu.tenant_ids[0]
    old = Api(emu, tid, _token(emu, tid).json()["access_token"])
    emu.set_access(tid, withdraw=["RoleManagement.ReadWrite.Directory"])
    try:
        new = Api(emu, tid, _token(emu, tid).json()["access_token"])
        body = {"roleDefinitionId": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
                "principalId": "00000000-0000-0000-0000-000000000000", "directoryScopeId": "/"}
        error = graph_error(new.post("roleManagement/directory/roleAssignments", json=body), 403,
                            "Authorization_RequestDenied")
        assert error["message"] == DENIED
        # Reading roles still works through Directory.ReadWrite.All; the old token still writes.
        assert new.get("roleManagement/directory/roleDefinitions").status_code == 200
        assert old.post("roleManagement/directory/roleAssignments", json=body).status_code == 400
    finally:
        emu.set_access(tid, granted=ALL_PERMISSIONS)


def test_access_tenant_without_p1_refuses_sign_in_activity_only(emu):
    tid = _trap(emu, "no Entra ID P1")
    api = Api(emu, tid)
    for resp in (api.get("users", params={"$select": "id,signInActivity", "$top": "5"}),
                 api.get("auditLogs/signIns", params={"$top": "5"})):
        error = graph_error(resp, 403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant")
        assert error["message"] == "Neither tenant is B2C or tenant doesn't have premium license"
    assert len(api.all("users", params={"$select": "id,displayName"})) >= 15
    assert api.get("subscribedSkus").status_code == 200


def test_access_own_service_principal_needs_no_permission_and_has_its_roles(emu):
    tid = emu.tenant_ids[0]
    emu.set_access(tid, granted=[])
    try:
        token = _token(emu, tid).json()["access_token"]
        assert "roles" not in _claims(token)          # Entra leaves the claim out when empty
        api = Api(emu, tid, token)
        sp = api.ok("GET", f"servicePrincipals(appId='{emu.client_id}')",
                    params={"$select": "id,appId,displayName"})
        assert sp["id"] == emu.service_principal_id(tid) and sp["appId"] == emu.client_id
        assert sp["@odata.context"].endswith("#servicePrincipals(id,appId,displayName)/$entity")
        assert api.ok("GET", f"servicePrincipals/{sp['id']}")["appId"] == emu.client_id
        graph_error(api.get("servicePrincipals(appId='00000000-0000-0000-0000-000000000001')"),
                    404, "Request_ResourceNotFound")
        graph_error(api.get("users"), 403, "Authorization_RequestDenied")
    finally:
        emu.set_access(tid, granted=ALL_PERMISSIONS)
    api = Api(emu, tid, _token(emu, tid).json()["access_token"])
    mine = api.all("roleManagement/directory/roleAssignments",
                   params={"$filter": f"principalId eq '{sp['id']}'"})
    # User Administrator (password resets) and Exchange Administrator (Exchange Online)
    assert [a["roleDefinitionId"] for a in mine] == ["fe930be7-5e62-47db-91af-98c3a49a38b1",
                                                     "29232cdf-9323-42fd-ade2-1d097af3e4de"]
    everyone = api.all("roleManagement/directory/roleAssignments")
    assert mine[0] in everyone and everyone[0]["principalId"] != sp["id"]


def test_access_password_reset_needs_a_directory_role_on_the_app(emu):
    tid = emu.tenant_ids[0]
    api = Api(emu, tid)
    user = api.all("users", params={"$select": "id", "$top": "5"})[3]["id"]
    reset = {"passwordProfile": {"password": "Qw9!zXc7#vBn", "forceChangePasswordNextSignIn": True}}
    emu.set_access(tid, directory_roles=[])
    try:
        graph_error(api.patch(f"users/{user}", json=reset), 403, "Authorization_RequestDenied")
        assert api.patch(f"users/{user}", json={"jobTitle": "Analyst"}).status_code == 204
    finally:
        emu.set_access(tid, directory_roles=["User Administrator"])
    assert api.patch(f"users/{user}", json=reset).status_code == 204
