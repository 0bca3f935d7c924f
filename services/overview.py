"""The figures of the dashboard's Overview, computed once from the listings, for notebooks too.

`overview(m365)` counts tenants (synced, failing, sync off), users, licensed users, paid seats
purchased and used (SKUs sold by the thousand, such as free and viral ones, count in no seat
figure), the SKUs out of seats, and licenses held by disabled or inactive accounts with their
monthly cost from a price table the MSP edits. `idle_licenses()` is the rule for "idle" the
license-audit notebook uses: a license on a disabled account, or on an account with no sign-in
for `days` days (never signed in counts as inactive), except in tenants whose sign-ins cannot be
read (no Entra ID P1, no AuditLog.Read.All): those are listed in `idle_excluded`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .licensing import paid_seats

INACTIVE_DAYS = 90
# Monthly list prices (USD) for common SKUs; an MSP replaces them with its own.
DEFAULT_PRICES = {"SPB": 22.00, "O365_BUSINESS_PREMIUM": 12.50, "O365_BUSINESS_ESSENTIALS": 6.00,
                  "ENTERPRISEPACK": 23.00, "SPE_E3": 36.00, "SPE_E5": 57.00,
                  "EXCHANGESTANDARD": 4.00, "POWER_BI_PRO": 14.00, "EMS": 10.60}
IDLE_COLUMNS = ["tenant_id", "tenant_name", "user_id", "user_principal_name", "sku_part_number",
                "product_name", "why", "monthly_price"]
EXCLUDED_COLUMNS = ["tenant_id", "display_name", "reason"]


@dataclass
class Overview:
    """What the Overview page shows; every figure is also a field here."""

    tenants: int = 0
    tenants_synced: int = 0
    tenants_failing: int = 0
    tenants_sync_off: int = 0
    users: int = 0
    licensed_users: int = 0
    seats_purchased: int = 0
    seats_used: int = 0
    full_skus: pd.DataFrame = field(default_factory=pd.DataFrame)   # tenant, license, used, bought
    idle: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=IDLE_COLUMNS))
    idle_monthly_cost: float = 0.0
    sync_errors: pd.DataFrame = field(default_factory=pd.DataFrame)  # tenant, error, when
    activity: pd.DataFrame = field(default_factory=pd.DataFrame)     # latest audit entries
    # Tenants whose accounts the "no sign-in" rule cannot judge (no Entra ID P1, no
    # AuditLog.Read.All): their disabled accounts count, their quiet ones do not.
    idle_excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=EXCLUDED_COLUMNS))

    @property
    def idle_licenses(self) -> int:
        return len(self.idle)


def idle_licenses(users: pd.DataFrame, user_licenses: pd.DataFrame, *, days: int = INACTIVE_DAYS,
                  now: pd.Timestamp | None = None, exclude_tenants=()) -> pd.DataFrame:
    """One row per license held by a disabled account, or by an enabled account without a
    sign-in for `days` days; `why` says which. Accounts of `exclude_tenants` (whose sign-ins
    cannot be read) are never counted as quiet: a missing sign-in there means nothing."""
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    account = users.set_index(["tenant_id", "id"])[["account_enabled", "last_sign_in"]]
    held = user_licenses.join(account, on=["tenant_id", "user_id"])
    enabled = held["account_enabled"].astype("boolean")
    quiet = ~((now - held["last_sign_in"]).dt.days <= days).fillna(False)
    if len(exclude_tenants):
        quiet &= ~held["tenant_id"].astype(str).isin(list(exclude_tenants))
    disabled = (enabled == False).fillna(False)   # noqa: E712 - nullable boolean
    inactive = (enabled == True).fillna(False) & quiet   # noqa: E712
    out = held[(disabled | inactive).to_numpy()].copy()
    out["why"] = ["disabled account" if d else f"no sign-in for {days} days"
                  for d in disabled[(disabled | inactive).to_numpy()]]
    return out


def overview(m365, prices: dict[str, float] | None = None, *, days: int = INACTIVE_DAYS,
             now: pd.Timestamp | None = None, activity: int = 8) -> Overview:
    """The Overview figures across every tenant in the store."""
    prices = DEFAULT_PRICES if prices is None else prices
    tenants = m365.tenants()
    licenses = m365.licenses()
    errors = tenants["last_error"].fillna("").astype(str).str.len() > 0
    sync_on = tenants["synced"].astype(bool)
    paid = paid_seats(licenses)
    full = licenses[licenses["out_of_seats"].astype(bool)]
    unreadable = tenants["last_sign_in_note"].notna() if "last_sign_in_note" in tenants else \
        pd.Series(False, index=tenants.index)
    excluded = tenants.loc[unreadable, ["tenant_id", "display_name", "last_sign_in_note"]] \
        .rename(columns={"last_sign_in_note": "reason"}).reset_index(drop=True)
    idle = idle_licenses(m365.users(), m365.user_licenses(), days=days, now=now,
                         exclude_tenants=excluded["tenant_id"].astype(str).tolist())
    idle = idle.assign(monthly_price=idle["sku_part_number"].astype(str).map(prices).fillna(0.0))
    log = m365.audit_log(limit=activity)
    return Overview(
        tenants=len(tenants),
        tenants_synced=int((sync_on & ~errors & tenants["last_sync"].notna()).sum()),
        tenants_failing=int((sync_on & errors).sum()),
        tenants_sync_off=int((~sync_on).sum()),
        users=int(tenants["users"].fillna(0).sum()),
        licensed_users=int(tenants["licensed_users"].fillna(0).sum()),
        seats_purchased=int(paid["paid_total"].sum()),
        seats_used=int(paid["paid_consumed"].sum()),
        full_skus=full[["tenant_id", "tenant_name", "product_name", "consumed", "enabled"]]
        .reset_index(drop=True),
        idle=idle.reindex(columns=IDLE_COLUMNS).reset_index(drop=True),
        idle_monthly_cost=round(float(idle["monthly_price"].sum()), 2),
        sync_errors=tenants.loc[errors, ["tenant_id", "display_name", "last_error",
                                         "last_attempt"]].reset_index(drop=True),
        activity=log.head(activity).reset_index(drop=True),
        idle_excluded=excluded,
    )
