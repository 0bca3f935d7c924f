"""Offboarding plans for licenses inherited from groups Graph cannot change, directory roles, and
the rule that says when the chosen options change nothing (no Graph needed)."""
import inspect

import pandas as pd
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
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
ROLES = {HELPDESK: {"id": HELPDESK, "displayName": "Helpdesk Administrator"},
         USER_ADMIN: {"id": USER_ADMIN, "displayName": "User Administrator"}}


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
    facts.roles = dict(ROLES)
    state = {"user": {"id": "u1", "userPrincipalName": "jo@contoso.com", "accountEnabled": True,
                      "assignedLicenses": [], "licenseAssignmentStates": []},
             "groups": [], "roles": []}
    monkeypatch.setattr(off, "load_facts", lambda client: facts)
    monkeypatch.setattr(off, "get_user", lambda client, user: state["user"])
    monkeypatch.setattr(off, "member_groups", lambda client, uid: state["groups"])
    monkeypatch.setattr(off, "role_assignments", lambda client, uid: state["roles"])
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
    # dynamic licence, dynamic group; the distribution list ends with the deletion, no warning
    assert len(plan.warnings) == 2


def test_groups_toggle_alone_on_a_user_in_no_groups_changes_nothing(world):
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", remove_groups=True)
    assert "the user is in no groups" in plan.problems[0].message


def hold(state, *role_ids, scope="/"):
    state["roles"] = [{"id": f"a-{i}", "principalId": "u1", "roleDefinitionId": rid,
                       "directoryScopeId": scope} for i, rid in enumerate(role_ids)]


# -- directory roles ------------------------------------------------------------------------------

def test_remove_roles_lists_each_role_by_name_once(world):
    hold(world, HELPDESK, USER_ADMIN, HELPDESK)          # the same role at two scopes
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", remove_roles=True)
    assert plan.problems == [] and plan.warnings == []
    assert list(plan.steps["action"]) == ["remove role", "remove role"]
    assert list(plan.steps["target"]) == ["Helpdesk Administrator", "User Administrator"]
    assert plan.parameters["remove_roles"] is True
    assert plan.parameters["had"]["roles"] == ["Helpdesk Administrator", "User Administrator"]
    assert list(plan.current["roles"]["display_name"]) == [
        "Helpdesk Administrator", "User Administrator", "Helpdesk Administrator"]


def test_remove_roles_names_a_role_the_tenant_does_not_list_by_its_id(world):
    hold(world, "0000aaaa-0000-0000-0000-000000000000")
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", remove_roles=True)
    assert list(plan.steps["target"]) == ["0000aaaa-0000-0000-0000-000000000000"]


def test_remove_roles_runs_after_the_lock_out_and_before_licenses(world):
    hold(world, HELPDESK)
    inherit(world, direct=[E3])
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", remove_roles=True,
                                       remove_licenses=True, block_sign_in=True,
                                       revoke_sessions=True)
    assert list(plan.steps["action"]) == ["block sign-in", "revoke sessions", "remove role",
                                          "remove licenses"]
    assert plan.warnings == []                      # the roles go: nothing to warn about


def test_delete_removes_roles_first_and_waits_on_them(world):
    hold(world, HELPDESK, USER_ADMIN)
    inherit(world, direct=[E3])
    world["groups"] = [SEC]
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", delete=True)
    assert plan.problems == []
    assert list(plan.steps["action"]) == ["remove role", "remove role", "remove licenses",
                                          "remove from group", "delete user"]
    assert plan._steps[-1].after == (1, 2, 3, 4)        # not deleted while a role removal failed
    assert plan.parameters["remove_roles"] is False     # what was chosen, as chosen
    assert plan.parameters["had"]["roles"] == ["Helpdesk Administrator", "User Administrator"]


def test_block_sign_in_alone_on_a_role_holder_is_a_warning_naming_the_roles(world):
    hold(world, HELPDESK, USER_ADMIN)
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", block_sign_in=True)
    assert plan.problems == []
    assert list(plan.steps["action"]) == ["block sign-in"]
    [warning] = plan.warnings
    assert warning.field == "roles"
    assert "Helpdesk Administrator" in warning.message and "User Administrator" in warning.message
    assert "also choose Remove directory roles" in warning.message
    assert "remove_roles" not in warning.message


def test_block_sign_in_with_remove_roles_or_delete_gives_no_role_warning(world):
    hold(world, HELPDESK)
    for options in ({"remove_roles": True}, {"delete": True}):
        plan = FakeM365().plan_offboarding("t", "jo@contoso.com", block_sign_in=True, **options)
        assert not [w for w in plan.warnings if w.field == "roles"], options


def test_block_sign_in_on_a_user_without_roles_gives_no_warning(world):
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", block_sign_in=True)
    assert plan.problems == [] and plan.warnings == []


def test_remove_roles_alone_on_a_user_without_roles_is_refused_with_the_reason(world):
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", remove_roles=True)
    assert plan._steps == []
    assert [p.field for p in plan.problems] == ["options"]
    assert plan.problems[0].message == "nothing to change: the user holds no directory roles"


def test_nothing_chosen_is_refused_in_msp_words(world):
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com")
    message = plan.problems[0].message
    assert message.startswith("nothing to change: choose at least one option")
    assert "Remove directory roles" in message and "_" not in message


# -- the shared "nothing to change" rule ----------------------------------------------------------

def test_unchanged_reasons_empty_choice_asks_for_an_option():
    [reason] = off.unchanged_reasons({}, enabled=True, licenses=1, groups=1, roles=1)
    assert reason.startswith("choose at least one option")
    assert all(label in reason for label in off.OPTION_LABELS.values())


def test_unchanged_reasons_one_reason_per_option_that_finds_nothing():
    chosen = {"remove_licenses": True, "remove_groups": True, "remove_roles": True,
              "block_sign_in": True}
    assert off.unchanged_reasons(chosen, enabled=False, licenses=0, groups=0, roles=0) == [
        "the user has no licenses", "the user is in no groups",
        "the user holds no directory roles", "sign-in is already blocked"]


@pytest.mark.parametrize("held", [{"licenses": 1}, {"groups": 2}, {"roles": 1}, {"enabled": True}])
def test_unchanged_reasons_empty_when_one_chosen_option_finds_something(held):
    chosen = {"remove_licenses": True, "remove_groups": True, "remove_roles": True,
              "block_sign_in": True}
    counts = {"enabled": False, "licenses": 0, "groups": 0, "roles": 0, **held}
    assert off.unchanged_reasons(chosen, **counts) == []


@pytest.mark.parametrize("option", ["delete", "revoke_sessions", "reset_password"])
def test_unchanged_reasons_options_that_always_change_something(option):
    assert off.unchanged_reasons({option: True, "remove_roles": True}, enabled=False,
                                 licenses=0, groups=0, roles=0) == []


def test_unchanged_reasons_counts_frames_and_ignores_options_left_off():
    frame = pd.DataFrame({"display_name": ["Helpdesk Administrator"]})
    assert off.unchanged_reasons({"remove_roles": True, "delete": False}, enabled=True,
                                 licenses=0, groups=0, roles=frame) == []
    assert off.unchanged_reasons({"remove_roles": True}, enabled=True, licenses=0, groups=0,
                                 roles=frame.iloc[0:0]) == ["the user holds no directory roles"]


def test_unchanged_reasons_refuses_an_unknown_option():
    with pytest.raises(ValueError, match="remove_rolls"):
        off.unchanged_reasons({"remove_rolls": True}, enabled=True, licenses=0, groups=0, roles=0)


@pytest.mark.parametrize("options", [
    {"remove_licenses": True}, {"remove_groups": True}, {"remove_roles": True},
    {"block_sign_in": True}, {"remove_licenses": True, "remove_roles": True},
    {"remove_groups": True, "block_sign_in": True},
    {"remove_licenses": True, "remove_groups": True, "remove_roles": True, "block_sign_in": True}])
def test_unchanged_reasons_is_the_text_plan_offboarding_refuses_with(world, options):
    world["user"]["accountEnabled"] = False
    plan = FakeM365().plan_offboarding("t", "jo@contoso.com", **options)
    reasons = off.unchanged_reasons(options, enabled=False, licenses=0, groups=0, roles=0)
    assert reasons
    assert [p.message for p in plan.problems] == ["nothing to change: " + "; ".join(reasons)]


def test_unchanged_reasons_and_the_plan_agree_that_held_items_change_something(world):
    hold(world, HELPDESK)
    inherit(world, direct=[E3])
    world["groups"] = [SEC]
    for option in ("remove_licenses", "remove_groups", "remove_roles", "block_sign_in"):
        plan = FakeM365().plan_offboarding("t", "jo@contoso.com", **{option: True})
        assert plan.problems == [] and len(plan._steps) >= 1, option
        assert off.unchanged_reasons({option: True}, enabled=True, licenses=1, groups=1,
                                     roles=1) == []


def test_plan_offboarding_wrapper_takes_every_option_of_the_rule_in_the_same_order():
    params = inspect.signature(off.plan_offboarding).parameters
    assert set(off.OPTIONS) <= set(params) and set(off.OPTIONS) == set(off.OPTION_LABELS)
    wrapper = inspect.signature(WorkflowsMixin.plan_offboarding).parameters
    # Same names, same order; the wrapper's last keyword, `at`, schedules the plan instead.
    assert list(wrapper)[-1] == "at" and list(wrapper)[1:-1] == list(params)[1:]
