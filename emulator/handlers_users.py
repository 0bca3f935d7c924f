"""/users and what hangs off a user: licenses, memberships, manager, devices, sessions
(mailboxSettings: handlers_mailbox.py; authentication methods: handlers_auth_methods.py)."""
from __future__ import annotations

from . import activity, delta, directory, licensing, membership
from .errors import bad_request, not_found, unsupported
from .model import dumps, now_iso
from .odata import fragment, parse_query, parse_select
from .paging import entity, list_dicts, list_objects, list_parts
from .roles import directory_role
from .router import Ctx, Reply, route
from .schema import GROUP, GROUP_DEFAULT, USER, USER_DEFAULT, simple_kind

USER_TYPE = '"@odata.type":"#microsoft.graph.user"'
GROUP_TYPE = '"@odata.type":"#microsoft.graph.group"'
SIGN_IN_ACTIVITY_TOP = 500
DEVICE = simple_kind("managedDevice", ("id", "deviceName", "userId", "operatingSystem",
                                       "osVersion", "complianceState", "lastSyncDateTime",
                                       "enrolledDateTime", "model", "manufacturer",
                                       "serialNumber", "userPrincipalName", "azureADDeviceId",
                                       "managedDeviceOwnerType", "isEncrypted", "managementState"),
                     {"userPrincipalName": "str", "userId": "str", "deviceName": "str",
                      "operatingSystem": "str", "managementState": "str", "id": "str"})


def live_user(ctx: Ctx, uid: str):
    user = ctx.tenant.live_user(uid)
    if user is None:
        raise not_found(uid)
    return user


def _select_fragment(base: str, select) -> str:
    return f"{base}({','.join(select)})" if select else base


@route("users", "GET")
def list_users(ctx: Ctx) -> Reply:
    select = parse_select(ctx.args.get("$select"), USER)
    max_top = SIGN_IN_ACTIVITY_TOP if select and "signInActivity" in select else 999
    q = parse_query(ctx.args, ctx.eventual, USER, max_top=max_top)
    fields = q.select or USER_DEFAULT
    return list_objects(ctx, ctx.tenant.user_list, q, fields,
                        ctx.context(_select_fragment("users", q.select)),
                        live=lambda u: u.deleted is None)


@route("users", "POST")
def create_user(ctx: Ctx) -> Reply:
    user = directory.create_user(ctx.tenant, ctx.json())
    ctx.wrote = True
    reply = entity(ctx.context("users/$entity"), user.render(USER_DEFAULT))
    reply.status = 201
    reply.headers["Location"] = f"{ctx.base}/directoryObjects/{user.id}/Microsoft.DirectoryServices.User"
    return reply


@route("users/delta", "GET")
def users_delta(ctx: Ctx) -> Reply:
    return delta.users(ctx)


@route("users/$count", "GET")
def count_users(ctx: Ctx) -> Reply:
    if not ctx.eventual:
        raise unsupported("Raw count (/$count) is not supported because the "
                          "'ConsistencyLevel:eventual' header is missing. Refer to "
                          "https://aka.ms/graph-docs/advanced-queries for more information")
    q = parse_query(ctx.args, True, USER, allow=("$filter", "$search"))
    n = sum(1 for u in ctx.tenant.user_list if u.deleted is None
            and (q.match is None or q.match(u.p)) and (q.search is None or q.search(u.p)))
    return Reply(200, raw=str(n), headers={"Content-Type": "text/plain; charset=utf-8"})


@route("users/{uid}", "GET")
def get_user(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    q = parse_query(ctx.args, ctx.eventual, USER, allow=("$select",))
    return entity(ctx.context(_select_fragment("users", q.select) + "/$entity"),
                  user.render(q.select or USER_DEFAULT))


@route("users/{uid}", "PATCH")
def update_user(ctx: Ctx, uid: str) -> Reply:
    directory.update_user(ctx.tenant, live_user(ctx, uid), ctx.json())
    ctx.wrote = True
    return Reply(204)


@route("users/{uid}", "DELETE")
def delete_user(ctx: Ctx, uid: str) -> Reply:
    directory.delete_user(ctx.tenant, live_user(ctx, uid))
    ctx.wrote = True
    return Reply(204)


@route("users/{uid}/assignLicense", "POST")
def assign_license(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    licensing.assign_license(ctx.tenant, user, ctx.json())
    ctx.wrote = True
    return entity(ctx.context("users/$entity"), user.render(USER_DEFAULT))


@route("users/{uid}/licenseDetails", "GET")
def license_details(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    rows = licensing.license_details(ctx.tenant, user)
    kind = simple_kind("licenseDetails", ("id", "skuId", "skuPartNumber", "servicePlans"))
    q = parse_query(ctx.args, ctx.eventual, kind, allow=("$select", "$top", "$skiptoken"))
    return list_dicts(ctx, rows, q, ctx.context(f"users('{user.id}')/licenseDetails"))


@route("users/{uid}/appRoleAssignments", "GET")
def user_app_role_assignments(ctx: Ctx, uid: str) -> Reply:
    """The user's app role assignments. Graph's page for this call says it "also returns app
    roles assigned to groups that the user is a direct member of"; the emulator assigns apps
    to groups only, so those are what a user has (principal fields name the group)."""
    from .handlers_groups import APP_ASSIGNMENT
    user = live_user(ctx, uid)
    q = parse_query(ctx.args, ctx.eventual, APP_ASSIGNMENT,
                    allow=("$select", "$top", "$skiptoken", "$filter"))
    rows = [a for g in ctx.tenant.groups_of(user.id) for a in g.apps]
    return list_dicts(ctx, rows, q, ctx.context(
        fragment(f"users('{user.id}')/appRoleAssignments", q.select)))


@route("users/{uid}/memberOf", "GET")
@route("users/{uid}/transitiveMemberOf", "GET")
def member_of(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    select = _lenient_select(ctx.args.get("$select"))
    top = _top(ctx)
    parts = [g.render(select or GROUP_DEFAULT, GROUP_TYPE) for g in ctx.tenant.groups_of(user.id)]
    roles = {a["roleDefinitionId"] for a in ctx.tenant.role_assignments.values()
             if a["principalId"] == user.id}
    for template in sorted(roles):
        role = directory_role(ctx.tenant.id, template)
        if select:
            role = {"@odata.type": role["@odata.type"], **{k: role.get(k) for k in select}}
        parts.append(dumps(role))
    return list_parts(ctx, parts, top, ctx.context("directoryObjects"))


def _lenient_select(text):
    """memberOf mixes groups and roles: keep the selected names either type knows."""
    if not text:
        return None
    names = [GROUP.names.get(n.strip().lower()) or n.strip() for n in text.split(",") if n.strip()]
    return tuple(dict.fromkeys(names)) or None


def _top(ctx: Ctx) -> int:
    top = ctx.args.get("$top")
    if top is None:
        return 100
    if not top.isdigit() or not 1 <= int(top) <= 999:
        raise unsupported(f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.")
    return int(top)


@route("users/{uid}/revokeSignInSessions", "POST")
def revoke_sessions(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    user.p["signInSessionsValidFromDateTime"] = now_iso()
    ctx.tenant.touch(user)
    ctx.wrote = True
    return Reply(200, {"@odata.context": ctx.context("Edm.Boolean"), "value": True})


@route("users/{uid}/managedDevices", "GET")
def managed_devices(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    q = parse_query(ctx.args, ctx.eventual, DEVICE, allow=("$select", "$top", "$skiptoken"))
    return list_dicts(ctx, activity.managed_devices(user, getattr(ctx.tenant, "retired", None)), q,
                      ctx.context(f"users('{user.id}')/managedDevices"))


@route("users/{uid}/ownedDevices", "GET")
def owned_devices(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    q = parse_query(ctx.args, ctx.eventual, simple_kind("device", (
        "id", "deviceId", "displayName", "operatingSystem", "operatingSystemVersion",
        "accountEnabled", "isCompliant", "isManaged", "trustType", "approximateLastSignInDateTime",
        "registrationDateTime")), allow=("$select", "$top", "$skiptoken"))
    return list_dicts(ctx, activity.owned_devices(user), q, ctx.context("directoryObjects"))


@route("users/{uid}/manager", "GET")
def get_manager(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    manager = ctx.tenant.live_user(user.manager) if user.manager else None
    if manager is None:
        raise not_found("manager")
    q = parse_query(ctx.args, ctx.eventual, USER, allow=("$select",))
    return entity(ctx.context("directoryObjects/$entity"),
                  manager.render(q.select or USER_DEFAULT, USER_TYPE))


@route("users/{uid}/manager/$ref", "PUT")
def set_manager(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    body = ctx.json()
    if not isinstance(body, dict) or "@odata.id" not in body:
        raise bad_request("The request body must contain '@odata.id'.")
    directory.set_manager(ctx.tenant, user, membership.ref_id(body["@odata.id"]))
    ctx.wrote = True
    return Reply(204)


@route("users/{uid}/manager/$ref", "DELETE")
def remove_manager(ctx: Ctx, uid: str) -> Reply:
    directory.remove_manager(ctx.tenant, live_user(ctx, uid))
    ctx.wrote = True
    return Reply(204)


@route("users/{uid}/directReports", "GET")
def direct_reports(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    q = parse_query(ctx.args, ctx.eventual, USER)
    reports = [u for u in ctx.tenant.user_list if u.manager == user.id]
    return list_objects(ctx, reports, q, q.select or USER_DEFAULT, ctx.context("directoryObjects"),
                        live=lambda u: u.deleted is None, prefix=USER_TYPE)

