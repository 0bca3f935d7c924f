"""Graph objects -> store rows, and the values derived from them (group kind, license sources).

A delta answer may carry only the properties that changed, so the converters map only the
properties present in the Graph object; the writer lays them over the stored row. Derived
values (`kind`, `sku_ids`, the user's license rows) are computed from the merged row.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone



# Graph property -> users column; values copied as they are.
USER_PROPS = {
    "userPrincipalName": "user_principal_name", "displayName": "display_name",
    "givenName": "given_name", "surname": "surname", "accountEnabled": "account_enabled",
    "usageLocation": "usage_location", "department": "department", "jobTitle": "job_title",
    "mail": "mail", "mailNickname": "mail_nickname", "officeLocation": "office_location",
    "mobilePhone": "mobile_phone", "userType": "user_type",
    "onPremisesSyncEnabled": "on_premises_sync",
}
USER_SELECT = ",".join(["id", *USER_PROPS, "businessPhones", "createdDateTime",
                        "assignedLicenses", "licenseAssignmentStates"])

GROUP_PROPS = {
    "displayName": "display_name", "description": "description", "mail": "mail",
    "mailEnabled": "mail_enabled", "securityEnabled": "security_enabled",
    "membershipRule": "membership_rule", "onPremisesSyncEnabled": "on_premises_sync",
}
GROUP_SELECT = ",".join(["id", *GROUP_PROPS, "groupTypes", "resourceProvisioningOptions", "members"])



def utc_now() -> str:
    return iso(datetime.now(timezone.utc))


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def graph_time(value) -> str | None:
    """Graph's timestamp in one canonical text form (seconds, 'Z'); None stays None."""
    if not value:
        return None
    text = str(value)
    if len(text) == 20 and text[10] == "T" and text[19] == "Z":
        return text          # already canonical, as Graph mostly answers (100k users per sync)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return iso(parsed)


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _loads(text, default):
    return json.loads(text) if text else default


# ---- users -------------------------------------------------------------------------------

_USER_PAIRS = tuple(USER_PROPS.items())


def user_row(obj: dict) -> dict:
    """The users columns present in a Graph user (delta answers may be partial).

    When the object carries its licenses, `_licenses` holds the user's license rows (without
    tenant and user ids; shared between users with the same licenses: read, never change them)
    and `sku_ids`/`license_sources` summarise them; without them the stored licenses stay as
    they are.
    """
    row = {column: obj[prop] for prop, column in _USER_PAIRS if prop in obj}
    row["id"] = obj["id"]
    if "businessPhones" in obj:
        # Joined text, not JSON: listings show it as is (phone numbers hold no ";").
        row["business_phones"] = "; ".join(obj["businessPhones"] or ())
    if "createdDateTime" in obj:
        row["created"] = graph_time(obj["createdDateTime"])
    if "assignedLicenses" in obj or "licenseAssignmentStates" in obj:
        row["_licenses"], row["sku_ids"], row["license_sources"] = user_licenses(
            obj.get("assignedLicenses"), obj.get("licenseAssignmentStates"))
    return row


def user_licenses(assigned: list | None, states: list | None) -> tuple[list[dict], str, str]:
    """(license entries, sku_ids, license_sources) of a user, computed once per distinct value.

    Users of a tenant hold few distinct license combinations (a SKU or two, mostly through the
    same groups), and working them out was a third of building a user's row. The cache key is
    every input `license_entries` reads, so a hit returns exactly what it would compute.
    """
    key = (tuple([(lic.get("skuId"), _plans_key(lic.get("disabledPlans"))) for lic in assigned or ()]),
           None if states is None else _state_key(states))
    return _user_licenses(key, assigned, states)


def _plans_key(plans):
    return tuple(plans) if isinstance(plans, list) else plans


def _state_key(states: list) -> tuple:
    return tuple([(s.get("skuId"), s.get("assignedByGroup"), s.get("state"), s.get("error"))
                  for s in states])


_LICENSE_CACHE: dict[tuple, tuple[list[dict], str, str]] = {}
_LICENSE_CACHE_MAX = 4096


def _user_licenses(key: tuple, assigned, states) -> tuple[list[dict], str, str]:
    try:
        hit = _LICENSE_CACHE.get(key)
    except TypeError:                # an unhashable value Graph never sends: compute it
        hit, key = None, None
    if hit is not None:
        return hit
    entries = license_entries(assigned, states)
    value = (entries, ";".join([e["sku_id"] for e in entries]), sources_code(entries))
    if key is not None:
        if len(_LICENSE_CACHE) >= _LICENSE_CACHE_MAX:
            _LICENSE_CACHE.clear()   # many tenants with unusual licensing: start over
        _LICENSE_CACHE[key] = value
    return value


def sign_in_times(obj: dict) -> tuple[str | None, str | None]:
    activity = obj.get("signInActivity") or {}
    return (graph_time(activity.get("lastSignInDateTime")),
            graph_time(activity.get("lastNonInteractiveSignInDateTime")))


def license_entries(assigned: list | None, states: list | None) -> list[dict]:
    """One entry per SKU the user holds (sorted by SKU id): direct or from which groups.

    `assignedLicenses` says which SKUs consume a seat; `licenseAssignmentStates` says where each
    comes from (`assignedByGroup` null = direct). Without states every license counts as direct.
    Runs for every user of every tenant, hence the plain lists: [direct, groups, plans, state, error].
    """
    if not assigned:
        return []
    found: dict[str, list] = {}
    for lic in assigned:
        sku = lic.get("skuId")
        if sku:
            plans = lic.get("disabledPlans")
            found[sku.lower()] = [states is None, None, _dumps(plans) if plans else "[]", None, None]
    for state in states or ():
        entry = found.get((state.get("skuId") or "").lower())
        if entry is None:
            continue      # a state without an assigned license (being removed) holds no seat
        group = state.get("assignedByGroup")
        if group:
            if entry[1] is None:
                entry[1] = set()
            entry[1].add(group.lower())
        else:
            entry[0] = True
        value = state.get("state")
        if value and entry[3] in (None, "Active"):
            entry[3] = value
        error = state.get("error")
        if error and error != "None":
            entry[4] = error
    return [{"sku_id": sku, "direct": e[0], "assigned_by_group": ";".join(sorted(e[1])) if e[1] else "",
             "disabled_plans": e[2], "state": e[3], "error": e[4]} for sku, e in sorted(found.items())]


def sources_code(entries: list[dict]) -> str:
    """The user's `license_sources` value from its license entries (see schema.users)."""
    parts = []
    for lic in entries:
        how = ["direct"] if lic["direct"] else []
        if lic["assigned_by_group"]:
            how.append("g:" + lic["assigned_by_group"].replace(";", ","))
        parts.append(f"{lic['sku_id']}={','.join(how)}")
    return ";".join(parts)


# ---- groups ------------------------------------------------------------------------------

def group_row(obj: dict) -> dict:
    row = {"id": obj["id"]}
    for prop, column in GROUP_PROPS.items():
        if prop in obj:
            row[column] = obj[prop]
    if "groupTypes" in obj:
        row["group_types"] = _dumps(obj["groupTypes"] or [])
    if "resourceProvisioningOptions" in obj:
        row["provisioning_options"] = _dumps(obj["resourceProvisioningOptions"] or [])
    return row


def group_kind(group_types: list, mail_enabled, security_enabled) -> str:
    """The kind per Graph's table: Unified -> microsoft365; else by mail/security flags."""
    if "Unified" in group_types:
        return "microsoft365"
    if mail_enabled:
        return "mail_security" if security_enabled else "distribution"
    return "security"


def derive_group(row: dict) -> dict:
    """Fill kind, is_team, is_dynamic and writable from the (merged) row."""
    types = _loads(row.get("group_types"), [])
    options = _loads(row.get("provisioning_options"), [])
    kind = group_kind(types, row.get("mail_enabled"), row.get("security_enabled"))
    dynamic = bool(row.get("membership_rule")) or "DynamicMembership" in types
    row["kind"] = kind
    row["is_team"] = "Team" in options
    row["is_dynamic"] = dynamic
    # Whether Graph changes the members: not for dynamic groups (a rule), groups synced from
    # on-premises AD (changed there), distribution lists and mail-enabled security groups (those
    # are changed through Exchange Online: the listing's `changed_in`).
    row["writable"] = (kind in ("microsoft365", "security") and not dynamic
                       and not row.get("on_premises_sync"))
    return row


def member_lists(members: dict[str, str]) -> tuple[str, str]:
    """(member_ids, other_members) column values from {member id: member type}."""
    users = sorted(m for m, kind in members.items() if kind == "user")
    others = sorted(f"{kind}:{m}" for m, kind in members.items() if kind != "user")
    return ";".join(users), ";".join(others)


def parse_members(row: dict) -> dict[str, str]:
    """{member id: type} from a stored group row."""
    out = {m: "user" for m in (row.get("member_ids") or "").split(";") if m}
    for entry in (row.get("other_members") or "").split(";"):
        if entry:
            kind, _, mid = entry.partition(":")
            out[mid] = kind
    return out


_MEMBER_TYPES: dict[str, str] = {}


def member_type(member: dict) -> str:
    kind = member.get("@odata.type") or "#microsoft.graph.user"
    short = _MEMBER_TYPES.get(kind)
    if short is None:
        short = _MEMBER_TYPES[kind] = kind.rsplit(".", 1)[-1]
    return short


# ---- the rest: replaced whole on every sync -------------------------------------------------

def domain_row(tenant_id: str, obj: dict) -> dict:
    return {"tenant_id": tenant_id, "name": obj["id"], "is_default": obj.get("isDefault"),
            "is_initial": obj.get("isInitial"), "is_verified": obj.get("isVerified"),
            "authentication_type": obj.get("authenticationType")}


def sku_row(tenant_id: str, obj: dict) -> dict:
    prepaid = obj.get("prepaidUnits") or {}
    return {"tenant_id": tenant_id, "sku_id": obj["skuId"].lower(),
            "sku_part_number": obj.get("skuPartNumber"), "applies_to": obj.get("appliesTo"),
            "capability_status": obj.get("capabilityStatus"),
            "consumed": int(obj.get("consumedUnits") or 0),
            "enabled": int(prepaid.get("enabled") or 0),
            "suspended": int(prepaid.get("suspended") or 0),
            "warning": int(prepaid.get("warning") or 0),
            "locked_out": int(prepaid.get("lockedOut") or 0),
            "service_plans": _dumps([{k: p.get(k) for k in ("servicePlanId", "servicePlanName",
                                                             "appliesTo", "provisioningStatus")}
                                     for p in obj.get("servicePlans") or []])}


def role_definition_row(tenant_id: str, obj: dict) -> dict:
    return {"tenant_id": tenant_id, "id": obj["id"], "display_name": obj.get("displayName"),
            "description": obj.get("description"), "is_built_in": obj.get("isBuiltIn"),
            "is_enabled": obj.get("isEnabled"), "template_id": obj.get("templateId")}


def role_assignment_row(tenant_id: str, obj: dict) -> dict:
    return {"tenant_id": tenant_id, "id": obj["id"],
            "role_definition_id": obj.get("roleDefinitionId"),
            "principal_id": obj.get("principalId"),
            "directory_scope_id": obj.get("directoryScopeId")}


def app_row(tenant_id: str, group_id: str, obj: dict) -> dict:
    return {"tenant_id": tenant_id, "id": obj["id"], "group_id": group_id,
            "resource_id": obj.get("resourceId"),
            "resource_display_name": obj.get("resourceDisplayName"),
            "app_role_id": obj.get("appRoleId")}
