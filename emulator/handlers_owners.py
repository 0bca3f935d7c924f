"""Group owners (add, remove) and what a user owns (`/users/{id}/ownedObjects`).

Graph's rules: an owner added twice answers 400 "...already exist for the following modified
properties: 'owners'." (observed); once a group has owners, the last one cannot be removed
(v1.0 "Remove group owner"; observed text below); removing a non-owner is a 404.
"""
from __future__ import annotations

from . import membership
from .errors import bad_request, not_found
from .handlers_groups import find_group
from .handlers_users import _top, live_user
from .odata import parse_select
from .paging import list_parts
from .router import Ctx, Reply, route
from .schema import GROUP, GROUP_DEFAULT

MSG_ALREADY_OWNER = ("One or more added object references already exist for the following "
                     "modified properties: 'owners'.")
MSG_LAST_OWNER = "The group must have at least one owner, hence this owner cannot be removed."
GROUP_TYPE = '"@odata.type":"#microsoft.graph.group"'


def _live_owners(ctx: Ctx, group) -> list[str]:
    return [o for o in group.owners if ctx.tenant.live_user(o) is not None]


@route("groups/{gid}/owners/$ref", "POST")
def add_owner(ctx: Ctx, gid: str) -> Reply:
    group = find_group(ctx, gid)
    body = ctx.json()
    if not isinstance(body, dict) or "@odata.id" not in body:
        raise bad_request("The request body must contain '@odata.id'.")
    owner_id = membership.ref_id(body["@odata.id"])
    user = ctx.tenant.live_user(owner_id)
    if user is None:
        raise not_found(owner_id)
    if user.id in group.owners:
        raise bad_request(MSG_ALREADY_OWNER)
    group.owners.append(user.id)
    ctx.tenant.touch(group)
    ctx.wrote = True
    return Reply(204)


@route("groups/{gid}/owners/{oid}/$ref", "DELETE")
def remove_owner(ctx: Ctx, gid: str, oid: str) -> Reply:
    group = find_group(ctx, gid)
    key = oid.lower()
    if key not in group.owners:
        raise not_found(oid)
    if _live_owners(ctx, group) == [key]:
        raise bad_request(MSG_LAST_OWNER)
    group.owners.remove(key)
    ctx.tenant.touch(group)
    ctx.wrote = True
    return Reply(204)


@route("users/{uid}/ownedObjects", "GET")
def owned_objects(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    fields = parse_select(ctx.args.get("$select"), GROUP) or GROUP_DEFAULT
    parts = [g.render(fields, GROUP_TYPE) for g in ctx.tenant.group_list
             if user.id in g.owners and ctx.tenant.groups.get(g.id.lower()) is g]
    return list_parts(ctx, parts, _top(ctx), ctx.context("directoryObjects"))
