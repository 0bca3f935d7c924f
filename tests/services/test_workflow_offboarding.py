"""Offboarding plans for licenses inherited from groups Graph cannot change (no Graph needed)."""
import pytest

from services.actors import Actor
from services.workflows import WorkflowsMixin
from services.workflows import offboarding as off
from services.workflows.resolve import TenantFacts

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"
E3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"
DYN = {"id": "g-dyn", "displayName": "Everyone in NL", "groupTypes": ["DynamicMembership"],
       "securityEnabled": True, "mailEnabled": False, "membershipRule": "user.country -eq \"NL\""}
SEC = {"id": "g-sec", "displayName": "Licensed staff", "groupTypes": [], "securityEnabled": True,
       "mailEnabled": False}
DL = {"id": "g-dl", "displayName": "All staff", "groupTypes": [], "securityEnabled": False,
      "mailEnabled": True}


class FakeGraph:
    def tenant(self, tenant_id):
        return object()


class FakeM365(WorkflowsMixin):
    graph, actor = FakeGraph(), Actor("alice", "admin")

    def resolve_tenant(self, arg):
        return "tid"


@pytest.fixture
def world(monkeypatch):
    facts = TenantFacts("tid")
    facts.skus = {SPB: {"skuId": SPB, "skuPartNumber": "SPB"}, E3: {"skuId": E3, "skuPartNumber": "SPE_E3"}}
    facts.groups = {g["id"]: g for g in (DYN, SEC, DL)}
    state = {"user": {"id": "u1", "userPrincipalName": "jo@contoso.com", "accountEnabled": True,
                      "assignedLicenses": [], "licenseAssignmentStates": []},
             "groups": []}
    monkeypatch.setattr(off, "load_facts", lambda client: facts)
    monkeypatch.setattr(off, "get_user", lambda client, user: state["user"])
    monkeypatch.setattr(off, "member_groups", lambda client, uid: state["groups"])
    monkeypatch.setattr(off, "role_assignments", lambda client, uid: [])
    return state


def inherit(state, *pairs, direct=()):
    state["user"]["licenseAssignmentStates"] = (
        [{"skuId": sku, "assignedByGroup": gid} for sku, gid in pairs]
        + [{"skuId": sku, "assignedByGroup": None} for sku in direct])


def test_license_from_a_dynamic_group_is_a_warning_and_alone_changes_nothing(world):
    inherit(world, (SPB, "g-dyn"))
    world["groups"] = [DYN]
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", remove_licenses=True)
    assert plan._steps == []
    assert [w.field for w in plan.warnings] == ["licenses"]
    assert "dynamic group" in plan.warnings[0].message and "cannot be removed" in plan.warnings[0].message
    assert plan.problems[0].field == "options" and "nothing to change" in plan.problems[0].message


def test_writable_group_is_left_and_direct_licenses_removed(world):
    inherit(world, (SPB, "g-sec"), (E3, "g-dyn"), direct=[E3])
    world["groups"] = [SEC, DYN]
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", remove_licenses=True)
    assert plan.problems == []
    assert list(plan.steps["action"]) == ["remove licenses", "remove from group"]
    assert plan.steps.iloc[1]["target"] == "Licensed staff"
    assert "inherited license" in plan.steps.iloc[1]["detail"]
    assert any("Everyone in NL" in w.message for w in plan.warnings)
    assert set(plan.current["licenses"]["assigned"]) == {"group Licensed staff",
                                                         "direct; group Everyone in NL"}


def test_delete_removes_what_it_can_first_and_notes_the_rest(world):
    inherit(world, (SPB, "g-dyn"), direct=[E3])
    world["groups"] = [SEC, DYN, DL]
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", delete=True, block_sign_in=True)
    assert plan.problems == [] and plan.permission == "delete"
    assert list(plan.steps["action"]) == ["block sign-in", "remove licenses", "remove from group",
                                          "delete user"]
    delete = plan._steps[-1]
    assert delete.after == (2, 3)                       # not deleted if freeing seats failed
    assert all("the deletion ends it" in w.message for w in plan.warnings)
    assert len(plan.warnings) == 3                      # dynamic licence, dynamic group, DL


def test_groups_toggle_alone_on_a_user_in_no_groups_changes_nothing(world):
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", remove_groups=True)
    assert "the user is in no groups" in plan.problems[0].message
