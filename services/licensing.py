"""License rules, one home each: when a SKU is out of seats, why it cannot be assigned (as
`workflows.resolve.group_write_refusal` says for a group), and which SKUs are sold by the
thousand.

The store's listings (`licenses()` and `tenants()`), the workflows' plan problems and the
dashboard's pages all read these functions; none of them re-derives a rule.

Graph's `capabilityStatus` of a subscription is Enabled, Warning (in its grace period: still
assignable), Suspended, Deleted or LockedOut (no new assignments). When a subscription is
suspended Graph moves its seats from `prepaidUnits.enabled` to `prepaidUnits.suspended`, so its
users stay on it while nothing is left to assign.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ASSIGNABLE_STATES = frozenset({"Enabled", "Warning"})   # capabilityStatus that takes new users

# SKUs sold by the thousand (free and viral ones: Power Automate Free, Teams Exploratory) would
# flatten every paid SKU in a seat figure or chart; they are left out of those, never hidden.
THOUSAND_SEATS = 1000


def _status(capability_status) -> str:
    if capability_status is None or (not isinstance(capability_status, str)
                                     and pd.isna(capability_status)):
        return "Enabled"                    # Graph leaves it out only for an active subscription
    return str(capability_status).strip() or "Enabled"


def status_assignable(capability_status) -> bool:
    """Whether a subscription in this capabilityStatus takes new assignments."""
    return _status(capability_status) in ASSIGNABLE_STATES


def _int(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _nothing_left(enabled, consumed, assignable):
    """The out-of-seats rule on numbers or numpy arrays (the one copy of it)."""
    return ((enabled - consumed <= 0) | ~assignable) & ((enabled > 0) | (consumed > 0))


def out_of_seats(enabled, consumed, capability_status=None) -> bool:
    """Whether nothing is left to assign of a SKU that has seats bought or users on it.

    Nothing is left when consumed reaches what was bought (a shrunk subscription goes below
    zero), or when the subscription is suspended, deleted or locked out. A SKU with neither
    seats nor users (a lapsed trial) is not out of seats: nobody is waiting on it.
    """
    return bool(_nothing_left(np.int64(_int(enabled)), np.int64(_int(consumed)),
                              np.bool_(status_assignable(capability_status))))


def out_of_seats_frame(licenses: pd.DataFrame) -> pd.Series:
    """`out_of_seats` for every row of a licenses frame (columns enabled, consumed and,
    when present, capability_status), as a bool Series on the frame's index."""
    enabled = pd.to_numeric(licenses["enabled"]).fillna(0).to_numpy(dtype=np.int64)
    consumed = pd.to_numeric(licenses["consumed"]).fillna(0).to_numpy(dtype=np.int64)
    if "capability_status" in licenses:
        assignable = np.fromiter((status_assignable(s) for s in licenses["capability_status"]),
                                 dtype=bool, count=len(licenses))
    else:
        assignable = np.ones(len(licenses), dtype=bool)
    return pd.Series(_nothing_left(enabled, consumed, assignable), index=licenses.index,
                     dtype=bool)


def over_allocated_frame(licenses: pd.DataFrame) -> pd.Series:
    """Whether more seats are assigned than bought (a subscription shrunk under its users, or
    a suspended one still assigned), for every row of a licenses frame: these need a purchase
    or a removal now, unlike a SKU that is merely full."""
    enabled = pd.to_numeric(licenses["enabled"]).fillna(0)
    consumed = pd.to_numeric(licenses["consumed"]).fillna(0)
    return (consumed > enabled).astype(bool)


def sold_by_the_thousand(enabled):
    """Whether a SKU with this many purchased seats is a free or viral one (1,000 seats or
    more); a Series of purchased seats gives a bool Series."""
    if isinstance(enabled, pd.Series):
        return (pd.to_numeric(enabled).fillna(0) >= THOUSAND_SEATS).astype(bool)
    return _int(enabled) >= THOUSAND_SEATS


def paid_seats(licenses: pd.DataFrame) -> pd.DataFrame:
    """Per tenant (index tenant_id): `paid_total` seats purchased and `paid_consumed` used,
    counting no SKU sold by the thousand (free and viral SKUs mean nothing as seats)."""
    paid = licenses[~sold_by_the_thousand(licenses["enabled"])]
    return paid.groupby("tenant_id", observed=True)[["enabled", "consumed"]].sum().rename(
        columns={"enabled": "paid_total", "consumed": "paid_consumed"})


def assign_refusal(sku, seats_needed: int = 1) -> str | None:
    """Why this SKU cannot be picked for a new assignment, or None when it can.

    `sku` is a licenses() row (a dict or Series with enabled, consumed and capability_status;
    `available` is used when present; `sku_row` turns a Graph subscribedSku into one). The
    reason is written for a technician and is the same text on the Create User page (the
    greyed-out option's note) and in a plan's problems (after the product name).
    """
    status = _status(sku.get("capability_status"))
    if status not in ASSIGNABLE_STATES:
        return f"subscription is {status}: cannot be assigned until it is active again"
    bought, used = _int(sku.get("enabled")), _int(sku.get("consumed"))
    left = sku.get("available")
    left = bought - used if left is None or pd.isna(left) else int(left)
    if left <= 0:
        return f"no seats left ({used} of {bought} used): buy or free a seat"
    if left < seats_needed:
        return (f"only {left} seats left ({used} of {bought} used) for {seats_needed} users: "
                "buy or free seats")
    return None


def sku_row(subscribed_sku: dict) -> dict:
    """A Graph subscribedSku as the licenses() row fields these rules read."""
    enabled = _int((subscribed_sku.get("prepaidUnits") or {}).get("enabled"))
    consumed = _int(subscribed_sku.get("consumedUnits"))
    return {"capability_status": subscribed_sku.get("capabilityStatus"), "enabled": enabled,
            "consumed": consumed, "available": enabled - consumed}
