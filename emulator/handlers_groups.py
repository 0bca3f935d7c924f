"""/groups: list, get, create, update (members@odata.bind), members, owners, app assignments."""
from __future__ import annotations

import re
import uuid

from . import delta, membership
from .errors import bad_request, not_found, unsupported
from .model import Group, now_iso
from .odata import fragment, parse_query
from .paging import entity, list_dicts, list_objects
from .router import Ctx, Reply, route
from .schema import GROUP, GROUP_DEFAULT, GROUP_NAMES, GROUP_WRITABLE, USER, USER_DEFAULT, simple_kind

USER_TYPE = '"@odata.type":"#microsoft.graph.user"'
GROUP_TYPE = '"@odata.type":"#microsoft.graph.group"'
APP_ASSIGNMENT = simple_kind("appRoleAssignment", (
    "id", "appRoleId", "createdDateTime", "deletedDateTime", "principalDisplayName", "principalId",
    "principalType", "resourceDisplayName", "resourceId"),
    {"resourceId": "str", "principalId": "str", "appRoleId": "str", "id": "str"})


def find_group(ctx: Ctx, gid: str) -> Group:
    group = ctx.tenant.group(gid)
    if group is None:
        raise not_found(gid)
    return group


@route("groups", "GET")
def list_groups(ctx: Ctx) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, GROUP)
    fragment = f"groups({','.join(q.select)})" if q.select else "groups"
    return list_objects(ctx, ctx.tenant.group_list, q, q.select or GROUP_DEFAULT, ctx.context(fragment),
                        live=lambda g: ctx.tenant.groups.get(g.id) is g)


@route("groups", "POST")
def create_group(ctx: Ctx) -> Reply:
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    for prop in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
        if body.get(prop) is None:
            raise bad_request(f"A value is required for property '{prop}' of resource 'Group'.")
    types = body.get("groupTypes") or []
    unified = "Unified" in types
    if body["mailEnabled"] and not unified:
        raise bad_request("Only Microsoft 365 groups (groupTypes Unified) can be mail-enabled when "
                          "created through Graph; create distribution lists in Exchange.")
    if "DynamicMembership" in types and not body.get("membershipRule"):
        raise bad_request("A value is required for property 'membershipRule' of resource 'Group'.")
    if not re.match(r"^[A-Za-z0-9._\-]{1,64}$", str(body["mailNickname"])):
        raise bad_request("Invalid value specified for property 'mailNickname' of resource 'Group'.")
    domain = ctx.tenant.info.default_domain
    nick = body["mailNickname"]
    props = {name: None for name in GROUP_DEFAULT}
    props.update({"id": str(uuid.uuid4()), "createdDateTime": now_iso(), "groupTypes": list(types),
                  "displayName": body["displayName"], "description": body.get("description"),
                  "mailEnabled": bool(body["mailEnabled"]), "mailNickname": nick,
                  "securityEnabled": bool(body["securityEnabled"]),
                  "mail": f"{nick}@{domain}" if unified else None,
                  "proxyAddresses": [f"SMTP:{nick}@{domain}"] if unified else [],
                  "visibility": body.get("visibility") or ("Public" if unified else None),
                  "membershipRule": body.get("membershipRule"),
                  "membershipRuleProcessingState": "On" if body.get("membershipRule") else None,
                  "resourceBehaviorOptions": [], "resourceProvisioningOptions": [],
                  "renewedDateTime": now_iso() if unified else None})
    group = Group(props, len(ctx.tenant.group_list))
    ctx.tenant.add_group(group)
    ctx.tenant.touch(group)
    binds = body.get("members@odata.bind")
    if binds:
        membership.bind_members(ctx.tenant, group, binds)
    if group.dynamic:
        for user in ctx.tenant.user_list:
            membership.apply_dynamic_rules(ctx.tenant, user)
    ctx.wrote = True
    reply = entity(ctx.context("groups/$entity"), group.render(GROUP_DEFAULT))
    reply.status = 201
    return reply


@route("groups/delta", "GET")
def groups_delta(ctx: Ctx) -> Reply:
    return delta.groups(ctx)


@route("groups/$count", "GET")
def count_groups(ctx: Ctx) -> Reply:
    if not ctx.eventual:
        raise unsupported("Raw count (/$count) is not supported because the "
                          "'ConsistencyLevel:eventual' header is missing. Refer to "
                          "https://aka.ms/graph-docs/advanced-queries for more information")
    q = parse_query(ctx.args, True, GROUP, allow=("$filter", "$search"))
    n = sum(1 for g in ctx.tenant.groups.values() if (q.match is None or q.match(g.p)))
    return Reply(200, raw=str(n), headers={"Content-Type": "text/plain; charset=utf-8"})


@route("groups/{gid}", "GET")
def get_group(ctx: Ctx, gid: str) -> Reply:
    group = find_group(ctx, gid)
    q = parse_query(ctx.args, ctx.eventual, GROUP, allow=("$select",))
    return entity(ctx.context("groups/$entity"), group.render(q.select or GROUP_DEFAULT))


@route("groups/{gid}", "PATCH")
def update_group(ctx: Ctx, gid: str) -> Reply:
    group = find_group(ctx, gid)
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    changes = {}
    for key, value in body.items():
        if key.lower() == "members@odata.bind" or key.startswith("@odata."):
            continue
        canonical = GROUP_NAMES.get(key.lower())
        if canonical is None:
            raise bad_request(f"The property '{key}' does not exist on type 'microsoft.graph.group'. "
                              "Make sure to only use property names that are defined by the type.",
                              code="BadRequest")
        if canonical not in GROUP_WRITABLE:
            raise bad_request(f"Property '{canonical}' is read-only and cannot be set.")
        changes[canonical] = value
    binds = next((v for k, v in body.items() if k.lower() == "members@odata.bind"), None)
    if binds is not None:
        membership.bind_members(ctx.tenant, group, binds)
    if changes:
        group.p.update(changes)
        ctx.tenant.touch(group)
    ctx.wrote = True
    return Reply(204)


def _members(ctx: Ctx, group: Group, select, q) -> Reply:
    tenant = ctx.tenant
    objects = []
    for member_id, kind in group.members.items():
        obj = tenant.users.get(member_id) if kind == "user" else tenant.groups.get(member_id)
        if obj is not None and getattr(obj, "deleted", None) is None:
            objects.append(obj)
    fields = q.select or USER_DEFAULT
    users = [o for o in objects if not isinstance(o, Group)]
    if len(users) == len(objects):
        return list_objects(ctx, objects, q, fields, ctx.context(fragment("directoryObjects", q.select)),
                            prefix=USER_TYPE)
    # Nested groups among the members: render each with its own type tag and default fields.
    from .paging import list_parts
    parts = [o.render(fields if not isinstance(o, Group) else (q.select or GROUP_DEFAULT),
                      GROUP_TYPE if isinstance(o, Group) else USER_TYPE)
             for o in objects if q.match is None or q.match(o.p)]
    return list_parts(ctx, parts, q.top or 100, ctx.context(fragment("directoryObjects", q.select)))


@route("groups/{gid}/members", "GET")
def list_members(ctx: Ctx, gid: str) -> Reply:
    group = find_group(ctx, gid)
    q = parse_query(ctx.args, ctx.eventual, USER)
    return _members(ctx, group, q.select, q)


@route("groups/{gid}/members/$ref", "POST")
def add_member(ctx: Ctx, gid: str) -> Reply:
    group = find_group(ctx, gid)
    body = ctx.json()
    if not isinstance(body, dict) or "@odata.id" not in body:
        raise bad_request("The request body must contain '@odata.id'.")
    membership.add_member(ctx.tenant, group, body["@odata.id"])
    ctx.wrote = True
    return Reply(204)


@route("groups/{gid}/members/{mid}/$ref", "DELETE")
def remove_member(ctx: Ctx, gid: str, mid: str) -> Reply:
    membership.remove_member(ctx.tenant, find_group(ctx, gid), mid)
    ctx.wrote = True
    return Reply(204)


@route("groups/{gid}/owners", "GET")
def list_owners(ctx: Ctx, gid: str) -> Reply:
    group = find_group(ctx, gid)
    q = parse_query(ctx.args, ctx.eventual, USER)
    owners = [u for u in (ctx.tenant.users.get(o) for o in group.owners) if u is not None]
    return list_objects(ctx, owners, q, q.select or USER_DEFAULT, ctx.context("directoryObjects"),
                        live=lambda u: u.deleted is None, prefix=USER_TYPE)


@route("groups/{gid}/appRoleAssignments", "GET")
def app_role_assignments(ctx: Ctx, gid: str) -> Reply:
    group = find_group(ctx, gid)
    q = parse_query(ctx.args, ctx.eventual, APP_ASSIGNMENT, allow=("$select", "$top", "$skiptoken"))
    return list_dicts(ctx, group.apps, q, ctx.context(
        fragment(f"groups('{group.id}')/appRoleAssignments", q.select)))
