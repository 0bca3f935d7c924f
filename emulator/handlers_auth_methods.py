"""/users/{id}/authentication/... and the Temporary Access Pass policy (Graph v1.0)."""
from __future__ import annotations

from . import auth_methods as am
from .errors import bad_request, method_not_allowed, not_found, segment_not_found
from .router import Ctx, Reply, route
from .handlers_users import live_user

POLICY_PATH = "policies/authenticationMethodsPolicy/authenticationMethodConfigurations"


def _kind(kind: str) -> str:
    canonical = am.CANONICAL.get(kind.lower())
    if canonical is None:
        raise segment_not_found(kind)
    return canonical


def _list(ctx: Ctx, user, rows: list[dict], fragment: str) -> Reply:
    return Reply(200, {"@odata.context": ctx.context(f"users('{user.id}')/authentication/{fragment}"),
                       "value": rows})


@route("users/{uid}/authentication/methods", "GET")
def list_methods(ctx: Ctx, uid: str) -> Reply:
    user = live_user(ctx, uid)
    return _list(ctx, user, am.listed(am.methods(ctx.tenant, user)), "methods")


@route("users/{uid}/authentication/methods/{mid}", "GET")
def get_method(ctx: Ctx, uid: str, mid: str) -> Reply:
    user = live_user(ctx, uid)
    for item in am.listed(am.methods(ctx.tenant, user)):
        if item["id"].lower() == mid.lower():
            return Reply(200, {"@odata.context": ctx.context(
                f"users('{user.id}')/authentication/methods/$entity"), **item})
    raise not_found(mid)


@route("users/{uid}/authentication/{kind}", "GET")
def list_kind(ctx: Ctx, uid: str, kind: str) -> Reply:
    kind = _kind(kind)
    user = live_user(ctx, uid)
    return _list(ctx, user, am.listed(am.methods(ctx.tenant, user), kind), kind)


@route("users/{uid}/authentication/{kind}", "POST")
def create_in_kind(ctx: Ctx, uid: str, kind: str) -> Reply:
    kind = _kind(kind)
    if kind != "temporaryAccessPassMethods":
        raise method_not_allowed()            # phones etc. can be added, but not by this tool
    user = live_user(ctx, uid)
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="badRequest")
    tap = am.create_tap(ctx.tenant, user, body)
    ctx.wrote = True
    return Reply(201, {"@odata.context": ctx.context(
        f"users('{user.id}')/authentication/temporaryAccessPassMethods/$entity"), **tap})


@route("users/{uid}/authentication/{kind}/{mid}", "GET")
def get_in_kind(ctx: Ctx, uid: str, kind: str, mid: str) -> Reply:
    kind = _kind(kind)
    user = live_user(ctx, uid)
    found = am.methods(ctx.tenant, user)
    am.find(found, kind, mid)
    item = next(m for m in am.listed(found, kind) if m["id"].lower() == mid.lower())
    return Reply(200, {"@odata.context": ctx.context(
        f"users('{user.id}')/authentication/{kind}/$entity"), **item})


@route("users/{uid}/authentication/{kind}/{mid}", "DELETE")
def delete_in_kind(ctx: Ctx, uid: str, kind: str, mid: str) -> Reply:
    kind = _kind(kind)
    if kind == "passwordMethods":
        raise method_not_allowed()            # the password stays; reset it instead
    user = live_user(ctx, uid)
    am.delete(ctx.tenant, user, kind, mid)
    ctx.wrote = True
    return Reply(204)


@route(POLICY_PATH + "/{cid}", "GET")
def get_configuration(ctx: Ctx, cid: str) -> Reply:
    if cid.lower() != "temporaryaccesspass":
        raise not_found(cid)                  # only the TAP configuration is emulated
    return Reply(200, {"@odata.context": ctx.context("authenticationMethodConfigurations/$entity"),
                       **am.tap_policy(ctx.tenant)})


@route(POLICY_PATH + "/{cid}", "PATCH")
def update_configuration(ctx: Ctx, cid: str) -> Reply:
    if cid.lower() != "temporaryaccesspass":
        raise not_found(cid)
    body = ctx.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="badRequest")
    am.update_tap_policy(ctx.tenant, body)
    ctx.wrote = True
    return Reply(204)
