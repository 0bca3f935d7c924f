"""A process killed in the middle of an apply: the audit log shows the plan it was running, and
applying the same plan again completes it without doing anything twice."""
import pytest

from emulator import Emulator
from services import Actor, connect
from services.workflows import steps as workflow_steps


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so no step handler can swallow it."""


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tenants=1, users_per_tenant=12, seed=19,
                  state_dir=tmp_path_factory.mktemp("crash-emu")) as emulator:
        yield emulator


def test_workflow_killed_mid_apply_is_audited_as_started_and_reapply_completes(emu, monkeypatch):
    m365 = connect(emu.config_path, actor=Actor("ops@msp.example", "admin"))
    m365.sync(progress=False)
    tid = emu.tenant_ids[0]
    domain = m365.tenants().iloc[0]["default_domain"]
    groups = m365.groups(tid)
    group = groups[groups["writable"] == True].iloc[0]["display_name"]  # noqa: E712
    user = {"given_name": "Crash", "surname": "Test", "username": "crash.test",
            "domain": domain, "usage_location": "US"}
    plan = m365.plan_onboarding(tid, user=user, licenses=["FLOW_FREE"], groups=[group])
    assert plan.problems == []
    real = workflow_steps.license_sources

    def die(*args, **kwargs):
        raise Killed()

    # The license step reads the user's licenses first: "kill" the process right there, after
    # the user was created.
    monkeypatch.setattr(workflow_steps, "license_sources", die)
    with pytest.raises(Killed):
        plan.apply()
    monkeypatch.setattr(workflow_steps, "license_sources", real)

    log = m365.audit_log(user="crash.test")
    started = log[log["outcome"] == "started"]
    assert len(started) == 1
    planned = [s["action"] for s in started.iloc[0]["detail"]["steps"]]
    assert planned == ["create user", "assign licenses", "add to group"]

    first_entry = _entry_ids(m365, "crash.test")[0]

    # A new process plans again and is killed too, at the same place: its own "started" entry
    # carries the user it took over, and the first entry now points at it.
    again = connect(emu.config_path, actor=Actor("ops@msp.example", "admin"))
    plan = again.plan_onboarding(tid, user=user, licenses=["FLOW_FREE"], groups=[group])
    assert plan.problems == [] and "interrupted" in str(plan.warnings[0])
    monkeypatch.setattr(workflow_steps, "license_sources", die)
    with pytest.raises(Killed):
        plan.apply()
    monkeypatch.setattr(workflow_steps, "license_sources", real)
    second_entry = max(_entry_ids(m365, "crash.test"))
    outcomes = _outcomes(m365, "crash.test")
    assert outcomes[first_entry]["outcome"] == "partial"
    assert outcomes[first_entry]["detail"]["completed_by"] == second_entry
    assert outcomes[second_entry]["outcome"] == "started"

    # A third process plans again: the interrupted onboarding is recognised and completed.
    plan = again.plan_onboarding(tid, user=user, licenses=["FLOW_FREE"], groups=[group])
    assert plan.problems == [] and "interrupted" in str(plan.warnings[0])
    result = plan.apply()
    assert result.ok
    statuses = dict(zip(result.steps["action"], result.steps["status"]))
    assert statuses["create user"] == "skipped"          # found, not created twice
    assert statuses["assign licenses"] == "done"
    users = emu.session(tid).get(f"{emu.graph_url}/users", verify=str(emu.ca_file), params={
        "$filter": "startswith(userPrincipalName,'crash.test')", "$select": "id,assignedLicenses"}).json()
    assert len(users["value"]) == 1 and len(users["value"][0]["assignedLicenses"]) == 1
    log = m365.audit_log(user="crash.test")
    assert list(log["outcome"])[0] == "done"
    # No entry is left "started": each interrupted one says which entry completed its work.
    outcomes = _outcomes(m365, "crash.test")
    third_entry = max(outcomes)
    assert [outcomes[e]["outcome"] for e in sorted(outcomes)] == ["partial", "partial", "done"]
    assert outcomes[second_entry]["detail"]["completed_by"] == third_entry
    assert "completed by audit entry" in outcomes[second_entry]["detail"]["note"]

    # The user exists and nothing is unfinished: onboarding the same user name again is refused
    # as taken, not mistaken for a resumption.
    plan = again.plan_onboarding(tid, user=user, licenses=["FLOW_FREE"], groups=[group])
    assert [p.field for p in plan.problems] == ["username"]
    assert "already taken" in plan.problems[0].message and plan.warnings == []
    m365.close()
    again.close()


def _outcomes(m365, user):
    import json

    import sqlalchemy as sa

    from services.audit import audit_table as t
    with m365.store.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.id, t.c.outcome, t.c.detail).where(
            t.c.action == "onboard", t.c.user.contains(user))).all()
    return {r.id: {"outcome": r.outcome, "detail": json.loads(r.detail)} for r in rows}


def _entry_ids(m365, user):
    return sorted(_outcomes(m365, user))
