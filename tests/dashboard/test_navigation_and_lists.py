"""Navigation, All Tenants, All Users, user details and Licenses view models."""
from __future__ import annotations

import pandas as pd
import pytest

from dashboard.pages import Navigation
from dashboard.viewmodels import (LicensesViewModel, TenantsViewModel, UserDetailsViewModel,
                                  UsersViewModel)
from dashboard.viewmodels.listing_cache import user_listing
from dashboard.viewmodels.tenants import portal_links
from services import connect
from tests.helpers import graph_all, run


def in_graph(emu, tenant_id: str) -> int:
    """How many users the tenant has in Graph now: the module's world is shared, and its other
    tests onboard users, so counts are checked against Graph, not the seeded 40."""
    return len(graph_all(emu, tenant_id, "users", **{"$select": "id", "$top": 999}))


def test_navigation_go_forgets_user_on_list_pages():
    nav = Navigation()
    nav.go("user", tenant="t1", user="u1")
    assert (nav.page, nav.tenant, nav.user) == ("user", "t1", "u1")
    nav.go("users")
    assert (nav.page, nav.tenant, nav.user) == ("users", "t1", "")


def test_navigation_user_page_needs_a_user():
    with pytest.raises(ValueError, match="needs a user"):
        Navigation().go("offboard", tenant="t1")


def test_navigation_deep_link_with_user_opens_details():
    nav = Navigation(tenant="t1", user="u1")
    nav.resolve_deep_link()
    assert nav.page == "user"
    nav = Navigation(page="edit", tenant="t1", user="u1")
    nav.resolve_deep_link()
    assert nav.page == "edit"


def test_tenants_refresh_lists_every_tenant_with_figures(world, make_vm):
    emu, _ = world
    vm = make_vm(TenantsViewModel)
    vm.refresh()
    assert sorted(vm.frame["tenant_id"]) == sorted(emu.tenant_ids)
    assert dict(zip(vm.frame["tenant_id"], vm.frame["users"])) == {
        tid: in_graph(emu, tid) for tid in emu.tenant_ids}
    assert {"seats_total", "seats_consumed", "seats_available", "last_sync", "synced"} <= set(vm.frame)


def test_tenants_portal_links_open_the_tenant():
    links = portal_links("abc-123")
    assert links["Microsoft 365 admin"] == "https://admin.microsoft.com/?tenantId=abc-123"
    assert links["Entra"].endswith("/abc-123") and "intune" in links["Intune"]


def test_tenants_sync_switch_is_stored(world, make_vm):
    emu, m365 = world
    vm = make_vm(TenantsViewModel)
    vm.refresh()
    run(vm.set_sync(emu.tenant_ids[1], False))
    try:
        assert not m365.tenants().set_index("tenant_id").loc[emu.tenant_ids[1], "synced"]
        assert not vm.frame.set_index("tenant_id").loc[emu.tenant_ids[1], "synced"]
    finally:
        m365.set_sync_enabled(emu.tenant_ids[1], True)     # the module's other tests sync it


def test_tenants_sync_now_reports_success_and_refreshes_users(world, make_vm):
    emu, _ = world
    vm = make_vm(TenantsViewModel)
    vm.refresh()
    seen = []
    vm.param.watch(lambda e: seen.append(e.new), "progress")
    run(vm.sync_now())
    assert vm.alerts[-1].kind == "success" and "3 tenants" in vm.alerts[-1].text
    assert 100 in seen and not vm.busy


def test_users_filters_by_tenant_search_and_license(world, make_vm):
    emu, _ = world
    vm = make_vm(UsersViewModel)
    vm.refresh()
    everyone = sum(in_graph(emu, tid) for tid in emu.tenant_ids)
    assert vm.total == everyone and len(vm.filtered) == everyone
    vm.tenant = emu.tenant_ids[0]
    in_first = in_graph(emu, emu.tenant_ids[0])
    assert set(vm.filtered["tenant_id"]) == {emu.tenant_ids[0]} and len(vm.filtered) == in_first
    name = vm.filtered["display_name"].iloc[5]
    vm.search = name.upper()
    assert name in set(vm.filtered["display_name"]) and len(vm.filtered) < in_first
    vm.search = ""
    vm.licensed = "unlicensed"
    assert (vm.filtered["licenses"].fillna("") == "").all()
    vm.licensed = "licensed"
    assert (vm.filtered["licenses"].fillna("") != "").all()


def test_users_export_neutralises_formulas(make_vm):
    vm = make_vm(UsersViewModel)
    vm.refresh()
    evil = vm.filtered.head(1).copy()
    evil["department"] = "=HYPERLINK(\"http://x\")"
    evil["job_title"] = "@SUM(1)"
    evil["display_name"] = "\tTabbed"
    vm.filtered = evil
    text = vm.export_csv()
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text and "'\tTabbed" in text
    assert "tenant_id" not in text.splitlines()[0]


def test_users_refresh_tenant_replaces_only_that_tenant(world, make_vm, make_user):
    emu, _ = world
    vm = make_vm(UsersViewModel)
    vm.refresh()
    total, in_third = vm.total, (vm.filtered["tenant_id"] == emu.tenant_ids[2]).sum()
    make_user(tenant=emu.tenant_ids[2])
    vm.refresh_tenant(emu.tenant_ids[2])
    assert vm.total == total + 1
    assert (vm.filtered["tenant_id"] == emu.tenant_ids[2]).sum() == in_third + 1


def test_user_details_load_shows_sources_groups_devices_and_sign_ins(world, make_vm, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    team = m365.groups(tid).query("is_team and writable")["display_name"].iloc[0]
    uid = make_user(licenses=["Microsoft Entra ID P1"], groups=[team])
    vm = make_vm(UserDetailsViewModel)
    assert vm.load(tid, uid)
    assert vm.summary["user_principal_name"].startswith("test.user")
    assert list(vm.licenses["source"]) == ["direct"]
    assert team in set(vm.groups["display_name"])
    assert bool(vm.groups.set_index("display_name").loc[team, "is_team"])
    assert list(vm.sign_ins.columns)[:2] == ["createdDateTime", "appDisplayName"]
    assert isinstance(vm.devices, pd.DataFrame)


def test_user_details_unknown_user_alerts(world, make_vm):
    emu, _ = world
    vm = make_vm(UserDetailsViewModel)
    assert not vm.load(emu.tenant_ids[0], "nobody@nowhere.example")
    assert vm.alerts[-1].kind == "warning" and "not in the tenant any more" in vm.alerts[-1].text


def test_licenses_marks_skus_out_of_seats_and_lists_their_users(world, make_vm):
    emu, _ = world
    vm = make_vm(LicensesViewModel)
    vm.refresh()
    full = vm.skus[vm.skus["out_of_seats"]]
    assert len(full) > 0 and (full["available"] <= 0).all()
    assert vm.per_sku["out_of_seats"].any()
    assert (vm.per_sku["enabled"] < 30000).all()       # free SKUs stay out of the chart
    vm.select(int(full.index[0]))
    assert len(vm.sku_users) == int(full.iloc[0]["consumed"])
    vm.tenant = emu.tenant_ids[1]
    assert set(vm.skus["tenant_id"]) == {emu.tenant_ids[1]}
    assert len(vm.per_tenant) == 1


def test_users_listing_is_read_once_for_every_session(world, make_vm):
    emu, _ = world
    everyone = sum(in_graph(emu, tid) for tid in emu.tenant_ids)
    first, second = make_vm(UsersViewModel), make_vm(UsersViewModel)
    first.refresh()
    reads = user_listing(first.m365).reads
    second.refresh()
    first.search = "a"
    assert user_listing(second.m365).reads == reads     # no store read for the second session
    assert second.total == first.total == everyone
    assert len(second.filtered) == everyone              # one session's filter is its own


def test_users_refresh_sees_a_write_from_another_process_on_the_same_store(world, make_vm):
    emu, m365 = world
    vm = make_vm(UsersViewModel)
    vm.refresh()
    total = vm.total
    # Another dashboard process: its own connection to the same store, its own Graph client.
    other = connect(emu.config_path)
    try:
        tid = emu.tenant_ids[1]
        domain = other.domains(tid)["domain"].iloc[0]
        result = other.plan_onboarding(tid, user={"given_name": "Far", "surname": "Away",
                                                  "username": "far.away", "domain": domain,
                                                  "usage_location": "US"}).apply()
        assert result.ok, result
    finally:
        other.close()
    vm.refresh()
    vm.search = "far.away"
    assert vm.total == total + 1
    assert list(vm.filtered["user_principal_name"]) == [f"far.away@{domain}"]
    # Only the tenant that changed was read again; rows stay in the store's order.
    assert list(vm._all["tenant_id"]) == sorted(vm._all["tenant_id"])
