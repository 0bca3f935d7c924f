"""`connect()` and the `M365` object: the Python API notebooks, the CLI and the dashboard use.

Listings read the local store (fast, no Graph call); `sync()` refreshes the store from Graph.
Workflow and bulk methods come from their mixins, which use `graph`, `store`, `actor`,
`resolve_tenant()` and `sync_tenant()` from here.
"""
from __future__ import annotations

import copy
import logging
import os
import pandas as pd

from .access import consent_url
from .access_check import AccessMixin
from .actors import Actor, default_actor
from .bulk import BulkMixin
from .config import Config, load_config
from .errors import UserNotFound
from .graph import Graph
from .license_prices import LicensePricesMixin
from .offboarding_defaults import OffboardingDefaultsMixin
from .schedules import SchedulesMixin
from .store import Store, ensure_sqlite_folder
from .store import listings as L
from .store import lookups
from .sync import SyncFailed, Syncer, SyncReport, TenantResult
from .templates import TemplatesMixin
from .workflows import WorkflowsMixin

log = logging.getLogger(__name__)

HOW_TO_FIND = ("use a tenant id, a verified domain or a display name as listed by m365.tenants() "
               "(run m365.sync() first if that list is empty)")


def connect(config: str | os.PathLike | Config | None = None, actor: Actor | None = None) -> "M365":
    """Open the store and the Graph client for `config` (a path, a Config, or None for the
    default lookup: $M365DASH_CONFIG, else $M365DASH_HOME/m365dash.toml)."""
    if not isinstance(config, Config):
        config = load_config(config)
    return M365(config, actor or default_actor())


class M365(WorkflowsMixin, BulkMixin, TemplatesMixin, OffboardingDefaultsMixin,
           SchedulesMixin, AccessMixin, LicensePricesMixin):
    """One MSP's view of its tenants: synced listings, sync, and workflows."""

    def __init__(self, config: Config, actor: Actor, *, graph: Graph | None = None,
                 store: Store | None = None):
        self.config = config
        self.actor = actor
        self.graph = graph or Graph(config.graph)
        if store is None:
            ensure_sqlite_folder(config.store_url)
            store = Store(config.store_url)
        self.store = store
        self.syncer = Syncer(self.graph, self.store, config)
        self._discovered = False
        self._borrowed = False

    def as_actor(self, actor: Actor) -> "M365":
        """The same tenants, store and Graph client, acting as `actor`: a dashboard session runs
        every write as its signed-in person. Closing the returned object closes nothing shared."""
        if not isinstance(actor, Actor):
            raise TypeError(f"as_actor needs a services.actors.Actor, got {type(actor).__name__}")
        clone = copy.copy(self)
        clone.actor = actor
        clone._borrowed = True
        return clone

    def __repr__(self) -> str:
        return f"<M365 actor={self.actor.name} ({self.actor.role}) store={self.store!r}>"

    def __enter__(self) -> "M365":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._borrowed:
            return
        self.graph.close()
        self.store.close()

    # ---- sync ------------------------------------------------------------------------------

    def discover(self) -> pd.DataFrame:
        """Refresh the tenant list from the config or the partner's GDAP relationships."""
        self.syncer.discover()
        self._discovered = True
        return self.tenants()

    def sync(self, tenant=None, full: bool = False, progress: bool = True) -> SyncReport:
        """Sync every tenant whose sync is on (after discovery), or the given tenant(s), which
        are synced even when their sync is off. Incremental unless `full` or first time."""
        ids = None if tenant is None else self._tenant_ids(tenant)
        report = self.syncer.run(ids, full=full, progress=progress)
        if tenant is None:
            self._discovered = True
        return report

    def sync_tenant(self, tenant, full: bool = False) -> TenantResult:
        """Sync one tenant now (incremental); raises SyncFailed with the reason if it fails."""
        tenant_id = self.resolve_tenant(tenant)
        result = self.syncer.sync_tenant(tenant_id, full=full)
        if not result.ok:
            raise SyncFailed(result)
        return result

    def set_sync_enabled(self, tenant, enabled: bool) -> None:
        """Switch a tenant's sync on or off; the choice is stored and survives restarts."""
        tenant_id = self.resolve_tenant(tenant)
        self.require_role("sync_settings", tenant_id=tenant_id, detail={"enabled": bool(enabled)})
        self.store.set_sync_enabled(tenant_id, bool(enabled))
        self.audit(action="sync_settings", outcome="done", tenant_id=tenant_id,
                   detail={"enabled": bool(enabled)})

    # ---- resolution ------------------------------------------------------------------------

    def resolve_tenant(self, tenant) -> str:
        """The tenant id for a tenant id, a verified domain or a display name (any case)."""
        if tenant is None or not str(tenant).strip():
            raise ValueError(f"tenant must not be empty; {HOW_TO_FIND}")
        found = self._match_tenant(str(tenant).strip())
        if found is None and not self._discovered:
            # A tenant added since the last discovery (or a store never synced): look once.
            try:
                self.discover()
            except Exception as exc:  # noqa: BLE001 - resolution still fails with its own message
                log.info("tenant discovery while resolving %r failed: %s", tenant, exc)
                self._discovered = True
            found = self._match_tenant(str(tenant).strip())
        if found is None:
            raise ValueError(f"tenant={tenant!r} matches no known tenant; {HOW_TO_FIND}")
        return found

    def _match_tenant(self, text: str) -> str | None:
        wanted = text.lower()
        rows = self.store.tenant_rows(active_only=False)
        active = [r for r in rows if r["active"]]
        for r in rows:
            if r["tenant_id"].lower() == wanted:
                return r["tenant_id"]
        for r in active:
            if wanted in ((r["default_domain"] or "").lower(), (r["initial_domain"] or "").lower()):
                return r["tenant_id"]
        with self.store.engine.connect() as conn:
            by_domain = lookups.verified_domain_tenants(conn, wanted)
        active_ids = {r["tenant_id"] for r in active}
        by_domain = [t for t in by_domain if t in active_ids]
        if by_domain:
            return by_domain[0]
        named = [r["tenant_id"] for r in active if (r["display_name"] or "").lower() == wanted]
        if len(named) > 1:
            raise ValueError(f"tenant={text!r} is the display name of {len(named)} tenants "
                             f"({', '.join(named)}); use the tenant id or a verified domain")
        return named[0] if named else None

    def _tenant_ids(self, tenant) -> list[str]:
        if isinstance(tenant, (list, tuple, set, pd.Series, pd.Index)):
            return list(dict.fromkeys(self.resolve_tenant(t) for t in tenant))
        return [self.resolve_tenant(tenant)]

    def _scope(self, tenant) -> list[str] | None:
        """Tenant ids for a listing: the given tenant(s), else every active tenant."""
        if tenant is not None:
            return self._tenant_ids(tenant)
        rows = self.store.tenant_rows(active_only=False)
        if all(r["active"] for r in rows):
            return None      # no filter: the plain query is the fastest
        return [r["tenant_id"] for r in rows if r["active"]]

    def resolve_user(self, tenant, user) -> dict:
        """The stored user (a users() row as a dict) for an object id or a user principal name."""
        tenant_id = self.resolve_tenant(tenant)
        wanted = str(user or "").strip().lower()
        with self.store.engine.connect() as conn:
            uid = lookups.user_id(conn, tenant_id, wanted)
            if uid is None:
                raise UserNotFound(tenant_id, str(user),
                                   f"user={user!r} is not a user of tenant {tenant_id} in the "
                                   "store; use an object id or user principal name "
                                   "(m365.users(tenant) lists them; m365.sync_tenant(tenant) "
                                   "refreshes the store)")
            df = L.users(conn, [tenant_id])
        return df[df["id"] == uid].iloc[0].to_dict()

    # ---- listings ----------------------------------------------------------------------------

    def _read(self, fn, tenant, *args) -> pd.DataFrame:
        scope = self._scope(tenant)
        with self.store.engine.connect() as conn:
            return fn(conn, scope, *args)

    def tenant_versions(self) -> dict[str, str]:
        """Tenant id -> a token that changes whenever that tenant's synced data may have changed
        (its last sync time, whether it is active, and its delta links): lets a long-lived process, such as a dashboard
        server sharing the store with others, keep listings in memory and re-read only the
        tenants another process wrote. One small query."""
        with self.store.engine.connect() as conn:
            return lookups.tenant_versions(conn)

    def tenants(self) -> pd.DataFrame:
        """One row per tenant: tenant_id, display_name, default_domain, synced (sync on),
        last_sync, users, licensed_users, seats_total, seats_consumed, seats_available,
        skus_out_of_seats, then initial_domain, source, last_attempt, last_error, groups, and
        what the app may do there (docs/ACCESS.md): access, missing_permissions, features_off,
        last_sign_in_note, entra_p1, granted_permissions, app_roles, access_checked,
        access_detail, intune (False: Graph said the tenant has no Intune), consent_url."""
        df = self._read(L.tenants, None)
        settings = self.config.graph
        df["consent_url"] = pd.Series([consent_url(settings.authority_host, tid, settings.client_id)
                                       for tid in df["tenant_id"]], index=df.index, dtype="str")
        return df

    def users(self, tenant=None) -> pd.DataFrame:
        """One row per user: tenant_id, tenant_name, id, user_principal_name, display_name,
        given_name, surname, account_enabled, usage_location, department, job_title, licenses,
        created, last_sign_in, then license_sources, mail, office_location, phones, ..."""
        return self._read(L.users, tenant)

    def licenses(self, tenant=None) -> pd.DataFrame:
        """One row per subscribed SKU with seats: enabled, consumed, available (may be
        negative), suspended, warning, utilization (consumed / enabled; NaN when none enabled)."""
        return self._read(L.licenses, tenant)

    def user_licenses(self, tenant=None) -> pd.DataFrame:
        """One row per user and SKU held, with whether it is direct or from which groups."""
        return self._read(L.user_licenses, tenant)

    def groups(self, tenant=None) -> pd.DataFrame:
        """One row per group: kind, is_team, is_dynamic, writable, members, apps, ..."""
        return self._read(L.groups, tenant)

    def dynamic_distribution_groups(self, tenant=None) -> pd.DataFrame:
        """Exchange Online's dynamic distribution groups (Graph does not list them): id,
        display_name, mail, recipient_filter, kind, read_only_reason (read with the mailboxes)."""
        return self._read(L.dynamic_distribution_groups, tenant)

    def roles(self, tenant=None) -> pd.DataFrame:
        """One row per directory role definition with the number of principals holding it."""
        return self._read(L.roles, tenant)

    def domains(self, tenant, verified_only: bool = True) -> pd.DataFrame:
        """The tenant's domains (verified ones by default), the default domain first."""
        tenant_id = self.resolve_tenant(tenant)
        with self.store.engine.connect() as conn:
            rows = lookups.domain_rows(conn, tenant_id, verified_only)
        df = pd.DataFrame(rows, columns=["tenant_id", "name", "is_default", "is_initial",
                                         "is_verified", "authentication_type"])
        df = df.rename(columns={"name": "domain"})
        df = df.sort_values(["is_default", "domain"], ascending=[False, True],
                            ignore_index=True)
        return df.astype({"is_default": "boolean", "is_initial": "boolean", "is_verified": "boolean"})

    def role_definitions(self, tenant) -> pd.DataFrame:
        """Directory roles that can be assigned: role_definition_id, display_name, description,
        is_built_in, template_id (from the last sync)."""
        df = self.roles(self.resolve_tenant(tenant))
        return df[["role_definition_id", "display_name", "description", "is_built_in",
                   "template_id"]].reset_index(drop=True)

    def user_groups(self, tenant, user) -> pd.DataFrame:
        """The groups a user is a direct member of (groups() columns)."""
        tenant_id, uid = self._user_key(tenant, user)
        with self.store.engine.connect() as conn:
            ids = lookups.user_group_ids(conn, tenant_id, uid)
            return L.groups(conn, [tenant_id], ids).reset_index(drop=True)

    def user_roles(self, tenant, user) -> pd.DataFrame:
        """The directory roles assigned to a user: assignment id, role, scope."""
        tenant_id, uid = self._user_key(tenant, user)
        with self.store.engine.connect() as conn:
            rows = lookups.user_role_rows(conn, tenant_id, uid)
        return pd.DataFrame(rows, columns=["assignment_id", "role_definition_id", "display_name",
                                           "directory_scope_id"])

    def _user_key(self, tenant, user) -> tuple[str, str]:
        row = self.resolve_user(tenant, user)
        return str(row["tenant_id"]), row["id"]


__all__ = ["connect", "M365", "SyncReport", "SyncFailed", "TenantResult"]
