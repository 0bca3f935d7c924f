"""Scheduled offboardings and offboarding defaults against the Graph emulator.

A scheduled plan stores a job and writes nothing to Graph; at its time the job is planned again
and applied once, audited, with its outcome stored. Two real OS processes sharing the store
(PostgreSQL with M365DASH_TEST_BACKEND=postgresql, else one SQLite file) run the same due jobs
at the same moment: each job runs in exactly one of them, and the emulator's write log shows one
Graph write per step. Times are real: jobs are scheduled a second or two ahead and the test
waits for them, or run_due() is told to pretend a later `now`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cli import main as cli_main
from services import Actor, PermissionDenied, connect
from services.config import load_config
from services.schedules import ScheduleError, run_due
from services.store import schedules as job_store
from services.workflows import PlanHasProblems
from services.workflows.hybrid import is_synced

from .test_shared_store import config_for

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = {"tenants": 2, "users_per_tenant": 30, "seed": 11, "groups_per_tenant": 4}
ADMIN = Actor("admin@msp.example", role="admin")
TECH = Actor("tech@msp.example", role="technician")


@pytest.fixture(autouse=True)
def _no_jobs_left_waiting(request):
    """A job one test leaves waiting must not run in another test's run_due()."""
    yield
    if "m365" not in request.fixturenames:
        return
    client = request.getfixturevalue("m365")
    for job_id in client.scheduled_jobs().query("status == 'scheduled'")["id"]:
        client.cancel_scheduled(int(job_id))


_taken: set[str] = set()


def leavers(m365, tenant_id: str, n: int = 1) -> list[dict]:
    """`n` enabled, licensed cloud users no other test has used, without directory roles
    (synced users are left out: their deletion and password reset belong to on-premises AD)."""
    users = m365.users(tenant_id)
    out = []
    for row in users.itertuples():
        if (row.id in _taken or not row.account_enabled or not row.licenses
                or is_synced(row.on_premises_sync)
                or "admin" in row.user_principal_name.lower() or len(m365.user_roles(tenant_id, row.id))):
            continue
        _taken.add(row.id)
        out.append({"id": row.id, "upn": row.user_principal_name})
        if len(out) == n:
            return out
    raise AssertionError(f"fewer than {n} unused licensed users left in {tenant_id}")


def soon(seconds: float = 1.5) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def writes_for(emu, tenant_id: str, user_id: str, since: int = 0) -> list[tuple[str, str]]:
    return [(m, p) for _t, m, p in emu.writes(tenant_id)[since:] if user_id in p]


def wait_past(when: datetime) -> None:
    delay = (when - datetime.now(timezone.utc)).total_seconds()
    if delay > 0:
        time.sleep(delay + 0.05)


def job(m365, job_id: int) -> dict:
    return m365.scheduled_jobs().set_index("id").loc[job_id].to_dict()


# ---- validation: nothing stored on bad input ---------------------------------------------------

@pytest.mark.parametrize("at, words", [
    (datetime.now(timezone.utc) - timedelta(minutes=5), "is in the past"),
    (datetime.now(timezone.utc) + timedelta(days=400), "more than a year ahead"),
    (datetime(2030, 1, 1, 17, 0), "has no time zone"),
])
def test_schedule_bad_time_is_a_problem_and_stores_nothing(m365, emu, tid, at, words):
    user = leavers(m365, tid)[0]
    before, writes = len(m365.scheduled_jobs()), len(emu.writes())
    plan = m365.plan_offboarding(tid, user["upn"], block_sign_in=True, at=at)
    assert [p.field for p in plan.problems] == ["at"] and words in plan.problems[0].message
    with pytest.raises(PlanHasProblems, match=words):
        plan.apply()
    assert len(m365.scheduled_jobs()) == before and len(emu.writes()) == writes


def test_schedule_with_reveal_password_is_a_problem(m365, tid):
    user = leavers(m365, tid)[0]
    plan = m365.plan_offboarding(tid, user["upn"], reset_password=True, reveal_password=True,
                                 at=soon(3600))
    assert [p.field for p in plan.problems] == ["reveal_password"]


# ---- a job's life --------------------------------------------------------------------------------

@pytest.mark.slow
def test_scheduled_offboarding_stores_a_job_then_runs_once_at_its_time(m365, emu, tid):
    user = leavers(m365, tid)[0]
    mark = len(emu.writes(tid))
    at = soon()
    plan = m365.plan_offboarding(tid, user["upn"], block_sign_in=True, revoke_sessions=True,
                                 remove_licenses=True, at=at)
    assert plan.scheduled_at is not None and not plan.problems
    result = plan.apply()
    assert result.ok and result.job_id and result.steps["action"].tolist() == ["schedule"]
    assert writes_for(emu, tid, user["id"], mark) == []          # nothing written to Graph yet
    again = plan.apply()                                          # a double click: the same job
    assert again.job_id == result.job_id and again.steps["status"].tolist() == ["skipped"]
    row = job(m365, result.job_id)
    assert row["status"] == "scheduled" and row["cancellable"] and row["scheduled_by"] == ADMIN.name
    assert row["options"] == "Remove assigned licenses, Block sign-in, Revoke sessions"
    assert row["at"].to_pydatetime() == at

    assert run_due(m365).empty                                    # not due yet
    wait_past(at)
    ran = run_due(m365)
    assert ran["id"].tolist() == [result.job_id] and ran["status"].tolist() == ["done"]
    assert run_due(m365).empty                                    # and never again
    sent = writes_for(emu, tid, user["id"], mark)
    assert sorted(sent) == sorted([("PATCH", f"users/{user['id']}"),
                                   ("POST", f"users/{user['id']}/revokeSignInSessions"),
                                   ("POST", f"users/{user['id']}/assignLicense")])
    row = job(m365, result.job_id)
    assert row["status"] == "done" and row["late"] == "" and not row["cancellable"]
    assert row["outcome"].startswith("done: 3 done")
    log = m365.audit_log(user=user["upn"])
    assert {"schedule_offboard", "offboard", "scheduled_offboard"} <= set(log["action"])
    applied = log[log["action"] == "offboard"].iloc[0]
    assert applied["actor"] == ADMIN.name and applied["outcome"] == "done"
    assert applied["detail"]["parameters"]["scheduled_job"] == result.job_id


@pytest.mark.slow
def test_cancelled_job_never_runs(m365, emu, tid):
    user = leavers(m365, tid)[0]
    mark = len(emu.writes(tid))
    at = soon()
    job_id = m365.plan_offboarding(tid, user["upn"], block_sign_in=True, at=at).apply().job_id
    cancelled = m365.cancel_scheduled(job_id)
    assert cancelled["status"] == "cancelled" and ADMIN.name in cancelled["outcome"]
    wait_past(at)
    assert run_due(m365, now=at + timedelta(days=2)).empty
    assert writes_for(emu, tid, user["id"], mark) == []
    with pytest.raises(ScheduleError, match="already cancelled"):
        m365.cancel_scheduled(job_id)
    assert m365.audit_log(action="cancel_scheduled").iloc[0]["detail"]["job_id"] == job_id


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_cancel_of_a_finished_running_or_unknown_job_says_why(m365, tid):
    user = leavers(m365, tid)[0]
    at = soon()
    job_id = m365.plan_offboarding(tid, user["upn"], block_sign_in=True, at=at).apply().job_id
    wait_past(at)
    run_due(m365)
    with pytest.raises(ScheduleError, match=f"job {job_id} cannot be cancelled: it already ran"):
        m365.cancel_scheduled(job_id)
    with pytest.raises(ScheduleError, match="there is no scheduled job 999999"):
        m365.cancel_scheduled(999999)
    other = leavers(m365, tid)[0]
    at = soon()
    running = m365.plan_offboarding(tid, other["upn"], block_sign_in=True, at=at).apply().job_id
    wait_past(at)
    # Claimed by a runner that is still at work (its lease is fresh).
    claimed = job_store.claim(m365.store.engine, now=datetime.now(timezone.utc), runner="busy:1",
                              lease_until=datetime.now(timezone.utc) + timedelta(minutes=2))
    assert claimed["id"] == running
    with pytest.raises(ScheduleError, match="it is running now"):
        m365.cancel_scheduled(running)
    assert job_store.finish(m365.store.engine, running, "busy:1", status="failed",
                            outcome="test over", finished=datetime.now(timezone.utc), late_seconds=0)


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_late_job_runs_with_its_note(m365, emu, tid):
    user = leavers(m365, tid)[0]
    mark = len(emu.writes(tid))
    at = soon()
    job_id = m365.plan_offboarding(tid, user["upn"], block_sign_in=True, at=at).apply().job_id
    wait_past(at)
    ran = run_due(m365, now=at + timedelta(hours=3, minutes=5))   # nothing ran for three hours
    assert ran["id"].tolist() == [job_id] and ran["status"].tolist() == ["done"]
    assert ran["late"].iloc[0].startswith("ran 3 h 5 min late")
    row = job(m365, job_id)
    assert "ran 3 h 5 min late" in row["outcome"] and row["late"].startswith("ran 3 h 5 min late")
    assert writes_for(emu, tid, user["id"], mark) == [("PATCH", f"users/{user['id']}")]


@pytest.mark.slow
def test_job_with_nothing_left_to_change_says_so(m365, emu, tid):
    user = leavers(m365, tid)[0]
    at = soon()
    job_id = m365.plan_offboarding(tid, user["upn"], block_sign_in=True, at=at).apply().job_id
    # Someone blocked the user by hand before the job's time.
    resp = emu.session(tid).patch(f"{emu.graph_url}/users/{user['id']}",
                                  json={"accountEnabled": False}, verify=str(emu.ca_file))
    assert resp.status_code == 204
    wait_past(at)
    mark = len(emu.writes(tid))
    ran = run_due(m365)
    assert ran["status"].tolist() == ["nothing_to_change"]
    assert "sign-in is already blocked" in job(m365, job_id)["outcome"]
    assert writes_for(emu, tid, user["id"], mark) == []


@pytest.mark.slow      # seconds of waiting; `make test` runs it, `make test-fast` does not
def test_interrupted_job_is_taken_over_without_repeating_finished_steps(m365, emu, tid):
    user = leavers(m365, tid)[0]
    at = soon()
    options = dict(block_sign_in=True, revoke_sessions=True)
    job_id = m365.plan_offboarding(tid, user["upn"], at=at, **options).apply().job_id
    revoke = m365.plan_offboarding(tid, user["upn"], **options).steps
    revoke = revoke[revoke["action"] == "revoke sessions"].iloc[0]
    wait_past(at)
    # A runner claims the job, revokes the sessions, records that, and dies (no heartbeat).
    now = datetime.now(timezone.utc)
    assert job_store.claim(m365.store.engine, now=now, runner="dead:42",
                           lease_until=now + timedelta(seconds=1))["id"] == job_id
    emu.session(tid).post(f"{emu.graph_url}/users/{user['id']}/revokeSignInSessions",
                          verify=str(emu.ca_file)).raise_for_status()
    job_store.set_progress(m365.store.engine, job_id, "dead:42", json.dumps([
        {"step": 2, "action": revoke["action"], "target": revoke["target"], "status": "done"}]))
    mark = len(emu.writes(tid))
    assert run_due(m365).empty                        # its lease has not run out yet
    ran = run_due(m365, now=now + timedelta(minutes=5))
    assert ran["id"].tolist() == [job_id] and ran["status"].tolist() == ["done"]
    assert "taken over after an interrupted run by dead:42" in ran["outcome"].iloc[0]
    # Only the block was left to do; the revoke the dead runner finished is not sent again.
    assert writes_for(emu, tid, user["id"], mark) == [("PATCH", f"users/{user['id']}")]


# ---- roles -------------------------------------------------------------------------------------

def test_schedule_and_cancel_refused_for_non_admins(m365, tid):
    user = leavers(m365, tid)[0]
    tech = m365.as_actor(TECH)
    plan = tech.plan_offboarding(tid, user["upn"], block_sign_in=True, at=soon(3600))
    before = len(m365.scheduled_jobs())
    with pytest.raises(PermissionDenied):
        plan.apply()
    assert len(m365.scheduled_jobs()) == before
    job_id = m365.plan_offboarding(tid, user["upn"], block_sign_in=True,
                                   at=soon(3600)).apply().job_id
    with pytest.raises(PermissionDenied):
        tech.cancel_scheduled(job_id)
    assert job(m365, job_id)["status"] == "scheduled"
    denied = m365.audit_log(actor=TECH.name, outcome="denied")
    assert {"offboard", "cancel_scheduled"} <= set(denied["action"])


# ---- offboarding defaults ------------------------------------------------------------------------

def test_offboarding_defaults_saved_and_read_back(m365, emu):
    tenant = emu.tenant_ids[1]
    fresh = m365.offboarding_defaults(tenant)
    assert fresh["updated_by"] is None and not any(fresh["options"].values())
    saved = m365.set_offboarding_defaults(tenant, block_sign_in=True, revoke_sessions=True,
                                          auto_reply_message="{display_name} has left; "
                                                             "please contact {manager}.")
    assert saved == m365.offboarding_defaults(tenant)
    assert saved["options"]["block_sign_in"] and saved["options"]["revoke_sessions"]
    assert not saved["options"]["delete"] and saved["updated_by"] == ADMIN.name
    # Options not given keep their value; the text stays unless given; None clears it.
    again = m365.set_offboarding_defaults(tenant, revoke_sessions=False)
    assert again["options"]["block_sign_in"] and not again["options"]["revoke_sessions"]
    assert again["auto_reply_message"].startswith("{display_name} has left")
    assert m365.set_offboarding_defaults(tenant, auto_reply_message=None)["auto_reply_message"] is None
    entry = m365.audit_log(action="offboarding_defaults").iloc[-1]
    assert entry["outcome"] == "done" and entry["tenant_id"] == tenant
    # Another connection on the same store reads them too.
    with connect(emu.config_path, actor=ADMIN) as other:
        assert other.offboarding_defaults(tenant)["options"]["block_sign_in"]


def test_offboarding_defaults_refuse_bad_input_and_non_admins_and_save_nothing(m365, emu):
    tenant = emu.tenant_ids[1]
    before = m365.offboarding_defaults(tenant)
    with pytest.raises(ValueError, match=r"unknown placeholder \{name\}"):
        m365.set_offboarding_defaults(tenant, block_sign_in=False, auto_reply_message="Hi {name}")
    with pytest.raises(ValueError, match="unknown offboarding options \\['wipe_laptop'\\]"):
        m365.set_offboarding_defaults(tenant, wipe_laptop=True)
    with pytest.raises(ValueError, match="True or False"):
        m365.set_offboarding_defaults(tenant, delete="yes")
    with pytest.raises(PermissionDenied):
        m365.as_actor(TECH).set_offboarding_defaults(tenant, delete=True)
    assert m365.offboarding_defaults(tenant) == before
    denied = m365.audit_log(actor=TECH.name, action="offboarding_defaults")
    assert denied.iloc[0]["outcome"] == "denied"


# ---- bulk and command line -----------------------------------------------------------------------

def test_bulk_offboard_when_column_schedules_rows_across_tenants(m365, emu, tid):
    other_tid = emu.tenant_ids[1]
    a, b, c = leavers(m365, tid)[0], leavers(m365, other_tid)[0], leavers(m365, tid)[0]
    when = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat(timespec="minutes")
    mark = len(emu.writes())
    csv = ("Tenant,User,Block Sign-in,When\n"
           f"{tid},{a['upn']},yes,{when}\n"
           f"{other_tid},{b['upn']},yes,{when}\n"
           f"{tid},{c['upn']},yes,2020-01-01T09:00Z\n")
    plan = m365.bulk_offboard(csv)
    assert [(p.row, p.column) for p in plan.problems] == [(4, "When")]
    assert "is in the past" in plan.problems[0].message
    result = plan.apply(skip_invalid=True, progress=False)
    assert result.ok
    jobs = m365.scheduled_jobs().query("status == 'scheduled'")
    assert set(jobs["user"]) == {a["upn"], b["upn"]}
    assert set(jobs["tenant_id"]) == {tid, other_tid}
    assert [w for w in emu.writes()[mark:] if a["id"] in w[2] or b["id"] in w[2]] == []


def test_cli_schedules_list_cancel_and_run(m365, emu, tid, capsys):
    user = leavers(m365, tid)[0]
    job_id = m365.plan_offboarding(tid, user["upn"], block_sign_in=True,
                                   at=soon(3600)).apply().job_id
    config = str(emu.config_path)
    assert cli_main(["schedules", "list", "--config", config]) == 0
    assert user["upn"] in capsys.readouterr().out
    assert cli_main(["schedules", "run", "--config", config]) == 0
    assert "no scheduled jobs due" in capsys.readouterr().out
    assert cli_main(["schedules", "cancel", str(job_id), "--config", config]) == 0
    assert "cancelled by" in capsys.readouterr().out
    assert cli_main(["schedules", "cancel", str(job_id), "--config", config]) == 1
    assert "already cancelled" in capsys.readouterr().err


# ---- two processes, one store ------------------------------------------------------------------

RUNNER = r'''
import json, sys
from services import connect
from services.schedules import run_due
m365 = connect(sys.argv[1])
m365.scheduled_jobs()                       # store open, schema checked: ready to race
print(json.dumps({"ready": True}), flush=True)
sys.stdin.readline()                        # "go": both start at once
ran = run_due(m365)
print(json.dumps(ran.to_dict("records"), default=str), flush=True)
m365.close()
'''


@pytest.mark.slow            # two runner processes started: several seconds
def test_two_processes_run_each_scheduled_offboarding_exactly_once(emu, store_url, tmp_path):
    config = config_for(emu, store_url, tmp_path)
    # In the PostgreSQL pass conftest gives configs loaded here a database of their own: name
    # the shared store explicitly (the runner processes read the file as it is).
    shared = dataclasses.replace(load_config(config), store_url=store_url)
    tid = emu.tenant_ids[1]
    with connect(shared, actor=ADMIN) as m365:
        m365.sync(progress=False)
        users = leavers(m365, tid, 4)
        at = soon(4)
        ids = [m365.plan_offboarding(tid, u["upn"], block_sign_in=True, revoke_sessions=True,
                                     at=at).apply().job_id for u in users]
        mark = len(emu.writes(tid))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        procs = [subprocess.Popen([sys.executable, "-c", RUNNER, str(config)], cwd=ROOT, env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
        try:
            for proc in procs:
                assert json.loads(proc.stdout.readline())["ready"]
            wait_past(at)
            for proc in procs:
                proc.stdin.write("go\n")
                proc.stdin.flush()
            reports = [json.loads(proc.stdout.readline()) for proc in procs]
        finally:
            for proc in procs:
                proc.stdin.close()
                proc.wait(timeout=60)
        print("jobs run per process:", [len(report) for report in reports])
        ran = [r["id"] for report in reports for r in report]
        assert sorted(ran) == sorted(ids), reports           # every job, each in one process
        assert all(r["status"] == "done" for report in reports for r in report), reports
        for user in users:
            assert sorted(writes_for(emu, tid, user["id"], mark)) == sorted([
                ("PATCH", f"users/{user['id']}"),
                ("POST", f"users/{user['id']}/revokeSignInSessions")])
        jobs = m365.scheduled_jobs(tid).set_index("id").loc[ids]
        assert set(jobs["status"]) == {"done"}
        applied = m365.audit_log(action="offboard")
        for user in users:
            assert (applied["user"] == user["upn"]).sum() == 1
