"""Reading one tenant from Graph into a `TenantSnapshot` (nothing is written here).

Request economy, since a sync spans hundreds of tenants:
- organization, domains, subscribedSkus, role definitions, role assignments and the first page
  of every delta: one `$batch`;
- users and groups: `delta` queries, so later syncs fetch only what changed (an expired token,
  410, falls back to a full read of that resource alone);
- last sign-in (`signInActivity`, not available through delta, `$top` at most 500): read in full
  with every full user read and otherwise at most every SIGN_IN_MAX_AGE;
- app role assignments of groups (not tracked by groups/delta): `$batch`ed 20 groups a call,
  for every group on full reads or every APPS_MAX_AGE, else for new groups only.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

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
SIGN_INS = f"/users?$select=id,signInActivity&$top={SIGN_IN_PAGE}"


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


class TenantReader:
    """Stages everything one sync of `client`'s tenant needs; `read()` returns the snapshot.

    The first `$batch` asks for everything at once: the core resources, the users and groups
    deltas (their stored links made relative, or the start of a full read) and, when due, the
    sign-in activity. An incremental sync of a quiet tenant is therefore one HTTP request; pages
    beyond the first are followed outside the batch.
    """

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
        first = self._first_round()
        self._core(first)
        self._users(first["users"])
        self._sign_ins(first.get("sign_ins"))
        self._groups(first["groups"])
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

    def _relative_delta_link(self, resource: str) -> str | None:
        """The stored delta link as a `$batch` URL, or None when there is none we can follow."""
        state = self.state.get(resource)
        link = state.delta_link if state else None
        base = self.client.base
        # A link minted by another Graph endpoint (the config moved) cannot be followed here.
        if not link or not link.startswith(base + "/"):
            return None
        return link[len(base):]

    def _items(self, body: dict, headers: dict | None = None) -> tuple[list[dict], str | None]:
        """A first page's items plus the pages after it, and the final delta link if any."""
        items = list(body.get("value", []))
        link = body.get("@odata.nextLink")
        if not link:
            return items, body.get("@odata.deltaLink")
        pager = self.client.pages(link, headers=headers)
        items.extend(pager)
        return items, pager.delta_link

    def _error(self, answer, name: str) -> GraphError | None:
        return answer.error(tenant_id=self.tid, method="GET", url=name)

    # ---- the first round: one $batch -----------------------------------------------------------

    def _first_round(self) -> dict:
        requests = [{"id": name, "method": "GET", "url": url} for name, url in CORE.items()]
        self.users_link = self._relative_delta_link("users")
        self.groups_link = self._relative_delta_link("groups")
        requests.append({"id": "users", "method": "GET", "headers": PREFER,
                         "url": self.users_link or f"/users/delta?$select={R.USER_SELECT}"})
        requests.append({"id": "groups", "method": "GET", "headers": PREFER,
                         "url": self.groups_link or f"/groups/delta?$select={R.GROUP_SELECT}"})
        if self.users_link is None or self._due("sign_ins", SIGN_IN_MAX_AGE):
            requests.append({"id": "sign_ins", "method": "GET", "url": SIGN_INS})
        return {r["id"]: answer for r, answer in zip(requests, self.client.batch(requests))}

    # ---- organization, domains, SKUs, roles ---------------------------------------------------

    def _core(self, first: dict) -> None:
        values: dict[str, list[dict] | None] = {}
        for name, url in CORE.items():
            answer = first[name]
            err = self._error(answer, url.split("?")[0])
            if err is None:
                values[name] = self._items(answer.body or {})[0]
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
                             "is_initial": d.get("isInitial"), "is_verified": True}
                            for d in verified]
        if values["skus"] is not None:
            snap.skus = [R.sku_row(tid, s) for s in values["skus"]]
        if values["role_definitions"] is not None:
            snap.role_definitions = [R.role_definition_row(tid, r) for r in values["role_definitions"]]
        if values["role_assignments"] is not None:
            snap.role_assignments = [R.role_assignment_row(tid, r) for r in values["role_assignments"]]
        snap.objects += sum(len(v) for v in values.values() if v)

    # ---- users and groups: delta ---------------------------------------------------------------

    def _users(self, answer) -> None:
        self.snap.users = self._delta_or_full(answer, "users", self.users_link, R.user_row, Change,
                                              f"users/delta?$select={R.USER_SELECT}")

    def _groups(self, answer) -> None:
        self.snap.groups = self._delta_or_full(answer, "groups", self.groups_link, R.group_row,
                                               GroupChange, f"groups/delta?$select={R.GROUP_SELECT}")

    def _delta_or_full(self, answer, name: str, link: str | None, convert, kind, full_path: str):
        if link is not None:
            try:
                err = self._error(answer, f"{name}/delta")
                if err is not None:
                    raise err
                return self._delta(answer.body or {}, convert, kind(full=False))
            except Gone:
                # The token expired (Graph keeps them for days, not forever): read this
                # resource in full; the others keep their deltas.
                self._warn(f"{name}: delta token expired (410); read in full")
            pager = self.client.pages(full_path, headers=PREFER)
            first = {"value": list(pager), "@odata.deltaLink": pager.delta_link}
            return self._delta(first, convert, kind(full=True))
        err = self._error(answer, f"{name}/delta")
        if err is not None:
            raise err
        return self._delta(answer.body or {}, convert, kind(full=True))

    def _delta(self, body: dict, convert, change: Change) -> Change:
        items, delta_link = self._items(body, PREFER)
        by_id: dict[str, dict] = {}
        removed: dict[str, None] = {}
        for obj in items:
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
        change.delta_link = delta_link
        return change

    @staticmethod
    def _members(change: GroupChange, gid: str, members: list | None) -> None:
        if change.full:
            current = change.members.setdefault(gid, {})
        for member in members or ():
            mid = member.get("id")
            if not mid:
                continue
            if change.full:
                if "@removed" in member:
                    current.pop(mid, None)
                else:
                    current[mid] = R.member_type(member)
            elif "@removed" in member:
                change.dropped.append((gid, mid))
            else:
                change.added.append((gid, mid, R.member_type(member)))

    # ---- last sign-in --------------------------------------------------------------------------

    def _sign_ins(self, answer) -> None:
        if answer is None:
            if not self.snap.users.full:
                return                    # not due, and the users were read incrementally
            try:
                items = list(self.client.pages(SIGN_INS))
            except (PermissionDeniedByGraph, BadRequest) as exc:
                return self._no_sign_ins(exc)
        else:
            err = self._error(answer, "users?$select=signInActivity")
            if isinstance(err, (PermissionDeniedByGraph, BadRequest)):
                return self._no_sign_ins(err)
            if err is not None:
                raise err
            items = self._items(answer.body or {})[0]
        self.snap.has_sign_in_activity = True
        self.snap.sign_ins = {obj["id"]: R.sign_in_times(obj) for obj in items if obj.get("id")}

    def _no_sign_ins(self, exc: GraphError) -> None:
        # Needs Entra ID P1 and AuditLog.Read.All; tenants without them sync without it.
        log.info("tenant %s: no signInActivity (%s %s)", self.tid, exc.status, exc.code)
        self.snap.has_sign_in_activity = False
        self.snap.sign_ins = {}

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
            # Only new groups: app assignments are not part of the groups delta (a property or
            # member change says nothing about them), so existing groups wait for APPS_MAX_AGE.
            known = set(self.store.group_ids(self.tid))
            ids, full = sorted(r["id"] for r in groups.rows if r["id"] not in known), False
        if not ids and not full:
            return
        requests = [{"id": str(i), "method": "GET",
                     "url": f"/groups/{gid}/appRoleAssignments?$select={APP_SELECT}"}
                    for i, gid in enumerate(ids)]
        apps: dict[str, list[dict]] = {}
        for gid, answer in zip(ids, self.client.batch(requests) if requests else []):
            err = self._error(answer, "groups/appRoleAssignments")
            if err is None:
                items = self._items(answer.body or {})[0]
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
