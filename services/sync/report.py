"""What a sync did: per tenant and in total, for people (repr, HTML) and programs (DataFrame)."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from ..errors import M365DashError

TENANT_COLUMNS = ["tenant_id", "display_name", "ok", "mode", "users", "groups", "objects",
                  "requests", "seconds", "error", "warnings", "access"]


@dataclass
class TenantResult:
    tenant_id: str
    display_name: str | None = None
    ok: bool = False
    mode: str = ""                # full | incremental | mixed (users and groups read differently)
    users: int = 0                # users in the store after the sync
    groups: int = 0
    objects: int = 0              # Graph objects read by this sync
    requests: int = 0             # HTTP requests to Graph for this tenant, retries included
    seconds: float = 0.0
    error: str | None = None      # why the tenant failed; its previous snapshot stays
    warnings: list[str] = field(default_factory=list)
    access: str | None = None     # what the app may do there (services.access status words)


class SyncFailed(M365DashError):
    """A single-tenant sync (`m365.sync_tenant`) failed; `.result` says why."""

    def __init__(self, result: TenantResult):
        self.result = result
        super().__init__(f"sync of tenant {result.display_name or result.tenant_id} failed: "
                         f"{result.error}")


@dataclass
class SyncReport:
    tenants: int = 0                         # tenants synced successfully
    objects: int = 0
    requests: int = 0                        # every HTTP request to Graph, discovery included
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)     # tenant id -> reason
    results: list[TenantResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def failed(self) -> list[str]:
        return list(self.errors)

    def to_frame(self) -> pd.DataFrame:
        """One row per tenant: TENANT_COLUMNS."""
        rows = [{**r.__dict__, "warnings": "; ".join(r.warnings)} for r in self.results]
        frame = pd.DataFrame(rows, columns=TENANT_COLUMNS)
        return frame.astype({"ok": "boolean", "users": "Int64", "groups": "Int64",
                             "objects": "Int64", "requests": "Int64", "seconds": "float64"})

    def summary(self) -> str:
        text = (f"synced {self.tenants} of {len(self.results)} tenants: {self.objects:,} objects, "
                f"{self.requests:,} requests in {self.seconds:.1f}s")
        if self.errors:
            text += f"; {len(self.errors)} failed"
        return text

    def __repr__(self) -> str:
        lines = [f"SyncReport({self.summary()})"]
        for r in self.results:
            name = r.display_name or r.tenant_id
            if r.ok:
                lines.append(f"  ok     {name}: {r.mode}, {r.users} users, {r.groups} groups, "
                             f"{r.requests} requests, {r.seconds:.1f}s")
            else:
                lines.append(f"  FAILED {name}: {r.error}")
        for key, reason in self.errors.items():
            if not any(r.tenant_id == key for r in self.results):
                lines.append(f"  FAILED {key}: {reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = f"<p><b>SyncReport</b>: {html.escape(self.summary())}</p>"
        if not self.results:
            return head
        return head + self.to_frame().to_html(index=False, na_rep="")
