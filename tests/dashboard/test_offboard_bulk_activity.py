"""Offboard, Bulk and Activity view models against the emulator."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from services import Actor

from dashboard.viewmodels import ActivityViewModel, BulkViewModel, LicensesViewModel, OffboardViewModel
from tests.helpers import run


def test_offboard_button_disabled_when_toggles_change_nothing(make_vm, world, make_user):
    emu, _ = world
    uid = make_user()                       # no licenses, no department: in no group
    vm = make_vm(OffboardViewModel)
    assert vm.load(emu.tenant_ids[0], uid)
    assert len(vm.licenses) == 0 and len(vm.groups) == 0
    assert vm.blockers() == ["choose at least one option"]
    vm.remove_licenses = True
    assert vm.blockers() == ["nothing to change: the user has no licenses"]
    vm.remove_groups = True
    assert not vm.can_offboard()
    vm.remove_licenses = False
    assert vm.blockers() == ["nothing to change: the user is in no groups"]
    vm.block_sign_in = True
    assert vm.can_offboard()


def test_offboard_licenses_toggle_enabled_for_licensed_user(make_vm, world, make_user):
    emu, _ = world
    uid = make_user(licenses=["Microsoft Entra ID P1"])
    vm = make_vm(OffboardViewModel)
    vm.load(emu.tenant_ids[0], uid)
    vm.remove_licenses = True
    assert vm.can_offboard()
    vm.remove_licenses, vm.remove_groups = False, True
    assert not vm.can_offboard()


def test_offboard_remove_licenses_returns_the_seat(make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    uid = make_user(licenses=["Microsoft Entra ID P1"])
    seats = make_vm(LicensesViewModel)
    seats.refresh()
    before = seats.seats_of(tid, "AAD_PREMIUM")["available"]
    vm = make_vm(OffboardViewModel)
    done = []
    vm.param.watch(lambda e: done.append(True), "done")
    vm.load(tid, uid)
    vm.remove_licenses = True
    assert run(vm.offboard())
    assert list(vm.pending_steps["action"]) == ["remove licenses"]
    run(vm.confirm())
    assert done == [True] and vm.alerts[-1].kind == "success"
    assert len(vm.licenses) == 0
    seats.refresh()
    assert seats.seats_of(tid, "AAD_PREMIUM")["available"] == before + 1


def test_offboard_technician_may_not_offboard(make_world):
    emu, m365 = make_world(actor=Actor("tess", "technician"))
    uid = m365.users(emu.tenant_ids[0])["id"].iloc[0]
    vm = OffboardViewModel(m365=m365)
    vm.load(emu.tenant_ids[0], uid)
    vm.block_sign_in = True
    assert vm.blockers() == ["your role may not offboard users"]


def test_bulk_page_says_when_service_is_missing():
    vm = BulkViewModel(m365=SimpleNamespace(actor=None))
    assert not vm.available
    assert not run(vm.upload(b"Tenant,User Name\n", "x.csv"))
    assert "not available" in vm.alerts[-1].text


def test_bulk_upload_shows_problems_then_applies_valid_rows(make_vm, world):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    domain = m365.domains(tid)["domain"].iloc[0]
    csv = ("Tenant,User Name,First Name,Last Name,Usage Location,Licenses\n"
           f"{tid},bulk.one@{domain},Bulk,One,US,Microsoft Entra ID P1\n"
           f"{tid},bulk.two@{domain},Bulk,Two,Narnia,\n")
    vm = make_vm(BulkViewModel)
    assert run(vm.upload(csv.encode(), "people.csv"))
    assert list(vm.problems["row"]) == [3] and len(vm.steps) > 0
    assert any("problems" in b for b in vm.apply_blockers())
    vm.skip_invalid = True
    assert vm.apply_blockers() == []
    seen = []
    vm.param.watch(lambda e: seen.append(e.new), "progress")
    assert run(vm.apply())
    assert vm.job_id and set(vm.results["outcome"]) == {"done"}
    # One user with a license is two steps; the page counts the user.
    assert vm.alerts[-1].text.endswith(": 1 user done, 0 failed.")
    assert 100 in seen
    assert "bulk.one@" in vm.results_csv()
    assert list(vm.passwords) == [f"bulk.one@{domain}"]
    assert "bulk.one@" in vm.passwords_csv() and vm.passwords == {}


def test_activity_filters_and_exports_audit_log(make_vm, world, make_user):
    emu, _ = world
    # The module's other tests write to the same audit log: this test's entries are the ones
    # of its two users (searched by their names' common start).
    make_user(tenant=emu.tenant_ids[0], username="activity.one")
    make_user(tenant=emu.tenant_ids[1], username="activity.two")
    vm = make_vm(ActivityViewModel)
    vm.refresh(deleted=False)
    vm.search = "activity."
    assert len(vm.entries) == 2 and set(vm.entries["action"]) == {"onboard"}
    vm.tenant = emu.tenant_ids[1]
    assert len(vm.entries) == 1
    vm.tenant, vm.outcome = "", "failed"
    assert len(vm.entries) == 0
    vm.outcome, vm.search = "", "activity.one"
    assert len(vm.entries) == 1
    text = vm.export_csv()
    assert text.splitlines()[0].startswith("time,actor,role") and "activity.one" in text


def test_activity_restore_brings_back_a_deleted_user(make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    uid = make_user()
    assert m365.plan_offboarding(tid, uid, delete=True).apply().ok
    vm = make_vm(ActivityViewModel)
    restored = []
    vm.param.watch(lambda e: restored.append(True), "restored")
    vm.refresh()
    row = vm.deleted.index[vm.deleted["id"] == uid][0]
    assert vm.deleted.loc[row, "days_left"] >= 29 and vm.deleted.loc[row, "restorable"]
    assert run(vm.restore(int(row)))
    assert "restore" in " ".join(vm.pending_steps["action"])
    run(vm.confirm())
    assert restored == [True]
    assert uid in set(m365.users(tid)["id"])


@pytest.mark.parametrize("kind", ["onboard", "offboard", "update"])
def test_bulk_template_has_an_example_row_every_column_of_which_is_understood(make_vm, kind):
    from dashboard.viewmodels import BulkViewModel
    vm = make_vm(BulkViewModel, kind=kind)
    text = vm.template_csv()
    assert len(text.strip().splitlines()) == 2             # the header and one example row
    run(vm.upload(text.encode(), f"{kind}.csv"))
    # The example's tenant does not exist here; no problem may be about an unknown column.
    assert not [p for p in vm.problems["problem"] if "column" in p.lower() and "unknown" in p.lower()]
    assert set(vm.problems["row"]) <= {2}
