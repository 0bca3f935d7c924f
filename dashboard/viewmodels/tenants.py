"""All Tenants: one row per tenant with its figures, its sync switch, sync now and portal links."""
from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import param

from services.licensing import paid_seats

from .base import PageViewModel

COLUMNS = ["tenant_id", "display_name", "default_domain", "synced", "last_sync", "last_error",
           "users", "licensed_users", "seats_total", "seats_consumed", "seats_available",
           "skus_out_of_seats", "paid_total", "paid_consumed"]


def portal_links(tenant_id: str, domain: str | None = None) -> dict[str, str]:
    """The tenant's Microsoft admin portals, opened in the customer's context (GDAP)."""
    tid = quote(tenant_id, safe="")
    return {
        "Microsoft 365 admin": f"https://admin.microsoft.com/?tenantId={tid}",
        "Entra": f"https://entra.microsoft.com/{tid}",
        "Intune": f"https://intune.microsoft.com/{tid}",
    }


class TenantsViewModel(PageViewModel):
    """State and actions of the All Tenants page."""

    frame = param.DataFrame(default=pd.DataFrame(columns=COLUMNS), doc="tenants() with the "
                            "columns the page shows, one row per tenant.")
    changed = param.Event(doc="Fires after a sync or a sync switch changed the store, so other "
                               "pages can re-read.")

    def refresh(self) -> None:
        """Re-read the tenant figures from the store (no Graph call)."""
        df = self.m365.tenants()
        df = df.join(paid_seats(self.m365.licenses()), on="tenant_id")
        self.frame = df[[c for c in COLUMNS if c in df.columns]].reset_index(drop=True)

    async def set_sync(self, tenant_id: str, enabled: bool) -> None:
        """Switch a tenant's scheduled sync on or off (stored; admin only)."""
        state = "on" if enabled else "off"
        await self.run_task(f"Sync {state} for {self.name_of(tenant_id)}",
                            self.m365.set_sync_enabled, tenant_id, enabled)
        # Re-read either way: a refused switch must show the stored state again.
        self.refresh()
        self.changed = True

    async def sync_now(self, tenant_id: str | None = None) -> None:
        """Sync one tenant, or every tenant whose sync is on, with progress per tenant."""
        ids = [tenant_id] if tenant_id else list(self.frame.loc[self.frame["synced"].astype(bool),
                                                                "tenant_id"])
        if not ids:
            self.alert("warning", "No tenant has sync on: switch a tenant's sync on first.")
            return
        names = {tid: self.name_of(tid) for tid in ids}

        def work():
            failed = []
            for n, tid in enumerate(ids):
                self.report(status=f"Syncing {names[tid]} ({n + 1} of {len(ids)})…",
                            progress=int(100 * n / len(ids)))
                report = self.m365.sync(tid, progress=False)
                failed += [f"{names.get(t, t)}: {why}" for t, why in report.errors.items()]
            self.report(progress=100)
            return failed

        failed = await self.run_task("Sync", work)
        if failed:
            for line in failed:
                self.alert("danger", f"Sync failed for {line}")
        elif failed is not None:
            self.alert("success", f"Synced {len(ids)} tenant{'s' if len(ids) != 1 else ''}.")
        self.refresh()
        self.changed = True

    def name_of(self, tenant_id: str) -> str:
        row = self.frame[self.frame["tenant_id"] == tenant_id]
        return str(row["display_name"].iloc[0]) if len(row) else tenant_id

    def links(self, tenant_id: str) -> dict[str, str]:
        return portal_links(tenant_id)
