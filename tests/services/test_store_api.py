"""The M365 object over a store: tenant and user resolution, listing scopes, the sync switch.

No HTTP: the config lists its tenants (discovery needs no Graph call) and snapshots are written
straight into the store.
"""
from __future__ import annotations

import pandas as pd
import pytest

from services import Actor, PermissionDenied, connect
from services.config import Config, GraphSettings, Secret, TenantEntry
from services.store import listings as L
from tests.services.test_store import E3, SPB, full_snapshot, graph_user


def make_config(store_url, tenants=("t1", "t2")) -> Config:
    return Config(graph=GraphSettings(client_id="app", client_secret=Secret("x"),
                                      authority_host="https://login.example.test",
                                      graph_url="https://graph.example.test/v1.0"),
                  store_url=store_url, tenants=tuple(TenantEntry(t) for t in tenants))


@pytest.fixture
def m365(store_url):
    m = connect(make_config(store_url), actor=Actor("op@msp.example", "admin"))
    m.discover()
    m.store.write(full_snapshot("t1", "Contoso"))
    m.store.write(full_snapshot("t2", "Fabrikam", users=[graph_user("v1", "vera@fabrikam.com",
                                                                    licenses=[E3])]))
    yield m
    m.close()


@pytest.mark.parametrize("arg", ["t1", "T1", "contoso.com", "CONTOSO.onmicrosoft.com", "contoso",
                                 " Contoso "])
def test_tenant_argument_accepts_id_verified_domain_or_display_name(m365, arg):
    assert m365.resolve_tenant(arg) == "t1"


def test_unverified_domain_and_unknown_names_are_refused_with_a_hint(m365):
    for arg in ("pending.contoso.com", "nobody"):
        with pytest.raises(ValueError) as info:
            m365.resolve_tenant(arg)
        assert "tenant=" in str(info.value) and "m365.tenants()" in str(info.value)
    with pytest.raises(ValueError):
        m365.users(tenant="nobody")


def test_listings_take_a_tenant_or_a_list(m365):
    assert set(m365.users("fabrikam")["id"]) == {"v1"}
    assert set(m365.users(["t1", "fabrikam.com"])["tenant_id"]) == {"t1", "t2"}
    assert len(m365.users()) == 5
    assert list(m365.tenants()["tenant_id"]) == ["t1", "t2"]     # sorted by display name


def test_every_listing_has_its_documented_columns_first(m365):
    for fn, cols in ((m365.tenants, L.TENANTS), (m365.users, L.USERS), (m365.licenses, L.LICENSES),
                     (m365.user_licenses, L.USER_LICENSES), (m365.groups, L.GROUPS),
                     (m365.roles, L.ROLES)):
        assert list(fn().columns[:len(cols)]) == cols, fn.__name__


def test_resolve_user_by_id_or_upn_and_the_users_details(m365):
    row = m365.resolve_user("contoso", "ALICE@x.com")
    assert row["id"] == "u1" and row["licenses"] == "Microsoft 365 Business Premium"
    assert m365.resolve_user("t1", "u1")["user_principal_name"] == "alice@x.com"
    with pytest.raises(ValueError, match="user="):
        m365.resolve_user("t1", "vera@fabrikam.com")       # another tenant's user
    groups = m365.user_groups("t1", "alice@x.com")
    assert set(groups["display_name"]) == {"Sales Team", "All staff"}
    roles = m365.user_roles("t1", "u1")
    assert list(roles["display_name"]) == ["Global Administrator"]


def test_domains_and_role_definitions(m365):
    domains = m365.domains("t1")
    assert list(domains["domain"]) == ["contoso.com", "contoso.onmicrosoft.com"]   # default first
    assert bool(domains.iloc[0]["is_default"])
    assert "pending.contoso.com" in set(m365.domains("t1", verified_only=False)["domain"])
    defs = m365.role_definitions("t1")
    assert set(defs["display_name"]) == {"Global Administrator", "User Administrator"}


def test_sync_switch_persists_across_connections_and_is_audited(m365, store_url):
    m365.set_sync_enabled("fabrikam", False)
    again = connect(make_config(store_url), actor=Actor("op@msp.example", "admin"))
    try:
        synced = again.tenants().set_index("tenant_id")["synced"].to_dict()
        assert synced == {"t1": True, "t2": False}
        again.discover()                       # rediscovery keeps the choice
        assert not again.tenants().set_index("tenant_id").loc["t2", "synced"]
    finally:
        again.close()
    log = m365.audit_log()
    assert (log["action"] == "sync_settings").any()


def test_only_admins_switch_sync(m365, store_url):
    tech = connect(make_config(store_url), actor=Actor("tech@msp.example", "technician"))
    try:
        with pytest.raises(PermissionDenied):
            tech.set_sync_enabled("t1", False)
        assert tech.tenants().set_index("tenant_id").loc["t1", "synced"]
    finally:
        tech.close()


@pytest.mark.sqlite_only
@pytest.mark.sqlite_only
def test_connect_accepts_a_config_path_and_creates_the_store_folder(tmp_path):
    store_path = tmp_path / "deep" / "folder" / "store.db"
    cfg = tmp_path / "m365dash.toml"
    cfg.write_text(f'[graph]\nclient_id = "app"\nclient_secret = "x"\n'
                   f'[store]\nurl = "sqlite:///{store_path}"\n[[tenants]]\ntenant_id = "t9"\n')
    with connect(cfg) as m:
        assert m.config.path == cfg and store_path.exists()
        assert m.tenants().empty and list(m.users().columns[:len(L.USERS)]) == L.USERS
        assert m.resolve_tenant("t9") == "t9"       # found by discovering the config's list
        assert isinstance(m.tenants(), pd.DataFrame)


def test_user_licenses_product_names(m365):
    df = m365.user_licenses("t2")
    assert df.iloc[0]["product_name"] == "Microsoft 365 E3"
    assert SPB not in set(df["sku_id"])
