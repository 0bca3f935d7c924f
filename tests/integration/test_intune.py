"""A tenant without Intune against the emulator: managed devices answer 400 "Request not
applicable to target tenant." as Graph does; the product treats that as "no Intune", not as a
failure (docs/ACCESS.md)."""
from __future__ import annotations

import pytest

from dashboard.viewmodels.user_details import UserDetailsViewModel
from services import access as A
from tests.helpers import run

EMULATOR = {"tenants": 2, "users_per_tenant": 12, "seed": 41}


@pytest.fixture(scope="module")
def no_intune(emu, m365):
    tid = emu.tenant_ids[1]
    emu.set_access(tid, intune=False)
    return tid


def _user(m365, tid: str) -> str:
    users = m365.users(tid)
    return str(users[users["account_enabled"]].iloc[0]["id"])


def test_intune_emulator_answers_graphs_no_intune_error(m365, no_intune):
    client = m365.graph.tenant(no_intune)
    with pytest.raises(Exception) as caught:
        client.get("deviceManagement/managedDevices")
    assert caught.value.status == 400
    assert A.is_no_intune(caught.value)
    with pytest.raises(Exception) as per_user:
        client.get(f"users/{_user(m365, no_intune)}/managedDevices")
    assert A.is_no_intune(per_user.value)


def test_intune_check_access_records_intune_per_tenant(emu, m365, no_intune):
    m365.check_access()
    rows = m365.tenants().set_index("tenant_id")
    assert rows["intune"].astype(object).to_dict() == {no_intune: False, emu.tenant_ids[0]: True}
    assert rows.loc[no_intune, "access"] == "ready"          # a license, not a grant
    off = m365.features_off(no_intune)
    assert off["devices"] == "needs Intune" and off["device_retire"] == "needs Intune"
    assert "needs Intune" in rows.loc[no_intune, "features_off"]
    assert "no Intune" in m365.feature_refusal(no_intune, "devices")
    assert m365.features_off(emu.tenant_ids[0]) == {}


def test_intune_user_page_says_why_there_are_no_devices(m365, no_intune):
    m365.store.record_access(no_intune, {"intune": None})    # as before any check
    vm = UserDetailsViewModel(m365=m365)
    assert vm.load(no_intune, _user(m365, no_intune))
    run(vm.load_live())
    assert vm.devices.empty
    assert vm.devices_note == "No devices: this tenant has no Intune."
    assert not [a for a in vm.alerts if "Devices could not be read" in a.text]
    assert m365.store.tenant(no_intune)["intune"] is False   # recorded from the page's answer


def test_intune_offboarding_retire_devices_is_a_warning_not_a_problem(m365, no_intune):
    plan = m365.plan_offboarding(no_intune, _user(m365, no_intune), retire_devices=True,
                               block_sign_in=True)
    assert plan.problems == [] and len(plan.steps)
    assert any("no Intune" in str(w) for w in plan.warnings)
