"""Sync against a small fake of Graph served through `responses` (documented payload shapes).

Covers the reader's request economy and fallbacks without the emulator: the core `$batch`, full
then incremental delta reads, an expired delta token (410) falling back to a full read of that
resource only, tenants without signInActivity, one tenant failing while others sync, and
partner discovery falling back from GDAP to contracts.
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import responses

from services.config import Config, TenantEntry
from services.store import Store
from services.store import listings as L
from services.sync import Syncer
from tests.services.conftest import GRAPH, graph_error

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"


class FakeTenant:
    def __init__(self, tid, n_users=3):
        self.tid = tid
        self.version = 0
        self.log: list[tuple[int, str, str]] = []        # (version, resource, id)
        self.users = {f"{tid}-u{i}": self._user(f"{tid}-u{i}", i) for i in range(n_users)}
        self.groups = {f"{tid}-g1": {"id": f"{tid}-g1", "displayName": "Team", "groupTypes": ["Unified"],
                                     "mailEnabled": True, "securityEnabled": False,
                                     "resourceProvisioningOptions": ["Team"]}}
        self.members = {f"{tid}-g1": {f"{tid}-u0"}}
        self.sign_in = True
        self.expired = set()      # resources whose delta tokens answer 410
        self.deny = False
        self.page = None          # page size of users and users/delta (None: one page)

    def _user(self, uid, i):
        return {"id": uid, "userPrincipalName": f"user{i}@{self.tid}.example", "displayName": f"User {i}",
                "accountEnabled": True, "assignedLicenses": [{"skuId": SPB, "disabledPlans": []}],
                "licenseAssignmentStates": [{"skuId": SPB, "assignedByGroup": None, "state": "Active"}]}

    def touch(self, resource, oid):
        self.version += 1
        self.log.append((self.version, resource, oid))

    def collection(self, path, query):
        if path == "organization":
            return [{"id": self.tid, "displayName": f"Org {self.tid}",
                     "verifiedDomains": [{"name": f"{self.tid}.example", "isDefault": True, "isInitial": True}]}]
        if path == "domains":
            return [{"id": f"{self.tid}.example", "isDefault": True, "isInitial": True, "isVerified": True}]
        if path == "subscribedSkus":
            return [{"skuId": SPB, "skuPartNumber": "SPB", "capabilityStatus": "Enabled",
                     "consumedUnits": len(self.users), "prepaidUnits": {"enabled": 2}}]
        if path == "roleManagement/directory/roleDefinitions":
            return [{"id": "rd1", "displayName": "Global Administrator", "isBuiltIn": True}]
        if path == "roleManagement/directory/roleAssignments":
            return [{"id": "ra1", "roleDefinitionId": "rd1", "principalId": f"{self.tid}-u0",
                     "directoryScopeId": "/"}]
        if path == "users":
            if "signInActivity" in query.get("$select", [""])[0]:
                if not self.sign_in:
                    raise Answer(403, graph_error("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                                                  "Neither tenant is B2C or tenant doesn't have premium license"))
                return [{"id": u, "signInActivity": {"lastSignInDateTime": "2026-11-01T00:00:00Z"}}
                        for u in self.users]
        if re.fullmatch(r"groups/[^/]+/appRoleAssignments", path):
            return [{"id": "ar1", "resourceDisplayName": "Salesforce", "resourceId": "r", "appRoleId": "0"}]
        raise Answer(404, graph_error("Request_ResourceNotFound", f"no {path}"))

    def delta(self, resource, query):
        token = query.get("$deltatoken", [None])[0]
        objects = self.users if resource == "users" else self.groups
        if token is None:
            items = [self._with_members(resource, o) for o in objects.values()]
        else:
            if resource in self.expired:
                raise Answer(410, graph_error("syncStateNotFound", "The sync state is not found"))
            changed = {oid for v, r, oid in self.log if r == resource and v > int(token)}
            items = [self._with_members(resource, objects[o]) if o in objects
                     else {"id": o, "@removed": {"reason": "deleted"}} for o in sorted(changed)]
        return {"value": items,
                "@odata.deltaLink": f"{GRAPH}/{resource}/delta?$deltatoken={self.version}"}

    def _with_members(self, resource, obj):
        if resource != "groups":
            return obj
        return {**obj, "members@delta": [{"@odata.type": "#microsoft.graph.user", "id": m}
                                         for m in sorted(self.members.get(obj["id"], ()))]}


class Answer(Exception):
    def __init__(self, status, body):
        self.status, self.body = status, body


class FakeGraph:
    def __init__(self, mocked, tenants):
        self.tenants = {t.tid: t for t in tenants}
        self.partner = {"gdap": None, "contracts": []}
        self.calls: list[str] = []
        mocked.add_callback(responses.GET, re.compile(re.escape(GRAPH) + r"/.*"), callback=self._get)
        mocked.add_callback(responses.POST, f"{GRAPH}/$batch", callback=self._batch)

    def _tenant(self, request):
        return request.headers["Authorization"].split("-")[1]

    def _answer(self, tid, url):
        parts = urlsplit(url)
        path = parts.path.split("/v1.0/", 1)[-1].strip("/")
        query = parse_qs(parts.query)
        self.calls.append(f"{tid} {path}")
        if tid == "partner":
            if path == "tenantRelationships/delegatedAdminRelationships":
                if self.partner["gdap"] is None:
                    raise Answer(403, graph_error("Authorization_RequestDenied", "Insufficient privileges"))
                return 200, {"value": self.partner["gdap"]}
            if path == "contracts":
                return 200, {"value": self.partner["contracts"]}
        tenant = self.tenants[tid]
        if tenant.deny:
            raise Answer(403, graph_error("Authorization_RequestDenied", "Insufficient privileges"))
        if path.endswith("/delta"):
            body = tenant.delta(path.split("/")[0], query)
        else:
            body = {"value": tenant.collection(path, query)}
        if tenant.page and path in ("users", "users/delta"):
            start = int(query.get("$skiptoken", ["0"])[0])
            items = body["value"]
            body["value"] = items[start:start + tenant.page]
            if start + tenant.page < len(items):
                rest = {k: v[0] for k, v in query.items() if k != "$skiptoken"}
                rest["$skiptoken"] = str(start + tenant.page)
                body = {"value": body["value"], "@odata.nextLink": f"{GRAPH}/{path}?{urlencode(rest)}"}
        return 200, body

    def _get(self, request):
        try:
            status, body = self._answer(self._tenant(request), request.url)
        except Answer as answer:
            status, body = answer.status, answer.body
        return status, {}, json.dumps(body)

    def _batch(self, request):
        tid = self._tenant(request)
        out = []
        for inner in json.loads(request.body)["requests"]:
            try:
                status, body = self._answer(tid, GRAPH + inner["url"])
            except Answer as answer:
                status, body = answer.status, answer.body
            out.append({"id": inner["id"], "status": status, "headers": {}, "body": body})
        return 200, {}, json.dumps({"responses": list(reversed(out))})


@pytest.fixture
def setup(make_graph, mocked, tmp_path):
    def build(tenant_ids=("t1", "t2"), partner=False):
        fake = FakeGraph(mocked, [FakeTenant(t) for t in tenant_ids])
        graph = make_graph(partner_tenant_id="partner" if partner else None)
        config = Config(graph=graph.settings, store_url=f"sqlite:///{tmp_path / 'store.db'}",
                        tenants=() if partner else tuple(TenantEntry(t) for t in tenant_ids))
        store = Store(config.store_url)
        return fake, Syncer(graph, store, config), store
    return build


def users(store, tid):
    with store.engine.connect() as conn:
        return L.users(conn, [tid]).set_index("id")


def test_first_sync_is_full_then_incremental_with_far_fewer_requests(setup):
    fake, syncer, store = setup()
    first = syncer.run(progress=False)
    assert first.ok and first.tenants == 2 and {r.mode for r in first.results} == {"full"}
    assert set(users(store, "t1").index) == {"t1-u0", "t1-u1", "t1-u2"}
    assert users(store, "t1").loc["t1-u0", "last_sign_in"].year == 2026
    t1 = fake.tenants["t1"]
    t1.users["t1-u1"]["displayName"] = "Renamed"
    t1.touch("users", "t1-u1")
    del t1.users["t1-u2"]
    t1.touch("users", "t1-u2")
    t1.members["t1-g1"].add("t1-u1")
    t1.touch("groups", "t1-g1")
    fake.calls.clear()
    second = syncer.run(progress=False)
    assert second.ok and {r.mode for r in second.results} == {"incremental"}
    assert second.requests < first.requests
    # HTTP per tenant: the full read is one $batch (core, first delta pages, sign-ins) plus one
    # $batch of group apps; the incremental one is a single $batch: no sign-in read (not due)
    # and no apps (only new groups get theirs between the periodic full refreshes).
    assert {r.tenant_id: r.requests for r in first.results} == {"t1": 2, "t2": 2}
    assert {r.tenant_id: r.requests for r in second.results} == {"t1": 1, "t2": 1}
    after = users(store, "t1")
    assert set(after.index) == {"t1-u0", "t1-u1"}
    assert after.loc["t1-u1", "display_name"] == "Renamed"
    assert after.loc["t1-u0", "last_sign_in"].year == 2026          # kept from the full read
    with store.engine.connect() as conn:
        groups = L.groups(conn, ["t1"])
    assert groups.iloc[0]["members"] == 2 and groups.iloc[0]["apps"] == "Salesforce"


def test_pages_of_different_collections_share_batch_rounds(setup):
    fake, syncer, store = setup(("t1",))
    tenant = fake.tenants["t1"]
    for i in range(3, 5):
        tenant.users[f"t1-u{i}"] = tenant._user(f"t1-u{i}", i)
    tenant.page = 2          # 5 users: 3 pages of users/delta and 3 of sign-in activity
    result = syncer.run(progress=False).results[0]
    # Round 1: core + first pages; round 2: second pages + the group's apps; round 3: last pages.
    assert result.ok and result.requests == 3
    assert len(users(store, "t1")) == 5 and users(store, "t1")["last_sign_in"].notna().all()
    assert store.sync_state("t1")["users"].delta_link.endswith("$deltatoken=0")


def test_expired_delta_token_falls_back_to_full_for_that_resource_only(setup):
    fake, syncer, store = setup(("t1",))
    syncer.run(progress=False)
    fake.tenants["t1"].expired.add("users")
    result = syncer.run(progress=False).results[0]
    assert result.ok and result.mode == "mixed"
    assert any("410" in w for w in result.warnings)
    users_reads = [c for c in fake.calls if c == "t1 users/delta"]
    assert len(users_reads) == 3          # full, then the 410 attempt, then full again
    assert store.sync_state("t1")["users"].delta_link.endswith("$deltatoken=0")


def test_tenant_without_sign_in_activity_syncs_without_it(setup):
    fake, syncer, store = setup(("t1",))
    fake.tenants["t1"].sign_in = False
    report = syncer.run(progress=False)
    assert report.ok
    assert users(store, "t1")["last_sign_in"].isna().all()
    assert store.tenant("t1")["has_sign_in_activity"] is False


def test_one_tenant_denied_is_reported_while_the_others_sync(setup):
    fake, syncer, store = setup(("t1", "t2"))
    fake.tenants["t2"].deny = True
    report = syncer.run(progress=False)
    assert report.tenants == 1 and list(report.errors) == ["t2"]
    assert "permission denied" in report.errors["t2"] and "403" in report.errors["t2"]
    assert len(users(store, "t1")) == 3 and users(store, "t2").empty
    assert store.tenant("t2")["last_error"].startswith("permission denied")
    frame = report.to_frame()
    assert frame.set_index("tenant_id").loc["t2", "ok"] == False  # noqa: E712
    assert "FAILED" in repr(report) and "t2" in repr(report)


def test_partner_discovery_falls_back_from_gdap_to_contracts(setup):
    fake, syncer, store = setup(("t1", "t2"), partner=True)
    fake.partner["contracts"] = [{"customerId": "T1", "displayName": "One", "defaultDomainName": "one.example"},
                                 {"customerId": "t2", "displayName": "Two"}]
    found = syncer.discover()
    assert [(t.tenant_id, t.source) for t in found] == [("t1", "contract"), ("t2", "contract")]
    fake.partner["gdap"] = [{"id": "rel1", "status": "active", "customer": {"tenantId": "t2", "displayName": "Two"}},
                            {"id": "rel2", "status": "active", "customer": {"tenantId": "t2", "displayName": "Two"}}]
    assert [(t.tenant_id, t.source) for t in syncer.discover()] == [("t2", "gdap")]
    report = syncer.run(progress=False)
    assert [r.tenant_id for r in report.results] == ["t2"]
    assert [r["tenant_id"] for r in store.tenant_rows()] == ["t2"]


def test_sync_switch_off_skips_the_tenant_unless_named(setup):
    fake, syncer, store = setup(("t1", "t2"))
    syncer.discover()
    store.set_sync_enabled("t2", False)
    assert [r.tenant_id for r in syncer.run(progress=False).results] == ["t1"]
    assert [r.tenant_id for r in syncer.run(["t2"], progress=False).results] == ["t2"]


def test_interpreter_tuning_is_restored_after_sync(setup):
    import gc
    import sys

    from services.sync import tuned_for_sync
    fake, syncer, store = setup(("t1",))
    interval = sys.getswitchinterval()
    assert gc.isenabled()
    with tuned_for_sync():
        assert not gc.isenabled() and sys.getswitchinterval() <= 0.0005
        with tuned_for_sync():                       # nested (a sync_tenant inside a sync)
            pass
        assert not gc.isenabled()
    assert syncer.run(progress=False).ok
    assert gc.isenabled() and sys.getswitchinterval() == interval


def test_reference_data_is_read_on_full_syncs_and_hourly_not_on_every_incremental(setup):
    import sqlalchemy as sa

    from services.store import schema as S

    fake, syncer, store = setup(("t1",))
    assert syncer.run(progress=False).ok
    reference = {"t1 organization", "t1 domains", "t1 roleManagement/directory/roleDefinitions"}
    assert reference <= set(fake.calls)
    name = store.tenant("t1")["display_name"]
    fake.calls.clear()
    assert syncer.run(progress=False).results[0].mode == "incremental"
    # Seats and role holders change with every workflow: read each time; the rest waits.
    assert not reference & set(fake.calls)
    assert {"t1 subscribedSkus", "t1 roleManagement/directory/roleAssignments"} <= set(fake.calls)
    assert store.tenant("t1")["display_name"] == name
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(S.domains)).scalar() > 0
    with store.engine.begin() as conn:        # an hour and more later
        conn.execute(S.sync_state.update().where(S.sync_state.c.resource == "reference")
                     .values(full_at="2000-01-01T00:00:00Z"))
    fake.calls.clear()
    assert syncer.run(progress=False).ok
    assert reference <= set(fake.calls)
    assert store.sync_state("t1")["reference"].full_at > "2000-01-01T00:00:00Z"
