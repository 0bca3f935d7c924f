"""Activity: the audit log, filterable and exportable, and deleted users with Restore."""
from __future__ import annotations

import json

import pandas as pd
import param

from services.exports import to_csv

from .base import PlanViewModel, error_text
from .users import ALL, tenant_choices

LOG_COLUMNS = ["time", "actor", "role", "tenant", "user", "action", "outcome", "detail"]
DELETED_COLUMNS = ["tenant", "display_name", "user_principal_name", "deleted", "days_left",
                   "restorable", "tenant_id", "id"]


def _detail_text(detail) -> str:
    """The per-step outcome in one readable line (the full JSON goes to the export)."""
    if not isinstance(detail, dict):
        return str(detail or "")
    steps = detail.get("steps") or []
    if steps:
        return "; ".join(f"{s.get('action')} {s.get('target')}: {s.get('status')}"
                         + (f" ({s.get('error')})" if s.get("error") else "") for s in steps)
    return json.dumps(detail, default=str, sort_keys=True)[:300]


class ActivityViewModel(PlanViewModel):
    """State and actions of the Activity page."""

    tenant = param.Selector(default=ALL, objects={"All tenants": ALL}, check_on_set=False,
                            doc="Tenant id whose entries are listed; '' for all.")
    action = param.String(default="", doc="Only entries of this action (onboard, edit, ...); '' all.")
    outcome = param.String(default="", doc="Only entries with this outcome (done, partial, "
                                           "failed, denied); '' all.")
    search = param.String(default="", doc="Text matched against actor and user.")
    entries = param.DataFrame(default=pd.DataFrame(columns=LOG_COLUMNS), doc="The filtered audit "
                          "log, newest first.")
    deleted = param.DataFrame(default=pd.DataFrame(columns=DELETED_COLUMNS), doc="Deleted users "
                              "of the tenants in scope, with the days left to restore them.")
    restored = param.Event(doc="Fires after a restore (the app refreshes user rows).")

    def refresh(self, deleted: bool = True) -> None:
        tenants = self.m365.tenants()
        self.param.tenant.objects = tenant_choices(tenants)
        self._names = dict(zip(tenants["tenant_id"].astype(str), tenants["display_name"].astype(str)))
        self._load_log()
        if deleted:
            self.load_deleted()

    def _name(self, tenant_id: str) -> str:
        return ";".join(self._names.get(t, t) for t in str(tenant_id).split(";") if t)

    @param.depends("tenant", "action", "outcome", "search", watch=True)
    def _load_log(self) -> None:
        df = self.m365.audit_log(tenant=self.tenant or None, action=self.action or None,
                                 outcome=self.outcome or None)
        if self.search.strip():
            text = self.search.strip().lower()
            mask = (df["actor"].astype(str).str.lower().str.contains(text, regex=False)
                    | df["user"].astype(str).str.lower().str.contains(text, regex=False))
            df = df[mask]
        self._raw = df
        out = df.assign(tenant=[self._name(t) for t in df["tenant_id"]],
                        detail=[_detail_text(d) for d in df["detail"]])
        out["time"] = [pd.Timestamp(t).strftime("%Y-%m-%d %H:%M:%S") if pd.notna(t) else ""
                       for t in out["time"]]
        self.entries = out[LOG_COLUMNS].reset_index(drop=True)

    def actions(self) -> list[str]:
        return ["", "onboard", "edit", "offboard", "delete", "restore", "bulk_onboard",
                "bulk_offboard", "bulk_update", "sync_settings"]

    def export_csv(self) -> str:
        """The filtered entries with their full detail as JSON, formula-safe."""
        raw = self._raw.assign(detail=[json.dumps(d, default=str, sort_keys=True) for d in self._raw["detail"]])
        return to_csv(raw)

    def load_deleted(self) -> None:
        """Deleted users, read live from Graph (the store does not keep them)."""
        try:
            df = self.m365.deleted_users(self.tenant or None)
        except Exception as exc:  # noqa: BLE001 - the audit log still shows; say what is missing
            self.alert("warning", f"Deleted users could not be read: {error_text(exc)}")
            return
        df = df.assign(tenant=[self._name(t) for t in df["tenant_id"]])
        self.deleted = df[DELETED_COLUMNS].reset_index(drop=True)

    async def restore(self, iloc: int) -> bool:
        """Plan restoring the deleted user at row `iloc`; shows the steps for confirmation."""
        row = self.deleted.iloc[iloc]
        if not bool(row["restorable"]):
            self.alert("warning", f"{row['user_principal_name']} was deleted more than 30 days ago "
                                  "and cannot be restored.")
            return False
        if not self.may("restore"):
            self.alert("warning", "Your role may not restore users.")
            return False
        plan = await self.plan_task("Planning the restore", self.m365.plan_restore,
                                    row["tenant_id"], row["id"])
        if plan is None:
            return False
        return self.propose(plan, f"Restore {row['user_principal_name']}", self._after_restore)

    def _after_restore(self, result) -> None:
        self.restored = True
        self.refresh()
