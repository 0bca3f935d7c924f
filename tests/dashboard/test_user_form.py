"""The Create User / Edit User wizard view model against the emulator."""
from __future__ import annotations

from services import Actor

from dashboard.viewmodels import UserFormViewModel
from tests.helpers import run


def _fill(vm, n=1, **extra):
    vm.param.update(given_name="Nora", surname=f"Quist{n}", username=f"nora.quist{n}",
                    usage_location="US", **extra)


def test_user_form_display_name_follows_names_until_typed(make_vm, world):
    vm = make_vm(UserFormViewModel)
    vm.start_create(world[0].tenant_ids[0])
    vm.given_name, vm.surname = "Ada", "Lovelace"
    assert vm.display_name == "Ada Lovelace"
    vm.display_name = "Countess Ada"
    vm.surname = "King"
    assert vm.display_name == "Countess Ada"


def test_user_form_create_buttons_disabled_until_required_fields(make_vm, world):
    vm = make_vm(UserFormViewModel)
    vm.start_create(world[0].tenant_ids[0])
    assert "enter a username" in vm.details_blockers()
    _fill(vm)
    assert vm.details_blockers() == []
    vm.generate_password = False
    assert "type a password or let one be generated" in vm.details_blockers()


def test_user_form_viewer_may_not_create(make_world):
    emu, m365 = make_world(actor=Actor("val", "viewer"))
    vm = UserFormViewModel(m365=m365)
    vm.start_create(emu.tenant_ids[0])
    _fill(vm)
    assert "your role may not create users" in vm.details_blockers()


def test_user_form_tabs_locked_until_user_exists(make_vm, world):
    vm = make_vm(UserFormViewModel)
    vm.start_create(world[0].tenant_ids[0])
    assert vm.tab_enabled("details") and not vm.tab_enabled("access")
    assert "create the user first (Create User and Continue)" in vm.save_blockers()


def test_user_form_create_shows_plan_and_writes_nothing_before_confirm(make_vm, world):
    emu, m365 = world
    vm = make_vm(UserFormViewModel)
    vm.start_create(emu.tenant_ids[0])
    _fill(vm)
    assert run(vm.submit_details("continue"))
    assert vm.pending_title.startswith("Create nora.quist1@")
    assert list(vm.pending_steps["action"]) == ["create user"]
    assert not (m365.users(emu.tenant_ids[0])["user_principal_name"]
                .str.startswith("nora.quist1@")).any()
    vm.discard()
    assert vm.pending_title == "" and vm.user_id == ""


def test_user_form_problems_are_named_by_field(make_vm, world):
    vm = make_vm(UserFormViewModel)
    vm.start_create(world[0].tenant_ids[0])
    _fill(vm)
    vm.usage_location = "Mars"
    vm.mobile_phone = "call me"
    assert not run(vm.submit_details("close"))
    assert "two-letter country" in vm.problems["usage_location"]
    assert "mobile_phone" in vm.problems
    assert vm.alerts[-1].kind == "danger" and not vm.has_pending


def test_user_form_sku_without_seats_cannot_be_picked(make_vm, world):
    vm = make_vm(UserFormViewModel)
    vm.start_create(world[0].tenant_ids[0])
    opts = vm.license_options
    full = opts[(opts["left"] <= 0) & (opts["purchased"] > 0)].iloc[0]
    assert not full["selectable"] and "no seats left" in full["note"]
    free = opts[opts["selectable"]].iloc[0]
    assert {"used", "purchased", "left"} <= set(opts.columns)
    vm.pick_licenses([free["sku_part_number"], full["sku_part_number"]])
    assert vm.licenses == [free["sku_part_number"]]
    assert "no seats left" in vm.alerts[-1].text


def test_user_form_unchangeable_groups_are_listed_with_reason(make_vm, world):
    vm = make_vm(UserFormViewModel)
    vm.start_create(world[0].tenant_ids[0])
    opts = vm.group_options.set_index("kind")
    locked = vm.group_options[~vm.group_options["selectable"]]
    assert len(locked) and locked["note"].str.contains("dynamic").all()
    lists = locked[locked["kind"] == "dynamic_distribution"]     # Exchange's, not in Graph
    assert len(lists) and lists["note"].str.contains("recipient filter").all()
    assert vm.group_options["is_team"].any() and "apps" in opts.columns
    vm.pick_groups(list(locked["id"][:1]))
    assert vm.groups == [] and "Cannot pick" in vm.alerts[-1].text


def test_user_form_distribution_lists_selectable_when_exchange_allowed(make_vm, world):
    vm = make_vm(UserFormViewModel)
    vm.start_create(world[0].tenant_ids[0])
    lists = vm.group_options[vm.group_options["kind"].isin(["distribution", "mail_security"])]
    assert {"distribution", "mail_security"} <= set(lists["kind"])
    assert lists["selectable"].all()
    assert set(lists.query("kind == 'distribution'")["note"]) == {
        "distribution list, changed in Exchange Online"}
    assert set(lists.query("kind == 'mail_security'")["note"]) == {
        "mail-enabled security group, changed in Exchange Online"}
    vm.pick_groups([lists["id"].iloc[0]])
    assert vm.groups == [lists["id"].iloc[0]]


def test_user_form_distribution_lists_locked_without_exchange_access(make_vm, world):
    emu, m365 = world
    other = emu.tenant_ids[1]
    emu.set_access(other, directory_roles=["User Administrator"])
    try:
        m365.check_access(other)
        vm = make_vm(UserFormViewModel)
        vm.start_create(other)
        lists = vm.group_options[vm.group_options["kind"].isin(["distribution", "mail_security"])]
        assert len(lists) and not lists["selectable"].any()
        note = lists.query("kind == 'distribution'")["note"].iloc[0]
        assert note == ("distribution list, changed in Exchange Online: the app needs Exchange "
                        "Administrator (directory role) in this tenant")
        dynamic = vm.group_options[vm.group_options["note"].str.contains("dynamic")]
        assert len(dynamic) and not dynamic["selectable"].any()
        vm.pick_groups([lists["id"].iloc[0]])
        assert vm.groups == [] and "Cannot pick" in vm.alerts[-1].text
    finally:
        emu.set_access(other, directory_roles=["User Administrator", "Exchange Administrator"])
        m365.check_access(other)


def test_user_form_distribution_list_without_exchange_license_is_a_plan_problem(make_vm, world):
    emu, m365 = world
    vm = make_vm(UserFormViewModel)
    vm.start_create(emu.tenant_ids[0])
    _fill(vm, n=71)
    dl = vm.group_options.query("kind == 'distribution'").iloc[0]
    vm.pick_groups([dl["id"]])
    assert not run(vm.submit_details("continue"))
    problem = vm.problems["groups"]
    assert f"'{dl['display_name']}'" in problem and "license that includes Exchange Online" in problem
    assert f"Groups: '{dl['display_name']}'" in vm.alerts[-1].text
    assert not (m365.users(emu.tenant_ids[0])["user_principal_name"]
                .str.startswith("nora.quist71@")).any()


def test_user_form_wizard_keeps_state_across_tabs(make_vm, world):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    vm = make_vm(UserFormViewModel)
    closed = []
    vm.param.watch(lambda e: closed.append(True), "closed")
    vm.start_create(tid)
    _fill(vm, n=2, department="Finance")      # nora.quist1 is only planned, in another test
    run(vm.submit_details("continue"))
    run(vm.confirm())
    assert vm.user_id and vm.tab == "access" and vm.generated_password
    assert vm.tenant_locked() and vm.tab_enabled("groups")
    sku = vm.license_options[vm.license_options["selectable"]]["sku_part_number"].iloc[0]
    vm.pick_licenses([sku])
    vm.tab = "details"                 # looking back keeps what was picked
    vm.tab = "access"
    assert vm.licenses == [sku]
    assert vm.access_changes()["add_licenses"] == [sku]
    assert run(vm.save_access("continue"))
    assert "assign licenses" in set(vm.pending_steps["action"])
    run(vm.confirm())
    assert vm.tab == "groups"
    team = vm.group_options.query("is_team and selectable")["id"].iloc[0]
    vm.pick_groups([team])
    assert run(vm.save_groups())
    assert list(vm.pending_steps["action"]) == ["add to group"]
    run(vm.confirm())
    assert closed == [True]
    assert team in set(m365.user_groups(tid, vm.user_id)["id"])
    held = m365.user_licenses(tid)
    assert sku in set(held[held["user_id"] == vm.user_id]["sku_part_number"])


def test_user_form_edit_locks_tenant_and_plans_only_changes(make_vm, world, make_user):
    emu, m365 = world
    uid = make_user(department="Finance")
    vm = make_vm(UserFormViewModel)
    vm.start_edit(emu.tenant_ids[0], uid)
    assert vm.mode == "edit" and vm.tenant_locked() and vm.tab_enabled("access")
    assert vm.department == "Finance" and vm.details_blockers() == []
    vm.department = "Legal"
    assert vm.detail_changes() == {"department": "Legal"}
    run(vm.submit_details("close"))
    assert len(vm.pending_steps) == 1 and "department: Finance -> Legal" in vm.pending_steps["detail"][0]
    run(vm.confirm())
    assert m365.resolve_user(emu.tenant_ids[0], uid)["department"] == "Legal"


def test_user_form_save_without_changes_moves_on_without_plan(make_vm, world, make_user):
    emu, _ = world
    uid = make_user()
    vm = make_vm(UserFormViewModel)
    vm.start_edit(emu.tenant_ids[0], uid)
    vm.tab = "access"
    assert run(vm.save_access("continue")) and not vm.has_pending and vm.tab == "groups"


def test_user_form_cancel_applies_nothing(make_vm, world):
    emu, m365 = world
    vm = make_vm(UserFormViewModel)
    closed = []
    vm.param.watch(lambda e: closed.append(True), "closed")
    vm.start_create(emu.tenant_ids[0])
    _fill(vm, n=9)
    run(vm.submit_details("close"))
    assert not vm.cancel() and vm.leave_pending and closed == []     # typed data: ask first
    vm.keep_editing()
    assert not vm.leave_pending and vm.given_name == "Nora"
    vm.cancel()
    vm.discard_and_leave()
    assert closed == [True] and not vm.has_pending
    assert "nora.quist9" not in " ".join(m365.users(emu.tenant_ids[0])["user_principal_name"])


def test_user_form_edit_saves_every_tab_in_one_plan(make_vm, world, make_user):
    """Job title on User Details, then a group on Groups, then Save there: both in one plan."""
    emu, m365 = world
    tid = emu.tenant_ids[0]
    uid = make_user(job_title="Analyst")
    vm = make_vm(UserFormViewModel)
    vm.start_edit(tid, uid)
    vm.job_title = "Lead Analyst"
    vm.tab = "groups"
    team = vm.group_options.query("selectable")["id"].iloc[0]
    vm.pick_groups([team])
    assert vm.has_unsaved()
    assert run(vm.save_groups())
    actions = list(vm.pending_steps["action"])
    assert "add to group" in actions and any("job" in str(d).lower()
                                             for d in vm.pending_steps["detail"])
    assert "user details" in vm.pending_title and "groups" in vm.pending_title
    run(vm.confirm())
    assert m365.resolve_user(tid, uid)["job_title"] == "Lead Analyst"
    assert team in set(m365.user_groups(tid, uid)["id"])
    assert not vm.has_unsaved()


def test_user_form_leaving_with_unsaved_changes_asks_first(make_world):
    from dashboard.app import DashboardSession
    from dashboard.pages import Navigation
    emu, m365 = make_world()
    tid = emu.tenant_ids[0]
    uid = m365.users(tid)["id"].iloc[0]
    session = DashboardSession(m365, Navigation(page="edit", tenant=tid, user=uid))
    session.template()
    form = session.vm["form"]
    form.department = "Somewhere New"
    session.open("licenses")
    assert session.nav.page == "edit" and form.leave_pending        # asked, not gone
    form.keep_editing()
    assert form.department == "Somewhere New"
    session.open("licenses")
    form.discard_and_leave()
    assert session.nav.page == "licenses"
    assert m365.resolve_user(tid, uid)["department"] != "Somewhere New"


def test_user_form_edit_of_a_user_who_is_gone_says_so_without_python_names(world):
    from dashboard.app import DashboardSession
    from dashboard.pages import Navigation
    emu, m365 = world
    session = DashboardSession(m365, Navigation(page="edit", tenant=emu.tenant_ids[0],
                                                user="gone.person@nowhere.example"))
    session.template()
    text = " ".join(str(getattr(o, "object", "")) for o in session.main.objects)
    assert "not in the tenant any more" in text
    assert "m365." not in text and "user=" not in text


def test_user_form_edit_of_a_synced_user_greys_out_what_active_directory_owns(make_vm, world):
    from services.workflows.hybrid import is_synced
    emu, m365 = world
    tid = emu.tenant_ids[0]
    users = m365.users(tid)
    synced = users[[is_synced(r) for r in users.to_dict("records")]]
    assert len(synced), "the demo world has users synced from on-premises AD"
    vm = make_vm(UserFormViewModel)
    vm.start_edit(tid, str(synced.iloc[0]["id"]))
    assert {"given_name", "surname", "display_name", "job_title", "department",
            "username"} <= set(vm.read_only)
    assert "usage_location" not in vm.read_only
    assert "Active Directory" in vm.read_only["job_title"]
    cloud = users[[not is_synced(r) for r in users.to_dict("records")]].iloc[0]
    vm.start_edit(tid, str(cloud["id"]))
    assert vm.read_only == {}



def test_user_form_offers_usage_location_where_a_license_needs_it(make_vm, world, make_user):
    emu, m365 = world
    tid = emu.tenant_ids[0]
    uid = make_user(usage_location="")
    vm = make_vm(UserFormViewModel)
    vm.start_edit(tid, uid)
    assert not vm.needs_usage_location()
    free = vm.license_options[vm.license_options["selectable"]].iloc[0]["sku_part_number"]
    vm.licenses = [*vm.licenses, free]
    assert vm.needs_usage_location()               # the field shows on Roles & Licenses
    vm.usage_location = "NL"                        # typed there: the same field
    assert not vm.needs_usage_location()
    run(vm.save_access("close"))
    assert vm.problems == {}, vm.problems
    run(vm.confirm())
    row = m365.resolve_user(tid, uid)
    assert row["usage_location"] == "NL" and row["licenses"]
