"""The store: schema upgrades, one-transaction snapshot writes (full and delta), listings.

Snapshots are built from Graph-shaped objects (the documented payloads) through the same row
converters sync uses, so these tests pin the store without any HTTP. They run on SQLite, and on
PostgreSQL too when `make test` started one (the `store_url` fixture).
"""
from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from services.discovery import DiscoveredTenant
from services.store import Change, GroupChange, Store, TenantSnapshot, create_schema
from services.store import listings as L
from services.store import rows as R

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"         # Microsoft 365 Business Premium
E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"          # Microsoft 365 E3
UNKNOWN = "99999999-0000-0000-0000-000000000001"


def graph_user(uid, upn, *, licenses=(), by_group=None, **extra):
    states = [{"skuId": s, "assignedByGroup": None, "state": "Active", "error": "None"} for s in licenses]
    if by_group:
        states.append({"skuId": by_group[0], "assignedByGroup": by_group[1], "state": "Active",
                       "error": "None"})
    assigned = sorted({*licenses, *([by_group[0]] if by_group else [])})
    return {"id": uid, "userPrincipalName": upn, "displayName": upn.split("@")[0].title(),
            "givenName": "Given", "surname": "Sur", "accountEnabled": True, "usageLocation": "US",
            "department": "Sales", "jobTitle": "Rep", "mail": upn, "businessPhones": ["+1 555 0100"],
            "createdDateTime": "2024-01-02T03:04:05Z",
            "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s in assigned],
            "licenseAssignmentStates": states, **extra}


def full_snapshot(tid="t1", name="Contoso", users=None, with_signins=True) -> TenantSnapshot:
    snap = TenantSnapshot(tid, organization={"display_name": name,
                                             "default_domain": f"{name.lower()}.com",
                                             "initial_domain": f"{name.lower()}.onmicrosoft.com"})
    snap.domains = [R.domain_row(tid, {"id": f"{name.lower()}.com", "isDefault": True, "isVerified": True}),
                    R.domain_row(tid, {"id": f"{name.lower()}.onmicrosoft.com", "isInitial": True,
                                       "isVerified": True}),
                    R.domain_row(tid, {"id": f"pending.{name.lower()}.com", "isVerified": False})]
    snap.skus = [
        R.sku_row(tid, {"skuId": SPB.upper(), "skuPartNumber": "SPB", "capabilityStatus": "Enabled",
                        "consumedUnits": 3, "prepaidUnits": {"enabled": 2, "suspended": 0, "warning": 0}}),
        R.sku_row(tid, {"skuId": E3, "skuPartNumber": "SPE_E3", "capabilityStatus": "Enabled",
                        "consumedUnits": 1, "prepaidUnits": {"enabled": 10}}),
        R.sku_row(tid, {"skuId": UNKNOWN, "skuPartNumber": "BRAND_NEW", "capabilityStatus": "Suspended",
                        "consumedUnits": 0, "prepaidUnits": {"enabled": 0, "suspended": 5}})]
    users = users if users is not None else [
        graph_user("u1", "alice@x.com", licenses=[SPB]),
        graph_user("u2", "bob@x.com", licenses=[SPB, E3]),
        graph_user("u3", "carol@x.com", by_group=(SPB, "g1"), accountEnabled=False),
        graph_user("u4", "dave@x.com")]
    snap.users = Change(full=True, rows=[R.user_row(u) for u in users],
                        delta_link="https://graph.example.test/v1.0/users/delta?$deltatoken=1")
    if with_signins:
        snap.sign_ins = {"u1": ("2026-11-01T10:00:00Z", None), "u2": (None, "2026-10-01T00:00:00Z")}
        snap.has_sign_in_activity = True
    groups = [
        {"id": "g1", "displayName": "Sales Team", "groupTypes": ["Unified"], "mailEnabled": True,
         "securityEnabled": False, "resourceProvisioningOptions": ["Team"]},
        {"id": "g2", "displayName": "VPN users", "groupTypes": [], "mailEnabled": False,
         "securityEnabled": True},
        {"id": "g3", "displayName": "Finance mail", "groupTypes": [], "mailEnabled": True,
         "securityEnabled": True},
        {"id": "g4", "displayName": "All staff", "groupTypes": [], "mailEnabled": True,
         "securityEnabled": False},
        {"id": "g5", "displayName": "Dynamic sales", "groupTypes": ["DynamicMembership"],
         "mailEnabled": False, "securityEnabled": True, "membershipRule": "user.department -eq \"Sales\""}]
    snap.groups = GroupChange(full=True, rows=[R.group_row(g) for g in groups],
                              members={"g1": {"u1": "user", "u3": "user"}, "g2": {"u2": "user", "g1": "group"},
                                       "g3": {}, "g4": {"u1": "user"}, "g5": {}},
                              delta_link="https://graph.example.test/v1.0/groups/delta?$deltatoken=1")
    snap.apps = {"g1": [R.app_row(tid, "g1", {"id": "a1", "resourceDisplayName": "Salesforce",
                                              "resourceId": "r1", "appRoleId": "0"}),
                        R.app_row(tid, "g1", {"id": "a2", "resourceDisplayName": "Adobe",
                                              "resourceId": "r2", "appRoleId": "0"})]}
    snap.apps_full = True
    snap.role_definitions = [R.role_definition_row(tid, {"id": "rd-ga", "displayName": "Global Administrator",
                                                         "isBuiltIn": True, "templateId": "rd-ga"}),
                             R.role_definition_row(tid, {"id": "rd-ua", "displayName": "User Administrator",
                                                         "isBuiltIn": True})]
    snap.role_assignments = [R.role_assignment_row(tid, {"id": "ra1", "roleDefinitionId": "rd-ga",
                                                         "principalId": "u1", "directoryScopeId": "/"}),
                             R.role_assignment_row(tid, {"id": "ra2", "roleDefinitionId": "rd-ga",
                                                         "principalId": "u2", "directoryScopeId": "/"})]
    return snap


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    s.save_discovered([DiscoveredTenant("t1", "Contoso (partner label)", None, "gdap"),
                       DiscoveredTenant("t2", "Fabrikam", None, "gdap")])
    yield s
    s.close()


def read(store, fn, scope=None):
    with store.engine.connect() as conn:
        return fn(conn, scope)


# ---- schema ------------------------------------------------------------------------------------

def test_create_schema_adds_missing_columns_to_an_older_store(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE users (tenant_id VARCHAR(64) NOT NULL, id VARCHAR(64) NOT NULL, "
                             "user_principal_name VARCHAR(400), PRIMARY KEY (tenant_id, id))"))
        conn.execute(sa.text("INSERT INTO users VALUES ('t1', 'u1', 'old@x.com')"))
    create_schema(engine)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("users")}
    assert {"license_sources", "last_sign_in", "sku_ids"} <= columns
    assert "audit_log" in sa.inspect(engine).get_table_names()   # other packages' tables too
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT user_principal_name FROM users")).scalar() == "old@x.com"
    create_schema(engine)   # idempotent


@pytest.mark.sqlite_only
def test_sqlite_store_uses_wal(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"


# ---- empty store ---------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, columns", [
    (L.tenants, L.TENANTS), (L.users, L.USERS), (L.licenses, L.LICENSES),
    (L.user_licenses, L.USER_LICENSES), (L.groups, L.GROUPS), (L.roles, L.ROLES)])
def test_empty_store_gives_empty_frames_with_the_documented_columns(tmp_path, fn, columns):
    s = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    df = read(s, fn)
    assert df.empty and list(df.columns[:len(columns)]) == columns


# ---- listings after a full snapshot ------------------------------------------------------------

def test_users_listing_columns_dtypes_and_values(store):
    store.write(full_snapshot())
    df = read(store, L.users)
    assert list(df.columns[:len(L.USERS)]) == L.USERS
    assert isinstance(df["tenant_id"].dtype, pd.CategoricalDtype)
    assert isinstance(df["tenant_name"].dtype, pd.CategoricalDtype)
    assert isinstance(df["department"].dtype, pd.CategoricalDtype)
    assert str(df["account_enabled"].dtype) == "boolean"
    assert str(df["created"].dtype) == "datetime64[us, UTC]"
    assert str(df["last_sign_in"].dtype) == "datetime64[us, UTC]"
    by = df.set_index("id")
    assert by.loc["u1", "tenant_name"] == "Contoso"          # the organization's name wins
    assert by.loc["u2", "licenses"] == "Microsoft 365 Business Premium; Microsoft 365 E3"
    assert by.loc["u4", "licenses"] == ""                     # no license: empty text, not NaN
    assert by.loc["u3", "license_sources"] == "Microsoft 365 Business Premium (group Sales Team)"
    assert by.loc["u1", "license_sources"] == "Microsoft 365 Business Premium (direct)"
    assert by.loc["u1", "last_sign_in"] == pd.Timestamp("2026-11-01T10:00:00Z")
    assert pd.isna(by.loc["u3", "last_sign_in"])
    assert by.loc["u2", "last_non_interactive_sign_in"] == pd.Timestamp("2026-10-01", tz="UTC")
    assert by.loc["u1", "business_phones"] == "+1 555 0100"
    assert not by.loc["u3", "account_enabled"]


def test_licenses_listing_keeps_negative_seats_and_nan_utilization(store):
    store.write(full_snapshot())
    df = read(store, L.licenses).set_index("sku_part_number")
    assert list(read(store, L.licenses).columns[:len(L.LICENSES)]) == L.LICENSES
    assert df.loc["SPB", "available"] == -1 and df.loc["SPB", "utilization"] == 1.5
    assert df.loc["SPB", "sku_id"] == SPB                      # ids are stored lower-case
    assert df.loc["SPE_E3", "product_name"] == "Microsoft 365 E3"
    assert df.loc["BRAND_NEW", "product_name"] == "BRAND_NEW"  # unknown SKU: its part number
    assert pd.isna(df.loc["BRAND_NEW", "utilization"])
    assert df.loc["BRAND_NEW", "suspended"] == 5
    assert str(df["enabled"].dtype) == "Int64" and str(df["utilization"].dtype) == "float64"


def test_user_licenses_listing_says_where_each_license_comes_from(store):
    store.write(full_snapshot())
    df = read(store, L.user_licenses)
    assert list(df.columns[:len(L.USER_LICENSES)]) == L.USER_LICENSES
    assert len(df) == 4
    carol = df[df["user_id"] == "u3"].iloc[0]
    assert not carol["assigned_directly"] and carol["assigned_by_group"] == "g1"
    assert carol["assigned_by_group_name"] == "Sales Team"
    assert carol["user_principal_name"] == "carol@x.com" and carol["sku_part_number"] == "SPB"


def test_groups_listing_kinds_flags_members_and_apps(store):
    store.write(full_snapshot())
    df = read(store, L.groups)
    assert list(df.columns[:len(L.GROUPS)]) == L.GROUPS
    by = df.set_index("id")
    assert by["kind"].to_dict() == {"g1": "microsoft365", "g2": "security", "g3": "mail_security",
                                    "g4": "distribution", "g5": "security"}
    assert by.loc["g1", "is_team"] and not by.loc["g2", "is_team"]
    # Graph changes these; distribution lists and mail-enabled security groups: Exchange Online.
    assert by["writable"].to_dict() == {"g1": True, "g2": True, "g3": False, "g4": False, "g5": False}
    assert by["changed_in"].to_dict() == {"g1": "Graph", "g2": "Graph", "g3": "Exchange Online",
                                          "g4": "Exchange Online", "g5": "Graph"}
    assert by.loc["g5", "is_dynamic"]
    assert by.loc["g5", "read_only_reason"].startswith("dynamic")
    assert by["members"].to_dict() == {"g1": 2, "g2": 2, "g3": 0, "g4": 1, "g5": 0}
    assert by.loc["g1", "apps"] == "Adobe; Salesforce" and by.loc["g2", "apps"] == ""
    assert str(df["is_team"].dtype) == "boolean" and str(df["members"].dtype) == "Int64"


def test_roles_listing_counts_holders(store):
    store.write(full_snapshot())
    df = read(store, L.roles)
    assert list(df.columns[:len(L.ROLES)]) == L.ROLES
    assert df.set_index("display_name")["members"].to_dict() == \
        {"Global Administrator": 2, "User Administrator": 0}


def test_tenants_listing_aggregates(store):
    store.write(full_snapshot())
    df = read(store, L.tenants)
    assert list(df.columns[:len(L.TENANTS)]) == L.TENANTS
    t1 = df.set_index("tenant_id").loc["t1"]
    assert t1["display_name"] == "Contoso" and t1["default_domain"] == "contoso.com"
    assert t1["synced"] and t1["users"] == 4 and t1["licensed_users"] == 3
    assert (t1["seats_total"], t1["seats_consumed"], t1["seats_available"]) == (12, 4, 8)
    assert t1["skus_out_of_seats"] == 1
    t2 = df.set_index("tenant_id").loc["t2"]       # discovered, never synced
    assert pd.isna(t2["last_sync"]) and pd.isna(t2["users"]) and t2["display_name"] == "Fabrikam"
    assert str(df["last_sync"].dtype) == "datetime64[us, UTC]" and df["synced"].dtype == bool


def test_scope_limits_every_listing_to_the_given_tenants(store):
    store.write(full_snapshot())
    store.write(full_snapshot("t2", "Fabrikam", users=[graph_user("v1", "v@f.com")]))
    assert set(read(store, L.users, ["t2"])["id"]) == {"v1"}
    assert set(read(store, L.users)["tenant_id"]) == {"t1", "t2"}
    assert set(read(store, L.licenses, ["t1"])["tenant_id"]) == {"t1"}


# ---- incremental writes ------------------------------------------------------------------------

def test_delta_merges_partial_objects_removes_and_keeps_sign_ins(store):
    store.write(full_snapshot())
    delta = TenantSnapshot("t1")
    delta.users = Change(full=False, rows=[
        R.user_row({"id": "u2", "department": "Finance"}),                       # partial update
        R.user_row(graph_user("u9", "new@x.com", licenses=[E3]))],              # new user
        removed=["u4", "u1"], delta_link="link-2")
    delta.groups = GroupChange(full=False, rows=[R.group_row({"id": "g2"})],
                               added=[("g2", "u9", "user")], dropped=[("g2", "u2")],
                               delta_link="glink-2")
    store.write(delta)
    users = read(store, L.users).set_index("id")
    assert set(users.index) == {"u2", "u3", "u9"}
    assert users.loc["u2", "department"] == "Finance"
    assert users.loc["u2", "licenses"] == "Microsoft 365 Business Premium; Microsoft 365 E3"
    assert users.loc["u2", "last_non_interactive_sign_in"] == pd.Timestamp("2026-10-01", tz="UTC")
    assert users.loc["u9", "licenses"] == "Microsoft 365 E3"
    lic = read(store, L.user_licenses)
    assert set(lic["user_id"]) == {"u2", "u3", "u9"}
    groups = read(store, L.groups).set_index("id")
    assert groups.loc["g2", "display_name"] == "VPN users"                       # kept
    assert groups.loc["g2", "members"] == 2                                       # g1 + u9
    assert groups.loc["g1", "members"] == 1                                       # u1 deleted
    state = store.sync_state("t1")
    assert state["users"].delta_link == "link-2" and state["groups"].delta_link == "glink-2"
    assert state["users"].full_at is not None      # still the time of the last full read


def test_sign_in_refresh_updates_only_sign_ins(store):
    store.write(full_snapshot())
    refresh = TenantSnapshot("t1", sign_ins={"u3": ("2026-11-20T08:00:00Z", None)})
    store.write(refresh)
    users = read(store, L.users).set_index("id")
    assert users.loc["u3", "last_sign_in"] == pd.Timestamp("2026-11-20T08:00:00Z")
    assert users.loc["u1", "display_name"] == "Alice"


def test_a_failure_before_commit_leaves_the_previous_snapshot(store):
    store.write(full_snapshot())
    before_users = read(store, L.users)
    before_state = store.sync_state("t1")
    replacement = full_snapshot(users=[graph_user("z1", "zed@x.com")])
    replacement.users.delta_link = "never-stored"

    def crash(_conn):
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        store.write(replacement, before_commit=crash)
    pd.testing.assert_frame_equal(read(store, L.users), before_users)
    assert store.sync_state("t1")["users"].delta_link == before_state["users"].delta_link


def test_failure_is_recorded_without_touching_last_sync(store):
    store.write(full_snapshot())
    last = store.tenant("t1")["last_sync"]
    store.record_failure("t1", "403 Authorization_RequestDenied")
    row = store.tenant("t1")
    assert row["last_sync"] == last and row["last_error"].startswith("403")
    store.write(full_snapshot())
    assert store.tenant("t1")["last_error"] is None


# ---- tenant registry -----------------------------------------------------------------------

def test_discovery_keeps_the_sync_switch_and_hides_tenants_no_longer_found(store):
    store.set_sync_enabled("t2", False)
    store.save_discovered([DiscoveredTenant("t2", "Fabrikam", None, "gdap"),
                           DiscoveredTenant("t3", "Northwind", None, "gdap")])
    rows = {r["tenant_id"]: r for r in store.tenant_rows(active_only=False)}
    assert rows["t2"]["sync_enabled"] is False and rows["t3"]["sync_enabled"] is True
    assert rows["t1"]["active"] is False
    assert [r["tenant_id"] for r in store.tenant_rows()] == ["t2", "t3"]
    with pytest.raises(KeyError):
        store.set_sync_enabled("nope", True)


def test_concurrent_writes_commit_together_and_one_failure_stays_its_own(store):
    """Sync threads write at once (on SQLite, queued snapshots share one transaction): every
    snapshot lands, and one that fails rolls back alone, with its error raised in its thread."""
    import threading

    names = [f"t{i}" for i in range(12)]
    errors: dict[str, BaseException] = {}
    start = threading.Barrier(len(names))

    def crash(_conn):
        raise RuntimeError("power cut")

    def write(tid):
        snap = full_snapshot(tid, f"Tenant {tid}", users=[graph_user(f"{tid}-u", f"u@{tid}.com")])
        start.wait()
        try:
            store.write(snap, before_commit=crash if tid == "t5" else None)
        except BaseException as exc:  # noqa: BLE001 - checked below
            errors[tid] = exc

    threads = [threading.Thread(target=write, args=(tid,)) for tid in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert list(errors) == ["t5"] and "power cut" in str(errors["t5"])
    users = read(store, L.users)
    assert sorted(users["tenant_id"]) == sorted(set(names) - {"t5"})
    assert store.tenant("t5") is None or store.tenant("t5")["last_sync"] is None
