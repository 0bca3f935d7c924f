"""Delta queries: `users/delta` and `groups/delta` with nextLinks, a deltaLink, and changes.

Tokens are opaque to clients but stateless here: they carry the tenant, the world nonce, the
delta epoch, the change sequence number the round started from (`since`), the one it runs to
(`upto`), a cursor into the creation-ordered object list and the `$select`. A token from another
world, another tenant or an older epoch (`Emulator.expire_delta_tokens()`) answers 410 Gone with
`syncStateNotFound`, as Graph does once a delta token has expired; the client then starts over.

Removed objects come as `{"id": ..., "@removed": {"reason": "changed"}}` while restorable
(soft-deleted, Graph's wording) and `"deleted"` once purged; removed members in `members@delta`
carry `"@removed": {"reason": "deleted"}`.
"""
from __future__ import annotations

import re

from .errors import GraphFault
from .model import dumps
from .odata import parse_select
from .paging import decode_token, encode_token, envelope
from .router import Ctx, Reply
from .schema import GROUP, GROUP_DEFAULT, USER, USER_DEFAULT

DEFAULT_PAGE = 100
MAX_PAGE = 999
USER_TYPE = "#microsoft.graph.user"
_MAXPAGE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)


def _gone() -> GraphFault:
    return GraphFault(410, "syncStateNotFound",
                      "The sync state generation is not found. The delta token has expired or is "
                      "not valid for this tenant; start a new delta query without a token.")


def _page_size(ctx: Ctx) -> tuple[int, dict]:
    m = _MAXPAGE.search(ctx.headers.get("prefer") or "")
    if not m:
        return DEFAULT_PAGE, {}
    size = max(1, min(MAX_PAGE, int(m.group(1))))
    return size, {"Preference-Applied": f"odata.maxpagesize={size}"}


def _state(ctx: Ctx, kind: str) -> dict:
    """Decode $deltatoken / $skiptoken into a round, or start a full round."""
    world = ctx.server.world
    token = ctx.args.get("$skiptoken") or ctx.args.get("$deltatoken")
    if token is None:
        return {"s": None, "u": ctx.tenant.seq, "c": 0, "sel": ctx.args.get("$select")}
    if token == "latest" and "$deltatoken" in ctx.args:
        return {"s": ctx.tenant.seq, "u": ctx.tenant.seq, "c": 0,
                "sel": ctx.args.get("$select"), "latest": True}
    try:
        state = decode_token(token)
    except GraphFault:
        raise _gone() from None
    if not isinstance(state, dict) or state.get("t") != ctx.tenant.id or state.get("k") != kind \
            or state.get("n") != world.nonce or state.get("e") != world.delta_epoch:
        raise _gone()
    if "$deltatoken" in ctx.args:           # a new round of changes since the last one
        state["u"], state["c"] = ctx.tenant.seq, 0
    if state["s"] is not None and state["s"] > ctx.tenant.seq:
        raise _gone()
    return state


def _token(ctx: Ctx, kind: str, state: dict, **changes) -> str:
    data = {"t": ctx.tenant.id, "k": kind, "n": ctx.server.world.nonce,
            "e": ctx.server.world.delta_epoch, "s": state["s"], "u": state["u"], "c": state["c"],
            "sel": state["sel"]}
    data.update(changes)
    return encode_token(data)


def _finish(ctx: Ctx, kind: str, state: dict, parts: list, cursor: int, done: bool,
            fragment: str, headers: dict) -> Reply:
    path = f"{kind}/delta"
    if done:
        link = ctx.link(path, {"$deltatoken": _token(ctx, kind, state, s=state["u"], u=None, c=0)})
        text = envelope(ctx.context(fragment), parts, delta_link=link)
    else:
        link = ctx.link(path, {"$skiptoken": _token(ctx, kind, state, c=cursor)})
        text = envelope(ctx.context(fragment), parts, next_link=link)
    return Reply(200, raw=text, headers=headers)


def users(ctx: Ctx) -> Reply:
    state = _state(ctx, "users")
    select = parse_select(state["sel"], USER)
    fields = ("id",) + tuple(f for f in (select or USER_DEFAULT) if f != "id")
    size, headers = _page_size(ctx)
    tenant = ctx.tenant
    since, upto = state["s"], state["u"]
    objects = tenant.user_list
    parts, i, n = [], state["c"], len(objects)
    if state.get("latest"):
        i = n
    while i < n and len(parts) < size:
        user = objects[i]
        i += 1
        if user.seq > upto or (since is not None and user.seq <= since):
            continue
        if tenant.users.get(user.id) is not user:          # purged from the recycle bin
            if since is not None:
                parts.append(dumps({"id": user.id, "@removed": {"reason": "deleted"}}))
        elif user.deleted is not None:
            if since is not None:
                parts.append(dumps({"id": user.id, "@removed": {"reason": "changed"}}))
        else:
            parts.append(user.render(fields))
    fragment = f"users({','.join(fields)})"
    return _finish(ctx, "users", state, parts, i, i >= n, fragment, headers)


def groups(ctx: Ctx) -> Reply:
    state = _state(ctx, "groups")
    names = [n.strip() for n in (state["sel"] or "").split(",") if n.strip()]
    with_members = any(n.lower() == "members" for n in names)
    select = parse_select(",".join(n for n in names if n.lower() != "members"), GROUP)
    fields = ("id",) + tuple(f for f in (select or GROUP_DEFAULT) if f != "id")
    size, headers = _page_size(ctx)
    tenant = ctx.tenant
    since, upto = state["s"], state["u"]
    objects = tenant.group_list
    parts, i, n = [], state["c"], len(objects)
    if state.get("latest"):
        i = n
    while i < n and len(parts) < size:
        group = objects[i]
        i += 1
        changed = (since is None or group.seq > since) and group.seq <= upto
        members = None
        if with_members:
            members = _member_changes(tenant, group, since, upto)
            changed = changed or (since is not None and bool(members))
        if not changed or (since is None and group.seq > upto):
            continue
        text = group.render(fields)
        if members is not None:
            text = text[:-1] + ',"members@delta":' + dumps(members) + "}"
        parts.append(text)
    fragment = f"groups({','.join(fields + (('members',) if with_members else ()))})"
    return _finish(ctx, "groups", state, parts, i, i >= n, fragment, headers)


def _member_changes(tenant, group, since, upto) -> list:
    if since is None:                                      # full round: every current member
        out = []
        for member_id, kind in group.members.items():
            user = tenant.users.get(member_id) if kind == "user" else None
            if kind == "user" and (user is None or user.deleted is not None):
                continue
            out.append({"@odata.type": f"#microsoft.graph.{kind}", "id": member_id})
        return out
    net: dict[str, tuple] = {}
    for seq, member_id, kind, added in group.member_log:
        if since < seq <= upto:
            net[member_id] = (kind, added)
    out = []
    for member_id, (kind, added) in net.items():
        item = {"@odata.type": f"#microsoft.graph.{kind}", "id": member_id}
        if not added:
            item["@removed"] = {"reason": "deleted"}
        out.append(item)
    return out
