"""Tenant-wide resources: organization, domains, SKUs, directory roles, deleted items,
sign-in logs, and the partner's view of its customers (GDAP relationships, contracts)."""
from __future__ import annotations

import base64
import re
import secrets

from . import activity, directory
from .errors import GraphFault, bad_request, conflict, not_found
from .odata import fragment, parse_query
from .paging import entity, list_dicts, list_parts
from .roles import DEFINITION_BY_ID, DEFINITIONS
from .router import Ctx, Reply, route
from .schema import USER_DEFAULT, simple_kind

ORG = simple_kind("organization", ("id", "displayName", "verifiedDomains", "city", "country",
                                   "countryLetterCode", "createdDateTime", "postalCode", "state",
                                   "street", "tenantType", "technicalNotificationMails",
                                   "businessPhones", "preferredLanguage", "assignedPlans",
                                   "onPremisesSyncEnabled"))
DOMAIN = simple_kind("domain", ("id", "authenticationType", "availabilityStatus", "isAdminManaged",
                                "isDefault", "isInitial", "isRoot", "isVerified", "state",
                                "supportedServices", "passwordNotificationWindowInDays",
                                "passwordValidityPeriodInDays"))
SKU = simple_kind("subscribedSku", ("id", "accountId", "accountName", "appliesTo",
                                    "capabilityStatus", "consumedUnits", "prepaidUnits",
                                    "servicePlans", "skuId", "skuPartNumber", "subscriptionIds"))
ROLE_DEFINITION = simple_kind("unifiedRoleDefinition", (
    "id", "description", "displayName", "isBuiltIn", "isEnabled", "resourceScopes", "templateId",
    "version", "rolePermissions"),
    {"displayName": "str", "isBuiltIn": "bool", "templateId": "str", "id": "str"})
ROLE_ASSIGNMENT = simple_kind("unifiedRoleAssignment", (
    "id", "principalId", "roleDefinitionId", "directoryScopeId"),
    {"principalId": "str", "roleDefinitionId": "str", "directoryScopeId": "str", "id": "str"})
SIGN_IN = simple_kind("signIn", (
    "id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appId",
    "appDisplayName", "ipAddress", "clientAppUsed", "correlationId", "conditionalAccessStatus",
    "isInteractive", "riskDetail", "riskLevelAggregated", "riskLevelDuringSignIn", "riskState",
    "riskEventTypes_v2", "resourceDisplayName", "resourceId", "status", "deviceDetail", "location",
    "appliedConditionalAccessPolicies"),
    {"userId": "str", "userPrincipalName": "str", "appDisplayName": "str", "appId": "str",
     "createdDateTime": "date"})
RELATIONSHIP = simple_kind("delegatedAdminRelationship", (
    "id", "displayName", "duration", "status", "autoExtendDuration", "createdDateTime",
    "lastModifiedDateTime", "activatedDateTime", "endDateTime", "customer", "accessDetails"),
    {"status": "str", "displayName": "str", "id": "str"})
CUSTOMER = simple_kind("delegatedAdminCustomer", ("id", "tenantId", "displayName"),
                       {"tenantId": "str", "displayName": "str", "id": "str"})
CONTRACT = simple_kind("contract", ("id", "contractType", "customerId", "defaultDomainName",
                                    "displayName", "deletedDateTime"),
                       {"customerId": "str", "defaultDomainName": "str", "displayName": "str"})
BASIC = ("$select", "$top", "$skiptoken", "$filter", "$count", "$orderby")


@route("organization", "GET")
def organization(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, ORG, allow=("$select",))
    return list_dicts(ctx, [ctx.tenant.org], q, ctx.context(fragment("organization", q.select)))


@route("organization/{oid}", "GET")
def organization_one(ctx: Ctx, oid: str) -> Reply:
    if oid.lower() != ctx.tenant.id:
        raise not_found(oid)
    q = parse_query(ctx.args, ctx.eventual, ORG, allow=("$select",))
    org = ctx.tenant.org
    return Reply(200, {"@odata.context": ctx.context(fragment("organization", q.select) + "/$entity"),
                       **({k: org.get(k) for k in q.select} if q.select else org)})


@route("domains", "GET")
def domains(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, DOMAIN, allow=("$select", "$top", "$skiptoken"))
    return list_dicts(ctx, ctx.tenant.domains, q, ctx.context(fragment("domains", q.select)))


@route("domains/{name}", "GET")
def domain(ctx: Ctx, name: str) -> Reply:
    found = next((d for d in ctx.tenant.domains if d["id"].lower() == name.lower()), None)
    if found is None:
        raise not_found(name)
    q = parse_query(ctx.args, ctx.eventual, DOMAIN, allow=("$select",))
    return Reply(200, {"@odata.context": ctx.context(fragment("domains", q.select) + "/$entity"),
                       **({k: found.get(k) for k in q.select} if q.select else found)})


@route("subscribedSkus", "GET")
def subscribed_skus(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, SKU, allow=("$select",))
    return list_dicts(ctx, list(ctx.tenant.skus.values()), q, ctx.context("subscribedSkus"), default_top=999)


@route("subscribedSkus/{sid}", "GET")
def subscribed_sku(ctx: Ctx, sid: str) -> Reply:
    found = next((s for s in ctx.tenant.skus.values() if s["id"].lower() == sid.lower()), None)
    if found is None:
        raise not_found(sid)
    return Reply(200, {"@odata.context": ctx.context("subscribedSkus/$entity"), **found})


@route("roleManagement/directory/roleDefinitions", "GET")
def role_definitions(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, ROLE_DEFINITION, allow=BASIC)
    return list_dicts(ctx, DEFINITIONS, q,
                      ctx.context(fragment("roleManagement/directory/roleDefinitions", q.select)),
                      default_top=999)


@route("roleManagement/directory/roleDefinitions/{rid}", "GET")
def role_definition(ctx: Ctx, rid: str) -> Reply:
    found = DEFINITION_BY_ID.get(rid.lower())
    if found is None:
        raise not_found(rid)
    q = parse_query(ctx.args, ctx.eventual, ROLE_DEFINITION, allow=("$select",))
    context = ctx.context(fragment("roleManagement/directory/roleDefinitions", q.select) + "/$entity")
    return Reply(200, {"@odata.context": context,
                       **({k: found.get(k) for k in q.select} if q.select else found)})


def _assignments(ctx: Ctx) -> list[dict]:
    tenant = ctx.tenant
    return [a for a in tenant.role_assignments.values()
            if tenant.live_user(a["principalId"]) is not None or tenant.group(a["principalId"])
            ] + ctx.server.access.assignments(tenant.id, ctx.server.client_id)   # the app's own


@route("roleManagement/directory/roleAssignments", "GET")
def role_assignments(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, ROLE_ASSIGNMENT, allow=BASIC)
    return list_dicts(ctx, _assignments(ctx), q,
                      ctx.context(fragment("roleManagement/directory/roleAssignments", q.select)))


@route("roleManagement/directory/roleAssignments", "POST")
def create_role_assignment(ctx: Ctx) -> Reply:
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    for prop in ("roleDefinitionId", "principalId", "directoryScopeId"):
        if not body.get(prop):
            raise bad_request(f"A value is required for property '{prop}' of resource "
                              "'UnifiedRoleAssignment'.")
    role_id, principal = str(body["roleDefinitionId"]).lower(), str(body["principalId"]).lower()
    if role_id not in DEFINITION_BY_ID:
        raise not_found(role_id)
    if ctx.tenant.live_user(principal) is None:
        raise bad_request(f"Principal '{principal}' does not exist in the directory.")
    scope = body["directoryScopeId"]
    if any(a["principalId"] == principal and a["roleDefinitionId"] == role_id
           and a["directoryScopeId"] == scope for a in ctx.tenant.role_assignments.values()):
        raise conflict("roleAssignment", "A conflicting object with one or more of the specified "
                                         "property values is present in the directory.")
    rid = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=") + "-1"
    assignment = {"id": rid, "principalId": principal, "roleDefinitionId": role_id,
                  "directoryScopeId": scope}
    ctx.tenant.role_assignments[rid] = assignment
    ctx.tenant.dirty = True
    ctx.wrote = True
    return Reply(201, {"@odata.context": ctx.context("roleManagement/directory/roleAssignments/$entity"),
                       **assignment})


@route("roleManagement/directory/roleAssignments/{rid}", "GET")
def role_assignment(ctx: Ctx, rid: str) -> Reply:
    found = next((a for a in _assignments(ctx) if a["id"] == rid), None)
    if found is None:
        raise not_found(rid)
    q = parse_query(ctx.args, ctx.eventual, ROLE_ASSIGNMENT, allow=("$select",))
    context = ctx.context(fragment("roleManagement/directory/roleAssignments", q.select) + "/$entity")
    return Reply(200, {"@odata.context": context,
                       **({k: found.get(k) for k in q.select} if q.select else found)})


@route("roleManagement/directory/roleAssignments/{rid}", "DELETE")
def delete_role_assignment(ctx: Ctx, rid: str) -> Reply:
    if ctx.tenant.role_assignments.pop(rid, None) is None:
        raise not_found(rid)
    ctx.tenant.dirty = True
    ctx.wrote = True
    return Reply(204)


DELETED_TYPE = '"@odata.type":"#microsoft.graph.user"'


@route("directory/deletedItems/microsoft.graph.user", "GET")
def deleted_users(ctx: Ctx) -> Reply:
    from .schema import USER
    q = parse_query(ctx.args, ctx.eventual, USER, allow=("$select", "$top", "$skiptoken"))
    fields = q.select or (*USER_DEFAULT, "deletedDateTime")
    users = [u for u in ctx.tenant.users.values() if directory.restorable(u)]
    users.sort(key=lambda u: u.deleted, reverse=True)
    parts = [u.render(fields, DELETED_TYPE) for u in users]
    # Graph names the cast's entity set in the context, with the $select list (the docs'
    # example for the group cast: `$metadata#groups(id,displayName,deletedDateTime)`).
    return list_parts(ctx, parts, q.top or 100, ctx.context(fragment("users", q.select)))


@route("directory/deletedItems/{oid}", "GET")
def deleted_item(ctx: Ctx, oid: str) -> Reply:
    from .schema import USER
    user = directory.deleted_user(ctx.tenant, oid)
    q = parse_query(ctx.args, ctx.eventual, USER, allow=("$select",))
    return entity(ctx.context(fragment("directoryObjects", q.select) + "/$entity"),
                  user.render(q.select or (*USER_DEFAULT, "deletedDateTime"), DELETED_TYPE))


@route("directory/deletedItems/{oid}", "DELETE")
def purge(ctx: Ctx, oid: str) -> Reply:
    directory.purge_user(ctx.tenant, oid)
    ctx.wrote = True
    return Reply(204)


@route("directory/deletedItems/{oid}/restore", "POST")
def restore(ctx: Ctx, oid: str) -> Reply:
    user = directory.restore_user(ctx.tenant, oid)
    ctx.wrote = True
    return entity(ctx.context("directoryObjects/$entity"), user.render(USER_DEFAULT, DELETED_TYPE))


@route("directoryObjects/{oid}", "GET")
def directory_object(ctx: Ctx, oid: str) -> Reply:
    user = ctx.tenant.live_user(oid)
    if user is not None:
        return entity(ctx.context("directoryObjects/$entity"), user.render(USER_DEFAULT, DELETED_TYPE))
    group = ctx.tenant.group(oid)
    if group is None:
        raise not_found(oid)
    from .schema import GROUP_DEFAULT
    return entity(ctx.context("directoryObjects/$entity"),
                  group.render(GROUP_DEFAULT, '"@odata.type":"#microsoft.graph.group"'))


_USER_FILTER = re.compile(r"userId\s+eq\s+'([0-9a-fA-F-]{36})'")


@route("auditLogs/signIns", "GET")
def sign_ins(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, SIGN_IN, allow=BASIC, max_top=1000)
    wanted = _USER_FILTER.search(ctx.args.get("$filter") or "")
    tenant = ctx.tenant
    users = [tenant.users.get(wanted.group(1).lower())] if wanted else tenant.user_list
    rows = []
    for user in users:
        if user is not None and user.deleted is None:
            rows.extend(activity.sign_ins(tenant, user))
    rows.sort(key=lambda r: r["createdDateTime"], reverse=True)
    return list_dicts(ctx, rows, q, ctx.context(fragment("auditLogs/signIns", q.select)))


@route("auditLogs/signIns/{sid}", "GET")
def sign_in(ctx: Ctx, sid: str) -> Reply:
    """One sign-in event by id (derived per user, so every live user's log is searched)."""
    q = parse_query(ctx.args, ctx.eventual, SIGN_IN, allow=("$select",))
    key = sid.lower()
    for user in ctx.tenant.user_list:
        if user.deleted is not None:
            continue
        found = next((r for r in activity.sign_ins(ctx.tenant, user) if r["id"] == key), None)
        if found is not None:
            shown = {k: found.get(k) for k in q.select} if q.select else found
            return Reply(200, {"@odata.context": ctx.context(
                fragment("auditLogs/signIns", q.select) + "/$entity"), **shown})
    raise not_found(sid)


def _partner(ctx: Ctx):
    return ctx.tenant.info.kind == "partner"


@route("tenantRelationships/delegatedAdminRelationships", "GET")
def relationships(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, RELATIONSHIP, allow=BASIC)
    rows = ctx.tenant.relationships if _partner(ctx) else []
    return list_dicts(ctx, rows, q, ctx.context("tenantRelationships/delegatedAdminRelationships"))


@route("tenantRelationships/delegatedAdminCustomers", "GET")
def customers(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, CUSTOMER, allow=BASIC)
    rows = [{"id": r["customer"]["tenantId"], "tenantId": r["customer"]["tenantId"],
             "displayName": r["customer"]["displayName"]}
            for r in ctx.tenant.relationships if r["status"] == "active"] if _partner(ctx) else []
    return list_dicts(ctx, rows, q, ctx.context("tenantRelationships/delegatedAdminCustomers"))


@route("contracts", "GET")
def contracts(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, CONTRACT, allow=BASIC)
    rows = ctx.tenant.contracts if _partner(ctx) else []
    return list_dicts(ctx, rows, q, ctx.context("contracts"), default_top=999)


@route("me", "GET", "PATCH", "POST", "DELETE")
def me(ctx: Ctx) -> Reply:
    raise GraphFault(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
