"""Sync and the DataFrame API against the Graph emulator.

One small world for the module (4 tenants x 40 users). Tenants have roles so that tests do not
disturb one another: T0 is only read (listings must equal Graph), T1 is changed through Graph
(incremental sync, crash safety), T2 gets its delta tokens expired and its sync switched off,
T3 is denied (403) by the last test.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from emulator import Emulator
from services import Actor, connect, skus
from services.licensing import out_of_seats
from services.store import write as store_write

N_USERS = 40
USER_SELECT = ("id,userPrincipalName,displayName,givenName,surname,accountEnabled,usageLocation,"
               "department,jobTitle,createdDateTime,assignedLicenses,licenseAssignmentStates")


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tenants=4, users_per_tenant=N_USERS, seed=23, groups_per_tenant=12,
                  state_dir=tmp_path_factory.mktemp("sync-emu")) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def m365(emu):
    client = connect(emu.config_path, actor=Actor("sync-tests@msp.example", "admin"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def first(m365):
    return m365.sync(progress=False)


@pytest.fixture(scope="module")
def tids(emu, first):
    return sorted(emu.tenant_ids)


class Raw:
    """Graph as another admin sees it: plain HTTP with the tenant's own token."""

    def __init__(self, emu, tid):
        self.emu, self.session = emu, emu.session(tid)

    def call(self, method, path, **kw):
        resp = self.session.request(method, f"{self.emu.graph_url}/{path}",
                                    verify=str(self.emu.ca_file), **kw)
        assert resp.status_code < 400, resp.text
        return resp.json() if resp.content else None

    def all(self, path, **params):
        out, url = [], f"{self.emu.graph_url}/{path}"
        while url:
            resp = self.session.get(url, params=params, verify=str(self.emu.ca_file))
            assert resp.status_code < 400, resp.text
            body = resp.json()
            out.extend(body.get("value", []))
            url, params = body.get("@odata.nextLink"), None
        return out


def raw(emu, tid) -> Raw:
    return Raw(emu, tid)


def graph_users(emu, tid) -> dict[str, dict]:
    r = raw(emu, tid)
    users = {u["id"]: u for u in r.all("users", **{"$select": USER_SELECT, "$top": "999"})}
    for u in r.all("users", **{"$select": "id,signInActivity", "$top": "500"}):
        users[u["id"]]["signInActivity"] = u.get("signInActivity")
    return users


def product_names(tid_skus: dict, assigned: list) -> str:
    return "; ".join(sorted(skus.product_name(a["skuId"], tid_skus.get(a["skuId"].lower()))
                            for a in assigned))


def ts(value):
    return pd.Timestamp(value).tz_convert("UTC") if value else pd.NaT


# ---- the first sync ----------------------------------------------------------------------------

def test_first_sync_is_full_and_reports_every_tenant(first, emu):
    assert first.ok, first.errors
    assert first.tenants == 4 and len(first.results) == 4
    assert {r.mode for r in first.results} == {"full"}
    assert first.requests >= sum(r.requests for r in first.results) > 0
    assert first.objects > 4 * N_USERS and first.seconds > 0
    frame = first.to_frame()
    assert set(frame["tenant_id"]) == set(emu.tenant_ids) and frame["ok"].all()
    assert "synced 4 of 4 tenants" in repr(first)


def test_tenants_listing_matches_each_organization(m365, emu, tids):
    df = m365.tenants().set_index("tenant_id")
    assert set(df.index) == set(tids)
    for tid in tids:
        r = raw(emu, tid)
        org = r.all("organization")[0]
        default = next(d["name"] for d in org["verifiedDomains"] if d.get("isDefault"))
        sku_list = r.all("subscribedSkus")
        users = r.all("users", **{"$select": "id,assignedLicenses", "$top": "999"})
        row = df.loc[tid]
        assert row["display_name"] == org["displayName"] and row["default_domain"] == default
        assert row["synced"] and row["last_sync"] > pd.Timestamp.now(tz="UTC") - pd.Timedelta("1h")
        assert row["users"] == len(users)
        assert row["licensed_users"] == sum(1 for u in users if u["assignedLicenses"])
        enabled = sum(s["prepaidUnits"]["enabled"] for s in sku_list)
        consumed = sum(s["consumedUnits"] for s in sku_list)
        assert (row["seats_total"], row["seats_consumed"], row["seats_available"]) == \
            (enabled, consumed, enabled - consumed)
        out = sum(1 for s in sku_list if out_of_seats(s["prepaidUnits"]["enabled"],
                                                       s["consumedUnits"], s["capabilityStatus"]))
        assert row["skus_out_of_seats"] == out


def test_users_equal_graph_for_every_tenant(m365, emu, tids):
    listing = m365.users()
    for tid in tids:
        expected = graph_users(emu, tid)
        part = {s["skuId"].lower(): s["skuPartNumber"] for s in raw(emu, tid).all("subscribedSkus")}
        mine = listing[listing["tenant_id"] == tid].set_index("id")
        assert set(mine.index) == set(expected)
        for uid, u in expected.items():
            row = mine.loc[uid]
            assert row["user_principal_name"] == u["userPrincipalName"]
            assert row["display_name"] == u["displayName"]
            for column, prop in (("given_name", "givenName"), ("surname", "surname"),
                                 ("usage_location", "usageLocation"), ("department", "department"),
                                 ("job_title", "jobTitle")):
                assert (None if pd.isna(row[column]) else row[column]) == u.get(prop), (uid, column)
            assert bool(row["account_enabled"]) == u["accountEnabled"]
            assert row["licenses"] == product_names(part, u["assignedLicenses"])
            assert row["created"] == ts(u["createdDateTime"])
            last = (u.get("signInActivity") or {}).get("lastSignInDateTime")
            assert (pd.isna(row["last_sign_in"]) and not last) or row["last_sign_in"] == ts(last)


def test_licenses_equal_subscribed_skus_including_negative_seats(m365, emu, tids):
    listing = m365.licenses()
    negative = 0
    for tid in tids:
        expected = raw(emu, tid).all("subscribedSkus")
        mine = listing[listing["tenant_id"] == tid].set_index("sku_id")
        assert len(mine) == len(expected)
        for s in expected:
            row = mine.loc[s["skuId"].lower()]
            enabled, consumed = s["prepaidUnits"]["enabled"], s["consumedUnits"]
            assert row["sku_part_number"] == s["skuPartNumber"]
            assert row["product_name"] == skus.product_name(s["skuId"], s["skuPartNumber"])
            assert row["capability_status"] == s["capabilityStatus"]
            assert (row["enabled"], row["consumed"], row["available"]) == (enabled, consumed, enabled - consumed)
            assert row["suspended"] == s["prepaidUnits"].get("suspended", 0)
            assert row["warning"] == s["prepaidUnits"].get("warning", 0)
            if enabled:
                assert row["utilization"] == pytest.approx(consumed / enabled)
            else:
                assert pd.isna(row["utilization"])
            negative += enabled - consumed < 0
    assert negative, "the demo world has a SKU whose subscription shrank below its use"


def test_user_licenses_follow_license_assignment_states(m365, emu, tids):
    tid = tids[0]
    expected = graph_users(emu, tid)
    listing = m365.user_licenses(tid)
    pairs = {(r.user_id, r.sku_id) for r in listing.itertuples()}
    assert pairs == {(uid, a["skuId"].lower()) for uid, u in expected.items() for a in u["assignedLicenses"]}
    for row in listing.itertuples():
        states = [s for s in expected[row.user_id]["licenseAssignmentStates"]
                  if s["skuId"].lower() == row.sku_id]
        groups = sorted({s["assignedByGroup"].lower() for s in states if s.get("assignedByGroup")})
        assert row.assigned_by_group == "; ".join(groups)
        assert bool(row.assigned_directly) == any(not s.get("assignedByGroup") for s in states)


def test_groups_equal_graph_with_kinds_members_and_apps(m365, emu, tids):
    for tid in tids[:2]:
        r = raw(emu, tid)
        expected = r.all("groups", **{"$select": "id,displayName,groupTypes,mailEnabled,securityEnabled,"
                                                 "membershipRule,resourceProvisioningOptions"})
        mine = m365.groups(tid).set_index("id")
        assert set(mine.index) == {g["id"] for g in expected}
        kinds = set()
        for g in expected:
            row = mine.loc[g["id"]]
            unified = "Unified" in g["groupTypes"]
            kind = "microsoft365" if unified else (
                ("mail_security" if g["securityEnabled"] else "distribution") if g["mailEnabled"] else "security")
            dynamic = bool(g.get("membershipRule")) or "DynamicMembership" in g["groupTypes"]
            assert (row["kind"], bool(row["is_dynamic"])) == (kind, dynamic)
            assert bool(row["is_team"]) == ("Team" in (g.get("resourceProvisioningOptions") or []))
            assert bool(row["writable"]) == (kind in ("microsoft365", "security") and not dynamic)
            assert row["members"] == len(r.all(f"groups/{g['id']}/members"))
            apps = {a["resourceDisplayName"] for a in r.all(f"groups/{g['id']}/appRoleAssignments")}
            assert row["apps"] == "; ".join(sorted(apps))
            kinds.add(kind)
        assert len(kinds) >= 3, kinds


def test_roles_equal_graph(m365, emu, tids):
    tid = tids[0]
    r = raw(emu, tid)
    definitions = r.all("roleManagement/directory/roleDefinitions")
    assignments = r.all("roleManagement/directory/roleAssignments")
    mine = m365.roles(tid).set_index("role_definition_id")
    assert set(mine.index) == {d["id"] for d in definitions}
    for d in definitions:
        holders = {a["principalId"] for a in assignments if a["roleDefinitionId"] == d["id"]}
        assert mine.loc[d["id"], "display_name"] == d["displayName"]
        assert mine.loc[d["id"], "members"] == len(holders)
    assert mine["members"].sum() > 0


def test_user_details_groups_roles_and_domains(m365, emu, tids):
    tid = tids[0]
    r = raw(emu, tid)
    holder = r.all("roleManagement/directory/roleAssignments")[0]["principalId"]
    user = m365.resolve_user(tid, holder)
    member_of = {g["id"] for g in r.all(f"users/{holder}/memberOf")
                 if g.get("@odata.type") == "#microsoft.graph.group"}
    assert set(m365.user_groups(tid, user["user_principal_name"])["id"]) == member_of
    assert len(m365.user_roles(tid, holder)) >= 1
    verified = {d["id"] for d in r.all("domains") if d["isVerified"]}
    assert set(m365.domains(tid)["domain"]) == verified
    assert m365.resolve_tenant(next(iter(verified)).upper()) == tid


# ---- incremental sync ----------------------------------------------------------------------------

def test_incremental_sync_picks_up_created_changed_and_deleted_users(m365, emu, tids, first):
    tid = tids[1]
    r = raw(emu, tid)
    domain = m365.tenants().set_index("tenant_id").loc[tid, "default_domain"]
    before = m365.users(tid).set_index("id")
    sku = m365.licenses(tid).sort_values("available").iloc[-1]
    created = r.call("POST", "users", json={
        "accountEnabled": True, "displayName": "Sync Probe", "mailNickname": "sync.probe",
        "userPrincipalName": f"sync.probe@{domain}", "usageLocation": "US", "department": "Probe",
        "passwordProfile": {"password": "Xq9!long-enough-Pw", "forceChangePasswordNextSignIn": True}})
    r.call("POST", f"users/{created['id']}/assignLicense",
           json={"addLicenses": [{"skuId": sku["sku_id"], "disabledPlans": []}], "removeLicenses": []})
    changed, deleted = before.index[0], before.index[1]
    r.call("PATCH", f"users/{changed}", json={"department": "Changed Dept", "jobTitle": "Changed Title"})
    r.call("DELETE", f"users/{deleted}")

    report = m365.sync(tenant=tid, progress=False)
    result = report.results[0]
    assert report.ok and result.mode == "incremental"
    full_requests = next(x.requests for x in first.results if x.tenant_id == tid)
    assert result.requests == 1 < full_requests        # one $batch carries every delta
    after = m365.users(tid).set_index("id")
    assert set(after.index) == (set(before.index) - {deleted}) | {created["id"]}
    assert after.loc[created["id"], "licenses"] == sku["product_name"]
    assert after.loc[created["id"], "department"] == "Probe"
    assert (after.loc[changed, "department"], after.loc[changed, "job_title"]) == ("Changed Dept", "Changed Title")
    assert after.loc[changed, "created"] == before.loc[changed, "created"]      # merged, not lost
    lic = m365.licenses(tid).set_index("sku_id").loc[sku["sku_id"]]
    graph_sku = next(s for s in r.all("subscribedSkus") if s["skuId"].lower() == sku["sku_id"])
    assert lic["consumed"] == graph_sku["consumedUnits"]
    assert deleted not in set(m365.user_licenses(tid)["user_id"])


def test_quiet_tenant_syncs_with_one_request_and_sync_tenant_works(m365, tids):
    result = m365.sync_tenant(tids[0])
    assert result.ok and result.mode == "incremental" and result.requests == 1


def test_a_crash_while_writing_keeps_the_previous_snapshot(m365, emu, tids, monkeypatch):
    tid = tids[1]
    r = raw(emu, tid)
    before = m365.users(tid)
    link = m365.store.sync_state(tid)["users"].delta_link
    victim = before.iloc[2]["id"]
    r.call("PATCH", f"users/{victim}", json={"jobTitle": "After The Crash"})

    def crash(conn, snap, now):
        real(conn, snap, now)            # every table written inside the transaction...
        raise RuntimeError("simulated crash before commit")   # ...then the process "dies"

    real = store_write._write_tenant
    monkeypatch.setattr(store_write, "_write_tenant", crash)
    report = m365.sync(tenant=tid, progress=False)
    assert list(report.errors) == [tid] and "simulated crash" in report.errors[tid]
    monkeypatch.undo()
    pd.testing.assert_frame_equal(m365.users(tid), before)
    assert m365.store.sync_state(tid)["users"].delta_link == link
    assert "simulated crash" in m365.tenants().set_index("tenant_id").loc[tid, "last_error"]
    assert m365.sync(tenant=tid, progress=False).ok
    assert m365.users(tid).set_index("id").loc[victim, "job_title"] == "After The Crash"
    assert pd.isna(m365.tenants().set_index("tenant_id").loc[tid, "last_error"])


def test_expired_delta_tokens_fall_back_to_full_reads(m365, emu, tids):
    tid = tids[2]
    users_before = m365.users(tid)
    emu.expire_delta_tokens()
    result = m365.sync(tenant=tid, progress=False).results[0]
    assert result.ok and result.mode == "full"
    assert sum("410" in w for w in result.warnings) == 2          # users and groups
    pd.testing.assert_frame_equal(m365.users(tid), users_before)
    assert m365.sync(tenant=tid, progress=False).results[0].mode == "incremental"


def test_sync_switch_persists_across_connections(m365, emu, tids):
    tid = tids[2]
    m365.set_sync_enabled(tid, False)
    try:
        with connect(emu.config_path) as again:
            assert not again.tenants().set_index("tenant_id").loc[tid, "synced"]
            report = again.sync(progress=False)
            assert tid not in {r.tenant_id for r in report.results} and report.ok
    finally:
        m365.set_sync_enabled(tid, True)
    with connect(emu.config_path) as again:
        assert again.tenants().set_index("tenant_id").loc[tid, "synced"]


# ---- command line ----------------------------------------------------------------------------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow            # five CLI processes, each importing the whole stack
def test_cli_sync_and_licenses_report(emu, m365, tids):
    done = _cli("sync", "--config", str(emu.config_path), "--no-progress", "--tenant", tids[0])
    assert done.returncode == 0, done.stderr
    assert "synced 1 of 1 tenants" in done.stdout
    out = _cli("licenses", "--config", str(emu.config_path), "--tenant", tids[0], "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["sku_id"] for r in rows} == set(m365.licenses(tids[0])["sku_id"])
    table = _cli("licenses", "--config", str(emu.config_path))
    assert table.returncode == 0 and "utilization" in table.stdout
    bad = _cli("sync", "--config", str(emu.config_path), "--tenant", "no-such-tenant.example")
    assert bad.returncode == 2 and "tenant=" in bad.stderr
    missing = _cli("licenses", "--config", str(emu.config_path) + ".nope")
    assert missing.returncode == 2


# ---- last: a tenant that refuses us ------------------------------------------------------------

@pytest.mark.slow
def test_denied_tenant_is_reported_while_the_others_sync(m365, emu, tids):
    tid = tids[3]
    kept = m365.users(tid)
    emu.deny_tenant(tid, status=403)
    report = m365.sync(progress=False)
    assert list(report.errors) == [tid]
    assert "403" in report.errors[tid]
    assert report.tenants == 3 and all(r.ok for r in report.results if r.tenant_id != tid)
    pd.testing.assert_frame_equal(m365.users(tid), kept)          # last good snapshot stays
    row = m365.tenants().set_index("tenant_id").loc[tid]
    assert "403" in row["last_error"]
    done = _cli("sync", "--config", str(emu.config_path), "--no-progress")
    assert done.returncode == 1 and "FAILED" in done.stdout
