"""Licenses: the SKU catalog, seats, direct and group-based assignment, `assignLicense` rules.

`consumedUnits` of a SKU is always the number of live users whose `assignedLicenses` hold it:
every change goes through `refresh_user`, which recomputes one user's licenses from the direct
assignments and the licensed groups the user belongs to, and moves the SKU counters by the
difference. A group license that finds no free seat is not applied; the user's
`licenseAssignmentStates` shows it with state Error / CountViolation, as Entra does.
"""
from __future__ import annotations

import csv
import uuid
from functools import lru_cache
from pathlib import Path

from .errors import MSG_INHERITED, MSG_NO_SEATS, MSG_USAGE_LOCATION, bad_request
from .model import Tenant, User, now_iso

DATA = Path(__file__).with_name("data") / "skus.csv"
SEATLESS = ("Suspended", "Deleted", "LockedOut")
EXCHANGE_PLANS = ("EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE", "EXCHANGE_S_ESSENTIALS")


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict]:
    """skuPartNumber -> {"skuId", "skuPartNumber", "productName", "servicePlans": [...]}."""
    out: dict[str, dict] = {}
    with DATA.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        for row in rows:
            sku = out.setdefault(row["sku_part_number"], {
                "skuId": row["sku_id"], "skuPartNumber": row["sku_part_number"],
                "productName": row["product_name"], "servicePlans": []})
            sku["servicePlans"].append({
                "servicePlanId": row["service_plan_id"], "servicePlanName": row["service_plan_name"],
                "provisioningStatus": "Success", "appliesTo": "User"})
    return out


def subscribed_sku(tenant_id: str, part: str, enabled: int, *, status: str = "Enabled",
                   suspended: int = 0, warning: int = 0, subscription_id: str) -> dict:
    entry = catalog()[part]
    return {
        "accountId": tenant_id, "accountName": "", "appliesTo": "User",
        "capabilityStatus": status, "consumedUnits": 0, "id": f"{tenant_id}_{entry['skuId']}",
        "prepaidUnits": {"enabled": enabled, "suspended": suspended, "warning": warning,
                         "lockedOut": 0},
        "servicePlans": entry["servicePlans"], "skuId": entry["skuId"],
        "skuPartNumber": part, "subscriptionIds": [subscription_id],
    }


def seats_left(sku: dict) -> int:
    if sku["capabilityStatus"] in SEATLESS:
        return 0
    return sku["prepaidUnits"]["enabled"] - sku["consumedUnits"]


def _active(user: User) -> dict:
    return {a["skuId"]: a for a in user.p.get("assignedLicenses") or ()}


def refresh_user(tenant: Tenant, user: User) -> bool:
    """Recompute a live user's licenses from direct and group assignments; True if changed."""
    old_active = _active(user)
    old_states = {(s["skuId"], s["assignedByGroup"]): s for s in user.p.get("licenseAssignmentStates") or ()}
    stamp = now_iso()
    states, active = [], {}
    for sku_id, plans in user.direct.items():
        states.append(_state(old_states, sku_id, None, plans, "Active", "None", stamp))
        active[sku_id] = plans
    for group in tenant.groups_of(user.id):
        for sku_id, plans in group.licenses.items():
            sku = tenant.skus.get(sku_id)
            held = sku_id in active or sku_id in old_active
            if sku is not None and (held or seats_left(sku) > 0):
                states.append(_state(old_states, sku_id, group.id, plans, "Active", "None", stamp))
                active.setdefault(sku_id, plans)
            else:
                states.append(_state(old_states, sku_id, group.id, plans, "Error", "CountViolation",
                                     stamp))
    licenses = [{"disabledPlans": list(plans), "skuId": sku_id} for sku_id, plans in active.items()]
    if licenses == user.p.get("assignedLicenses", []) and states == list(old_states.values()):
        return False
    if user.p.get("mail") and old_active.keys() != active.keys():
        had, has = _has_mailbox(tenant, old_active), _has_mailbox(tenant, active)
        if had != has:             # the mailbox stays; Exchange marks it (emulator/exchange.py)
            from .exchange import license_changed
            license_changed(tenant, user, has, stamp)
    for sku_id in old_active.keys() - active.keys():
        tenant.skus[sku_id]["consumedUnits"] -= 1
    for sku_id in active.keys() - old_active.keys():
        tenant.skus[sku_id]["consumedUnits"] += 1
    user.p["assignedLicenses"] = licenses
    user.p["licenseAssignmentStates"] = states
    if active and not user.p.get("mail") and _has_mailbox(tenant, active):
        upn = user.p["userPrincipalName"]
        user.p["mail"] = upn
        user.p["proxyAddresses"] = [f"SMTP:{upn}"]
    tenant.touch(user)
    return True


def _state(old: dict, sku_id, group_id, plans, state, error, stamp) -> dict:
    previous = old.get((sku_id, group_id))
    if previous and previous["state"] == state and previous["disabledPlans"] == list(plans):
        return previous
    return {"assignedByGroup": group_id, "disabledPlans": list(plans), "error": error,
            "lastUpdatedDateTime": stamp, "skuId": sku_id, "state": state}


def _has_mailbox(tenant: Tenant, active: dict) -> bool:
    for sku_id in active:
        sku = tenant.skus.get(sku_id)
        if sku and any(p["servicePlanName"] in EXCHANGE_PLANS for p in sku["servicePlans"]):
            return True
    return False


def release(tenant: Tenant, user: User) -> None:
    """A user goes to the recycle bin: its seats are freed, its assignments remembered."""
    for sku_id in _active(user):
        tenant.skus[sku_id]["consumedUnits"] -= 1


def reclaim(tenant: Tenant, user: User) -> None:
    """A restored user gets its licenses back, even past the seats bought (as Entra does)."""
    for sku_id in _active(user):
        tenant.skus[sku_id]["consumedUnits"] += 1


def assign_license(tenant: Tenant, user: User, body) -> None:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    missing = [k for k in ("addLicenses", "removeLicenses") if body.get(k) is None]
    if missing:
        raise bad_request("One or more parameters of the operation 'assignLicense' are missing "
                          f"from the request payload. The missing parameters are: {','.join(missing)}.")
    add, remove = body["addLicenses"], body["removeLicenses"]
    if not isinstance(add, list) or not isinstance(remove, list):
        raise bad_request("Invalid value for 'addLicenses' or 'removeLicenses': arrays expected.")
    wanted: dict[str, list] = {}
    for item in add:
        sku_id = _sku_id(item.get("skuId") if isinstance(item, dict) else None, tenant)
        plans = [str(p).lower() for p in (item.get("disabledPlans") or [])]
        known = {sp["servicePlanId"] for sp in tenant.skus[sku_id]["servicePlans"]}
        if any(p not in known for p in plans):
            raise bad_request("Invalid value specified for property 'disabledPlans' of resource "
                              "'AssignedLicense'.")
        wanted[sku_id] = plans
    dropped = [_sku_id(s, tenant) for s in remove]
    if wanted and not user.p.get("usageLocation"):
        raise bad_request(MSG_USAGE_LOCATION)
    active = _active(user)
    for sku_id in dropped:
        if sku_id not in user.direct:
            states = user.p.get("licenseAssignmentStates") or ()
            if sku_id in active or any(s["skuId"] == sku_id for s in states):
                raise bad_request(MSG_INHERITED)
            raise bad_request("User does not have a corresponding license.")
    freed = {s for s in dropped if s in active}
    for sku_id in wanted:
        if sku_id in active and sku_id not in freed:
            continue
        if seats_left(tenant.skus[sku_id]) < 1:
            raise bad_request(MSG_NO_SEATS.format(sku=sku_id))
    for sku_id in dropped:
        user.direct.pop(sku_id, None)
    user.direct.update(wanted)
    if not refresh_user(tenant, user):
        tenant.touch(user)


def _sku_id(value, tenant: Tenant) -> str:
    text = str(value or "").strip().lower()
    try:
        text = str(uuid.UUID(text))
    except ValueError:
        raise bad_request(f"Invalid value '{value}' for skuId: a GUID is expected.") from None
    if text not in tenant.skus:
        raise bad_request(f"License {text} does not correspond to a valid company License.")
    return text


def license_details(tenant: Tenant, user: User) -> list[dict]:
    out = []
    for assigned in user.p.get("assignedLicenses") or ():
        sku = tenant.skus.get(assigned["skuId"])
        if sku is None:
            continue
        disabled = set(assigned.get("disabledPlans") or ())
        out.append({
            "id": f"{user.id}_{sku['skuId']}", "skuId": sku["skuId"],
            "skuPartNumber": sku["skuPartNumber"],
            "servicePlans": [dict(p, provisioningStatus="Disabled" if p["servicePlanId"] in disabled
                                  else "Success") for p in sku["servicePlans"]],
        })
    return out


def recount(tenant: Tenant) -> None:
    """Set every SKU's consumedUnits from the users (used after generating or loading data)."""
    for sku in tenant.skus.values():
        sku["consumedUnits"] = 0
    for user in tenant.user_list:
        if user.deleted is None:
            for sku_id in _active(user):
                tenant.skus[sku_id]["consumedUnits"] += 1
