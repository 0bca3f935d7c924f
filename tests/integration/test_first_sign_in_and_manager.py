"""Temporary Access Pass for first sign-in and the manager on onboarding and edit, against the
emulator. Tenant 0 allows passes of 60 to 480 minutes; tenant 1 has Temporary Access Pass
switched off (the emulator's demo customer #2)."""
from __future__ import annotations

import itertools
import json
import logging

import pytest
import sqlalchemy as sa

from services.db import metadata
from services.workflows import PlanHasProblems
from tests.helpers import emulated_world

_seq = itertools.count(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with emulated_world(tmp_path_factory.mktemp("tap-manager-emu"), tenants=2, users=16,
                        seed=11) as (emu, m365):
        yield emu, m365


def _get(emu, tenant_id, path, **params):
    return emu.session(tenant_id).get(f"{emu.graph_url}/{path}", params=params,
                                      verify=str(emu.ca_file))


def _user(m365, tenant_id, **extra):
    n = next(_seq)
    user = {"given_name": "First", "surname": f"Signin{n}", "username": f"fsi.user{n}",
            "domain": m365.domains(tenant_id).iloc[0]["domain"], "usage_location": "US"}
    user.update(extra)
    return user


def _upn(user):
    return f"{user['username']}@{user['domain']}"


def _every_store_row(m365) -> str:
    """Every row of every table of the store, as one text."""
    chunks = []
    with m365.store.engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        for table in metadata.sorted_tables:
            if table.name in present:
                chunks += [json.dumps([str(v) for v in row]) for row in conn.execute(sa.select(table))]
    return "\n".join(chunks)


def test_tap_is_shown_once_and_found_in_no_log_audit_entry_store_table_or_repr(world, caplog):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    caplog.set_level(logging.DEBUG)
    user = _user(m365, tid)
    plan = m365.plan_onboarding(tid, user=user, first_sign_in="temporary_access_pass",
                                tap_lifetime_minutes=120)
    assert plan.problems == [], plan
    assert plan.steps["action"].tolist()[-1] == "create Temporary Access Pass"
    result = plan.apply()
    assert result.ok, result
    secret = result.temporary_access_pass
    assert secret and len(secret) >= 8
    assert result.password is None            # the random password is shown to no one
    # Graph has the pass (usable, once, 120 minutes) and never shows its text again.
    methods = _get(emu, tid, f"users/{result.user_id}/authentication/temporaryAccessPassMethods").json()
    (tap,) = methods["value"]
    assert tap["lifetimeInMinutes"] == 120 and tap["isUsableOnce"] is True
    assert tap["temporaryAccessPass"] is None
    # Nowhere else: logs, audit log, any store table, the plan's and the result's reprs.
    assert secret not in caplog.text
    audit = m365.audit_log(user=_upn(user))
    assert len(audit) and secret not in audit.to_json(date_format="iso")
    assert secret not in _every_store_row(m365)
    for text in (repr(plan), plan._repr_html_(), repr(result), result._repr_html_(),
                 str(plan.parameters), plan.steps.to_string(), result.steps.to_string()):
        assert secret not in text
    assert "temporary_access_pass" in repr(result)      # it says where the pass is
    # Applying again does not replace the pass that was handed out.
    again = plan.apply()
    assert again.temporary_access_pass is None
    assert again.steps.iloc[-1]["status"] == "skipped"


def test_tap_lifetime_outside_the_policy_is_a_problem_naming_the_range(world):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    user = _user(m365, tid)
    plan = m365.plan_onboarding(tid, user=user, first_sign_in="temporary_access_pass",
                                tap_lifetime_minutes=5)
    (problem,) = plan.problems
    assert problem.field == "tap_lifetime_minutes"
    assert "5 minutes" in problem.message and "60 to 480 minutes" in problem.message
    with pytest.raises(PlanHasProblems):
        plan.apply()
    assert _get(emu, tid, f"users/{_upn(user)}").status_code == 404      # nothing written
    typed = m365.plan_onboarding(tid, user=_user(m365, tid, password="Typed-Pass-1234!x"),
                                 first_sign_in="temporary_access_pass")
    assert [p.field for p in typed.problems] == ["password"]
    stray = m365.plan_onboarding(tid, user=_user(m365, tid), tap_lifetime_minutes=60)
    assert [p.field for p in stray.problems] == ["tap_lifetime_minutes"]


def test_tap_in_a_tenant_with_the_pass_disabled_is_a_plan_problem(world):
    emu, m365 = world
    tid = emu.tenant_ids[1]
    user = _user(m365, tid)
    plan = m365.plan_onboarding(tid, user=user, first_sign_in="temporary_access_pass")
    (problem,) = plan.problems
    assert problem.field == "first_sign_in" and "disabled" in problem.message
    assert _get(emu, tid, f"users/{_upn(user)}").status_code == 404


def test_manager_is_set_on_onboarding_and_cleared_on_edit(world):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    boss = m365.users(tid).iloc[0]["user_principal_name"]
    user = _user(m365, tid, manager=boss)
    result = m365.plan_onboarding(tid, user=user).apply()
    assert result.ok, result
    got = _get(emu, tid, f"users/{result.user_id}/manager").json()
    assert got["userPrincipalName"] == boss
    assert m365.manager_of(tid, result.user_id)["user_principal_name"] == boss
    other = m365.users(tid).iloc[1]["user_principal_name"]
    change = m365.plan_edit(tid, result.user_id, changes={"manager": other})
    assert change.steps["action"].tolist() == ["set manager"]
    assert change.apply().ok
    assert _get(emu, tid, f"users/{result.user_id}/manager").json()["userPrincipalName"] == other
    clear = m365.plan_edit(tid, result.user_id, changes={"manager": None})
    assert clear.steps["action"].tolist() == ["remove manager"], clear
    assert clear.apply().ok
    assert _get(emu, tid, f"users/{result.user_id}/manager").status_code == 404
    assert m365.manager_of(tid, result.user_id) is None
    nothing = m365.plan_edit(tid, result.user_id, changes={"manager": ""})
    assert any("has no manager" in w.message for w in nothing.warnings)
    assert [p.field for p in nothing.problems] == ["changes"]


def test_manager_who_is_the_user_deleted_or_in_another_tenant_is_refused_and_nothing_written(world):
    emu, m365 = world
    tid, other_tid = emu.tenant_ids[:2]
    own = _user(m365, tid)
    own["manager"] = _upn(own)
    deleted = _user(m365, tid)
    gone = m365.plan_onboarding(tid, user=deleted).apply()
    assert gone.ok
    assert m365.plan_offboarding(tid, gone.user_id, delete=True).apply().ok
    outsider = m365.users(other_tid).iloc[0]["user_principal_name"]
    cases = {"own": own, "deleted": _user(m365, tid, manager=_upn(deleted)),
             "outside": _user(m365, tid, manager=outsider)}
    words = {"own": "own manager", "deleted": "deleted user", "outside": "not in this tenant"}
    for case, user in cases.items():
        plan = m365.plan_onboarding(tid, user=user)
        problems = [p for p in plan.problems if p.field == "manager"]
        assert problems and words[case] in problems[0].message, (case, plan.problems)
        with pytest.raises(PlanHasProblems):
            plan.apply()
        assert _get(emu, tid, f"users/{_upn(user)}").status_code == 404, case
    someone = m365.users(tid).iloc[2]
    edit = m365.plan_edit(tid, someone["id"], changes={"manager": someone["user_principal_name"]})
    assert [p.field for p in edit.problems] == ["manager"]
    assert "own manager" in edit.problems[0].message
