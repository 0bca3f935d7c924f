"""A user's manager on onboarding and edit: who may be one, and removing one.

Setting is `steps.set_manager` (PUT /users/{id}/manager/$ref); removing is DELETE on the same
reference. A manager must be a live user of the same tenant and not the user themself; when the
name matches nobody, the problem says whether it is a deleted user (restore it or pick another)
or someone outside this tenant (a manager cannot cross tenants), not only "not found".
"""
from __future__ import annotations

from ..errors import GraphError, NotFound
from .plan import ApplyContext, Outcome, Problem, Step, done, skipped
from .resolve import user_exists


def check_manager(client, facts, manager, *, user_id: str | None = None,
                  upn: str | None = None) -> tuple[str | None, Problem | None]:
    """(manager's object id, None) or (None, the problem) for a manager given by object id or
    UPN. `user_id` / `upn` are the user being managed, who cannot be their own manager."""
    value = str(manager or "").strip()
    if upn and value.lower() == upn.lower():
        return None, Problem("manager", "a user cannot be their own manager; name someone else")
    try:
        manager_id = user_exists(client, value)
        if manager_id and user_id and manager_id.lower() == user_id.lower():
            return None, Problem("manager", "a user cannot be their own manager; name someone else")
        if manager_id:
            return manager_id, None
        deleted = _deleted_user(client, value)
    except GraphError as exc:
        return None, Problem("manager", f"could not look up '{value}' ({exc.graph_message}); "
                                        "try again")
    if deleted:
        return None, Problem("manager", f"'{value}' is a deleted user; restore them first "
                                        "(m365.plan_restore) or name another manager")
    domain = value.rpartition("@")[2].lower() if "@" in value else ""
    if domain and domain not in facts.verified_domains:
        return None, Problem("manager", f"'{value}' is not in this tenant ({domain} is not one of "
                                        "its domains); a manager must be a user of the same "
                                        "tenant")
    return None, Problem("manager", f"no user '{value}' in this tenant; use the manager's object "
                                    "id or user principal name")


def _deleted_user(client, value: str) -> bool:
    """Whether `value` (object id or UPN) names a user in the tenant's deleted items. Graph
    renames a deleted user's UPN to its object id (no dashes) followed by the old UPN."""
    wanted = value.lower()
    for item in client.pages("directory/deletedItems/microsoft.graph.user",
                             params={"$select": "id,userPrincipalName"}):
        upn = str(item.get("userPrincipalName") or "").lower()
        oid = str(item.get("id") or "").lower()
        if wanted in (oid, upn, oid.replace("-", "") + upn) or upn == oid.replace("-", "") + wanted:
            return True
    return False


def current_manager(client, user_id: str) -> dict | None:
    """The user's manager ({id, userPrincipalName, displayName}) or None."""
    try:
        return client.get(f"users/{user_id}/manager",
                          params={"$select": "id,userPrincipalName,displayName"})
    except NotFound:
        return None


def remove_manager(label: str, *, after=()) -> Step:
    """DELETE /users/{id}/manager/$ref; a user who has no manager (any more) is skipped."""
    def run(ctx: ApplyContext) -> Outcome:
        if current_manager(ctx.client, ctx.user_id) is None:
            return skipped("has no manager")
        try:
            ctx.client.request("DELETE", f"users/{ctx.user_id}/manager/$ref")
        except NotFound:
            return skipped("has no manager")      # removed since the check: nothing left to do
        return done()

    return Step("remove manager", label or "manager", "the user will have no manager",
                run=run, after=after)
