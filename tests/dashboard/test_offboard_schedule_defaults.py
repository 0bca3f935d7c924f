"""Offboard page: the tenant's defaults set the switches, "Offboard at" schedules instead of
writing, and the automatic reply is sent as text."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services import Actor

from dashboard.viewmodels import OffboardViewModel
from tests.helpers import run


def test_offboard_switches_start_at_the_tenants_saved_defaults(make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[2]
    uid = make_user(tenant=tid)
    vm = make_vm(OffboardViewModel)
    assert vm.load(tid, uid)
    assert not vm.block_sign_in and vm.defaults_note == ""
    vm.param.update(block_sign_in=True, revoke_sessions=True,
                    auto_reply_text="{display_name} has left; write to {manager}.")
    assert vm.save_defaults()
    assert "Saved as this tenant's offboarding defaults: Block sign-in, Revoke sessions" \
        in vm.alerts[-1].text
    again = make_vm(OffboardViewModel)
    assert again.load(tid, uid)
    assert again.block_sign_in and again.revoke_sessions and not again.delete
    assert again.auto_reply_text == "{display_name} has left; write to {manager}."
    assert "this tenant's defaults" in again.defaults_note
    m365.set_offboarding_defaults(tid, auto_reply_message=None,
                                  **{k: False for k in ("block_sign_in", "revoke_sessions")})


def test_offboard_defaults_refused_for_a_technician_with_the_reason(make_world, world, make_user):
    emu, _ = world
    uid = make_user()
    _emu, tech = make_world(actor=Actor("tina", "technician"))
    vm = OffboardViewModel(m365=tech)
    vm.load(emu.tenant_ids[0], uid)
    vm.block_sign_in = True
    assert not vm.save_defaults()
    assert vm.alerts[-1].kind == "danger" and "not saved" in vm.alerts[-1].text
    assert tech.offboarding_defaults(emu.tenant_ids[0])["updated"] is None


def test_offboard_at_stores_a_job_and_writes_nothing_now(make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    uid = make_user()
    vm = make_vm(OffboardViewModel)
    vm.load(tid, uid)
    vm.block_sign_in = True
    vm.timezone = "Europe/Amsterdam"
    local = (datetime.now(timezone.utc) + timedelta(days=2)).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/Amsterdam")).replace(tzinfo=None, second=0,
                                                                     microsecond=0)
    vm.offboard_at = local
    writes = len(emu.writes(tid))
    assert run(vm.offboard())
    assert "Europe/Amsterdam" in vm.pending_title and "UTC" in vm.pending_title
    run(vm.confirm())
    assert vm.alerts[-1].kind == "success" and "Scheduled" in vm.alerts[-1].text
    assert len(emu.writes(tid)) == writes                 # nothing sent to Graph yet
    jobs = m365.scheduled_jobs(tid)
    job = jobs[jobs["user"].str.startswith("test.user")].iloc[-1]
    assert job["status"] == "scheduled"
    expected = local.replace(tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Amsterdam"))
    assert abs(job["at"].to_pydatetime().replace(tzinfo=timezone.utc) - expected) < timedelta(minutes=1)
    m365.cancel_scheduled(int(job["id"]))


def test_offboard_auto_reply_needs_its_text_and_is_sent_as_text(make_vm, world, make_user):
    emu, _ = world
    uid = make_user(licenses=["EXCHANGESTANDARD"])
    vm = make_vm(OffboardViewModel)
    vm.load(emu.tenant_ids[0], uid)
    vm.auto_reply = True
    assert vm.blockers() == ["write the automatic reply's message"]
    vm.auto_reply_text = "{display_name} has left the company."
    assert vm.can_offboard()
    assert vm.options()["auto_reply"] == {"message": "{display_name} has left the company.",
                                          "external_message": "", "audience": "all"}
    assert run(vm.offboard())
    assert "set automatic replies" in list(vm.pending_steps["action"])
    vm.discard()
