"""Reading one tenant from Graph into a `TenantSnapshot` (nothing is written here).

Request economy, since a sync spans hundreds of tenants:
- everything is read in `$batch` rounds (`rounds.read_all`): the first carries organization,
  domains, subscribedSkus, role definitions and assignments and the first page of every delta;
  later rounds carry the next pages and the app assignments of groups, 20 items a request;
- users and groups: `delta` queries, so later syncs fetch only what changed (an expired token,
  410, falls back to a full read of that resource alone);
- last sign-in (`signInActivity`, not available through delta, `$top` at most 500): read in full
  with every full user read and otherwise at most every SIGN_IN_MAX_AGE;
- app role assignments of groups (not tracked by groups/delta): for every group on full reads
  or every APPS_MAX_AGE, else for new groups only;
- reference data that almost never changes (organization, domains, role definitions): on full
  reads and every REFERENCE_MAX_AGE. SKUs (seat counts) and role assignments change with every
  workflow and are read on every sync. An incremental sync of a quiet tenant is then one `$batch`
  of four small items, which halves the work per tenant on both sides of the wire.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from ..errors import BadRequest, Gone, NotFound, PermissionDeniedByGraph
from ..graph import TenantGraph
from ..permissions import ROLE_TEMPLATES
from ..store import Change, GroupChange, Store, SyncState, TenantSnapshot
from ..store import rows as R
from .rounds import Stream, read_all, relative

log = logging.getLogger(__name__)

SIGN_IN_MAX_AGE = timedelta(hours=6)
APPS_MAX_AGE = timedelta(hours=1)
REFERENCE_MAX_AGE = timedelta(hours=1)
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
# Read on full syncs and every REFERENCE_MAX_AGE only (the rest of CORE on every sync).
REFERENCE = ("organization", "domains", "role_definitions")
FULL = {"users": f"/users/delta?$select={R.USER_SELECT}",
        "groups": f"/groups/delta?$select={R.GROUP_SELECT}"}
APP_SELECT = "id,resourceId,resourceDisplayName,appRoleId"
SIGN_INS = f"/users?$select=id,signInActivity&$top={SIGN_IN_PAGE}"
APP_ROLES = ("/roleManagement/directory/roleAssignments?$filter=principalId%20eq%20'{id}'"
             "&$select=id,roleDefinitionId,principalId,directoryScopeId")
NO_P1 = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"


def _parse(ts: str | None) -> datetime | None:
    if not ts:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


class TenantReader:
    """Stages everything one sync of `client`'s tenant needs; `read()` returns the snapshot."""

    def __init__(self, client: TenantGraph, store: Store, *, full: bool = False,
                 now: datetime | None = None, app_principal: str | None = None):
        self.client = client
        self.tid = client.tenant_id
        self.store = store
        self.now = now or datetime.now(timezone.utc)
        self.state: dict[str, SyncState] = {} if full else store.sync_state(self.tid)
        self.snap = TenantSnapshot(self.tid)
        self.streams: dict[str, Stream] = {}
        self.full_read: dict[str, bool] = {}          # users/groups: read in full?
        self.apps: list[Stream] = []
        self.apps_full = False
        self.reference = True             # organization, domains, role definitions: read?
        # The app's service principal id in this tenant (the token's `oid`): its directory
        # roles are read in the first round, one more $batch item, no extra request.
        self.app_principal = app_principal

    def read(self) -> TenantSnapshot:
        try:
            read_all(self.client, self._first_round())
            self._core()
            self._app_roles()
            self.snap.users = self._change("users", R.user_row, Change)
            self._sign_ins()
            self.snap.groups = self._change("groups", R.group_row, GroupChange)
            self._apps()
            return self.snap
        finally:
            # Streams call back into this reader (a reference cycle): drop them, and the parsed
            # pages with them, now rather than at the next garbage collection.
            self.streams.clear()
            self.apps = []

    # ---- helpers -----------------------------------------------------------------------------

    def _warn(self, text: str) -> None:
        log.info("tenant %s: %s", self.tid, text)
        self.snap.warnings.append(text)

    def _due(self, resource: str, max_age: timedelta) -> bool:
        state = self.state.get(resource)
        last = _parse(state.full_at) if state else None
        return last is None or self.now - last >= max_age

    def _stream(self, name: str, url: str, headers=None, on_done=None) -> Stream:
        stream = self.streams[name] = Stream(name, url, headers, on_done=on_done)
        return stream

    # ---- what to read ------------------------------------------------------------------------

    def _first_round(self) -> list[Stream]:
        self.reference = not self.state or self._due("reference", REFERENCE_MAX_AGE)
        out = [self._stream(name, url) for name, url in CORE.items()
               if self.reference or name not in REFERENCE]
        for name in ("users", "groups"):
            state = self.state.get(name)
            link = relative(self.client, state.delta_link) if state and state.delta_link else None
            # A link minted by another Graph endpoint (the config moved) cannot be followed.
            self.full_read[name] = link is None
            out.append(self._stream(name, link or FULL[name], PREFER, self._delta_done))
        if self.full_read["users"] or self._due("sign_ins", SIGN_IN_MAX_AGE):
            out.append(self._stream("sign_ins", SIGN_INS))
        if self.app_principal:
            out.append(self._stream("app_roles", APP_ROLES.format(id=self.app_principal)))
        return out

    def _delta_done(self, stream: Stream):
        """An expired delta token (410) restarts that resource alone in full; groups read
        in full (or new ones) then get their app assignments read."""
        name = stream.name
        if isinstance(stream.error, Gone) and not self.full_read[name]:
            # Graph keeps delta tokens for days, not forever: start this resource over.
            self._warn(f"{name}: delta token expired (410); read in full")
            self.full_read[name] = True
            again = [self._stream(name, FULL[name], PREFER, self._delta_done)]
            if name == "users" and "sign_ins" not in self.streams:
                again.append(self._stream("sign_ins", SIGN_INS))
            return again
        if name == "groups" and stream.error is None:
            return self._app_streams(stream)
        return None

    def _app_streams(self, groups: Stream) -> list[Stream]:
        seen = {g["id"] for g in groups.items if "@removed" not in g and g.get("id")}
        gone = {g["id"] for g in groups.items if "@removed" in g}
        if self.full_read["groups"] or self._due("apps", APPS_MAX_AGE):
            ids = seen if self.full_read["groups"] else (set(self.store.group_ids(self.tid)) | seen) - gone
            self.apps_full = True
        elif seen:
            # Only new groups: app assignments are not part of the groups delta (a property or
            # member change says nothing about them), so existing groups wait for APPS_MAX_AGE.
            ids = seen - set(self.store.group_ids(self.tid))
        else:
            ids = set()                   # no group changed: no store query either
        self.apps = [Stream(f"apps:{gid}", f"/groups/{gid}/appRoleAssignments?$select={APP_SELECT}",
                            key=gid) for gid in sorted(ids)]
        return self.apps

    # ---- organization, domains, SKUs, roles ---------------------------------------------------

    def _core(self) -> None:
        values: dict[str, list[dict] | None] = {}
        for name in CORE:
            stream = self.streams.get(name)
            if stream is None:            # reference data not due: its stored rows stay
                values[name] = None
                continue
            err = stream.error
            if err is None:
                values[name] = stream.items
            elif name != "organization" and err.status in UNAVAILABLE:
                self._warn(f"{name} not read ({err.status} {err.code}): {err.graph_message}")
                values[name] = None
            else:
                raise err
        tid, snap = self.tid, self.snap
        snap.reference_read = self.reference
        org = (values["organization"] or [{}])[0]
        verified = org.get("verifiedDomains") or []
        if self.reference:
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

    def _change(self, name: str, convert, kind) -> Change:
        stream = self.streams[name]
        if stream.error is not None:
            raise stream.error
        change = kind(full=self.full_read[name])
        by_id: dict[str, dict] = {}
        removed: dict[str, None] = {}
        groups = isinstance(change, GroupChange)
        for obj in stream.items:
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
            if groups:
                self._members(change, oid, obj.get("members@delta"))
        change.rows = list(by_id.values())
        change.removed = [] if change.full else list(removed)
        change.delta_link = stream.delta_link
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

    def _sign_ins(self) -> None:
        stream = self.streams.get("sign_ins")
        if stream is None:
            return                        # not due, and the users were read incrementally
        err = stream.error
        if isinstance(err, (PermissionDeniedByGraph, BadRequest)):
            # Needs Entra ID P1 and AuditLog.Read.All; tenants without them sync without it
            # (users come from their own delta read, which never selects signInActivity).
            log.info("tenant %s: no signInActivity (%s %s)", self.tid, err.status, err.code)
            self.snap.has_sign_in_activity = False
            if err.code == NO_P1:
                self.snap.entra_p1 = False
            # Not read (None), not "nobody signed in": stored sign-ins stay, and the next sync
            # asks again; Graph gives this 403 intermittently on P1 tenants too.
            self.snap.sign_ins = None
            return
        if err is not None:
            raise err
        self.snap.has_sign_in_activity = True
        self.snap.entra_p1 = True
        self.snap.sign_ins = {obj["id"]: R.sign_in_times(obj) for obj in stream.items if obj.get("id")}

    # ---- the app's own directory roles ---------------------------------------------------------

    def _app_roles(self) -> None:
        stream = self.streams.get("app_roles")
        if stream is None:
            return
        if stream.error is not None:
            # Without a role-read permission the roles stay unknown (None), not "none held".
            log.info("tenant %s: app roles not read (%s %s)", self.tid, stream.error.status,
                     stream.error.code)
            return
        names = {r["id"]: r.get("display_name") for r in self.snap.role_definitions or []}
        self.snap.app_roles = sorted({
            names.get(a.get("roleDefinitionId")) or ROLE_TEMPLATES.get(a.get("roleDefinitionId"))
            or a.get("roleDefinitionId") for a in stream.items if a.get("roleDefinitionId")})

    # ---- app role assignments of groups --------------------------------------------------------

    def _apps(self) -> None:
        apps: dict[str, list[dict]] = {}
        for stream in self.apps:
            gid, err = stream.key, stream.error
            if err is None:
                self.snap.objects += len(stream.items)
                apps[gid] = [R.app_row(self.tid, gid, a) for a in stream.items]
            elif isinstance(err, NotFound):
                apps[gid] = []          # deleted since the groups delta was read
            elif err.status in UNAVAILABLE:
                self._warn(f"group apps not read ({err.status} {err.code}): {err.graph_message}")
                return
            else:
                raise err
        if apps or self.apps_full:
            self.snap.apps, self.snap.apps_full = apps, self.apps_full
