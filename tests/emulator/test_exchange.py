"""Exchange Online's InvokeCommand API (docs/EXCHANGE.md) over HTTPS with plain requests: the
Exchange token, the request rules, every cmdlet's answer and error shape, paging, $select,
membership shared with Graph, mailboxes surviving license removal, access, faults, demo data."""
from __future__ import annotations

import jwt
import pytest
import requests

from emulator import Emulator
from emulator.exchange import GB, state
from emulator.world import World

from .conftest import Api, new_user

EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ANCHOR = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"
EXCHANGE_ADMIN = "29232cdf-9323-42fd-ade2-1d097af3e4de"


class Exo:
    """InvokeCommand for one tenant, as a client sends it."""

    def __init__(self, emu, tenant_id: str, token: str | None = None):
        self.emu, self.tenant_id = emu, tenant_id
        self.token = token or emu.exchange_token(tenant_id)
        self.url = f"{emu.exchange_url}/{tenant_id}/InvokeCommand"

    def call(self, cmdlet: str, parameters: dict | None = None, *, url: str | None = None,
             headers: dict | None = None, params: dict | None = None, body=None) -> requests.Response:
        hdrs = {"Authorization": f"Bearer {self.token}", "X-AnchorMailbox": ANCHOR + self.tenant_id,
                "Prefer": "odata.maxpagesize=1000"}
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        payload = body if body is not None else {
            "CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters or {}}}
        return requests.post(url or self.url, json=payload, headers=hdrs, params=params,
                             verify=str(self.emu.ca_file), timeout=30)

    def ok(self, cmdlet: str, parameters: dict | None = None, **kw) -> dict:
        resp = self.call(cmdlet, parameters, **kw)
        assert resp.status_code == 200, resp.text
        assert resp.headers.get("request-id")
        return resp.json()

    def value(self, cmdlet: str, parameters: dict | None = None, **kw) -> list[dict]:
        return self.ok(cmdlet, parameters, **kw)["value"]


def exo_error(resp: requests.Response, status: int, exception: str) -> str:
    """Assert Exchange's error shape (docs/EXCHANGE.md "Errors"); returns the human message."""
    assert resp.status_code == status, resp.text
    assert resp.headers.get("request-id")
    error = resp.json()["error"]
    assert error["code"] and error["message"]
    if status == 400:
        assert error["message"] == "Error executing cmdlet"
    ex_id, full_name, message = error["details"][0]["message"].split("|", 2)
    assert ex_id.startswith("Ex") and len(ex_id) == 8 and full_name.endswith("." + exception)
    assert error["details"][0]["code"] == "Context" and error["details"][0]["target"] == ""
    inner = error["innererror"]
    assert inner["type"] == "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
    assert inner["internalException"] == {"message": message, "type": full_name}
    return message


def _token(emu, tenant_id, scope):
    return requests.post(f"{emu.authority_host}/{tenant_id}/oauth2/v2.0/token",
                         data={"client_id": emu.client_id, "client_secret": emu.client_secret,
                               "grant_type": "client_credentials", "scope": scope},
                         verify=str(emu.ca_file), timeout=30)


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture(scope="module")
def exo(emu, tid) -> Exo:
    return Exo(emu, tid)


def _plain_mailbox(emu, exo, skip=()) -> dict:
    """A licensed user mailbox that is not one of the demo's special ones."""
    special = {emu.large_mailbox(exo.tenant_id), *emu.shared_mailboxes(exo.tenant_id), *skip}
    return next(m for m in exo.value("Get-Mailbox", {"ResultSize": "Unlimited"})
                if m["UserPrincipalName"] not in special and not m["UserPrincipalName"].startswith("admin@")
                and not m["ForwardingSmtpAddress"] and not m["IsDirSynced"])


# ---- tokens and the request rules -------------------------------------------------------------

def test_token_exchange_scope_gives_the_exchange_audience_and_permission(emu, tid):
    claims = _claims(_token(emu, tid, EXCHANGE_SCOPE).json()["access_token"])
    assert claims["aud"] == "https://outlook.office365.com" and claims["tid"] == tid
    assert claims["roles"] == ["Exchange.ManageAsApp"]
    assert claims["oid"] == emu.service_principal_id(tid) and claims["appid"] == emu.client_id
    graph = _claims(_token(emu, tid, GRAPH_SCOPE).json()["access_token"])
    assert graph["aud"] == "https://graph.microsoft.com" and "Exchange.ManageAsApp" not in graph["roles"]
    both = _token(emu, tid, f"{EXCHANGE_SCOPE} {GRAPH_SCOPE}")
    assert both.status_code == 400 and both.json()["error_codes"] == [70011]


def test_token_exchange_scope_refused_without_consent(emu, tid):
    emu.set_access(tid, consent=65001)
    try:
        refused = _token(emu, tid, EXCHANGE_SCOPE)
        assert refused.status_code == 400 and refused.json()["error_codes"] == [65001]
    finally:
        emu.set_access(tid, consent=None)


def test_request_graph_token_refused_and_exchange_token_refused_by_graph(emu, tid, exo):
    message = exo_error(Exo(emu, tid, emu.token(tid)).call("Get-Mailbox"), 401,
                        "InvalidOAuthTokenException")
    assert "https://outlook.office365.com" in message
    assert Api(emu, tid, exo.token).get("users").status_code == 401
    assert exo_error(exo.call("Get-Mailbox", headers={"Authorization": None}), 401,
                     "InvalidOAuthTokenException")


def test_request_anchor_mailbox_header_required(exo):
    message = exo_error(exo.call("Get-Mailbox", headers={"X-AnchorMailbox": None}), 400,
                        "ODataServiceException")
    assert "X-AnchorMailbox header is required" in message


def test_request_tenant_in_path_must_be_the_tokens(emu, exo, other):
    resp = exo.call("Get-Mailbox", url=f"{emu.exchange_url}/{other.tenant_id}/InvokeCommand")
    assert "not the organization of the request" in exo_error(resp, 401, "InvalidOAuthTokenException")
    unknown = exo.call("Get-Mailbox", url=f"{emu.exchange_url}/nowhere.example/InvokeCommand")
    exo_error(unknown, 404, "TenantNotFoundException")


def test_request_body_needs_cmdlet_input(exo):
    assert "CmdletInput" in exo_error(exo.call("", body={"Cmdlet": "Get-Mailbox"}), 400,
                                      "ODataServiceException")


def test_request_unknown_cmdlet_and_parameters_are_refused(exo):
    message = exo_error(exo.call("Get-Nothing"), 400, "CommandNotFoundException")
    assert message.startswith("The term 'Get-Nothing' is not recognized as a name of a cmdlet")
    message = exo_error(exo.call("Get-Mailbox", {"Colour": "red"}), 400, "ParameterBindingException")
    assert message == "A parameter cannot be found that matches parameter name 'Colour'."
    message = exo_error(exo.call("Set-Mailbox", {"Type": "Shared"}), 400, "ParameterBindingException")
    assert "missing mandatory parameters: Identity" in message
    exo_error(exo.call("Set-Mailbox", {"Identity": "admin", "HiddenFromAddressListsEnabled": "maybe"}),
              400, "ParameterBindingException")


def test_config_file_names_the_exchange_url(emu):
    assert f'exchange_url = "{emu.authority_host}/adminapi/beta"' in emu.config_path.read_text()
    assert emu.exchange_url == f"{emu.authority_host}/adminapi/beta"


# ---- access -----------------------------------------------------------------------------------

def test_access_app_without_exchange_role_gets_403_and_graph_lists_the_role(emu, tid, exo):
    api = Api(emu, tid)
    sp = emu.service_principal_id(tid)
    mine = api.all("roleManagement/directory/roleAssignments", params={"$filter": f"principalId eq '{sp}'"})
    assert EXCHANGE_ADMIN in {a["roleDefinitionId"] for a in mine}
    emu.set_access(tid, directory_roles=["User Administrator"])
    try:
        message = exo_error(exo.call("Get-Mailbox"), 403, "CmdletAccessDeniedException")
        assert "Exchange Administrator" in message
        mine = api.all("roleManagement/directory/roleAssignments", params={"$filter": f"principalId eq '{sp}'"})
        assert EXCHANGE_ADMIN not in {a["roleDefinitionId"] for a in mine}
        emu.set_access(tid, directory_roles=["User Administrator", "Global Administrator"])
        assert exo.call("Get-Mailbox").status_code == 200
    finally:
        emu.set_access(tid, directory_roles=["User Administrator", "Exchange Administrator"])


def test_access_app_without_exchange_permission_gets_401(emu, tid, exo):
    emu.set_access(tid, exchange_permission=False)
    try:
        token = _token(emu, tid, EXCHANGE_SCOPE).json()["access_token"]
        assert "roles" not in _claims(token)
        message = exo_error(Exo(emu, tid, token).call("Get-Mailbox"), 401, "UnauthorizedAccessException")
        assert "Exchange.ManageAsApp" in message
        assert exo.call("Get-Mailbox").status_code == 200         # the old token keeps its claim
    finally:
        emu.set_access(tid, exchange_permission=True)


def test_access_demo_traps_sixth_customer_lacks_the_exchange_role():
    with Emulator(tenants=6, users_per_tenant=3, seed=13, groups_per_tenant=2, access_traps=True) as emu:
        trapped = [t for t, label in emu.traps.items() if label == "no Exchange Administrator role"]
        assert trapped == [emu.tenant_ids[5]]
        exo_error(Exo(emu, trapped[0]).call("Get-Mailbox"), 403, "CmdletAccessDeniedException")
        assert Exo(emu, emu.tenant_ids[0]).call("Get-Mailbox").status_code == 200


# ---- mailboxes --------------------------------------------------------------------------------

def test_get_mailbox_lists_and_finds_by_any_identity(emu, tid, exo):
    boxes = exo.value("Get-Mailbox", {"ResultSize": "Unlimited"})
    assert len(boxes) >= 30 and {b["RecipientTypeDetails"] for b in boxes} == {"UserMailbox", "SharedMailbox"}
    one = boxes[3]
    assert one["PrimarySmtpAddress"] and one["ProhibitSendReceiveQuota"].endswith(" bytes)")
    for identity in (one["UserPrincipalName"], one["Alias"], one["ExternalDirectoryObjectId"],
                     one["PrimarySmtpAddress"].upper(), one["Guid"]):
        assert [b["ExternalDirectoryObjectId"] for b in exo.value("Get-Mailbox", {"Identity": identity})] \
            == [one["ExternalDirectoryObjectId"]]
    shared = exo.value("Get-Mailbox", {"RecipientTypeDetails": "SharedMailbox", "ResultSize": "Unlimited"})
    assert {b["UserPrincipalName"] for b in shared} == set(emu.shared_mailboxes(tid))
    message = exo_error(exo.call("Get-Mailbox", {"Identity": "ghost@nowhere.example"}), 400,
                        "ManagementObjectNotFoundException")
    assert message.startswith("The operation couldn't be performed because object "
                              "'ghost@nowhere.example' couldn't be found on '")


def test_get_mailbox_select_and_paging_with_next_link(exo):
    everything = exo.value("Get-Mailbox", {"ResultSize": "Unlimited"})
    fields = {"$select": "UserPrincipalName,RecipientTypeDetails"}
    page = exo.ok("Get-Mailbox", {"ResultSize": "Unlimited"}, params=fields,
                  headers={"Prefer": "odata.maxpagesize=10"})
    seen = list(page["value"])
    assert len(seen) == 10 and all(set(m) == {"UserPrincipalName", "RecipientTypeDetails"} for m in seen)
    while "@odata.nextLink" in page:
        link = page["@odata.nextLink"]
        assert link.startswith(exo.url + "?$skiptoken=") and "$select=UserPrincipalName,RecipientTypeDetails" in link
        page = exo.ok("Get-Mailbox", {"ResultSize": "Unlimited"}, url=link,
                      headers={"Prefer": "odata.maxpagesize=10"})
        seen += page["value"]
    assert [m["UserPrincipalName"] for m in seen] == [m["UserPrincipalName"] for m in everything]
    limited = exo.ok("Get-Mailbox", {"ResultSize": 5})
    assert len(limited["value"]) == 5 and limited["@adminapi.warnings"]


def test_set_mailbox_forwarding_hidden_and_no_change_warning(emu, tid, exo):
    box = _plain_mailbox(emu, exo)
    upn = box["UserPrincipalName"]
    before = len(emu.exchange_writes(tid))
    assert exo.ok("Set-Mailbox", {"Identity": upn, "ForwardingSmtpAddress": "smtp:boss@partner.example",
                                  "DeliverToMailboxAndForward": True,
                                  "HiddenFromAddressListsEnabled": True})["value"] == []
    got = exo.value("Get-Mailbox", {"Identity": upn})[0]
    assert got["ForwardingSmtpAddress"] == "smtp:boss@partner.example"
    assert got["DeliverToMailboxAndForward"] is True and got["HiddenFromAddressListsEnabled"] is True
    exo.ok("Set-Mailbox", {"Identity": box["Alias"], "ForwardingSmtpAddress": "other@partner.example"})
    assert exo.value("Get-Mailbox", {"Identity": upn})[0]["ForwardingSmtpAddress"] == "smtp:other@partner.example"
    exo.ok("Set-Mailbox", {"Identity": upn, "ForwardingSmtpAddress": None,
                           "HiddenFromAddressListsEnabled": False})
    assert exo.value("Get-Mailbox", {"Identity": upn})[0]["ForwardingSmtpAddress"] is None
    same = exo.ok("Set-Mailbox", {"Identity": upn, "HiddenFromAddressListsEnabled": False})
    assert same["@adminapi.warnings"] == [f"The command completed successfully but no settings of "
                                          f"'{box['Alias']}' have been modified."]
    writes = emu.exchange_writes(tid)[before:]
    assert [(w.cmdlet, w.changed) for w in writes] == [("Set-Mailbox", True)] * 3 + [("Set-Mailbox", False)]
    assert writes[0].parameters["Identity"] == upn and writes[0].tenant_id == tid
    exo_error(exo.call("Set-Mailbox", {"Identity": upn, "ForwardingSmtpAddress": "not an address"}),
              400, "ParameterBindingException")


def test_set_mailbox_shared_survives_license_removal_and_user_mailbox_is_kept(emu, tid, exo):
    api = Api(emu, tid)
    first = _plain_mailbox(emu, exo)
    second = _plain_mailbox(emu, exo, skip=(first["UserPrincipalName"],))
    exo.ok("Set-Mailbox", {"Identity": first["ExternalDirectoryObjectId"], "Type": "Shared"})
    for box in (first, second):
        uid = box["ExternalDirectoryObjectId"]
        states = api.ok("GET", f"users/{uid}", params={"$select": "licenseAssignmentStates"})
        direct = [s["skuId"] for s in states["licenseAssignmentStates"] if not s["assignedByGroup"]]
        api.ok("POST", f"users/{uid}/assignLicense", json={"addLicenses": [], "removeLicenses": direct})
    shared = exo.value("Get-Mailbox", {"Identity": first["UserPrincipalName"]})[0]
    assert shared["RecipientTypeDetails"] == "SharedMailbox" and shared["SKUAssigned"] is False
    kept = exo.value("Get-Mailbox", {"Identity": second["UserPrincipalName"]})[0]
    assert kept["RecipientTypeDetails"] == "UserMailbox" and kept["SKUAssigned"] is False
    assert kept["LicenseRemovedDateTime"]
    exo.ok("Set-Mailbox", {"Identity": first["UserPrincipalName"], "Type": "Regular"})
    assert exo.value("Get-Mailbox", {"Identity": first["UserPrincipalName"]})[0]["RecipientTypeDetails"] == "UserMailbox"


def test_mailbox_of_a_new_user_comes_with_a_license_and_leaves_with_the_user(emu, tid, exo):
    api = Api(emu, tid)
    user = new_user(api)
    exo_error(exo.call("Get-Mailbox", {"Identity": user["userPrincipalName"]}), 400,
              "ManagementObjectNotFoundException")
    sku = next(s["skuId"] for s in api.ok("GET", "subscribedSkus")["value"]
               if s["skuPartNumber"] == "EXCHANGESTANDARD")
    api.ok("POST", f"users/{user['id']}/assignLicense",
           json={"addLicenses": [{"skuId": sku, "disabledPlans": []}], "removeLicenses": []})
    assert exo.value("Get-Mailbox", {"Identity": user["userPrincipalName"]})[0]["SKUAssigned"] is True
    stats = exo.value("Get-MailboxStatistics", {"Identity": user["id"]})[0]
    assert int(stats["TotalItemSize"].split("(")[1].split()[0].replace(",", "")) < 5 * 1024 ** 2
    assert api.delete(f"users/{user['id']}").status_code == 204
    exo_error(exo.call("Get-Mailbox", {"Identity": user["id"]}), 400, "ManagementObjectNotFoundException")
    assert user["userPrincipalName"] not in {m["UserPrincipalName"] for m in
                                             exo.value("Get-Mailbox", {"ResultSize": "Unlimited"})}


def test_get_mailbox_statistics_large_mailbox_is_over_50_gb(emu, tid, exo):
    upn = emu.large_mailbox(tid)
    stats = exo.value("Get-MailboxStatistics", {"Identity": upn})[0]
    size = int(stats["TotalItemSize"].split("(")[1].split()[0].replace(",", ""))
    assert size > 50 * GB and stats["TotalItemSize"].startswith(f"{size / GB:.3f}".rstrip("0").rstrip(".") + " GB")
    assert stats["ItemCount"] > 0 and stats["MailboxGuid"]
    sizes = [emu.mailbox(tid, m["UserPrincipalName"])["TotalItemSizeBytes"]
             for m in exo.value("Get-Mailbox", {"ResultSize": "Unlimited"}, params={"$select": "UserPrincipalName"})]
    assert sum(s > 50 * GB for s in sizes) == 1
    assert sum(0.5 * GB <= s <= 20 * GB for s in sizes) > len(sizes) / 2


# ---- permissions ------------------------------------------------------------------------------

def test_mailbox_permission_full_access_add_and_list(emu, tid, exo):
    mailbox = emu.shared_mailboxes(tid)[1]
    helper = _plain_mailbox(emu, exo)["UserPrincipalName"]
    entries = exo.value("Get-MailboxPermission", {"Identity": mailbox})
    assert entries[0]["User"] == "NT AUTHORITY\\SELF"
    added = exo.ok("Add-MailboxPermission", {"Identity": mailbox, "User": helper,
                                             "AccessRights": ["FullAccess"], "AutoMapping": False,
                                             "InheritanceType": "All"})
    assert added["value"][0]["User"] == helper and added["value"][0]["AccessRights"] == ["FullAccess"]
    listed = exo.value("Get-MailboxPermission", {"Identity": mailbox})
    assert any(e["User"] == helper and not e["IsInherited"] and not e["Deny"] for e in listed)
    assert {"User": helper, "AutoMapping": False} in emu.mailbox(tid, mailbox)["FullAccess"]
    again = exo.ok("Add-MailboxPermission", {"Identity": mailbox, "User": helper,
                                             "AccessRights": ["FullAccess"]})
    assert again["@adminapi.warnings"] and again["value"][0]["User"] == helper
    exo_error(exo.call("Add-MailboxPermission", {"Identity": mailbox, "User": "ghost@nowhere.example",
                                                 "AccessRights": ["FullAccess"]}),
              400, "ManagementObjectNotFoundException")


def test_recipient_permission_send_as_add_and_list(emu, tid, exo):
    mailbox = emu.shared_mailboxes(tid)[0]
    helper = _plain_mailbox(emu, exo)["Alias"]
    added = exo.ok("Add-RecipientPermission", {"Identity": mailbox, "Trustee": helper,
                                               "AccessRights": ["SendAs"], "Confirm": False})
    trustee = added["value"][0]["Trustee"]
    assert added["value"][0]["AccessRights"] == ["SendAs"] and trustee.startswith(helper + "@")
    listed = exo.value("Get-RecipientPermission", {"Identity": mailbox})
    assert listed[0]["Trustee"] == "NT AUTHORITY\\SELF"
    assert any(e["Trustee"] == trustee and e["AccessControlType"] == "Allow" for e in listed)
    again = exo.ok("Add-RecipientPermission", {"Identity": mailbox, "Trustee": helper,
                                               "AccessRights": "SendAs", "Confirm": False})
    assert "already present" in again["@adminapi.warnings"][0]
    exo_error(exo.call("Add-RecipientPermission", {"Identity": mailbox, "Trustee": helper,
                                                   "AccessRights": ["FullAccess"]}),
              400, "ParameterBindingException")


# ---- distribution groups ----------------------------------------------------------------------

def _graph_group(api, name):
    return next(g for g in api.all("groups", params={"$select": "id,displayName,mail"})
                if g["displayName"] == name)


def test_distribution_groups_list_kinds_members_and_dynamic(exo, api):
    groups = {g["DisplayName"]: g for g in exo.value("Get-DistributionGroup", {"ResultSize": "Unlimited"})}
    assert groups["DL-All Staff"]["RecipientTypeDetails"] == "MailUniversalDistributionGroup"
    assert groups["Finance Approvers"]["RecipientTypeDetails"] == "MailUniversalSecurityGroup"
    assert "All Company" not in groups and "SG-VPN Users" not in groups
    dl = _graph_group(api, "DL-All Staff")
    assert groups["DL-All Staff"]["ExternalDirectoryObjectId"] == dl["id"]
    members = exo.value("Get-DistributionGroupMember", {"Identity": dl["mail"], "ResultSize": "Unlimited"})
    graph_members = api.all(f"groups/{dl['id']}/members", params={"$select": "id"})
    assert {m["ExternalDirectoryObjectId"] for m in members} == {m["id"] for m in graph_members}
    assert {"ExternalDirectoryObjectId", "Name", "PrimarySmtpAddress", "RecipientType"} <= set(members[0])
    dynamic = exo.value("Get-DynamicDistributionGroup", {"ResultSize": "Unlimited"})
    assert len(dynamic) == 2 and all(d["RecipientFilter"] and d["PrimarySmtpAddress"] for d in dynamic)


def test_distribution_group_member_add_remove_shows_in_graph(emu, tid, exo, api):
    group = _graph_group(api, "DL-Managers")
    user = _plain_mailbox(emu, exo)
    uid, upn = user["ExternalDirectoryObjectId"], user["UserPrincipalName"]
    if uid in {m["ExternalDirectoryObjectId"] for m in
               exo.value("Get-DistributionGroupMember", {"Identity": group["id"]})}:
        exo.ok("Remove-DistributionGroupMember", {"Identity": group["id"], "Member": uid, "Confirm": False})
    before = len(emu.exchange_writes(tid))
    assert exo.ok("Add-DistributionGroupMember", {"Identity": "DL-Managers", "Member": upn,
                                                  "BypassSecurityGroupManagerCheck": True})["value"] == []
    member_of = api.all(f"users/{uid}/memberOf", params={"$select": "id"})
    assert group["id"] in {g["id"] for g in member_of}
    assert uid in {m["id"] for m in api.all(f"groups/{group['id']}/members", params={"$select": "id"})}
    message = exo_error(exo.call("Add-DistributionGroupMember", {"Identity": group["mail"], "Member": upn}),
                        400, "MemberAlreadyExistsException")
    assert message == f"The recipient {upn} is already a member of the group DL-Managers."
    exo.ok("Remove-DistributionGroupMember", {"Identity": group["id"], "Member": upn,
                                              "BypassSecurityGroupManagerCheck": True, "Confirm": False})
    assert group["id"] not in {g["id"] for g in api.all(f"users/{uid}/memberOf", params={"$select": "id"})}
    exo_error(exo.call("Remove-DistributionGroupMember", {"Identity": group["id"], "Member": upn,
                                                          "Confirm": False}),
              400, "MemberNotFoundException")
    assert [w.cmdlet for w in emu.exchange_writes(tid)[before:]] == [
        "Add-DistributionGroupMember", "Remove-DistributionGroupMember"]


def test_distribution_group_member_refused_for_m365_and_security_groups(emu, exo, api):
    upn = _plain_mailbox(emu, exo)["UserPrincipalName"]
    unified = _graph_group(api, "All Company")
    message = exo_error(exo.call("Add-DistributionGroupMember", {"Identity": unified["id"], "Member": upn}),
                        400, "RecipientTaskException")
    assert "Microsoft 365 group" in message
    security = _graph_group(api, "SG-VPN Users")
    exo_error(exo.call("Add-DistributionGroupMember", {"Identity": security["id"], "Member": upn}),
              400, "ManagementObjectNotFoundException")


# ---- faults and persistence -------------------------------------------------------------------

def test_faults_throttle_outage_and_dropped_write(emu, tid, exo):
    emu.set_faults(throttle_rate=1.0)
    try:
        resp = exo.call("Get-Mailbox")
        exo_error(resp, 429, "TooManyRequestsException")
        assert float(resp.headers["Retry-After"]) > 0
    finally:
        emu.set_faults(throttle_rate=0.0)
    emu.deny_tenant(tid, 503)
    try:
        exo_error(exo.call("Get-Mailbox"), 503, "ServiceUnavailableException")
    finally:
        emu.allow_tenant(tid)
    upn = _plain_mailbox(emu, exo)["UserPrincipalName"]
    before = len(emu.exchange_writes(tid))
    emu.set_faults(drop_after_write_rate=1.0)
    try:
        with pytest.raises(requests.ConnectionError):
            exo.call("Set-Mailbox", {"Identity": upn, "HiddenFromAddressListsEnabled": True})
    finally:
        emu.set_faults(drop_after_write_rate=0.0)
    assert len(emu.exchange_writes(tid)) == before + 1
    assert exo.value("Get-Mailbox", {"Identity": upn})[0]["HiddenFromAddressListsEnabled"] is True
    exo.ok("Set-Mailbox", {"Identity": upn, "HiddenFromAddressListsEnabled": False})


def test_faults_expired_exchange_token_is_refused_until_renewed(emu, other):
    exo = Exo(emu, other.tenant_id)
    assert exo.call("Get-Mailbox").status_code == 200
    emu.expire_tokens(other.tenant_id, after_requests=1)       # counts Graph requests only
    Api(emu, other.tenant_id).get("organization")
    assert Api(emu, other.tenant_id).get("organization").status_code == 401
    assert exo.call("Get-Mailbox").status_code == 200             # its own lifetime
    emu.expire_tokens(other.tenant_id)
    assert "expired" in exo_error(exo.call("Get-Mailbox"), 401, "InvalidOAuthTokenException")
    expired = Exo(emu, other.tenant_id, emu.exchange_token(other.tenant_id, lifetime=-10))
    exo_error(expired.call("Get-Mailbox"), 401, "InvalidOAuthTokenException")
    assert Exo(emu, other.tenant_id).call("Get-Mailbox").status_code == 200


def test_state_exchange_changes_persist_in_the_state_folder(tmp_path):
    options = dict(tenants=1, users_per_tenant=12, seed=21, groups_per_tenant=4, state_dir=tmp_path)
    with Emulator(**options) as emu:
        tid = emu.tenant_ids[0]
        exo = Exo(emu, tid)
        target = _plain_mailbox(emu, exo)["UserPrincipalName"]
        exo.ok("Set-Mailbox", {"Identity": target, "Type": "Shared"})
    with Emulator(**options) as emu:
        assert emu.mailbox(tid, target)["RecipientTypeDetails"] == "SharedMailbox"


# ---- demo data --------------------------------------------------------------------------------

def test_demo_mailboxes_are_seeded_with_one_large_and_two_shared_per_tenant():
    def build():
        world = World(seed=4, tenants=3, users_per_tenant=None, groups_per_tenant=20, state_dir=None)
        world.build_all()
        return world
    first, second = build(), build()
    for info in first.customers:
        tenant, again = first.tenant(info.id), second.tenant(info.id)
        st = state(tenant)
        assert st.large == state(again).large and st.large in tenant.users
        shared = [tenant.users[u] for u in st.shared]
        assert [u.p["userPrincipalName"].split("@")[0] for u in shared] == ["info", "reception"]
        assert any(u.p.get("assignedLicenses") for u in shared)
        assert any(u.p["accountEnabled"] for u in shared)
        assert len(st.dynamic) == 2
