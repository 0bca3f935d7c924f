"""All Tenants: one row per tenant with its figures, what the app may do there (Access) and
its fix, its sync switch, sync now, check access and portal links."""
from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import param

from services import access as A
from services import permissions as P
from services.licensing import paid_seats

from .base import PageViewModel

COLUMNS = ["tenant_id", "display_name", "default_domain", "synced", "last_sync", "last_error",
           "users", "licensed_users", "seats_total", "seats_consumed", "seats_available",
           "skus_out_of_seats", "paid_total", "paid_consumed",
           "access", "missing_permissions", "features_off", "last_sign_in_note", "entra_p1",
           "access_checked", "access_detail", "consent_url",
           "access_words", "access_off", "access_fix"]

# The Access column's first line, per status (services.access), in a technician's words.
ACCESS_WORDS = {A.READY: "Ready", A.NO_CONSENT: "No consent", A.EXPIRED: "Relationship expired",
                A.UNKNOWN: "Tenant unknown", A.NOT_CHECKED: "Not checked"}
FIXES = {**A.FIX, A.NOT_CHECKED: "click Check access (or sync the tenant) to find out"}
ROLE_MARK = " (directory role)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def access_words(status, missing="") -> str:
    """'Ready', 'Missing 1 permission', 'Missing 2 permissions and 1 directory role',
    'No consent', ... for a tenant's access status and its missing list."""
    status = status if isinstance(status, str) and status else A.NOT_CHECKED
    if status != A.MISSING:
        return ACCESS_WORDS.get(status, status.capitalize())
    items = A.split(missing)
    roles = sum(i.endswith(ROLE_MARK) for i in items)
    parts = [_plural(len(items) - roles, "permission")] if len(items) > roles else []
    parts += [_plural(roles, "directory role")] if roles else []
    return "Missing " + (" and ".join(parts) or "permissions")


def access_off(row: dict) -> str:
    """What the tenant cannot use, in MSP words: 'last sign-in and recent sign-ins (needs
    AuditLog.Read.All)'; 'everything' when the app cannot sign in there; '' when nothing is off."""
    if row.get("access") in A.BLOCKING:
        return "everything"
    return A.SEP.join(f"{P.FEATURES[k].label} ({why})" for k, why in A.features_off(row).items()
                      if k in P.FEATURES)


def _clean(value):
    return None if value is None or (isinstance(value, float) and value != value) else value


def with_access_texts(df: pd.DataFrame) -> pd.DataFrame:
    """`df` (tenants()) with access_words, access_off and access_fix added."""
    rows = [{k: _clean(v) for k, v in r.items()} for r in df.to_dict("records")]
    status = [r.get("access") or A.NOT_CHECKED for r in rows]
    return df.assign(
        access=status,
        access_words=[access_words(s, r.get("missing_permissions")) for s, r in zip(status, rows)],
        access_off=[access_off(r) for r in rows],
        access_fix=["" if s == A.READY else FIXES.get(s, FIXES[A.NOT_CHECKED]) for s in status])


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
    changed = param.Event(doc="Fires after a sync, a sync switch or an access check changed "
                               "the store, so other pages can re-read.")

    def refresh(self) -> None:
        """Re-read the tenant figures and access from the store (no Graph call)."""
        df = self.m365.tenants()
        df = with_access_texts(df.join(paid_seats(self.m365.licenses()), on="tenant_id"))
        self.frame = df[[c for c in COLUMNS if c in df.columns]].reset_index(drop=True)

    async def check_access(self) -> None:
        """Ask Entra and Graph now what the app may do in every tenant (a fresh token each),
        store it and show it; a summary alert says how many tenants are ready."""
        report = await self.run_task("Check access", self.m365.check_access)
        if report is None:
            return
        known = set(self.frame["tenant_id"])
        self.refresh()
        self.changed = True
        words = [access_words(s, m) for s, m in zip(report["access"],
                                                     report["missing_permissions"])]
        counts = pd.Series(words, dtype="object").value_counts()
        summary = ", ".join(f"{n} {w.lower() if w != 'Ready' else 'ready'}"
                            for w, n in counts.items())
        ready = int((report["access"] == A.READY).sum())
        kind = "success" if ready == len(report) else "warning"
        self.alert(kind, f"Checked access in {_plural(len(report), 'tenant')}: {summary}."
                   + ("" if kind == "success" else " The Access column says how to fix each."))
        # Customers that are not on the page (their GDAP relationship ended before they were
        # ever synced) are named here, with their fix.
        for row in report[~report["tenant_id"].isin(known | set(self.frame["tenant_id"]))] \
                .itertuples():
            self.alert("warning", f"{row.tenant} (not listed on this page): "
                                  f"{access_words(row.access).lower()}; "
                                  f"{FIXES.get(row.access, FIXES[A.NOT_CHECKED])}.")

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
