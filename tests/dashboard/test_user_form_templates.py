"""Create User / Edit User with onboarding templates, a Temporary Access Pass for first sign-in,
a manager, and "Copy groups from user", driven against the emulator (issue #16)."""
from __future__ import annotations

import pytest

from dashboard.viewmodels import UserDetailsViewModel, UserFormViewModel
from dashboard.viewmodels import form_templates
from dashboard.viewmodels.form_templates import person_label
from tests.helpers import run

SALES_GROUPS = ["Marketing", "SG-App-Zoom"]


@pytest.fixture(scope="module")
def sales(world):
    """(tenant id, SKU part number): tenant 0 with a default template 'Sales' and another,
    'Support'. Tenant 0 allows reusable Temporary Access Passes. Seats are few: tests that
    create users without caring about licenses take the template's license off (`_no_seat`)."""
    emu, m365 = world
    tid = emu.tenant_ids[0]
    skus = m365.licenses(tid)
    sku = str(skus[(skus["available"] >= 3) & (skus["enabled"] < 1000)
                   & (skus["capability_status"] == "Enabled")]["sku_part_number"].iloc[0])
    domain = str(m365.domains(tid)["domain"].iloc[0])
    m365.save_template(tid, "Sales", domain=domain, username_format="first.last",
                       usage_location="GB", department="Sales", job_title="Account Manager",
                       company_name="Relecloud Ltd", licenses=[sku], groups=SALES_GROUPS,
                       roles=["Directory Readers"], default=True)
    m365.save_template(tid, "Support", domain=domain, username_format="flast",
                       usage_location="US", department="Support", groups=["IT Department"])
    return tid, sku


def _no_seat(vm):
    vm.pick_licenses([])


def _group_ids(vm, names):
    opts = vm.group_options.set_index("display_name")
    return sorted(str(opts.loc[n, "id"]) for n in names)


def test_user_form_template_default_is_picked_and_fills_the_form(make_vm, sales):
    tid, sku = sales
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    assert vm.template == "Sales"
    labels = list(vm.param.template.names)
    assert labels[0] == "No template" and "Sales (default)" in labels and "Support" in labels
    assert (vm.department, vm.job_title, vm.usage_location) == ("Sales", "Account Manager", "GB")
    assert vm.licenses == [sku]
    assert vm.groups == _group_ids(vm, SALES_GROUPS)
    roles = vm.role_options.set_index("display_name")
    assert vm.roles == [roles.loc["Directory Readers", "role_definition_id"]]
    vm.given_name, vm.surname = "Zoë", "Quinn"
    assert vm.username == "zoe.quinn"                    # the template's username format
    assert "Company Relecloud Ltd" in vm.template_note and "Department" in vm.template_note
    assert vm.details_blockers() == []


def test_user_form_template_technician_change_wins(make_vm, world, sales):
    emu, m365 = world
    tid, sku = sales
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    vm.department = "Field Sales"                          # typed over the template's value
    own = _group_ids(vm, ["Project Phoenix"])
    vm.pick_groups([*vm.groups, *own])                     # and a group of their own
    vm.template = "Support"
    assert vm.department == "Field Sales"
    assert vm.usage_location == "US" and vm.job_title == ""    # untouched: follow the template
    assert vm.licenses == []                                    # Support gives no licenses
    assert vm.groups == sorted(own + _group_ids(vm, ["IT Department"]))
    vm.given_name, vm.surname = "Wynn", "Ashdown"
    assert vm.username == "washdown"
    vm.username = "wynn.a"                                      # typed over: stays
    vm.given_name = "Wynne"
    assert vm.username == "wynn.a"
    assert run(vm.submit_details("close"))
    run(vm.confirm())
    upn = vm.user_principal_name
    assert m365.resolve_user(tid, upn)["department"] == "Field Sales"
    held = set(m365.user_groups(tid, upn)["display_name"])
    assert {"Project Phoenix", "IT Department"} <= held and not held & set(SALES_GROUPS)


def test_user_form_no_template_sends_template_false(make_vm, world, sales, monkeypatch):
    emu, m365 = world
    tid, _sku = sales
    calls = []
    real = m365.plan_onboarding
    monkeypatch.setattr(m365, "plan_onboarding", lambda *a, **kw: calls.append(kw) or real(*a, **kw))
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    vm.template = "none"
    assert (vm.department, vm.usage_location, vm.licenses, vm.groups, vm.roles) == ("", "", [], [], [])
    assert vm.template_note == ""
    vm.param.update(given_name="Nell", surname="Plain", username="nell.plain", usage_location="US")
    assert run(vm.submit_details("close"))
    assert calls[-1]["template"] is False
    assert not any("template" in w for w in vm.pending_warnings)   # no default applied
    run(vm.confirm())
    user = m365.resolve_user(tid, vm.user_principal_name)
    assert not user["department"] or user["department"] != "Sales"


def test_user_form_template_field_left_empty_warns_in_the_plan(make_vm, sales):
    tid, _sku = sales
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    vm.param.update(given_name="Ema", surname="Empty")
    vm.department = ""
    assert run(vm.submit_details("close"))
    assert any(w.startswith("Department is empty, so template 'Sales' fills it")
               for w in vm.pending_warnings)
    vm.discard()


def test_user_form_temporary_access_pass_shown_once_and_cleared_on_load(make_vm, world, sales):
    emu, m365 = world
    tid, _sku = sales
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    _no_seat(vm)
    vm.param.update(given_name="Tapio", surname="Pass", first_sign_in="temporary_access_pass",
                    generate_password=False, tap_lifetime_minutes=120, tap_usable_once=True)
    assert vm.details_blockers() == []          # no password needed with a pass
    assert run(vm.submit_details("continue"))
    run(vm.confirm())
    assert vm.user_id and vm.temporary_access_pass and vm.generated_password == ""
    shown = vm.temporary_access_pass
    assert shown not in repr(vm.param.values().get("pending_steps"))
    vm.start_create(tid)                         # the form loaded again: the pass is gone
    assert vm.temporary_access_pass == "" and vm.first_sign_in == "password"
    assert shown not in str(m365.audit_log().to_dict("records"))


def test_user_form_temporary_access_pass_lifetime_problem_names_the_field(make_vm, sales):
    tid, _sku = sales
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    vm.param.update(given_name="Long", surname="Lived", first_sign_in="temporary_access_pass",
                    tap_lifetime_minutes=5000)
    assert not run(vm.submit_details("close"))
    assert "allowed 60 to 480 minutes" in vm.problems["tap_lifetime_minutes"]
    assert "Pass valid for (minutes): 5000 minutes is outside" in vm.alerts[-1].text


def test_user_form_create_and_close_keeps_the_pass_shown_until_copied(make_vm, sales):
    tid, _sku = sales
    vm = make_vm(UserFormViewModel)
    closed = []
    vm.param.watch(lambda e: closed.append(True), "closed")
    vm.start_create(tid)
    _no_seat(vm)
    vm.param.update(given_name="Cleo", surname="Close", first_sign_in="temporary_access_pass")
    assert run(vm.submit_details("close"))
    run(vm.confirm())
    assert vm.temporary_access_pass and vm.secret_close_pending and closed == []
    vm.close_after_secret()
    assert closed == [True] and vm.temporary_access_pass == "" and not vm.secret_close_pending


def test_user_form_leaving_the_page_drops_the_shown_password(make_vm, sales):
    tid, _sku = sales
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    _no_seat(vm)
    vm.param.update(given_name="Lea", surname="Leaves")
    assert run(vm.submit_details("continue"))
    run(vm.confirm())
    assert vm.generated_password
    assert vm.ask_to_leave("licenses", "", "")
    assert vm.generated_password == "" and vm.temporary_access_pass == ""


def test_user_form_manager_set_on_create_and_cleared_on_edit(make_vm, world, sales):
    emu, m365 = world
    tid, _sku = sales
    boss = m365.users(tid).iloc[3]
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    label = person_label(boss["display_name"], boss["user_principal_name"])
    assert label in vm.people_options
    _no_seat(vm)
    vm.param.update(given_name="Mina", surname="Managed", manager=label)
    assert run(vm.submit_details("close"))
    run(vm.confirm())
    uid = m365.resolve_user(tid, vm.user_principal_name)["id"]
    assert m365.manager_of(tid, uid)["id"] == boss["id"]

    vm.start_edit(tid, uid)
    assert vm.manager == label and vm.detail_changes() == {}     # unchanged: nothing sent
    vm.manager = ""
    assert vm.detail_changes() == {"manager": None}
    assert run(vm.submit_details("close"))
    run(vm.confirm())
    assert m365.manager_of(tid, uid) is None

    vm.start_edit(tid, uid)                                      # no manager: clearing is no change
    assert vm.manager == "" and vm.detail_changes() == {}


def test_user_form_manager_typed_as_a_stranger_is_named_by_its_label(make_vm, make_user, sales):
    tid, _sku = sales
    uid = make_user(tenant=tid)
    vm = make_vm(UserFormViewModel)
    vm.start_edit(tid, uid)
    vm.manager = "nobody.here@elsewhere.example"
    assert not run(vm.submit_details("close"))
    assert "Manager:" in vm.alerts[-1].text and "not in this tenant" in vm.problems["manager"]


def test_user_form_people_matching_narrows_a_big_tenant(make_vm, world, sales, monkeypatch):
    emu, m365 = world
    tid, _sku = sales
    monkeypatch.setattr(form_templates, "ALL_PEOPLE_LIMIT", 5)
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    assert vm.people_options == [] and vm.people_narrowed
    someone = m365.users(tid).iloc[0]
    part = str(someone["user_principal_name"]).split("@")[0][:6]
    hits = vm.people_matching(part)
    assert person_label(someone["display_name"], someone["user_principal_name"]) in hits
    assert vm.people_matching("z") == []              # one letter: too many to be useful


def test_user_form_copy_groups_from_user_adds_groups(make_vm, world, make_user, sales):
    emu, m365 = world
    tid, _sku = sales
    uid = make_user(tenant=tid, groups=["Engineering Team", "SG-App-Salesforce"])
    source = m365.resolve_user(tid, uid)
    vm = make_vm(UserFormViewModel)
    vm.start_create(tid)
    before = list(vm.groups)
    vm.copy_groups_from = person_label(source["display_name"], source["user_principal_name"])
    assert vm.copy_groups()
    assert set(vm.groups) == set(before) | set(_group_ids(vm, ["Engineering Team",
                                                               "SG-App-Salesforce"]))
    assert "Added 2 groups" in vm.alerts[-1].text
    vm.copy_groups_from = "no.such.person"
    assert not vm.copy_groups()
    assert vm.alerts[-1].text.startswith("Copy groups from user: no user 'no.such.person'")


def test_user_details_shows_the_manager(make_vm, world, make_user, sales):
    emu, m365 = world
    tid, _sku = sales
    boss = m365.users(tid).iloc[5]
    uid = make_user(tenant=tid, manager=boss["user_principal_name"])
    vm = make_vm(UserDetailsViewModel)
    assert vm.load(tid, uid) and vm.manager == ""
    run(vm.load_live())
    assert vm.manager == f"{boss['display_name']} ({boss['user_principal_name']})"
    other = make_user(tenant=tid)
    vm.load(tid, other)
    run(vm.load_live())
    assert vm.manager == "No manager"
