"""Activity's scheduled offboardings: listed in words, cancelled by admins (and then never run),
refused to technicians; driven without a server against the emulator."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services import Actor

from dashboard.viewmodels import ActivityViewModel


def schedule(m365, tid: str, uid: str, hours: float = 48, **options):
    """A scheduled offboarding (block sign-in unless told otherwise): its UTC time."""
    at = (datetime.now(timezone.utc) + timedelta(hours=hours)).replace(second=0, microsecond=0)
    result = m365.plan_offboarding(tid, uid, **(options or {"block_sign_in": True}), at=at).apply()
    assert result.ok, result
    return at


def row_of(vm, upn: str) -> int:
    """The position of the job of `upn` in the page's list."""
    hits = [i for i, user in enumerate(vm.scheduled["user"]) if upn in user]
    assert len(hits) == 1, vm.scheduled
    return hits[0]


def upn_of(m365, tid: str, uid: str) -> str:
    return str(m365.resolve_user(tid, uid)["user_principal_name"])


def account_enabled(m365, tid: str, uid: str) -> bool:
    user = m365.graph.tenant(tid).get(f"users/{uid}", params={"$select": "accountEnabled"})
    return bool(user["accountEnabled"])


def test_activity_schedules_list_a_job_in_words(make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    uid = make_user(given_name="Sched", surname="Listed")
    upn = upn_of(m365, tid, uid)
    at = schedule(m365, tid, uid, block_sign_in=True, revoke_sessions=True)
    vm = make_vm(ActivityViewModel)
    vm.refresh(deleted=False)
    row = vm.scheduled.iloc[row_of(vm, upn)]
    assert row["user"] == f"Sched Listed\n{upn}"
    assert row["tenant"] == m365.tenants().set_index("tenant_id").loc[tid, "display_name"]
    assert row["at"] == f"{at:%Y-%m-%d %H:%M} UTC"
    assert "Block sign-in" in row["options"] and "_" not in row["options"]
    assert row["status"] == "Waiting" and row["late"] == ""
    assert row["scheduled_by"] == m365.actor.name
    assert bool(row["can_cancel"])
    # Another tenant picked: the job is not listed.
    vm.tenant = emu.tenant_ids[1]
    assert not any(upn in u for u in vm.scheduled["user"])


def test_activity_schedules_cancel_by_admin_marks_it_cancelled_and_it_never_runs(
        make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    uid = make_user(given_name="Sched", surname="Cancelled")
    upn = upn_of(m365, tid, uid)
    at = schedule(m365, tid, uid)
    vm = make_vm(ActivityViewModel)
    vm.refresh(deleted=False)
    assert vm.ask_cancel(row_of(vm, upn))
    assert "Sched Cancelled" in vm.cancel_question
    assert f"{at:%Y-%m-%d %H:%M} UTC" in vm.cancel_question
    assert m365.scheduled_jobs(tid).set_index("user").loc[upn, "status"] == "scheduled"  # not yet
    assert vm.confirm_cancel()
    assert vm.cancel_question == ""
    assert vm.alerts[-1].kind == "success" and "Sched Cancelled" in vm.alerts[-1].text
    row = vm.scheduled.iloc[row_of(vm, upn)]
    assert row["status"] == "Cancelled" and not row["can_cancel"]
    assert f"cancelled by {m365.actor.name}" in row["outcome"]
    assert "cancel_scheduled" in set(vm.entries["action"])          # audited, shown at once
    writes = len(emu.writes(tid))
    m365.run_scheduled(now=at + timedelta(hours=1))
    assert [w for w in emu.writes(tid)[writes:] if uid in w[2]] == []
    assert account_enabled(m365, tid, uid)
    assert m365.scheduled_jobs(tid).set_index("user").loc[upn, "status"] == "cancelled"


def test_activity_schedules_keep_scheduled_cancels_nothing(make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[1]
    uid = make_user(tenant=tid)
    upn = upn_of(m365, tid, uid)
    schedule(m365, tid, uid)
    vm = make_vm(ActivityViewModel)
    vm.refresh(deleted=False)
    assert vm.ask_cancel(row_of(vm, upn))
    vm.keep_scheduled()
    assert vm.cancel_question == "" and not vm.confirm_cancel()
    assert vm.scheduled.iloc[row_of(vm, upn)]["status"] == "Waiting"


def test_activity_schedules_a_job_that_already_ran_cannot_be_cancelled(make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[2]
    uid = make_user(tenant=tid, given_name="Sched", surname="Ran")
    upn = upn_of(m365, tid, uid)
    at = schedule(m365, tid, uid)
    vm = make_vm(ActivityViewModel)
    vm.refresh(deleted=False)
    shown = row_of(vm, upn)
    m365.run_scheduled(now=at + timedelta(minutes=1))           # runs while the page shows it
    assert not vm.ask_cancel(shown)
    alert = vm.alerts[-1]
    assert alert.kind == "warning" and "Sched Ran" in alert.text and "already ran" in alert.text
    assert "job" not in alert.text                               # no internal ids or names
    row = vm.scheduled.iloc[row_of(vm, upn)]                     # the list was read again
    assert row["status"] == "Done" and not row["can_cancel"]
    assert not account_enabled(m365, tid, uid)


def test_activity_schedules_technician_sees_no_cancel_and_is_refused(make_world, world,
                                                                      make_user):
    emu, admin = world
    tid = emu.tenant_ids[0]
    uid = make_user(given_name="Sched", surname="Kept")
    upn = upn_of(admin, tid, uid)
    schedule(admin, tid, uid)
    _emu, tech = make_world(actor=Actor("tess@msp.example", "technician"))
    vm = ActivityViewModel(m365=tech)
    vm.refresh(deleted=False)
    shown = row_of(vm, upn)
    assert not vm.scheduled["can_cancel"].any()                 # no Cancel offered anywhere
    assert not vm.ask_cancel(shown)
    assert "your role may not cancel" in vm.alerts[-1].text and "Sched Kept" in vm.alerts[-1].text
    # Even when asked past the page, the services refuse and the page says so.
    vm.cancel_job = int(vm.scheduled.iloc[shown]["id"])
    assert not vm.confirm_cancel()
    assert vm.alerts[-1].kind == "danger" and "not cancelled" in vm.alerts[-1].text
    assert admin.scheduled_jobs(tid).set_index("user").loc[upn, "status"] == "scheduled"
