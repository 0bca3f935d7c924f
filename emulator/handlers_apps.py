"""The app's own service principal: `GET /servicePrincipals(appId='{appId}')` and by object id.

Graph lets a service principal read itself without any application permission (v1.0 "Get
servicePrincipal"), which is how a client finds the id to filter its directory role assignments
by (`roleManagement/directory/roleAssignments?$filter=principalId eq '{id}'`). Other apps'
service principals are not modelled: they answer 404 as an absent one would.
"""
from __future__ import annotations

import re

from .access import service_principal_id
from .errors import GraphFault, not_found
from .odata import parse_query
from .router import Ctx, Reply, route
from .schema import simple_kind

SERVICE_PRINCIPAL = simple_kind("servicePrincipal", (
    "id", "accountEnabled", "appDisplayName", "appId", "appOwnerOrganizationId", "displayName",
    "servicePrincipalType", "signInAudience", "tags", "appRoles", "servicePrincipalNames"))
_APP_ID = re.compile(r"appId='([^']*)'", re.IGNORECASE)


def _own(ctx: Ctx) -> dict:
    from .identity import APP_NAME
    server = ctx.server
    return {"id": service_principal_id(ctx.tenant.id, server.client_id), "accountEnabled": True,
            "appDisplayName": APP_NAME, "appId": server.client_id,
            "appOwnerOrganizationId": server.world.partner.id, "displayName": APP_NAME,
            "servicePrincipalType": "Application", "signInAudience": "AzureADMultipleOrgs",
            "tags": ["WindowsAzureActiveDirectoryIntegratedApp"], "appRoles": [],
            "servicePrincipalNames": [server.client_id]}


def _answer(ctx: Ctx, found: dict) -> Reply:
    q = parse_query(ctx.args, ctx.eventual, SERVICE_PRINCIPAL, allow=("$select",))
    fields = q.select or tuple(found)
    context = ctx.context("servicePrincipals" + (f"({','.join(q.select)})" if q.select else "")
                          + "/$entity")
    return Reply(200, {"@odata.context": context, **{f: found.get(f) for f in fields}})


@route("servicePrincipals({key})", "GET")
def by_app_id(ctx: Ctx, key: str) -> Reply:
    match = _APP_ID.fullmatch(key.strip())
    if match is None:
        raise GraphFault(400, "BadRequest", f"Bad request. The key '{key}' is not valid for "
                                            "servicePrincipals; use appId='{appId}'.")
    own = _own(ctx)
    if match.group(1).lower() != own["appId"].lower():
        raise not_found(match.group(1))
    return _answer(ctx, own)


@route("servicePrincipals/{sid}", "GET")
def by_id(ctx: Ctx, sid: str) -> Reply:
    own = _own(ctx)
    if sid.lower() != own["id"]:
        raise not_found(sid)
    return _answer(ctx, own)
