"""The Graph steps plans are made of. Each one reads the current state before it writes.

That check is what makes re-applying a plan safe: a role already assigned, a license already
present or a membership already there is reported as skipped ("already ...") instead of being
sent again, and a user this plan created is found instead of created twice.
"""
from __future__ import annotations

import logging

from ..errors import AmbiguousWrite, Conflict, GraphError, NotFound
from ..graph import BatchResponse
from ..passwords import generate_password
from .plan import FAILED, ApplyContext, Outcome, Step, done, graph_failure, skipped
from .mailbox_steps import distribution_member_step
from .resolve import (exchange_group, group_kind, license_sources, member_groups, role_assignments,
                      user_exists)

log = logging.getLogger(__name__)


def _memberships(ctx: ApplyContext) -> set[str]:
    """The user's direct group ids, read once per apply (the batched group steps share it)."""
    if "groups" not in ctx.cache:
        ctx.cache["groups"] = {g["id"].lower() for g in member_groups(ctx.client, ctx.user_id)}
    return ctx.cache["groups"]


def _ref(ctx: ApplyContext, object_id: str, kind: str = "directoryObjects") -> dict:
    return {"@odata.id": f"{ctx.client.base}/{kind}/{object_id}"}


# -- the user itself ------------------------------------------------------------------------------

def create_user(upn: str, body: dict, typed_password: str | None, force_change: bool) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        client = ctx.client
        if ctx.user_id and user_exists(client, ctx.user_id):
            return skipped("already created by an earlier apply of this plan")
        if user_exists(client, upn):
            return Outcome(FAILED, f"{upn} was taken by another account after this plan was made; "
                                   "plan again with another user name")
        password = typed_password or generate_password(username=upn)
        payload = {**body, "passwordProfile": {"password": password,
                                               "forceChangePasswordNextSignIn": force_change}}
        for attempt in (1, 2):
            try:
                created = client.request("POST", "users", json=payload, retry_unsafe=False)
                break
            except AmbiguousWrite:
                # The connection dropped after sending: Graph may have created the user. Look
                # before sending again, so a lost answer never makes a second account.
                found = user_exists(client, upn)
                if found:
                    log.info("create of %s: answer lost, the user exists; adopting it", upn)
                    client.fresh.mark(found)    # as new as a 201: replication lag applies
                    created = {"id": found}
                    break
                if attempt == 2:
                    raise
            except Conflict:
                return Outcome(FAILED, f"{upn} was created by someone else while this plan was "
                                       "applied; plan again with another user name")
        ctx.user_id = created["id"]
        if not typed_password:
            ctx.password = password
        return done()

    return Step("create user", upn, "enabled account; password " +
                ("typed" if typed_password else "generated") +
                ("; change at next sign-in" if force_change else ""), run=run)


def update_properties(desired: dict, shown: str, *, after=()) -> Step:
    """PATCH only the Graph properties whose current value differs from `desired`."""
    def run(ctx: ApplyContext) -> Outcome:
        user = ctx.client.get(f"users/{ctx.user_id}", params={"$select": ",".join(desired)})
        changed = {k: v for k, v in desired.items() if _normal(user.get(k)) != _normal(v)}
        if not changed:
            return skipped("already has these values")
        ctx.client.request("PATCH", f"users/{ctx.user_id}", json=changed)
        return done()

    return Step("update properties", ", ".join(desired), shown, run=run, after=after)


def _normal(value):
    if value in (None, "", []):
        return None
    return value


def set_manager(manager_id: str, label: str, *, after=()) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        try:
            current = ctx.client.get(f"users/{ctx.user_id}/manager", params={"$select": "id"})
        except NotFound:
            current = None
        if current and current.get("id", "").lower() == manager_id.lower():
            return skipped("already the manager")
        ctx.client.request("PUT", f"users/{ctx.user_id}/manager/$ref",
                           json=_ref(ctx, manager_id, "users"))
        return done()

    return Step("set manager", label, "", run=run, after=after)


def block_sign_in() -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        user = ctx.client.get(f"users/{ctx.user_id}", params={"$select": "accountEnabled"})
        if user.get("accountEnabled") is False:
            return skipped("sign-in is already blocked")
        ctx.client.request("PATCH", f"users/{ctx.user_id}", json={"accountEnabled": False})
        return done()

    return Step("block sign-in", "account", "accountEnabled = false", run=run)


def revoke_sessions() -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        ctx.client.request("POST", f"users/{ctx.user_id}/revokeSignInSessions")
        return done()

    return Step("revoke sessions", "all sign-in sessions", "refresh tokens and session cookies",
                run=run)


def reset_password(upn: str, shown: bool) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        password = generate_password(username=upn)
        ctx.client.request("PATCH", f"users/{ctx.user_id}", json={"passwordProfile": {
            "password": password, "forceChangePasswordNextSignIn": True}})
        ctx.password = password
        return done()

    detail = "random; shown once in the result" if shown else "random; not shown to anyone"
    return Step("reset password", "password", detail, run=run)


def delete_user(after=()) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        try:
            ctx.client.request("DELETE", f"users/{ctx.user_id}")
        except NotFound:
            return skipped("already deleted")
        return done()

    return Step("delete user", "account", "restorable for 30 days", run=run, after=after)


def restore_user(deleted_id: str) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        if user_exists(ctx.client, deleted_id):
            return skipped("already restored")
        try:
            ctx.client.request("POST", f"directory/deletedItems/{deleted_id}/restore")
        except NotFound:
            # A retry after a lost answer finds the item gone from the recycle bin: restored.
            if user_exists(ctx.client, deleted_id):
                return done("restored (Graph's first answer was lost)")
            raise
        return done()

    return Step("restore user", deleted_id, "from deleted users", run=run)


# -- roles ----------------------------------------------------------------------------------------

def assign_role(role: dict, *, after=()) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        current = {a.get("roleDefinitionId") for a in role_assignments(ctx.client, ctx.user_id)}
        if role["id"] in current:
            return skipped("already assigned")
        try:
            ctx.client.request("POST", "roleManagement/directory/roleAssignments", json={
                "roleDefinitionId": role["id"], "principalId": ctx.user_id, "directoryScopeId": "/"})
        except Conflict:
            return skipped("already assigned")
        return done()

    return Step("assign role", role.get("displayName") or role["id"], "directory scope /",
                run=run, after=after)


def remove_role(role: dict, *, after=()) -> Step:
    def run(ctx: ApplyContext) -> Outcome:
        mine = [a for a in role_assignments(ctx.client, ctx.user_id)
                if a.get("roleDefinitionId") == role["id"]]
        if not mine:
            return skipped("not assigned")
        for assignment in mine:
            ctx.client.request("DELETE", f"roleManagement/directory/roleAssignments/{assignment['id']}")
        return done()

    return Step("remove role", role.get("displayName") or role["id"], "", run=run, after=after)


# -- licenses -------------------------------------------------------------------------------------

def change_licenses(add: list[tuple[str, list[str]]], remove: list[str], names: dict[str, str],
                    *, after=()) -> Step:
    """One assignLicense call adding `add` (sku id, disabled plan ids) and removing `remove`.

    Only what is still missing is sent: a SKU already assigned with the same disabled plans is
    not added again, and only directly assigned SKUs are removed (an inherited one goes with its
    group).
    """
    def run(ctx: ApplyContext) -> Outcome:
        user = ctx.client.get(f"users/{ctx.user_id}",
                              params={"$select": "assignedLicenses,licenseAssignmentStates"})
        sources = license_sources(user)
        to_add = [{"skuId": sku, "disabledPlans": plans} for sku, plans in add
                  if not sources.get(sku, {}).get("direct")
                  or sorted(sources[sku]["disabled_plans"]) != sorted(plans)]
        to_remove = [sku for sku in remove if sources.get(sku, {}).get("direct")]
        if not to_add and not to_remove:
            return skipped("licenses are already as planned")
        try:
            ctx.client.request("POST", f"users/{ctx.user_id}/assignLicense",
                               json={"addLicenses": to_add, "removeLicenses": to_remove})
        except GraphError as exc:
            # A lost answer makes the client send the call again, and Graph then refuses what
            # the first call already did ("does not have a corresponding license"): look again.
            after_call = license_sources(ctx.client.get(
                f"users/{ctx.user_id}", params={"$select": "assignedLicenses,licenseAssignmentStates"}))
            if all(after_call.get(a["skuId"].lower(), {}).get("direct") for a in to_add) and \
                    not any(after_call.get(sku.lower(), {}).get("direct") for sku in to_remove):
                return done("applied (Graph's first answer was lost)")
            return Outcome(FAILED, _name_skus(graph_failure(exc), names))
        return done()

    parts = [f"add {names.get(s, s)}" for s, _ in add] + [f"remove {names.get(s, s)}" for s in remove]
    target = ", ".join(names.get(s, s) for s, _ in add) if add and not remove else \
        ", ".join(names.get(s, s) for s in remove) if remove and not add else "; ".join(parts)
    action = "assign licenses" if not remove else "remove licenses" if not add else "change licenses"
    detail = "; ".join(parts) + "; in one change"
    return Step(action, target, detail, run=run, after=after)


def _name_skus(text: str, names: dict[str, str]) -> str:
    for sku_id, name in names.items():
        text = text.replace(sku_id, f"{sku_id} ({name})")
    return text


# -- groups (batched) -----------------------------------------------------------------------------

def _answer_text(resp: BatchResponse) -> str:
    err = resp.error()
    return graph_failure(err) if err else ""


def add_to_group(group: dict, *, after=(), why: str = "") -> Step:
    if exchange_group(group):
        return distribution_member_step(group, None, add=True, why=why, after=after)
    gid = group["id"]

    def request(ctx: ApplyContext):
        if gid.lower() in _memberships(ctx):
            return skipped("already a member")
        return {"method": "POST", "url": f"/groups/{gid}/members/$ref", "body": _ref(ctx, ctx.user_id)}

    def accept(ctx: ApplyContext, resp: BatchResponse) -> Outcome:
        if resp.ok:
            return done()
        text = _answer_text(resp)
        if resp.status == 400 and "already exist" in text:
            return skipped("already a member")
        return Outcome(FAILED, text)

    return Step("add to group", group.get("displayName") or gid, why or _kind_label(group),
                request=request, accept=accept, after=after)


def remove_from_group(group: dict, *, after=(), why: str = "") -> Step:
    if exchange_group(group):
        return distribution_member_step(group, None, add=False, why=why, after=after)
    gid = group["id"]

    def request(ctx: ApplyContext):
        if gid.lower() not in _memberships(ctx):
            return skipped("not a member")
        return {"method": "DELETE", "url": f"/groups/{gid}/members/{ctx.user_id}/$ref"}

    def accept(ctx: ApplyContext, resp: BatchResponse) -> Outcome:
        if resp.ok:
            return done()
        if resp.status == 404:
            return skipped("not a member")
        return Outcome(FAILED, _answer_text(resp))

    return Step("remove from group", group.get("displayName") or gid, why or _kind_label(group),
                request=request, accept=accept, after=after)


def _kind_label(group: dict) -> str:
    labels = {"microsoft365": "Microsoft 365 group", "security": "security group",
              "mail_security": "mail-enabled security group", "distribution": "distribution list"}
    text = labels[group_kind(group)]
    if "Team" in (group.get("resourceProvisioningOptions") or []):
        text += " (Team)"
    return text
