"""Editing a user: PATCH only what differs, licenses in one assignLicense, groups and roles.

The current values are read live and compared with the desired ones, so the plan lists exactly
the changes that will be made, and an edit that changes nothing is refused with that reason. The
tenant of a user cannot be changed: that would be a new account in another directory.
"""
from __future__ import annotations

from ..errors import GraphError
from . import mailbox_steps as MB
from . import steps as S
from .manager import check_manager, current_manager, remove_manager
from .hybrid import BLOCK_WARNING, SYNCED_FIELDS, SYNCED_REASON, is_synced
from .plan import Plan, Problem
from .resolve import (as_names, current_frames, exchange_group, get_user, license_sources, load_facts,
                      member_groups,
                      resolve_tenant, role_assignments, user_exists)
from .validation import (PROPERTIES, current_value, graph_value, group_requests, license_requests,
                         property_problems, role_requests, seat_problem, upn_issue)

EDIT_FIELDS = set(PROPERTIES) | {"user_principal_name", "manager"}


def plan_edit(m365, tenant, user, changes: dict | None = None, add_licenses=None,
              remove_licenses=None, add_groups=None, remove_groups=None, add_roles=None,
              remove_roles=None) -> Plan:
    changes = dict(changes or {})
    lists = {k: (as_names(v) if k != "add_licenses" or isinstance(v, str) else list(v or []))
             for k, v in (("add_licenses", add_licenses), ("remove_licenses", remove_licenses),
                          ("add_groups", add_groups), ("remove_groups", remove_groups),
                          ("add_roles", add_roles), ("remove_roles", remove_roles))}
    tenant_id, tenant_problem = resolve_tenant(m365, tenant)
    plan = Plan(m365, kind="edit", permission="edit", tenant_id=tenant_id, user=str(user),
                parameters={"tenant": str(tenant), "user": str(user), "changes": changes, **lists})
    if tenant_problem:
        plan.problems.append(Problem("tenant", tenant_problem))
        return plan
    problems, warnings = plan.problems, plan.warnings
    if "tenant" in changes:
        other, _ = resolve_tenant(m365, changes.pop("tenant"))
        if other != tenant_id:
            problems.append(Problem("tenant", "a user cannot be moved to another tenant; onboard "
                                              "a new user there and offboard this one instead"))
    client = m365.graph.tenant(tenant_id)
    current = get_user(client, str(user))
    if current is None:
        problems.append(Problem("user", f"no user '{user}' in this tenant; use an object id or "
                                        "user principal name"))
        return plan
    plan.user, plan.user_id = current["userPrincipalName"], current["id"]
    facts = load_facts(client)

    for name in sorted(set(changes) - EDIT_FIELDS):
        problems.append(Problem(name, "cannot be edited here; editable fields are: "
                                      + ", ".join(sorted(EDIT_FIELDS))))
    problems.extend(property_problems({k: v for k, v in changes.items() if k in PROPERTIES}))
    desired, shown = {}, []
    # A synced user's AD-mastered fields are refused only when they would change, so a form
    # that sends every field back unchanged can still edit the cloud-owned ones.
    synced = is_synced(current)
    for name, value in changes.items():
        if name not in PROPERTIES:
            continue
        new, old = graph_value(name, value), current_value(name, current)
        if new != old and not (new in (None, []) and old in (None, [])):
            if synced and name in SYNCED_FIELDS:
                problems.append(Problem(name, SYNCED_REASON))
                continue
            desired[PROPERTIES[name][0]] = new
            shown.append(f"{name}: {old if old not in (None, []) else '(empty)'} -> "
                         f"{new if new not in (None, []) else '(empty)'}")
    new_upn = str(changes.get("user_principal_name") or "").strip()
    if new_upn and new_upn.lower() != current["userPrincipalName"].lower():
        issue = upn_issue(new_upn, facts.verified_domains)
        if synced:
            problems.append(Problem("user_principal_name", SYNCED_REASON))
        elif issue:
            problems.append(Problem("user_principal_name", issue[1]))
        elif user_exists(client, new_upn):
            problems.append(Problem("user_principal_name", f"{new_upn} is already taken; pick another"))
        else:
            desired["userPrincipalName"] = new_upn
            shown.append(f"user_principal_name: {current['userPrincipalName']} -> {new_upn}")
    if synced and desired.get("accountEnabled") is False:
        warnings.append(Problem("account_enabled", BLOCK_WARNING))
    manager_step = _manager_change(client, facts, current, changes, problems, warnings)
    if manager_step and synced:
        problems.append(Problem("manager", SYNCED_REASON))
        manager_step = None

    sources = license_sources(current)
    usage = desired.get("usageLocation", current.get("usageLocation"))
    adds, add_problems = license_requests(facts, lists["add_licenses"], "add_licenses", check_seats=False)
    problems.extend(add_problems)
    new_adds = []
    for sku, plans in adds:
        entry = sources.get(sku, {})
        if entry.get("direct") and sorted(entry["disabled_plans"]) == sorted(plans):
            warnings.append(Problem("add_licenses", f"already has {facts.sku_name(sku)}"))
            continue
        if not entry.get("direct"):
            message = seat_problem(facts, sku)
            if message:
                problems.append(Problem("add_licenses", message))
                continue
        new_adds.append((sku, plans))
    if new_adds and not usage:
        problems.append(Problem("usage_location", "the user has no usage location, which a license "
                                                  "needs: add usage_location (e.g. US) to changes"))
    removes = _license_removals(facts, lists["remove_licenses"], sources, problems, warnings)

    groups_now = [facts.groups.get(g["id"].lower(), g) for g in member_groups(client, current["id"])]
    members = {g["id"].lower() for g in groups_now}
    group_adds, group_problems = group_requests(facts, lists["add_groups"], "add_groups")
    problems.extend(group_problems)
    group_removes, group_problems = group_requests(facts, lists["remove_groups"], "remove_groups")
    problems.extend(group_problems)
    assignments = role_assignments(client, current["id"])
    roles_now = {a.get("roleDefinitionId") for a in assignments}
    plan.current = current_frames(facts, sources, groups_now, assignments)
    role_adds, role_problems = role_requests(facts, lists["add_roles"], "add_roles")
    problems.extend(role_problems)
    role_removes, role_problems = role_requests(facts, lists["remove_roles"], "remove_roles")
    problems.extend(role_problems)

    if desired:
        plan.add(S.update_properties(desired, "; ".join(shown)))
    if manager_step:
        plan.add(manager_step)
    for role in role_adds:
        if role["id"] in roles_now:
            warnings.append(Problem("add_roles", f"already has the role {role.get('displayName')}"))
        else:
            plan.add(S.assign_role(role))
    for role in role_removes:
        if role["id"] not in roles_now:
            warnings.append(Problem("remove_roles", f"does not have the role {role.get('displayName')}"))
        else:
            plan.add(S.remove_role(role))
    if new_adds or removes:
        names = {sku: facts.sku_name(sku) for sku in [s for s, _ in new_adds] + removes}
        plan.add(S.change_licenses(new_adds, removes, names))
    joining = [g for g in group_adds if exchange_group(g) and g["id"].lower() not in members]
    if joining:
        # The licenses the user will hold after this plan (with their disabled plans).
        kept = [(sku, e["disabled_plans"]) for sku, e in sources.items() if sku not in removes]
        problems.extend(MB.list_needs_mailbox(facts, kept + list(new_adds), joining))
    for group in group_adds:
        if group["id"].lower() in members:
            warnings.append(Problem("add_groups", f"already a member of {group.get('displayName')}"))
        else:
            plan.add(S.add_to_group(group))
    for group in group_removes:
        if group["id"].lower() not in members:
            warnings.append(Problem("remove_groups", f"not a member of {group.get('displayName')}"))
        else:
            plan.add(S.remove_from_group(group))
    if not plan._steps and not problems:
        why = "; ".join(str(w) for w in warnings) or "no change was asked for"
        problems.append(Problem("changes", f"nothing to change: {why}"))
    return plan


def _manager_change(client, facts, current: dict, changes: dict, problems: list[Problem],
                    warnings: list[Problem]):
    """The step that sets or removes the manager, or None. `manager` absent: no change;
    None or "": remove the current manager; a name: that user, once checked."""
    if "manager" not in changes:
        return None
    wanted = str(changes.get("manager") or "").strip()
    try:
        now = current_manager(client, current["id"])
    except GraphError as exc:
        problems.append(Problem("manager", f"the current manager could not be read "
                                           f"({exc.graph_message}); try again"))
        return None
    if not wanted:
        if now is None:
            warnings.append(Problem("manager", "has no manager to remove"))
            return None
        return remove_manager(now.get("userPrincipalName") or now.get("id", ""))
    manager_id, problem = check_manager(client, facts, wanted, user_id=current["id"],
                                        upn=current.get("userPrincipalName"))
    if problem:
        problems.append(problem)
        return None
    if now and now.get("id", "").lower() == manager_id.lower():
        warnings.append(Problem("manager", f"{wanted} is already the manager"))
        return None
    return S.set_manager(manager_id, wanted)


def _license_removals(facts, names, sources, problems, warnings) -> list[str]:
    """Directly assigned SKUs to remove; an inherited one is a problem naming its group."""
    out = []
    resolved, resolve_problems = license_requests(facts, names, "remove_licenses", check_seats=False)
    problems.extend(resolve_problems)
    for sku, _plans in resolved:
        entry = sources.get(sku)
        name = facts.sku_name(sku)
        if not entry:
            warnings.append(Problem("remove_licenses", f"does not have {name}"))
            continue
        groups = [facts.groups.get(g, {}).get("displayName") or g for g in entry["groups"]]
        if entry["direct"]:
            out.append(sku)
            if groups:
                warnings.append(Problem("remove_licenses", f"{name} is also inherited from "
                                        f"{', '.join(groups)}; the user keeps it through that group"))
        else:
            problems.append(Problem("remove_licenses", f"{name} is inherited from group "
                                    f"{', '.join(groups)}; remove the user from that group "
                                    "(remove_groups) instead"))
    return out
