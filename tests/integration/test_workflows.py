"""User workflows against the Graph emulator: onboard, edit, offboard, restore, roles, secrets.

One small emulator world for the module (2 tenants). Tenant A is shared by tests that use SKUs
with many seats or users they create themselves; tenant B belongs to the last-seat test, which
needs a SKU with exactly one seat left. "Another technician" is plain HTTP with the tenant's
token, outside our client.
"""
from __future__ import annotations

import itertools
import logging

import pytest
import sqlalchemy as sa

from services import Actor, PermissionDenied, connect
from services.workflows import PlanHasProblems

from ..helpers import RawGraph

Raw = RawGraph
EMULATOR = {"tenants": 2, "users_per_tenant": 16, "seed": 7}
ADMIN = Actor("admin@msp.example", role="admin")
_seq = itertools.count(1)


@pytest.fixture(scope="module")
def raw(emu, tid):
    return Raw(emu, tid)


def domain(m365, tenant_id):
    return m365.domains(tenant_id).iloc[0]["domain"]        # the default domain comes first


def new_user(m365, tenant_id, **extra):
    n = next(_seq)
    user = {"given_name": "Test", "surname": f"Person{n}", "username": f"wf.test{n}",
            "domain": domain(m365, tenant_id), "usage_location": "US", "department": "QA"}
    user.update(extra)
    return user


def upn_of(user):
    return f"{user['username']}@{user['domain']}"


def sku(m365, tenant_id, part):
    lic = m365.licenses(tenant_id).set_index("sku_part_number")
    return lic.loc[part]


def groups_of(m365, tenant_id, **where):
    groups = m365.groups(tenant_id)
    for column, value in where.items():
        groups = groups[groups[column] == value]
    return groups


def plain_groups(m365, tenant_id, n=2):
    groups = groups_of(m365, tenant_id, writable=True, is_dynamic=False, changed_in="Graph")
    groups = groups[~groups["display_name"].str.startswith("SG-License")]
    return groups["display_name"].head(n).tolist()


def audit_for(m365, upn):
    return m365.audit_log(user=upn)


# -- onboarding -----------------------------------------------------------------------------------

def test_onboarding_applies_every_step_and_reapplying_creates_no_duplicate(m365, tid, raw):
    boss = m365.users(tid).iloc[0]
    user = new_user(m365, tid, job_title="Engineer", business_phone="+1 425 555 0100",
                    manager=boss["user_principal_name"])
    names = plain_groups(m365, tid)
    skus = {s["skuPartNumber"]: s for s in raw.json("GET", "subscribedSkus")["value"]}
    teams = skus["TEAMS_EXPLORATORY"]["servicePlans"][0]
    plan = m365.plan_onboarding(tid, user=user, groups=names, roles=["User Administrator"],
                                licenses=["FLOW_FREE", {"sku": "TEAMS_EXPLORATORY",
                                                        "disabled_plans": [teams["servicePlanName"]]}])
    assert plan.problems == []
    assert list(plan.steps["action"]) == ["create user", "set manager", "assign role",
                                          "assign licenses", "add to group", "add to group"]
    result = plan.apply()
    assert result.ok, result
    assert set(result.steps["status"]) == {"done"}
    assert result.password and len(result.password) >= 16
    created = raw.user(upn_of(user))
    assert created["id"] == result.user_id and created["jobTitle"] == "Engineer"
    assert created["usageLocation"] == "US"
    assigned = {lic["skuId"]: lic["disabledPlans"] for lic in created["assignedLicenses"]}
    assert assigned == {skus["FLOW_FREE"]["skuId"]: [],
                        skus["TEAMS_EXPLORATORY"]["skuId"]: [teams["servicePlanId"]]}
    wanted_groups = set(groups_of(m365, tid).set_index("display_name").loc[names, "id"])
    assert wanted_groups <= raw.group_ids(result.user_id)
    assert len(raw.role_ids(result.user_id)) == 1
    assert raw.json("GET", f"users/{result.user_id}/manager")["id"] == boss["id"]
    listed = m365.users(tid).set_index("user_principal_name").loc[upn_of(user)]
    assert "Power Automate" in listed["licenses"] or listed["licenses"]     # store refreshed

    again = plan.apply()
    assert again.ok and set(again.steps["status"]) == {"skipped"}
    assert again.password is None
    assert raw.count_upn(upn_of(user)) == 1
    entries = audit_for(m365, upn_of(user))
    assert list(entries["action"]) == ["onboard", "onboard"]
    assert list(entries["outcome"]) == ["done", "done"]
    assert entries.iloc[1]["actor"] == ADMIN.name and entries.iloc[1]["role"] == "admin"
    assert [s["status"] for s in entries.iloc[1]["detail"]["steps"]] == ["done"] * 6


def test_license_without_usage_location_is_a_problem_and_nothing_is_written(m365, tid, raw):
    user = new_user(m365, tid)
    del user["usage_location"]
    plan = m365.plan_onboarding(tid, user=user, licenses=["FLOW_FREE"])
    assert [p.field for p in plan.problems] == ["usage_location"]
    assert "usage location" in plan.problems[0].message
    with pytest.raises(PlanHasProblems) as info:
        plan.apply()
    assert isinstance(info.value, ValueError) and "nothing was changed" in str(info.value)
    assert raw.user(upn_of(user)) is None
    assert audit_for(m365, upn_of(user)).empty


def test_validation_reports_every_problem_at_once(m365, tid):
    existing = m365.users(tid).iloc[1]["user_principal_name"]
    dl = groups_of(m365, tid, kind="distribution").iloc[0]["display_name"]
    mail_sec = groups_of(m365, tid, kind="mail_security").iloc[0]["display_name"]
    dynamic = groups_of(m365, tid, is_dynamic=True).iloc[0]["display_name"]
    lic = m365.licenses(tid)
    no_seats = lic[lic["available"] < 1]
    no_seats = no_seats[no_seats["capability_status"] == "Enabled"].iloc[0]["sku_part_number"]
    suspended = lic[lic["capability_status"] == "Suspended"].iloc[0]["sku_part_number"]
    plan = m365.plan_onboarding(tid, user={
        "given_name": "Dup", "surname": "User", "username": existing.split("@")[0],
        "domain": existing.split("@")[1], "password": "short", "usage_location": "XX",
        "mobile_phone": "call me", "manager": "nobody@nowhere.example", "shoe_size": 44,
    }, licenses=[no_seats, suspended, "NO_SUCH_SKU"], groups=[dl, mail_sec, dynamic, "No such group"],
        roles=["Chief Wizard"])
    by_field = {}
    for p in plan.problems:
        by_field.setdefault(p.field, []).append(p.message)
    assert set(by_field) == {"username", "password", "usage_location", "mobile_phone", "manager",
                             "shoe_size", "licenses", "groups", "roles"}
    assert "already taken" in by_field["username"][0]
    licenses = " | ".join(by_field["licenses"])
    assert "no seats left" in licenses and "Suspended" in licenses and "NO_SUCH_SKU" in licenses
    groups = " | ".join(by_field["groups"])
    # Distribution lists and mail-enabled security groups are joined through Exchange Online,
    # with a mailbox (a license with Exchange): one problem for both.
    assert "only users with a mailbox" in groups
    assert "dynamic" in groups and "No such group" in groups
    assert len(plan.problems) == 13

    other_domain = m365.domains(tid).iloc[1]["domain"]
    plan = m365.plan_onboarding(tid, user={"given_name": "Nick", "surname": "Taken",
                                           "username": existing.split("@")[0], "domain": other_domain})
    assert [p.field for p in plan.problems] == ["username"]
    assert "mail nickname" in plan.problems[0].message
    plan = m365.plan_onboarding(tid, user={"given_name": "A", "surname": "B", "username": "a.b",
                                           "domain": "not-ours.example"})
    assert [p.field for p in plan.problems] == ["domain"]
    assert domain(m365, tid) in plan.problems[0].message


def test_a_distribution_list_among_the_groups_is_joined_through_exchange(m365, tid, raw, emu):
    user = new_user(m365, tid)
    dl = groups_of(m365, tid, kind="distribution").iloc[0]
    plan = m365.plan_onboarding(tid, user=user, groups=[plain_groups(m365, tid, 1)[0],
                                                        dl["display_name"]])
    assert [p.field for p in plan.problems] == ["groups"]      # no mailbox: no list
    assert "only users with a mailbox" in plan.problems[0].message
    plan = m365.plan_onboarding(tid, user=user, licenses=["EXCHANGESTANDARD"],
                                groups=[plain_groups(m365, tid, 1)[0], dl["display_name"]])
    assert plan.problems == []
    assert list(plan.steps["action"])[-1] == "add to distribution list"
    result = plan.apply()
    assert result.ok, result
    assert dl["id"] in raw.group_ids(result.user_id)          # Graph sees Exchange's change
    adds = [w for w in emu.exchange_writes(tid) if w.cmdlet == "Add-DistributionGroupMember"]
    assert len(adds) == 1
    again = plan.apply()                                       # nothing is done twice
    assert again.ok and again.steps.iloc[-1]["status"] == "skipped"
    assert len([w for w in emu.exchange_writes(tid)
                if w.cmdlet == "Add-DistributionGroupMember"]) == 1


def test_a_distribution_list_is_refused_up_front_without_exchange_access(m365, emu, raw):
    other = emu.tenant_ids[1]
    user = new_user(m365, other)
    dl = groups_of(m365, other, kind="distribution").iloc[0]["display_name"]
    emu.set_access(other, directory_roles=["User Administrator"])
    try:
        m365.check_access(other)
        plan = m365.plan_onboarding(other, user=user, groups=[dl], licenses=["EXCHANGESTANDARD"])
        assert any("Exchange Administrator" in p.message for p in plan.problems), plan.problems
        with pytest.raises(PlanHasProblems):
            plan.apply()
        assert Raw(emu, other).user(upn_of(user)) is None
    finally:
        emu.set_access(other, directory_roles=["User Administrator", "Exchange Administrator"])
        m365.check_access(other)


def test_last_seat_taken_between_plan_and_apply_then_reapply_completes(m365, emu):
    tenant_b = emu.tenant_ids[1]
    other = Raw(emu, tenant_b)
    lic = m365.licenses(tenant_b)
    last = lic[(lic["available"] == 1) & (lic["capability_status"] == "Enabled")].iloc[0]
    user = new_user(m365, tenant_b)
    group = plain_groups(m365, tenant_b, 1)
    plan = m365.plan_onboarding(tenant_b, user=user, licenses=[last["sku_part_number"]], groups=group)
    assert plan.problems == []

    # Another technician gives the last seat to someone else between plan and apply.
    users = m365.users(tenant_b)
    taker = users[~users["licenses"].str.contains(last["product_name"], regex=False)
                  & users["account_enabled"].astype(bool)].iloc[0]["id"]
    other.json("POST", f"users/{taker}/assignLicense", json={
        "addLicenses": [{"skuId": last["sku_id"], "disabledPlans": []}], "removeLicenses": []})

    result = plan.apply()
    assert not result.ok
    assert list(result.steps["status"]) == ["done", "failed", "done"]
    error = result.steps.loc[1, "error"]
    assert "does not have any available licenses" in error and last["product_name"] in error
    assert other.user(upn_of(user))["assignedLicenses"] == []
    assert audit_for(m365, upn_of(user)).iloc[0]["outcome"] == "partial"

    other.json("POST", f"users/{taker}/assignLicense", json={"addLicenses": [],
                                                            "removeLicenses": [last["sku_id"]]})
    again = plan.apply()
    assert again.ok, again
    assert list(again.steps["status"]) == ["skipped", "done", "skipped"]
    assert other.count_upn(upn_of(user)) == 1
    assert [x["skuId"] for x in other.user(upn_of(user))["assignedLicenses"]] == [last["sku_id"]]
    assert sku(m365, tenant_b, last["sku_part_number"])["available"] == 0


def test_dropped_connection_after_create_makes_one_user(m365, tid, raw, emu):
    user = new_user(m365, tid)
    plan = m365.plan_onboarding(tid, user=user)
    dropped = emu.stats()["dropped"]
    emu.set_faults(drop_after_write_rate=1.0)
    try:
        result = plan.apply()
    finally:
        emu.set_faults(drop_after_write_rate=0.0)
    assert emu.stats()["dropped"] == dropped + 1
    assert result.ok and list(result.steps["status"]) == ["done"]
    assert raw.count_upn(upn_of(user)) == 1
    assert raw.user(upn_of(user))["id"] == result.user_id
    assert plan.apply().steps["status"].tolist() == ["skipped"]


# -- edit -----------------------------------------------------------------------------------------

def onboarded(m365, tid, **kw):
    """A fresh user of our own, created through the workflow."""
    user = new_user(m365, tid, **kw.pop("user", {}))
    result = m365.plan_onboarding(tid, user=user, **kw).apply()
    assert result.ok, result
    return upn_of(user), result.user_id


def test_edit_changes_only_what_differs(m365, tid, raw):
    first, second = plain_groups(m365, tid, 2)
    upn, uid = onboarded(m365, tid, user={"job_title": "Engineer"}, licenses=["FLOW_FREE"],
                         groups=[first], roles=["User Administrator"])
    boss = m365.users(tid).iloc[3]
    plan = m365.plan_edit(tid, upn, changes={"job_title": "Engineer", "department": "Finance",
                                             "mobile_phone": "+31 6 1234 5678",
                                             "manager": boss["user_principal_name"]},
                          add_licenses=["TEAMS_EXPLORATORY"], remove_licenses=["FLOW_FREE"],
                          add_groups=[second], remove_groups=[first],
                          add_roles=["Helpdesk Administrator"], remove_roles=["User Administrator"])
    assert plan.problems == [], plan
    steps = plan.steps.set_index("action")
    assert steps.loc["update properties", "target"] == "department, mobilePhone"    # not jobTitle
    assert "QA -> Finance" in steps.loc["update properties", "detail"]
    assert "add " in steps.loc["change licenses", "detail"] and "remove " in steps.loc["change licenses", "detail"]
    assert {"set manager", "assign role", "remove role", "add to group",
            "remove from group"} <= set(plan.steps["action"])
    result = plan.apply()
    assert result.ok and set(result.steps["status"]) == {"done"}, result
    after = raw.user(uid)
    assert (after["department"], after["jobTitle"], after["mobilePhone"]) == \
        ("Finance", "Engineer", "+31 6 1234 5678")
    assert [x["skuId"] for x in after["assignedLicenses"]] == [sku(m365, tid, "TEAMS_EXPLORATORY")["sku_id"]]
    ids = groups_of(m365, tid).set_index("display_name")["id"]
    assert ids[second] in raw.group_ids(uid) and ids[first] not in raw.group_ids(uid)
    assert m365.users(tid).set_index("id").loc[uid, "department"] == "Finance"   # store refreshed

    assert raw.json("GET", f"users/{uid}/manager")["id"] == boss["id"]
    same = m365.plan_edit(tid, uid, changes={"department": "Finance", "manager": boss["id"]},
                          add_groups=[second])
    assert [p.field for p in same.problems] == ["changes"]
    assert same.problems[0].message.startswith("nothing to change")
    assert "already a member" in same.problems[0].message


def test_edit_refuses_a_change_of_tenant_and_unknown_fields(m365, tid, emu):
    users = m365.users(tid)
    upn = users[~users["on_premises_sync"].fillna(False).astype(bool)].iloc[2]["user_principal_name"]
    plan = m365.plan_edit(tid, upn, changes={"tenant": emu.tenant_ids[1], "department": "Ops",
                                             "password": "x", "usage_location": "Narnia"})
    fields = {p.field: p.message for p in plan.problems}
    assert set(fields) == {"tenant", "password", "usage_location"}
    assert "cannot be moved to another tenant" in fields["tenant"]
    with pytest.raises(PlanHasProblems):
        plan.apply()


def test_an_inherited_license_cannot_be_removed_by_edit(m365, tid):
    inherited = m365.user_licenses(tid)
    row = inherited[(inherited["assigned_by_group"].fillna("") != "")
                    & ~inherited["assigned_directly"].astype(bool)].iloc[0]
    plan = m365.plan_edit(tid, row["user_id"], remove_licenses=[row["sku_part_number"]])
    assert len(plan.problems) == 1 and plan.problems[0].field == "remove_licenses"
    assert row["assigned_by_group_name"] in plan.problems[0].message
    assert "remove_groups" in plan.problems[0].message


# -- offboarding ----------------------------------------------------------------------------------

def test_an_offboarding_that_changes_nothing_is_refused(m365, tid, raw):
    upn, uid = onboarded(m365, tid)
    plan = m365.plan_offboarding(tid, upn, remove_licenses=True)
    assert [p.field for p in plan.problems] == ["options"]
    assert "nothing to change" in plan.problems[0].message and "no licenses" in plan.problems[0].message
    with pytest.raises(PlanHasProblems):
        plan.apply()
    assert m365.plan_offboarding(tid, upn).problems[0].message.startswith("nothing to change")
    blocked = m365.plan_offboarding(tid, upn, block_sign_in=True)
    assert blocked.apply().ok and raw.user(uid)["accountEnabled"] is False
    again = m365.plan_offboarding(tid, upn, block_sign_in=True)
    assert "already blocked" in again.problems[0].message


def test_offboarding_leaves_the_group_that_gives_an_inherited_license(m365, tid, raw):
    inherited = m365.user_licenses(tid)
    row = inherited[inherited["assigned_by_group"].fillna("") != ""].iloc[-1]
    plan = m365.plan_offboarding(tid, row["user_id"], remove_licenses=True, block_sign_in=True,
                                 revoke_sessions=True)
    assert plan.problems == []
    actions = list(plan.steps["action"])
    assert actions[:2] == ["block sign-in", "revoke sessions"]             # locked out first
    leave = plan.steps[plan.steps["action"] == "remove from group"]
    assert list(leave["target"]) == [row["assigned_by_group_name"]]
    assert "inherited license" in leave.iloc[0]["detail"]
    sources = plan.current["licenses"].set_index("sku_part_number")["assigned"]
    assert f"group {row['assigned_by_group_name']}" in sources[row["sku_part_number"]]
    result = plan.apply()
    assert result.ok, result
    assert raw.user(row["user_id"])["assignedLicenses"] == []
    assert row["assigned_by_group"] not in raw.group_ids(row["user_id"])


def test_delete_frees_seats_and_restore_brings_the_user_back(m365, tid, raw):
    part = "TEAMS_EXPLORATORY"
    groups = plain_groups(m365, tid, 2)
    upn, uid = onboarded(m365, tid, licenses=[part], groups=groups)
    before = int(sku(m365, tid, part)["available"])
    plan = m365.plan_offboarding(tid, upn, delete=True)
    assert plan.problems == []
    assert list(plan.steps["action"]) == ["remove licenses", "remove from group",
                                          "remove from group", "delete user"]
    result = plan.apply()
    assert result.ok, result
    assert int(sku(m365, tid, part)["available"]) == before + 1               # seat free at once
    assert upn not in set(m365.users(tid)["user_principal_name"])
    assert raw.user(uid) is None

    deleted = m365.deleted_users(tid).set_index("id").loc[uid]
    assert deleted["user_principal_name"] == upn and deleted["restorable"]
    assert deleted["days_left"] == 30 and deleted["has_record"]
    assert uid in set(m365.deleted_users()["id"])                           # every tenant

    restore = m365.plan_restore(tid, upn)
    assert restore.problems == [], restore
    assert list(restore.steps["action"]) == ["restore user", "assign licenses", "add to group",
                                             "add to group"]
    result = restore.apply()
    assert result.ok, result
    back = raw.user(uid)
    assert back["userPrincipalName"] == upn
    assert [x["skuId"] for x in back["assignedLicenses"]] == [sku(m365, tid, part)["sku_id"]]
    ids = groups_of(m365, tid).set_index("display_name")["id"]
    assert {ids[g] for g in groups} <= raw.group_ids(uid)
    assert int(sku(m365, tid, part)["available"]) == before
    assert upn in set(m365.users(tid)["user_principal_name"])
    assert uid not in set(m365.deleted_users(tid)["id"])
    entries = audit_for(m365, upn)
    assert list(entries["action"][:2]) == ["restore", "delete"]
    had = entries.iloc[1]["detail"]["parameters"]["had"]
    assert had["licenses"] == [part] and sorted(had["groups"]) == sorted(groups)
    assert m365.plan_restore(tid, upn).problems[0].message.endswith("is not deleted: it is an active user")


# -- offboarding and directory roles --------------------------------------------------------------

ADMIN_ROLES = ["Helpdesk Administrator", "User Administrator"]


def test_offboarding_remove_roles_leaves_no_directory_role_in_graph(m365, tid, raw):
    upn, uid = onboarded(m365, tid, roles=ADMIN_ROLES)
    assert len(raw.role_ids(uid)) == 2
    plan = m365.plan_offboarding(tid, upn, remove_roles=True, block_sign_in=True)
    assert plan.problems == [] and plan.warnings == []
    assert list(plan.steps["action"]) == ["block sign-in", "remove role", "remove role"]
    assert sorted(plan.steps["target"][1:]) == ADMIN_ROLES                  # names, not ids
    result = plan.apply()
    assert result.ok and set(result.steps["status"]) == {"done"}, result
    assert raw.role_ids(uid) == set()
    assert raw.user(uid)["accountEnabled"] is False
    entry = audit_for(m365, upn).iloc[0]
    assert entry["action"] == "offboard" and entry["outcome"] == "done"
    parameters = entry["detail"]["parameters"]
    assert parameters["remove_roles"] is True
    assert sorted(parameters["had"]["roles"]) == ADMIN_ROLES

    again = plan.apply()                                  # re-applying removes nothing twice
    assert again.ok and set(again.steps["status"]) == {"skipped"}, again
    assert list(again.steps["error"]) == ["sign-in is already blocked", "not assigned",
                                          "not assigned"]
    replanned = m365.plan_offboarding(tid, upn, remove_roles=True)
    assert [p.message for p in replanned.problems] == [
        "nothing to change: the user holds no directory roles"]


def test_offboarding_remove_roles_alone_on_a_user_with_none_is_refused_with_the_reason(m365, tid):
    upn, _uid = onboarded(m365, tid)
    plan = m365.plan_offboarding(tid, upn, remove_roles=True)
    assert [p.field for p in plan.problems] == ["options"]
    assert plan.problems[0].message == "nothing to change: the user holds no directory roles"
    with pytest.raises(PlanHasProblems):
        plan.apply()


def test_offboarding_block_sign_in_alone_on_a_role_holder_warns_and_keeps_the_role(m365, tid, raw):
    upn, uid = onboarded(m365, tid, roles=["Helpdesk Administrator"])
    plan = m365.plan_offboarding(tid, upn, block_sign_in=True)
    assert plan.problems == []
    [warning] = plan.warnings
    assert warning.field == "roles" and "Helpdesk Administrator" in warning.message
    assert "also choose Remove directory roles" in warning.message
    result = plan.apply()
    assert result.ok, result
    assert len(raw.role_ids(uid)) == 1                    # a warning, not a change
    entry = audit_for(m365, upn).iloc[0]
    assert any("Helpdesk Administrator" in w for w in entry["detail"]["warnings"])


def test_offboarding_delete_removes_roles_before_deleting_and_restore_gives_them_back(
        m365, tid, raw):
    upn, uid = onboarded(m365, tid, roles=ADMIN_ROLES, licenses=["FLOW_FREE"])
    plan = m365.plan_offboarding(tid, upn, delete=True)
    assert plan.problems == [], plan
    assert list(plan.steps["action"]) == ["remove role", "remove role", "remove licenses",
                                          "delete user"]
    assert plan._steps[-1].after == (1, 2, 3)             # the delete waits on the role removals
    result = plan.apply()
    assert result.ok and set(result.steps["status"]) == {"done"}, result
    assert raw.user(uid) is None
    assert sorted(audit_for(m365, upn).iloc[0]["detail"]["parameters"]["had"]["roles"]) == ADMIN_ROLES

    # Restored without re-applying, the user holds no role: none was left behind at deletion.
    bare = m365.plan_restore(tid, upn, reapply=False).apply()
    assert bare.ok, bare
    assert raw.role_ids(uid) == set()

    # Deleted again (nothing left to remove first) and restored with what it had.
    assert m365.plan_offboarding(tid, upn, delete=True).apply().ok
    restore = m365.plan_restore(tid, upn)
    assert restore.problems == [], restore
    assert list(restore.steps["action"]) == ["restore user", "assign role", "assign role",
                                             "assign licenses"]
    assert sorted(restore.steps["target"][1:3]) == ADMIN_ROLES
    assert restore.apply().ok
    definitions = {r["id"]: r["displayName"] for r in raw.json(
        "GET", "roleManagement/directory/roleDefinitions")["value"]}
    assert sorted(definitions[r] for r in raw.role_ids(uid)) == ADMIN_ROLES


# -- roles and secrets ----------------------------------------------------------------------------

def test_forbidden_applies_are_refused_and_audited(m365, emu, tid, raw):
    viewer = connect(emu.config_path, actor=Actor("vera@msp.example", role="viewer"))
    tech = connect(emu.config_path, actor=Actor("tom@msp.example", role="technician"))
    try:
        user = new_user(m365, tid)
        plan = viewer.plan_onboarding(tid, user=user)
        assert plan.problems == []                                         # viewers may plan
        with pytest.raises(PermissionDenied):
            plan.apply()
        assert raw.user(upn_of(user)) is None
        upn, uid = onboarded(tech, tid)                                     # technicians onboard
        with pytest.raises(PermissionDenied):
            tech.plan_offboarding(tid, upn, block_sign_in=True).apply()
        with pytest.raises(PermissionDenied):
            tech.plan_offboarding(tid, upn, delete=True).apply()
        assert raw.user(uid)["accountEnabled"] is True
        denied = m365.audit_log(outcome="denied")
        rows = {(r.actor, r.role, r.action, r.user) for r in denied.itertuples()}
        assert ("vera@msp.example", "viewer", "onboard", upn_of(user)) in rows
        assert ("tom@msp.example", "technician", "offboard", upn) in rows
        assert ("tom@msp.example", "technician", "delete", upn) in rows
    finally:
        viewer.close()
        tech.close()


def test_passwords_appear_in_no_log_audit_entry_or_store_table(m365, tid, caplog):
    caplog.set_level(logging.DEBUG)
    typed = "Typed-Pa55word-Zebra"
    secrets_seen = [typed]
    result = m365.plan_onboarding(tid, user=new_user(m365, tid, password=typed)).apply()
    assert result.ok and result.password is None
    user = new_user(m365, tid)
    result = m365.plan_onboarding(tid, user=user).apply()
    secrets_seen.append(result.password)
    assert result.password not in repr(result) and result.password not in result._repr_html_()
    hidden = m365.plan_offboarding(tid, upn_of(user), reset_password=True).apply()
    assert hidden.ok and hidden.password is None
    shown = m365.plan_offboarding(tid, upn_of(user), reset_password=True, reveal_password=True).apply()
    assert shown.ok and shown.password and len(shown.password) >= 16
    secrets_seen.append(shown.password)

    assert all(s not in caplog.text for s in secrets_seen)
    log = m365.audit_log()
    assert all(s not in str(log.to_dict("records")) for s in secrets_seen)
    engine = m365.store.engine
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                text = " ".join(str(v) for v in row)
                assert all(s not in text for s in secrets_seen), table
