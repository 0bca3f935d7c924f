"""What each role sees in a dashboard session, and what a forced write does (no server)."""
from __future__ import annotations

import pytest

from dashboard.app import DashboardSession
from dashboard.pages import Navigation
from dashboard.viewmodels import OffboardViewModel, UserFormViewModel
from services import Actor
from tests.helpers import run


def _session(m365, page="users", **nav):
    session = DashboardSession(m365, Navigation(page=page, **nav))
    session.template()
    return session


def _sidebar_names(session) -> list[str]:
    return [title for _key, title in session.sidebar_entries()]


def _user_actions(session) -> set[str]:
    view = session._view("users")
    return set(view.table.buttons)


def _create_visible(session) -> bool:
    view = session._view("users")
    create = [w for w in view._layout.select(lambda o: getattr(o, "name", "") == "Create User")]
    return bool(create) and create[0].visible


def test_roles_viewer_is_offered_no_write_action(make_world):
    _emu, m365 = make_world(actor=Actor("val", "viewer"))
    session = _session(m365)
    assert _sidebar_names(session) == ["Overview", "All Tenants", "All Users", "Licenses", "Activity"]
    assert _user_actions(session) == {"details"}
    assert not _create_visible(session)


@pytest.mark.parametrize("page", ["create", "edit", "offboard", "bulk"])
def test_roles_viewer_deep_link_to_a_write_page_says_why(make_world, page):
    emu, m365 = make_world(actor=Actor("val", "viewer"))
    uid = m365.users(emu.tenant_ids[0])["id"].iloc[0]
    session = _session(m365, page=page, tenant=emu.tenant_ids[0], user=uid)
    [alert] = session.main.objects
    assert "your role (viewer) may not" in alert.object
    assert "m365-not-allowed" in alert.css_classes


def test_roles_technician_may_create_and_edit_but_not_offboard(make_world):
    _emu, m365 = make_world(actor=Actor("tess", "technician"))
    session = _session(m365)
    assert "Create User" in _sidebar_names(session) and "Bulk" not in _sidebar_names(session)
    assert _user_actions(session) == {"details", "edit"}
    assert _create_visible(session)


def test_roles_admin_is_offered_every_action(make_world):
    _emu, m365 = make_world(actor=Actor("ada", "admin"))
    session = _session(m365)
    assert _sidebar_names(session) == ["Overview", "All Tenants", "All Users", "Licenses", "Create User",
                                       "Bulk", "Activity"]
    assert _user_actions(session) == {"details", "edit", "offboard"}


def test_roles_viewer_forced_create_is_refused_in_services_and_audited(make_world):
    emu, m365 = make_world(actor=Actor("val", "viewer"))
    tid = emu.tenant_ids[0]
    before = len(m365.users(tid))
    vm = UserFormViewModel(m365=m365)
    vm.start_create(tid)
    domain = m365.domains(tid)["domain"].iloc[0]
    # Skip the form's own checks: go straight to the services as a crafted request would.
    plan = m365.plan_onboarding(tid, user={"given_name": "Eve", "surname": "Crafted",
                                          "username": "eve.crafted", "domain": domain})
    vm.propose(plan, "Create eve.crafted", None)
    assert run(vm.confirm()) is None
    assert any("Permission denied" in a.text for a in vm.alerts)
    assert len(m365.users(tid)) == before
    graph_upns = {u["userPrincipalName"] for u in emu.session(tid).get(
        f"{emu.graph_url}/users", params={"$select": "userPrincipalName", "$top": 999}).json()["value"]}
    assert f"eve.crafted@{domain}" not in graph_upns
    log = m365.audit_log(actor="val")
    assert list(log["outcome"]) == ["denied"] and list(log["action"]) == ["onboard"]


def test_roles_technician_forced_offboard_is_refused_and_audited(make_world):
    emu, m365 = make_world(actor=Actor("tess", "technician"))
    tid = emu.tenant_ids[0]
    users = m365.users(tid)
    licensed = users[users["licenses"].fillna("") != ""].iloc[0]
    vm = OffboardViewModel(m365=m365)
    vm.load(tid, licensed["id"])
    vm.remove_licenses = True
    assert vm.blockers() == ["your role may not offboard users"]
    assert not run(vm.offboard())                       # the page refuses first ...
    plan = m365.plan_offboarding(tid, licensed["id"], remove_licenses=True)
    vm.propose(plan, "crafted", None)               # ... and a crafted request fails in services
    assert run(vm.confirm()) is None
    assert any("Permission denied" in a.text for a in vm.alerts)
    assert m365.users(tid).set_index("id").loc[licensed["id"], "licenses"] == licensed["licenses"]
    log = m365.audit_log(actor="tess")
    assert list(log["outcome"]) == ["denied"] and list(log["action"]) == ["offboard"]
