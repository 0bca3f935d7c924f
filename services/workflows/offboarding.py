"""Offboarding: block sign-in, revoke sessions, reset password, remove MFA methods, remove roles,
automatic replies, hand groups over to the manager, retire devices, remove licenses and groups,
delete (the Graph v1.0 extras live in offboarding_steps.py).

Block sign-in and revoke sessions run first, so a leaver is locked out before anything else
happens; directory roles go next, so no admin right outlives the offboarding. A license inherited
from a group cannot be removed with assignLicense; the plan leaves that group instead and says
why, or warns when the group cannot be left (dynamic, or a mail-enabled kind Graph cannot change).
Delete removes roles, licenses and groups first, so the seats are free at once and no role
assignment waits in the recycle bin, and what the user had is recorded in the store for a later
restore. A plan that would change nothing is refused with the reason; `unchanged_reasons` is that
rule, shared with the dashboard's Offboard page.
"""
from __future__ import annotations

from collections.abc import Mapping

from . import mailbox_steps as MB
from . import offboarding_steps as X
from . import records
from . import steps as S
from .hybrid import BLOCK_WARNING, DELETE_REASON, PASSWORD_REASON, is_synced
from ..access import feature_refusal
from .plan import ApplyContext, Plan, Problem
from .resolve import (current_frames, exchange_group, get_user, group_write_refusal,
                      license_sources, load_facts,
                      member_groups, resolve_tenant, role_assignments)

OPTIONS = ("delete", "remove_licenses", "remove_groups", "remove_roles", "block_sign_in",
           "revoke_sessions", "reset_password", "remove_mfa", "auto_reply", "retire_devices",
           "hand_over_to_manager", *MB.OPTIONS)
# What each option is called where an MSP reads it (the dashboard's toggles, problem texts).
OPTION_LABELS = {"delete": "Delete User", "remove_licenses": "Remove assigned licenses",
                 "remove_groups": "Remove from groups", "remove_roles": "Remove directory roles",
                 "block_sign_in": "Block sign-in", "revoke_sessions": "Revoke sessions",
                 "reset_password": "Reset password", "remove_mfa": "Remove MFA methods",
                 "auto_reply": "Automatic replies", "retire_devices": "Retire managed devices",
                 "hand_over_to_manager": "Hand over groups to the manager", **MB.LABELS}


def _count(held) -> int:
    return held if isinstance(held, int) else len(held)


def unchanged_reasons(options: Mapping[str, bool], *, enabled: bool, licenses, groups,
                      roles, mfa_methods=None, devices=None, owned_groups=None,
                      mailbox: Mapping[str, int] | None = None) -> list[str]:
    """Why the chosen offboarding options would change nothing for this user, or [] when at
    least one of them changes something.

    `options` maps option names (`OPTIONS`; missing ones are off) to whether each is chosen;
    `enabled` is whether the user can sign in now; `licenses`, `groups` and `roles` are how many
    licenses (direct or inherited), direct group memberships and directory roles the user holds
    (a count, or anything with a length such as the frames in `plan.current`); `mfa_methods`,
    `devices` and `owned_groups` likewise count the MFA methods (password excluded), Intune
    devices not yet retiring and groups the user owns (None: not known, taken as something to
    change); `mailbox` maps the Exchange options (mailbox_steps.OPTIONS) to how many changes
    each would make (missing: not known). Delete, revoke sessions, reset password and automatic
    replies always change something. One reason per chosen option that
    finds nothing, in `OPTIONS` order; the texts are the ones `plan_offboarding` gives after
    "nothing to change: ".
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown offboarding options {unknown}; known: {', '.join(OPTIONS)}")
    chosen = {k for k in OPTIONS if options.get(k)}
    if not chosen:
        return ["choose at least one option: " + ", ".join(OPTION_LABELS[k] for k in OPTIONS)]
    held = {"remove_licenses": _count(licenses), "remove_groups": _count(groups),
            "remove_roles": _count(roles), "block_sign_in": int(bool(enabled)),
            "remove_mfa": 1 if mfa_methods is None else _count(mfa_methods),
            "retire_devices": 1 if devices is None else _count(devices),
            "hand_over_to_manager": 1 if owned_groups is None else _count(owned_groups),
            **{k: (mailbox or {}).get(k, 1) for k in MB.OPTIONS}}
    if chosen & {"delete", "revoke_sessions", "reset_password", "auto_reply"} or any(
            held[k] for k in chosen):
        return []
    why = {"remove_licenses": "the user has no licenses",
           "remove_groups": "the user is in no groups",
           "remove_roles": "the user holds no directory roles",
           "block_sign_in": "sign-in is already blocked",
           "remove_mfa": "the user has no MFA methods besides the password",
           "retire_devices": "the user has no Intune devices to retire",
           "hand_over_to_manager": "the user owns no groups",
           "convert_to_shared": "the mailbox is already a shared mailbox",
           "mailbox_access": "they already have Full Access",
           "send_as": "they already have Send As",
           "forward_to": "mail is already forwarded there",
           "hide_from_address_lists": "the user is already hidden from the address lists",
           "remove_distribution_lists": "the user is in no distribution lists"}
    return [why[k] for k in OPTIONS if k in chosen]


def plan_offboarding(m365, tenant, user, delete=False, remove_licenses=False, remove_groups=False,
                     remove_roles=False, block_sign_in=False, revoke_sessions=False,
                     reset_password=False, reveal_password=False, remove_mfa=False,
                     auto_reply=None, retire_devices=False, hand_over_to_manager=False,
                     convert_to_shared=False, mailbox_access=None, automapping=True,
                     send_as=None, forward_to=None, keep_copy=True,
                     hide_from_address_lists=False, remove_distribution_lists=False) -> Plan:
    reply = X.normalize_auto_reply(auto_reply)
    pick = MB.choice(convert_to_shared, mailbox_access, automapping, send_as, forward_to,
                     keep_copy, hide_from_address_lists, remove_distribution_lists)
    chosen = {"delete": bool(delete), "remove_licenses": bool(remove_licenses),
              "remove_groups": bool(remove_groups), "remove_roles": bool(remove_roles),
              "block_sign_in": bool(block_sign_in), "revoke_sessions": bool(revoke_sessions),
              "reset_password": bool(reset_password), "remove_mfa": bool(remove_mfa),
              "auto_reply": reply is not None, "retire_devices": bool(retire_devices),
              "hand_over_to_manager": bool(hand_over_to_manager), **pick.chosen}
    tenant_id, tenant_problem = resolve_tenant(m365, tenant)
    plan = Plan(m365, kind="delete" if delete else "offboard",
                permission="delete" if delete else "offboard", tenant_id=tenant_id, user=str(user),
                parameters={"tenant": str(tenant), "user": str(user), **chosen,
                            "reveal_password": bool(reveal_password), **pick.parameters(),
                            **({"auto_reply_settings": reply} if reply is not None else {})},
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
    held_roles = _held_roles(facts, roles)
    sources = license_sources(current)
    plan.current = current_frames(facts, sources, groups, roles)
    warnings = plan.warnings
    enabled = current.get("accountEnabled") is not False
    extras = _plan_extras(client, current, chosen, reply, plan,
                          need_manager=bool(pick.mailbox_access or pick.send_as or pick.forward_to))
    mail = MB.plan_mailbox(m365, client, current, pick, extras.manager, groups,
                           delete=bool(delete), remove_licenses=bool(remove_licenses))
    plan.problems.extend(mail.problems)
    warnings.extend(mail.warnings)
    reasons = unchanged_reasons(chosen, enabled=enabled, licenses=len(sources),
                                groups=len(groups), roles=len(held_roles), **extras.counts,
                                mailbox=mail.counts)
    if is_synced(current):
        # AD owns the account: refuse what Graph refuses (or what the next sync would undo)
        # before any write; licenses, groups, sessions and the rest stay cloud-side.
        if delete:
            plan.problems.append(Problem("delete", DELETE_REASON))
        if reset_password:
            plan.problems.append(Problem("reset_password", PASSWORD_REASON))
        if block_sign_in and enabled:
            warnings.append(Problem("block_sign_in", BLOCK_WARNING))
    if plan.problems:
        return plan

    if block_sign_in:
        if enabled:
            plan.add(S.block_sign_in())
        if held_roles and not (remove_roles or delete):
            names = ", ".join(r["displayName"] for r in held_roles)
            what, them = (("the directory roles", "them") if len(held_roles) > 1 else
                          ("the directory role", "it"))
            warnings.append(Problem("roles", f"the user holds {what} {names}; blocking sign-in "
                                             f"leaves {them} assigned: also choose "
                                             f"{OPTION_LABELS['remove_roles']}"))
    if revoke_sessions:
        plan.add(S.revoke_sessions())
    if reset_password:
        plan.add(S.reset_password(current["userPrincipalName"], bool(reveal_password)))
    for step in extras.mfa:
        plan.add(step)

    prerequisites: list[int] = []
    if remove_roles or delete:
        for role in held_roles:
            prerequisites.append(plan.add(S.remove_role(role)))
    # Before licenses go (the reply needs the mailbox) and before a deletion (which would end
    # the user's ownerships and devices' link to the user).
    for step in extras.reply + extras.hand_over + extras.devices:
        prerequisites.append(plan.add(step))
    # Exchange's steps before the licenses go: the license step waits for the conversion, so a
    # failed conversion never leaves an unlicensed user mailbox (disabled after 30 days).
    for step in mail.steps:
        prerequisites.append(plan.add(step))
    keep_mail = (mail.convert.number,) if mail.convert is not None else ()
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
            prerequisites.append(plan.add(S.change_licenses([], direct, names, after=keep_mail)))
    if remove_groups or delete:
        exchange_off = feature_refusal(m365, tenant_id, "exchange")
        for group in groups:
            gid = group["id"].lower()
            if exchange_group(group):
                if pick.remove_distribution_lists:
                    continue              # planned with the Exchange steps (mailbox_steps)
                if delete:
                    continue              # the deletion ends the membership; Exchange not needed
                if exchange_off:
                    warnings.append(Problem("groups", f"'{group.get('displayName')}' is changed "
                                            f"in Exchange Online, which is off here: {exchange_off}"))
                    continue
            refusal = group_write_refusal(group)
            if refusal:
                end = "the deletion ends it" if delete else "remove the user there instead"
                warnings.append(Problem("groups", f"'{group.get('displayName')}' {refusal}; {end}"))
                continue
            leaving.setdefault(gid, "")
    for gid, why in leaving.items():
        group = facts.groups.get(gid) or next(g for g in groups if g["id"].lower() == gid)
        prerequisites.append(plan.add(S.remove_from_group(group, why=why)))
    if delete:
        plan.add(S.delete_user(after=tuple(prerequisites)))

    if not plan._steps:
        # What the user holds decides (the rule the dashboard shares); when the user holds
        # something that cannot be changed here, the warnings say what and why.
        why = reasons or [w.message for w in warnings if w.field != "roles"] or \
            ["no option applies to this user"]
        plan.problems.append(Problem("options", "nothing to change: " + "; ".join(why)))
        return plan
    snapshot = _snapshot(facts, current, sources, groups, roles, deleted=bool(delete))
    # The audit entry keeps what the user had too, readable without the records table.
    plan.parameters["had"] = {"licenses": [lic["sku_part_number"] for lic in snapshot.licenses],
                              "groups": [g["display_name"] for g in snapshot.groups],
                              "roles": [r["displayName"] for r in held_roles]}

    def remember(ctx: ApplyContext) -> None:
        snapshot.actor = m365.actor.name
        records.save(m365.store.engine, snapshot)

    plan._before_apply = remember
    return plan


class _Extras:
    """The planned Graph v1.0 extras: steps per option and their counts for unchanged_reasons."""

    def __init__(self):
        self.mfa, self.reply, self.hand_over, self.devices = [], [], [], []
        self.counts: dict[str, int] = {}
        self.manager: dict | None = None


def _plan_extras(client, current: dict, chosen: dict, reply: dict | None, plan: Plan, *,
                 need_manager: bool = False) -> _Extras:
    extras = _Extras()
    uid = current["id"]
    manager = X.user_manager(client, uid) if (reply is not None or chosen["hand_over_to_manager"]
                                              or need_manager) else None
    extras.manager = manager
    todo = []
    if chosen["remove_mfa"]:
        todo.append(("mfa", "mfa_methods", lambda: X.plan_remove_mfa(client, uid)))
    if reply is not None:
        if chosen["delete"]:
            plan.problems.append(Problem("auto_reply", "deleting the user removes the mailbox, so no "
                                         "automatic reply would be sent; leave Delete User off (or "
                                         "convert the mailbox to a shared mailbox first)"))
        else:
            todo.append(("reply", None, lambda: X.plan_auto_reply(client, current, reply, manager)))
            if chosen["remove_licenses"]:
                plan.warnings.append(Problem("auto_reply", "removing the licenses disables the "
                                             "mailbox after Exchange's 30-day grace period, and the "
                                             "automatic replies with it"))
    if chosen["hand_over_to_manager"]:
        todo.append(("hand_over", "owned_groups", lambda: X.plan_hand_over(client, uid, manager)))
    if chosen["retire_devices"]:
        todo.append(("devices", "devices", lambda: X.plan_retire_devices(client, uid)))
    for attr, count_name, planner in todo:
        steps, problems, warnings, count = planner()
        setattr(extras, attr, steps)
        plan.problems.extend(problems)
        plan.warnings.extend(warnings)
        if count_name:
            extras.counts[count_name] = count
    return extras


def _role_name(facts, role_definition_id: str | None) -> str:
    """The display name of a role definition, or its id when the tenant does not name it."""
    rid = str(role_definition_id or "")
    found = facts.roles.get(rid) or next(
        (r for i, r in facts.roles.items() if i.lower() == rid.lower()), {})
    return found.get("displayName") or rid


def _held_roles(facts, assignments: list[dict]) -> list[dict]:
    """The distinct directory roles of these assignments as {"id", "displayName"}, the id as
    the assignments give it (the remove step matches on it), in assignment order."""
    out: dict[str, dict] = {}
    for assignment in assignments:
        rid = assignment.get("roleDefinitionId")
        if rid and rid.lower() not in out:
            out[rid.lower()] = {"id": rid, "displayName": _role_name(facts, rid)}
    return list(out.values())


def _snapshot(facts, user: dict, sources: dict, groups: list[dict], roles: list[dict],
              deleted: bool) -> records.OffboardingRecord:
    licenses = [{"sku_id": sku, "sku_part_number": facts.skus.get(sku, {}).get("skuPartNumber", ""),
                 "product_name": facts.sku_name(sku), "disabled_plans": e["disabled_plans"],
                 "direct": e["direct"], "groups": e["groups"]} for sku, e in sources.items()]
    group_rows = [{"id": g["id"], "display_name": g.get("displayName", ""),
                   "writable": group_write_refusal(g) is None} for g in groups]
    role_rows = [{"role_definition_id": r.get("roleDefinitionId"),
                  "display_name": _role_name(facts, r.get("roleDefinitionId")),
                  "directory_scope_id": r.get("directoryScopeId") or "/"}
                 for r in roles]
    return records.OffboardingRecord(facts.tenant_id, user["id"], user["userPrincipalName"],
                                     user.get("displayName") or "", "", deleted, licenses,
                                     group_rows, role_rows)
