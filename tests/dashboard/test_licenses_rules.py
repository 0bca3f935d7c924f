"""The license rules as the pages show them: one out-of-seats definition on Licenses and All
Tenants, the same words for a SKU that cannot be picked on Create User and in the plan, and the
SKU table following a tenant switch (rows, colours and the chosen SKU)."""
from __future__ import annotations

import pandas as pd

from dashboard.viewmodels import LicensesViewModel
from dashboard.viewmodels.form_options import license_options
from dashboard.views.licenses import LicensesView
from services.licensing import assign_refusal


def suspend(emu, tenant_id: str, part: str) -> None:
    """Suspend a subscription the way Graph shows it: its seats move from enabled to suspended,
    its users keep the license (run on the emulator's own thread, where its world lives)."""
    def run():
        tenant = emu.world.tenant(tenant_id)
        sku = next(s for s in tenant.skus.values() if s["skuPartNumber"] == part)
        units = sku["prepaidUnits"]
        units["suspended"], units["enabled"] = units["enabled"], 0
        sku["capabilityStatus"] = "Suspended"
    emu._call(run)


def roomy_sku(m365, tenant_id: str) -> pd.Series:
    """A paid SKU with users on it and seats left."""
    lic = m365.licenses(tenant_id)
    ok = lic[(lic["capability_status"] == "Enabled") & (lic["consumed"] > 0)
             & (lic["available"] > 0) & (lic["enabled"] < 1000)]
    return ok.iloc[0]


def new_user(m365, tenant_id: str, n: int = 1) -> dict:
    domain = m365.domains(tenant_id)["domain"].iloc[0]
    return {"given_name": "Rule", "surname": f"Check{n}", "username": f"rule.check{n}",
            "domain": domain, "usage_location": "US"}


def test_licenses_suspended_sku_with_users_is_full_on_licenses_and_all_tenants(world, make_vm):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    sku = roomy_sku(m365, tid)
    part = str(sku["sku_part_number"])
    before = int(m365.tenants().set_index("tenant_id").loc[tid, "skus_out_of_seats"])
    suspend(emu, tid, part)
    m365.sync(progress=False)

    lic = m365.licenses(tid).set_index("sku_part_number")
    assert lic.loc[part, "capability_status"] == "Suspended" and lic.loc[part, "consumed"] > 0
    assert lic.loc[part, "out_of_seats"]
    tenants = m365.tenants().set_index("tenant_id")
    assert tenants.loc[tid, "skus_out_of_seats"] == before + 1 == int(lic["out_of_seats"].sum())

    vm = make_vm(LicensesViewModel)
    vm.refresh()
    vm.tenant = tid
    row = vm.skus[vm.skus["sku_part_number"] == part].iloc[0]
    assert row["out_of_seats"]
    assert int(vm.skus["out_of_seats"].sum()) == tenants.loc[tid, "skus_out_of_seats"]
    assert LicensesView._warn_rows(row)[0].startswith("background-color")


def test_licenses_view_colours_rows_from_the_out_of_seats_column():
    marked = pd.Series({"enabled": 10, "consumed": 1, "available": 9, "out_of_seats": True})
    unmarked = pd.Series({"enabled": 10, "consumed": 11, "available": -1, "out_of_seats": False})
    assert all(LicensesView._warn_rows(marked)) and not any(LicensesView._warn_rows(unmarked))


def test_license_option_note_and_onboarding_problem_are_the_same_text_for_a_full_sku(world):
    emu, m365 = world
    tid = emu.tenant_ids[1]
    lic = m365.licenses(tid)
    full = lic[lic["out_of_seats"] & (lic["capability_status"] == "Enabled")].iloc[0]
    option = license_options(lic, {}).set_index("sku_part_number").loc[full["sku_part_number"]]
    assert not option["selectable"] and option["note"].startswith("no seats left")
    assert option["note"] == assign_refusal(full)

    plan = m365.plan_onboarding(tid, user=new_user(m365, tid), licenses=[full["sku_part_number"]])
    said = [p.message for p in plan.problems if p.field == "licenses"]
    assert said == [f"{option['product_name']}: {option['note']}"]


def test_license_option_note_and_edit_problem_are_the_same_text_for_a_suspended_sku(world):
    emu, m365 = world
    tid = emu.tenant_ids[2]
    part = str(roomy_sku(m365, tid)["sku_part_number"])
    suspend(emu, tid, part)
    m365.sync(progress=False)
    lic = m365.licenses(tid)
    option = license_options(lic, {}).set_index("sku_part_number").loc[part]
    assert not option["selectable"] and "Suspended" in option["note"]
    expected = f"{option['product_name']}: {option['note']}"

    plan = m365.plan_onboarding(tid, user=new_user(m365, tid, 2), licenses=[part])
    assert [p.message for p in plan.problems if p.field == "licenses"] == [expected]
    users = m365.user_licenses(tid)
    holders = set(users.loc[users["sku_part_number"] == part, "user_id"])
    other = m365.users(tid)
    other = other[~other["id"].isin(holders) & (other["licenses"] != "")].iloc[0]
    edit = m365.plan_edit(tid, other["id"], add_licenses=[part])
    assert [p.message for p in edit.problems if p.field == "add_licenses"] == [expected]


def test_licenses_view_follows_a_tenant_switch_with_rows_and_the_chosen_sku(world, make_vm):
    emu, _m365 = world
    vm = make_vm(LicensesViewModel)
    view = LicensesView(vm)
    vm.refresh()
    pd.testing.assert_frame_equal(view.skus.value, LicensesView._shown(vm.skus))
    tid, other = emu.tenant_ids[1], emu.tenant_ids[2]
    chosen = int((vm.skus["tenant_id"] == tid).to_numpy().nonzero()[0][-1])
    view.skus.selection = [chosen]
    key = vm.selected_sku
    assert key.startswith(f"{tid}/") and len(vm.sku_users) >= 0

    assert view.skus.value["utilization"].str.fullmatch(r"\d+%|").all()     # shown as percentages
    vm.tenant = tid
    pd.testing.assert_frame_equal(view.skus.value, LicensesView._shown(vm.skus))
    keys = (vm.skus["tenant_id"] + "/" + vm.skus["sku_id"]).tolist()
    assert vm.selected_sku == key and view.skus.selection == [keys.index(key)]

    vm.tenant = other                                  # the chosen SKU is not in this tenant
    pd.testing.assert_frame_equal(view.skus.value, LicensesView._shown(vm.skus))
    assert vm.selected_sku == "" and view.skus.selection == []


def test_overview_figures_are_reused_until_a_write_changes_the_store(world, make_vm, make_user):
    from dashboard.viewmodels import OverviewViewModel
    vm = make_vm(OverviewViewModel)
    vm.refresh()
    first = vm.figures
    again = make_vm(OverviewViewModel)
    again.refresh()
    assert again.figures is first                       # another session: no recomputation
    make_user()
    again.refresh()
    assert again.figures is not first and again.figures.users == first.users + 1
