"""Restore planning rules that the emulator cannot stage: the 30-day limit and a taken UPN."""
from datetime import datetime, timedelta, timezone

import pytest

from services.actors import Actor
from services.db import make_engine
from services.workflows import WorkflowsMixin
from services.workflows import restore as R


class Store:
    def __init__(self, url):
        self.engine = make_engine(url)


class FakeGraph:
    def tenant(self, tenant_id):
        return object()


class FakeM365(WorkflowsMixin):
    def __init__(self, url):
        self.graph, self.store, self.actor = FakeGraph(), Store(url), Actor("alice", "admin")

    def resolve_tenant(self, arg):
        return "tid"


def deleted(days_ago, upn="0123456789abcdef0123456789abcdefjo@contoso.com"):
    when = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return {"id": "u1", "userPrincipalName": upn, "displayName": "Jo",
            "deletedDateTime": when.isoformat().replace("+00:00", "Z"), "usageLocation": "NL"}


@pytest.fixture
def world(monkeypatch):
    state = {"deleted": [], "live": {}}
    monkeypatch.setattr(R, "list_deleted", lambda client: state["deleted"])
    monkeypatch.setattr(R, "user_exists", lambda client, key: state["live"].get(key))
    return state


def test_deleted_upn_prefix_is_removed_and_the_user_found_by_its_old_name(world, store_url):
    world["deleted"] = [deleted(3)]
    plan = FakeM365(store_url).plan_restore("t", "jo@contoso.com", reapply=False)
    assert plan.problems == [] and plan.user == "jo@contoso.com"
    assert list(plan.steps["action"]) == ["restore user"]
    assert any("no offboarding record" in w.message for w in
               FakeM365(store_url).plan_restore("t", "u1").warnings)


def test_more_than_30_days_is_refused(world, store_url):
    world["deleted"] = [deleted(31)]
    plan = FakeM365(store_url).plan_restore("t", "u1")
    assert plan.problems[0].field == "user" and "more than 30 days" in plan.problems[0].message


def test_a_upn_taken_since_is_a_problem(world, store_url):
    world["deleted"] = [deleted(1)]
    world["live"] = {"jo@contoso.com": "someone-else"}
    plan = FakeM365(store_url).plan_restore("t", "u1")
    assert "now used by another account" in plan.problems[0].message


def test_unknown_user(world, store_url):
    plan = FakeM365(store_url).plan_restore("t", "nobody@contoso.com")
    assert "no deleted user" in plan.problems[0].message


def test_deleted_users_days_left(world, store_url, monkeypatch):
    world["deleted"] = [deleted(0.5), deleted(29.5), deleted(40)]
    frame = FakeM365(store_url).deleted_users("t")
    assert list(frame.columns) == R.DELETED_COLUMNS
    assert list(frame["days_left"]) == [30, 1, 0]
    assert list(frame["restorable"]) == [True, True, False]
    assert str(frame["deleted"].dt.tz) == "UTC"


def test_restore_reassigns_recorded_tenant_wide_roles_and_warns_about_the_rest(world, store_url,
                                                                               monkeypatch):
    from services.workflows import records
    from services.workflows.resolve import TenantFacts

    helpdesk = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
    reader = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
    facts = TenantFacts("tid")
    facts.roles = {helpdesk: {"id": helpdesk, "displayName": "Helpdesk Administrator"},
                   reader: {"id": reader, "displayName": "Global Reader"}}
    monkeypatch.setattr(R, "load_facts", lambda client: facts)
    world["deleted"] = [deleted(2)]
    m365 = FakeM365(store_url)
    records.save(m365.store.engine, records.OffboardingRecord(
        "tid", "u1", "jo@contoso.com", deleted=True, roles=[
            {"role_definition_id": helpdesk, "display_name": "Helpdesk Administrator",
             "directory_scope_id": "/"},
            {"role_definition_id": helpdesk.upper(), "display_name": "Helpdesk Administrator"},
            {"role_definition_id": reader, "display_name": "Global Reader",
             "directory_scope_id": "/administrativeUnits/au-1"},
            {"role_definition_id": "gone", "display_name": "Retired Role"}]))
    plan = m365.plan_restore("t", "u1")
    assert plan.problems == []
    assert list(plan.steps["action"]) == ["restore user", "assign role"]
    assert plan.steps.iloc[1]["target"] == "Helpdesk Administrator"
    assert plan._steps[1].after == (1,)
    warnings = " | ".join(w.message for w in plan.warnings)
    assert "'Global Reader' was held for part of the directory only" in warnings
    assert "'Retired Role' no longer exists" in warnings
    assert list(m365.plan_restore("t", "u1", reapply=False).steps["action"]) == ["restore user"]
