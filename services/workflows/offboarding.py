"""Offboarding: block sign-in, revoke sessions, reset password, remove licenses and groups, delete.

Block sign-in and revoke sessions run first, so a leaver is locked out before anything else
happens. A license inherited from a group cannot be removed with assignLicense; the plan leaves
that group instead and says why, or warns when the group cannot be left (dynamic, or a mail-
enabled kind Graph cannot change). Delete removes licenses and groups first, so the seats are free
at once, and what the user had is recorded in the store for a later restore. A plan that would
change nothing is refused with the reason.
"""
from __future__ import annotations

from . import records
from . import steps as S
from .plan import ApplyContext, Plan, Problem
from .resolve import (current_frames, get_user, group_write_refusal, license_sources, load_facts,
                      member_groups, resolve_tenant, role_assignments)

OPTIONS = ("delete", "remove_licenses", "remove_groups", "block_sign_in", "revoke_sessions",
           "reset_password")


def plan_offboarding(m365, tenant, user, delete=False, remove_licenses=False, remove_groups=False,
                     block_sign_in=False, revoke_sessions=False, reset_password=False,
                     reveal_password=False) -> Plan:
    chosen = {"delete": bool(delete), "remove_licenses": bool(remove_licenses),
              "remove_groups": bool(remove_groups), "block_sign_in": bool(block_sign_in),
              "revoke_sessions": bool(revoke_sessions), "reset_password": bool(reset_password)}
    tenant_id, tenant_problem = resolve_tenant(m365, tenant)
    plan = Plan(m365, kind="delete" if delete else "offboard",
                permission="delete" if delete else "offboard", tenant_id=tenant_id, user=str(user),
                parameters={"tenant": str(tenant), "user": str(user), **chosen,
                            "reveal_password": bool(reveal_password)},
                reveal_password=bool(reveal_password))
    if tenant_problem:
        plan.problems.append(Problem("tenant", tenant_problem))
        return plan
    client = m365.graph.tenant(tenant_id)
    current = get_user(client, str(user))
    if current is None:
        plan.problems.append(Problem("user", f"no user '{user}' in this tenant; use an object id "
                                             "or user principal name"))
        return plan
    plan.user, plan.user_id = current["userPrincipalName"], current["id"]
    facts = load_facts(client)
    groups = [facts.groups.get(g["id"].lower(), g) for g in member_groups(client, current["id"])]
    roles = role_assignments(client, current["id"])
    sources = license_sources(current)
    plan.current = current_frames(facts, sources, groups, roles)
    warnings, nothing = plan.warnings, []

    if not any(chosen.values()):
        plan.problems.append(Problem("options", "nothing to change: choose at least one of "
                                                + ", ".join(OPTIONS)))
        return plan
    if block_sign_in:
        if current.get("accountEnabled") is False:
            nothing.append("sign-in is already blocked")
        else:
            plan.add(S.block_sign_in())
    if revoke_sessions:
        plan.add(S.revoke_sessions())
    if reset_password:
        plan.add(S.reset_password(current["userPrincipalName"], bool(reveal_password)))

    prerequisites: list[int] = []
    leaving: dict[str, str] = {}          # group id -> why the user leaves it
    if remove_licenses or delete:
        direct = [sku for sku, e in sources.items() if e["direct"]]
        for sku, entry in sources.items():
            for gid in entry["groups"]:
                group = facts.groups.get(gid, {"id": gid, "displayName": gid})
                refusal = group_write_refusal(group)
                name = group.get("displayName") or gid
                if refusal and delete:
                    warnings.append(Problem("licenses", f"{facts.sku_name(sku)} comes from group "
                                            f"'{name}', which {refusal}; the deletion ends it"))
                elif refusal:
                    warnings.append(Problem("licenses", f"{facts.sku_name(sku)} is inherited from "
                                            f"group '{name}', which {refusal}; it cannot be removed "
                                            "here: change the group's rule or licenses instead"))
                else:
                    leaving.setdefault(gid, f"gives {facts.sku_name(sku)} (inherited license): "
                                            "leaving the group removes it")
        if direct:
            names = {sku: facts.sku_name(sku) for sku in direct}
            prerequisites.append(plan.add(S.change_licenses([], direct, names)))
        elif not leaving and not delete:
            nothing.append("the user has no licenses" if not sources else
                           "the user's licenses cannot be removed here (see warnings)")
    if remove_groups or delete:
        for group in groups:
            gid = group["id"].lower()
            refusal = group_write_refusal(group)
            if refusal:
                end = "the deletion ends it" if delete else "remove the user there instead"
                warnings.append(Problem("groups", f"'{group.get('displayName')}' {refusal}; {end}"))
                continue
            leaving.setdefault(gid, "")
        if not groups and not delete:
            nothing.append("the user is in no groups")
    for gid, why in leaving.items():
        group = facts.groups.get(gid) or next(g for g in groups if g["id"].lower() == gid)
        prerequisites.append(plan.add(S.remove_from_group(group, why=why)))
    if delete:
        plan.add(S.delete_user(after=tuple(prerequisites)))

    if not plan._steps:
        plan.problems.append(Problem("options", "nothing to change: " + "; ".join(
            nothing or [str(w) for w in warnings] or ["no option applies to this user"])))
        return plan
    snapshot = _snapshot(facts, current, sources, groups, roles, deleted=bool(delete))
    # The audit entry keeps what the user had too, readable without the records table.
    plan.parameters["had"] = {"licenses": [lic["sku_part_number"] for lic in snapshot.licenses],
                              "groups": [g["display_name"] for g in snapshot.groups],
                              "roles": [r["display_name"] for r in snapshot.roles]}

    def remember(ctx: ApplyContext) -> None:
        snapshot.actor = m365.actor.name
        records.save(m365.store.engine, snapshot)

    plan._before_apply = remember
    return plan


def _snapshot(facts, user: dict, sources: dict, groups: list[dict], roles: list[dict],
              deleted: bool) -> records.OffboardingRecord:
    licenses = [{"sku_id": sku, "sku_part_number": facts.skus.get(sku, {}).get("skuPartNumber", ""),
                 "product_name": facts.sku_name(sku), "disabled_plans": e["disabled_plans"],
                 "direct": e["direct"], "groups": e["groups"]} for sku, e in sources.items()]
    group_rows = [{"id": g["id"], "display_name": g.get("displayName", ""),
                   "writable": group_write_refusal(g) is None} for g in groups]
    role_rows = [{"role_definition_id": r.get("roleDefinitionId"),
                  "display_name": facts.roles.get(r.get("roleDefinitionId"), {}).get("displayName", "")}
                 for r in roles]
    return records.OffboardingRecord(facts.tenant_id, user["id"], user["userPrincipalName"],
                                     user.get("displayName") or "", "", deleted, licenses,
                                     group_rows, role_rows)
