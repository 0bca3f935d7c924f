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

import numpy as np
import pandas as pd

from .licensing import paid_seats
from .store import idle as store_idle

INACTIVE_DAYS = 90
# Monthly list prices (USD) for common SKUs until an MSP sets its own (services.license_prices
# stores those).
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
    sync_error_access: dict = field(default_factory=dict)   # failing tenant id -> its access
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


def idle_cutoff(now: pd.Timestamp, days: int) -> str:
    """The newest last sign-in (ISO UTC text, as stored) that counts as "no sign-in for `days`
    days" at `now`: idle_licenses() counts whole days, so `days` + 1 days back."""
    cut = pd.Timestamp(now).tz_convert("UTC") - pd.Timedelta(days=days + 1)
    return cut.strftime("%Y-%m-%dT%H:%M:%SZ")


def idle_frame(m365, *, days: int = INACTIVE_DAYS, now: pd.Timestamp | None = None,
               exclude_tenants=(), prices: dict[str, float] | None = None) -> pd.DataFrame:
    """idle_licenses() of every active tenant, read by one query instead of joining users()
    and user_licenses() (IDLE_COLUMNS; `monthly_price` from `prices`, else the stored table)."""
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    prices = m365.license_price_map() if prices is None else prices
    rows = m365._read(store_idle.idle_license_rows, None, idle_cutoff(now, days),
                      [str(t) for t in exclude_tenants])
    out = rows.assign(why=np.where(rows["disabled"].to_numpy(dtype=bool), "disabled account",
                                   f"no sign-in for {days} days"),
                      monthly_price=rows["sku_part_number"].astype(str).map(prices)
                      .astype(float).fillna(0.0))
    return out.reindex(columns=IDLE_COLUMNS)


def overview(m365, prices: dict[str, float] | None = None, *, days: int = INACTIVE_DAYS,
             now: pd.Timestamp | None = None, activity: int = 8) -> Overview:
    """The Overview figures across every tenant in the store, costed with `prices` (SKU part
    number -> monthly price; None: the stored price table, m365.license_prices()).

    Each figure is one aggregate the database or a small frame answers: tenants() (counts per
    tenant), licenses() (one row per SKU), the idle licenses' own rows (idle_frame) and the
    newest audit entries; no listing of every user is read (that took seconds at 100,000)."""
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
    idle = idle_frame(m365, days=days, now=now, prices=prices,
                      exclude_tenants=excluded["tenant_id"].astype(str).tolist())
    log = m365.audit_log(limit=activity)
    failing = tenants.loc[errors, ["tenant_id", "display_name", "last_error", "last_attempt"]]
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
        idle=idle.reset_index(drop=True),
        idle_monthly_cost=round(float(idle["monthly_price"].sum()), 2),
        sync_errors=failing.reset_index(drop=True),
        sync_error_access=dict(zip(failing["tenant_id"].astype(str),
                                   tenants.loc[errors, "access"].astype(str))),
        activity=log.head(activity).reset_index(drop=True),
        idle_excluded=excluded,
    )
