"""Deleted users and their restore, within Entra ID's 30 days, re-applying what they had.

Graph keeps a deleted user for 30 days without its licenses; the offboarding record in the store
remembers the directly assigned licenses, the groups and the directory roles, and the restore plan
puts them back (re-joining a group also brings back the licenses that group gives). A role held
for part of the directory only (an administrative unit) is not given back tenant-wide: the plan
warns and leaves it to be assigned by hand.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pandas as pd

from ..errors import GraphError
from . import records
from . import steps as S
from .plan import Plan, Problem
from .resolve import group_write_refusal, load_facts, resolve_tenant, user_exists
from .validation import license_requests

RETENTION = timedelta(days=30)
DELETED_PATH = "directory/deletedItems/microsoft.graph.user"
DELETED_SELECT = "id,userPrincipalName,displayName,deletedDateTime,usageLocation,mail"
DELETED_COLUMNS = ["tenant_id", "id", "user_principal_name", "display_name", "deleted",
                   "days_left", "restorable", "has_record"]
# Entra renames a deleted user's UPN to "<object id without dashes><original UPN>".
_DELETED_PREFIX = re.compile(r"^[0-9a-f]{32}", re.IGNORECASE)


def _parse_time(value) -> datetime | None:
    if not value:
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def original_upn(deleted: dict, recorded: str | None = None) -> str:
    if recorded:
        return recorded
    upn = deleted.get("userPrincipalName") or ""
    return _DELETED_PREFIX.sub("", upn) if len(upn) > 32 and "@" in upn[32:] else upn


def list_deleted(client) -> list[dict]:
    return list(client.pages(DELETED_PATH, params={"$select": DELETED_SELECT}))


def deleted_users(m365, tenant=None) -> pd.DataFrame:
    if tenant is None:
        tenant_ids = list(m365.tenants()["tenant_id"])
    else:
        tenant_id, why = resolve_tenant(m365, tenant)
        if why:
            raise ValueError(why)
        tenant_ids = [tenant_id]
    known = records.known_users(m365.store.engine, tenant_ids)
    now = datetime.now(timezone.utc)
    rows = []
    for tenant_id in tenant_ids:
        for item in list_deleted(m365.graph.tenant(tenant_id)):
            when = _parse_time(item.get("deletedDateTime"))
            left = (when + RETENTION - now) if when else None
            days_left = max(0, left.days + (1 if left.seconds else 0)) if left is not None else None
            recorded = known.get((tenant_id, item["id"].lower()))
            rows.append((tenant_id, item["id"], original_upn(item, recorded),
                         item.get("displayName") or "", when, days_left,
                         bool(left is None or left > timedelta(0)), recorded is not None))
    frame = pd.DataFrame(rows, columns=DELETED_COLUMNS)
    frame["deleted"] = pd.to_datetime(frame["deleted"], utc=True)
    return frame.sort_values("deleted", ascending=False, ignore_index=True)


def _find_deleted(items: list[dict], user: str, recorded_upns: dict[str, str]) -> list[dict]:
    wanted = str(user).strip().lower()
    return [d for d in items
            if wanted in (d["id"].lower(), (d.get("userPrincipalName") or "").lower(),
                          original_upn(d, recorded_upns.get(d["id"].lower())).lower())]


def plan_restore(m365, tenant, user, reapply: bool = True) -> Plan:
    tenant_id, tenant_problem = resolve_tenant(m365, tenant)
    plan = Plan(m365, kind="restore", permission="restore", tenant_id=tenant_id, user=str(user),
                parameters={"tenant": str(tenant), "user": str(user), "reapply": bool(reapply)})
    if tenant_problem:
        plan.problems.append(Problem("tenant", tenant_problem))
        return plan
    client = m365.graph.tenant(tenant_id)
    problems = plan.problems
    known = {uid: upn for (tid, uid), upn in records.known_users(m365.store.engine, [tenant_id]).items()}
    matches = _find_deleted(list_deleted(client), str(user), known)
    if len(matches) != 1:
        live = user_exists(client, str(user))
        problems.append(Problem("user", f"'{user}' is not deleted: it is an active user" if live else
                                f"{len(matches)} deleted users match '{user}'; use the object id"
                                if matches else f"no deleted user '{user}' in this tenant "
                                "(deleted users stay restorable for 30 days)"))
        return plan
    deleted = matches[0]
    upn = original_upn(deleted, known.get(deleted["id"].lower()))
    plan.user, plan.user_id = upn, deleted["id"]
    when = _parse_time(deleted.get("deletedDateTime"))
    if when and datetime.now(timezone.utc) - when > RETENTION:
        problems.append(Problem("user", f"{upn} was deleted on {when:%Y-%m-%d}, more than 30 days "
                                        "ago; Entra ID no longer restores it: onboard it anew"))
        return plan
    holder = user_exists(client, upn)
    if holder and holder.lower() != deleted["id"].lower():
        problems.append(Problem("user", f"{upn} is now used by another account; rename or delete "
                                        "that account first, then restore"))
    restore = plan.add(S.restore_user(deleted["id"]))
    if reapply:
        _reapply(m365, client, plan, deleted, restore)
    return plan


def _reapply(m365, client, plan: Plan, deleted: dict, restore: int) -> None:
    record = records.latest(m365.store.engine, plan.tenant_id, deleted["id"])
    if record is None:
        plan.warnings.append(Problem("reapply", "no offboarding record for this user: licenses, "
                                                "groups and roles cannot be re-applied"))
        return
    try:
        facts = load_facts(client)
    except GraphError as exc:
        plan.problems.append(Problem("reapply", f"the tenant's licenses and groups could not be "
                                                f"read ({exc.graph_message}); try again"))
        return
    direct = [{"sku": lic["sku_id"], "disabled_plans": lic.get("disabled_plans") or []}
              for lic in record.licenses if lic.get("direct")]
    wanted, license_problems = license_requests(facts, direct, "licenses")
    plan.problems.extend(license_problems)
    if wanted and not deleted.get("usageLocation"):
        plan.problems.append(Problem("usage_location", "the user has no usage location, which its "
                                                       "licenses need; restore with reapply=False "
                                                       "and edit the user"))
    groups = []
    for entry in record.groups:
        group = facts.groups.get(entry["id"].lower())
        if group is None:
            plan.warnings.append(Problem("groups", f"'{entry.get('display_name')}' no longer "
                                                   "exists; not re-joined"))
        elif group_write_refusal(group) is None:
            groups.append(group)
        else:
            plan.warnings.append(Problem("groups", f"'{group.get('displayName')}' "
                                                   f"{group_write_refusal(group)}; not re-joined"))
    roles = _recorded_roles(facts, record.roles, plan.warnings)
    for role in roles:
        plan.add(S.assign_role(role, after=(restore,)))
    if wanted:
        names = {sku: facts.sku_name(sku) for sku, _ in wanted}
        plan.add(S.change_licenses(wanted, [], names, after=(restore,)))
    for group in groups:
        plan.add(S.add_to_group(group, after=(restore,), why="recorded at offboarding"))


def _recorded_roles(facts, rows: list[dict], warnings: list[Problem]) -> list[dict]:
    """The role definitions of the recorded roles that can be given back, once each."""
    by_id = {rid.lower(): role for rid, role in facts.roles.items()}
    out: dict[str, dict] = {}
    for entry in rows:
        rid = str(entry.get("role_definition_id") or "").lower()
        name = entry.get("display_name") or rid
        role = by_id.get(rid)
        if role is None:
            warnings.append(Problem("roles", f"the directory role '{name}' no longer exists; "
                                             "not re-assigned"))
        elif (entry.get("directory_scope_id") or "/") != "/":
            warnings.append(Problem("roles", f"'{role.get('displayName') or name}' was held for "
                                             "part of the directory only; not re-assigned: "
                                             "assign it again by hand"))
        else:
            out.setdefault(rid, role)
    return list(out.values())
