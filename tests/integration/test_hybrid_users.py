"""Hybrid users (synced from on-premises AD) against the emulator: the store shows them, plans
refuse their AD-mastered fields and their deletion before any write, and cloud-side steps
(licenses, sessions, usage location) stay allowed."""
from __future__ import annotations

import pytest

from services import Actor
from services.workflows import PlanHasProblems
from services.workflows.hybrid import (DELETE_REASON, PASSWORD_REASON, SYNCED_FIELDS,
                                       SYNCED_REASON, is_synced, read_only_fields)

EMULATOR = {"tenants": 2, "users_per_tenant": 30, "seed": 5}
ADMIN = Actor("admin@msp.example", role="admin")


@pytest.fixture(scope="module")
def people(m365, tid):
    users = m365.users(tenant=tid)
    synced = users[users["on_premises_sync"].fillna(False).astype(bool)]
    cloud = users[~users["on_premises_sync"].fillna(False).astype(bool)
                  & ~users["user_principal_name"].str.startswith("admin@")]
    assert len(synced) >= 2 and len(cloud) > 5
    return synced, cloud


def test_users_listing_shows_on_premises_sync_column(m365, people):
    synced, cloud = people
    assert "on_premises_sync" in m365.users().columns
    assert synced["on_premises_sync"].all()
    assert not cloud["on_premises_sync"].fillna(False).any()


def test_plan_edit_refuses_job_title_of_synced_user_before_any_write(emu, m365, tid, people):
    synced, _ = people
    upn = synced.iloc[0]["user_principal_name"]
    writes = len(emu.writes())
    plan = m365.plan_edit(tid, upn, changes={"job_title": "Chief Synergy Officer"})
    assert [(p.field, p.message) for p in plan.problems] == [("job_title", SYNCED_REASON)]
    with pytest.raises(PlanHasProblems):
        plan.apply()
    assert len(emu.writes()) == writes


def test_plan_edit_allows_job_title_of_cloud_user(emu, m365, tid, people):
    _, cloud = people
    upn = cloud.iloc[0]["user_principal_name"]
    writes = len(emu.writes())
    plan = m365.plan_edit(tid, upn, changes={"job_title": "Chief Synergy Officer"})
    assert plan.problems == []
    assert plan.apply().ok
    assert len(emu.writes()) > writes


def test_plan_edit_allows_cloud_owned_fields_of_synced_user(m365, tid, people):
    synced, _ = people
    row = synced.iloc[1]
    plan = m365.plan_edit(tid, row["user_principal_name"],
                          changes={"usage_location": "NZ",
                                   "job_title": row["job_title"]})    # unchanged: not refused
    assert plan.problems == []
    assert plan.apply().ok


def test_plan_edit_warns_that_sync_reverts_disabling_a_synced_user(m365, tid, people):
    synced, _ = people
    plan = m365.plan_edit(tid, synced.iloc[1]["user_principal_name"],
                          changes={"account_enabled": False})
    assert plan.problems == []
    assert [w.field for w in plan.warnings] == ["account_enabled"]
    assert "disable it in AD too" in plan.warnings[0].message


def test_plan_edit_refuses_manager_and_upn_of_synced_user(m365, tid, people):
    synced, cloud = people
    upn = synced.iloc[0]["user_principal_name"]
    domain = upn.split("@")[1]
    plan = m365.plan_edit(tid, upn, changes={"manager": cloud.iloc[1]["user_principal_name"],
                                             "user_principal_name": f"renamed@{domain}"})
    assert {p.field: p.message for p in plan.problems} == {
        "manager": SYNCED_REASON, "user_principal_name": SYNCED_REASON}


def test_plan_offboarding_refuses_delete_of_synced_user_with_reason(emu, m365, tid, people):
    synced, _ = people
    upn = synced.iloc[0]["user_principal_name"]
    writes = len(emu.writes())
    plan = m365.plan_offboarding(tid, upn, delete=True, reset_password=True)
    assert {p.field: p.message for p in plan.problems} == {
        "delete": DELETE_REASON, "reset_password": PASSWORD_REASON}
    assert "on-premises Active Directory" in DELETE_REASON
    with pytest.raises(PlanHasProblems):
        plan.apply()
    assert len(emu.writes()) == writes


def test_plan_offboarding_allows_cloud_steps_for_synced_user(m365, tid, people):
    synced, _ = people
    upn = synced.iloc[0]["user_principal_name"]
    plan = m365.plan_offboarding(tid, upn, block_sign_in=True, revoke_sessions=True,
                                 remove_licenses=True)
    assert plan.problems == []
    assert any(w.field == "block_sign_in" and "on-premises" in w.message for w in plan.warnings)
    result = plan.apply()
    assert result.ok, result.steps


def test_graph_refuses_synced_property_write_that_plans_would_refuse(emu, tid, people):
    """The emulator agrees with the services' list: Graph's 400 for an AD-mastered property."""
    synced, _ = people
    session = emu.session(tid)
    resp = session.patch(f"{emu.graph_url}/users/{synced.iloc[0]['id']}",
                         json={"department": "Nowhere"}, verify=str(emu.ca_file))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "Request_BadRequest"
    assert "on-premises mastered" in resp.json()["error"]["message"]


def test_read_only_fields_name_synced_fields_with_reason(people):
    synced, cloud = people
    fields = read_only_fields(synced.iloc[0])
    assert {"job_title", "given_name", "surname", "display_name", "department",
            "user_principal_name", "manager"} <= set(fields)
    assert set(fields.values()) == {SYNCED_REASON}
    assert "usage_location" not in fields and "account_enabled" not in fields
    assert read_only_fields(cloud.iloc[0]) == {}
    assert set(fields) == set(SYNCED_FIELDS)


def test_is_synced_reads_graph_dicts_rows_and_flags():
    assert is_synced({"onPremisesSyncEnabled": True})
    assert not is_synced({"onPremisesSyncEnabled": None})
    assert is_synced({"on_premises_sync": True})
    assert not is_synced(None) and not is_synced("true") and is_synced(True)
