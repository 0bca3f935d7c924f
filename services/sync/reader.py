"""Reading one tenant from Graph into a `TenantSnapshot` (nothing is written here).

Request economy, since a sync spans hundreds of tenants:
- organization, domains, subscribedSkus, role definitions and role assignments: one `$batch`;
- users and groups: `delta` queries, so later syncs fetch only what changed (an expired token,
  410, falls back to a full read of that resource alone);
- last sign-in (`signInActivity`, not available through delta, `$top` at most 500): read in full
  with every full user read and otherwise at most every SIGN_IN_MAX_AGE;
- app role assignments of groups (not tracked by groups/delta): `$batch`ed 20 groups a call,
  for every group on full reads or every APPS_MAX_AGE, else for the groups that changed.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from ..errors import BadRequest, Gone, GraphError, NotFound, PermissionDeniedByGraph
from ..graph import TenantGraph
from ..store import Change, GroupChange, Store, SyncState, TenantSnapshot
from ..store import rows as R

log = logging.getLogger(__name__)

SIGN_IN_MAX_AGE = timedelta(hours=6)
APPS_MAX_AGE = timedelta(hours=1)
SIGN_IN_PAGE = 500             # Graph's cap on $top when signInActivity is selected
DELTA_PAGE = 999               # asked for with Prefer: odata.maxpagesize
PREFER = {"Prefer": f"odata.maxpagesize={DELTA_PAGE}"}
# Answers that mean "this tenant does not offer (or let us read) this resource": keep the old rows.
UNAVAILABLE = (400, 403, 404, 501)

CORE = {
    "organization": "/organization?$select=id,displayName,verifiedDomains",
    "domains": "/domains?$select=id,isDefault,isInitial,isVerified,authenticationType",
    "skus": "/subscribedSkus",
    "role_definitions": "/roleManagement/directory/roleDefinitions"
                        "?$select=id,displayName,description,isBuiltIn,isEnabled,templateId",
    "role_assignments": "/roleManagement/directory/roleAssignments"
                        "?$select=id,roleDefinitionId,principalId,directoryScopeId",
}
APP_SELECT = "id,resourceId,resourceDisplayName,appRoleId"


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


class TenantReader:
    """Stages everything one sync of `client`'s tenant needs; `read()` returns the snapshot."""

    def __init__(self, client: TenantGraph, store: Store, *, full: bool = False,
                 now: datetime | None = None):
        self.client = client
        self.tid = client.tenant_id
        self.store = store
        self.full = full
        self.now = now or datetime.now(timezone.utc)
        self.state: dict[str, SyncState] = {} if full else store.sync_state(self.tid)
        self.snap = TenantSnapshot(self.tid)

    def read(self) -> TenantSnapshot:
        self._core()
        self._users()
        self._sign_ins()
        self._groups()
        self._apps()
        return self.snap

    # ---- helpers -----------------------------------------------------------------------------

    def _warn(self, text: str) -> None:
        log.info("tenant %s: %s", self.tid, text)
        self.snap.warnings.append(text)

    def _due(self, resource: str, max_age: timedelta) -> bool:
        state = self.state.get(resource)
        last = _parse(state.full_at) if state else None
        return last is None or self.now - last >= max_age

    def _delta_link(self, resource: str) -> str | None:
        state = self.state.get(resource)
        link = state.delta_link if state else None
        if not link:
            return None
        # A link minted by another Graph endpoint (the config moved) cannot be followed here.
        if urlsplit(link).netloc != urlsplit(self.client.base).netloc:
            return None
        return link

    def _rest(self, body: dict) -> list[dict]:
        """A batch answer's items, following its nextLink outside the batch when it pages."""
        items = list(body.get("value", []))
        link = body.get("@odata.nextLink")
        if link:
            items.extend(self.client.pages(link))
        return items

    # ---- organization, domains, SKUs, roles: one $batch -------------------------------------

    def _core(self) -> None:
        names = list(CORE)
        answers = self.client.batch([{"id": name, "method": "GET", "url": CORE[name]} for name in names])
        values: dict[str, list[dict] | None] = {}
        for name, answer in zip(names, answers):
            err = answer.error(tenant_id=self.tid, method="GET", url=CORE[name].split("?")[0])
            if err is None:
                values[name] = self._rest(answer.body or {})
            elif name != "organization" and err.status in UNAVAILABLE:
                self._warn(f"{name} not read ({err.status} {err.code}): {err.graph_message}")
                values[name] = None
            else:
                raise err
        tid, snap = self.tid, self.snap
        org = (values["organization"] or [{}])[0]
        verified = org.get("verifiedDomains") or []
        snap.organization = {
            "display_name": org.get("displayName"),
            "default_domain": next((d["name"] for d in verified if d.get("isDefault")), None),
            "initial_domain": next((d["name"] for d in verified if d.get("isInitial")), None)}
        if values["domains"] is not None:
            snap.domains = [R.domain_row(tid, d) for d in values["domains"]]
        elif verified:
            # Without /domains, the organization's verified domains are the next best list.
            snap.domains = [{"tenant_id": tid, "name": d["name"], "is_default": d.get("isDefault"),
                             "is_initial": d.get("isInitial"), "is_verified": True,
                             "authentication_type": None} for d in verified]
        if values["skus"] is not None:
            snap.skus = [R.sku_row(tid, s) for s in values["skus"]]
        if values["role_definitions"] is not None:
            snap.role_definitions = [R.role_definition_row(tid, r) for r in values["role_definitions"]]
        if values["role_assignments"] is not None:
            snap.role_assignments = [R.role_assignment_row(tid, r) for r in values["role_assignments"]]
        snap.objects += sum(len(v) for v in values.values() if v)

    # ---- users ---------------------------------------------------------------------------

    def _users(self) -> None:
        link = self._delta_link("users")
        if link:
            try:
                self.snap.users = self._delta(link, R.user_row, Change(full=False))
                return
            except Gone:
                self._warn("users: delta token expired (410); read in full")
        self.snap.users = self._delta("users/delta", R.user_row, Change(full=True),
                                      params={"$select": R.USER_SELECT})

    def _delta(self, path: str, convert, change: Change, params: dict | None = None) -> Change:
        pager = self.client.pages(path, params=params, headers=PREFER)
        by_id: dict[str, dict] = {}
        removed: dict[str, None] = {}
        for obj in pager:
            self.snap.objects += 1
            oid = obj.get("id")
            if not oid:
                continue
            if "@removed" in obj:
                by_id.pop(oid, None)
                removed[oid] = None
                continue
            removed.pop(oid, None)
            row = convert(obj)
            # The same object can come on several pages (big member lists): merge them.
            by_id[oid] = {**by_id[oid], **row} if oid in by_id else row
            if isinstance(change, GroupChange):
                self._members(change, oid, obj.get("members@delta"))
        change.rows = list(by_id.values())
        change.removed = [] if change.full else list(removed)
        change.delta_link = pager.delta_link
        return change

    def _sign_ins(self) -> None:
        users_full = self.snap.users is not None and self.snap.users.full
        if not users_full and not self._due("sign_ins", SIGN_IN_MAX_AGE):
            return
        out: dict[str, tuple[str | None, str | None]] = {}
        try:
            for obj in self.client.pages("users", params={"$select": "id,signInActivity",
                                                          "$top": str(SIGN_IN_PAGE)}):
                out[obj["id"]] = R.sign_in_times(obj)
        except (PermissionDeniedByGraph, BadRequest) as exc:
            # Needs Entra ID P1 and AuditLog.Read.All; tenants without them sync without it.
            log.info("tenant %s: no signInActivity (%s %s)", self.tid, exc.status, exc.code)
            self.snap.has_sign_in_activity = False
            self.snap.sign_ins = {}
            return
        self.snap.has_sign_in_activity = True
        self.snap.sign_ins = out

    # ---- groups ---------------------------------------------------------------------------

    def _groups(self) -> None:
        link = self._delta_link("groups")
        if link:
            try:
                self.snap.groups = self._delta(link, R.group_row, GroupChange(full=False))
                return
            except Gone:
                self._warn("groups: delta token expired (410); read in full")
        self.snap.groups = self._delta("groups/delta", R.group_row, GroupChange(full=True),
                                       params={"$select": R.GROUP_SELECT})

    @staticmethod
    def _members(change: GroupChange, gid: str, members: list | None) -> None:
        if not members:
            return
        for member in members:
            mid = member.get("id")
            if not mid:
                continue
            if change.full:
                current = change.members.setdefault(gid, {})
                if "@removed" in member:
                    current.pop(mid, None)
                else:
                    current[mid] = R.member_type(member)
            elif "@removed" in member:
                change.dropped.append((gid, mid))
            else:
                change.added.append((gid, mid, R.member_type(member)))
        if change.full:
            change.members.setdefault(gid, {})

    # ---- app role assignments of groups --------------------------------------------------------

    def _apps(self) -> None:
        groups = self.snap.groups
        if groups.full or self._due("apps", APPS_MAX_AGE):
            current = {r["id"] for r in groups.rows}
            if not groups.full:
                current |= set(self.store.group_ids(self.tid))
                current -= set(groups.removed)
            ids, full = sorted(current), True
        else:
            ids, full = sorted({r["id"] for r in groups.rows} - set(groups.removed)), False
        if not ids and not full:
            return
        requests = [{"id": str(i), "method": "GET",
                     "url": f"/groups/{gid}/appRoleAssignments?$select={APP_SELECT}"}
                    for i, gid in enumerate(ids)]
        apps: dict[str, list[dict]] = {}
        for gid, answer in zip(ids, self.client.batch(requests) if requests else []):
            err = answer.error(tenant_id=self.tid, method="GET", url="groups/appRoleAssignments")
            if err is None:
                items = self._rest(answer.body or {})
                self.snap.objects += len(items)
                apps[gid] = [R.app_row(self.tid, gid, a) for a in items]
            elif isinstance(err, NotFound):
                apps[gid] = []          # deleted since the groups delta was read
            elif err.status in UNAVAILABLE:
                self._warn(f"group apps not read ({err.status} {err.code}): {err.graph_message}")
                return
            else:
                raise err
        self.snap.apps, self.snap.apps_full = apps, full


def read_tenant(client: TenantGraph, store: Store, *, full: bool = False) -> TenantSnapshot:
    return TenantReader(client, store, full=full).read()


__all__ = ["TenantReader", "read_tenant", "GraphError"]
