"""The apply engine: role checks, problems, dependencies, batching, audit and reprs (no Graph)."""
import logging

import pytest

from services.actors import Actor
from services.db import make_engine
from services.errors import BadRequest, PermissionDenied
from services.graph import BatchResponse
from services.workflows import PlanHasProblems, Problem, WorkflowsMixin
from services.workflows.plan import Outcome, Plan, Step, done, skipped


class FakeClient:
    base = "https://graph.example.test/v1.0"

    def __init__(self):
        self.batches = []

    def batch(self, requests):
        self.batches.append(requests)
        return [BatchResponse(str(i), 204 if r["url"] != "/bad" else 400, {},
                              None if r["url"] != "/bad" else
                              {"error": {"code": "Request_BadRequest", "message": "nope"}})
                for i, r in enumerate(requests)]


class FakeGraph:
    def __init__(self):
        self.client = FakeClient()

    def tenant(self, tenant_id):
        return self.client


class Store:
    def __init__(self, url):
        self.engine = make_engine(url)


class FakeM365(WorkflowsMixin):
    def __init__(self, url, role="admin"):
        self.graph, self.store, self.actor = FakeGraph(), Store(url), Actor("alice", role)
        self.synced = []

    def resolve_tenant(self, arg):
        return arg

    def sync_tenant(self, tenant_id):
        self.synced.append(tenant_id)


@pytest.fixture
def m365(store_url):
    return FakeM365(store_url)


def failing(ctx):
    raise BadRequest("Subscription with SKU x does not have any available licenses.", status=400,
                     code="Request_BadRequest", request_id="req-9")


def make_plan(m365, steps, **kw):
    kw.setdefault("permission", "onboard")
    return Plan(m365, kind="onboard", tenant_id="t1", user="jane@contoso.com",
                parameters={"user": {"password": "Typed-Secret-1"}}, steps=steps, **kw)


def test_failed_step_keeps_done_ones_and_skips_dependents(m365):
    def create(ctx):
        ctx.user_id = "u1"
        ctx.password = "Generated-Secret-9"
        return done()
    plan = make_plan(m365, [Step("create user", "jane", run=create),
                            Step("assign licenses", "SPB", run=failing, after=(1,)),
                            Step("needs licenses", "x", run=lambda c: done(), after=(2,)),
                            Step("needs that", "y", run=lambda c: done(), after=(3,)),
                            Step("assign role", "r", run=lambda c: skipped("already assigned"), after=(1,))])
    result = plan.apply()
    assert not result.ok and result.user_id == "u1"
    assert list(result.steps["status"]) == ["done", "failed", "skipped", "skipped", "skipped"]
    assert "does not have any available licenses" in result.steps.loc[1, "error"]
    assert "req-9" in result.steps.loc[1, "error"]
    assert "step 2 (assign licenses SPB) failed" in result.steps.loc[2, "error"]
    assert "step 3 (needs licenses x) was not run" in result.steps.loc[3, "error"]
    assert result.password == "Generated-Secret-9"
    assert "Generated-Secret-9" not in repr(result) and "Generated-Secret-9" not in result._repr_html_()
    entry = m365.audit_log().iloc[0]
    assert (entry["actor"], entry["role"], entry["action"], entry["outcome"]) == \
        ("alice", "admin", "onboard", "partial")
    assert [s["status"] for s in entry["detail"]["steps"]] == list(result.steps["status"])
    assert "Typed-Secret-1" not in str(entry["detail"]) and "Generated" not in str(entry["detail"])
    assert m365.synced == ["t1"]
    assert plan.user_id == "u1"            # a re-apply starts from the user this plan created


def test_batched_steps_are_sent_together(m365):
    steps = [Step("add to group", f"g{i}", request=lambda ctx, i=i: {"method": "POST", "url": f"/g{i}"},
                  accept=lambda ctx, r: done() if r.ok else Outcome("failed", r.error().graph_message))
             for i in range(3)]
    steps.append(Step("add to group", "bad", request=lambda ctx: {"method": "POST", "url": "/bad"},
                      accept=lambda ctx, r: done() if r.ok else Outcome("failed", r.error().graph_message)))
    steps.append(Step("add to group", "member", request=lambda ctx: skipped("already a member")))
    result = make_plan(m365, steps).apply()
    assert len(m365.graph.client.batches) == 1 and len(m365.graph.client.batches[0]) == 4
    assert list(result.steps["status"]) == ["done", "done", "done", "failed", "skipped"]
    assert result.steps.loc[3, "error"] == "nope"


@pytest.mark.parametrize("role, permission", [("viewer", "onboard"), ("technician", "offboard"),
                                              ("technician", "delete"), ("technician", "restore")])
def test_forbidden_apply_is_refused_and_audited(store_url, role, permission):
    m365 = FakeM365(store_url, role)
    ran = []
    plan = make_plan(m365, [Step("x", "y", run=lambda c: ran.append(1) or done())], permission=permission)
    with pytest.raises(PermissionDenied):
        plan.apply()
    assert ran == [] and m365.synced == []
    entry = m365.audit_log().iloc[0]
    assert (entry["outcome"], entry["role"], entry["detail"]["needs"]) == ("denied", role, permission)


def test_plan_with_problems_writes_nothing(m365):
    ran = []
    plan = make_plan(m365, [Step("x", "y", run=lambda c: ran.append(1) or done())],
                     problems=[Problem("usage_location", "a license needs a usage location")])
    with pytest.raises(PlanHasProblems) as info:
        plan.apply()
    assert isinstance(info.value, ValueError)
    assert "usage_location: a license needs a usage location" in str(info.value)
    assert ran == [] and m365.audit_log().empty


def test_unexpected_error_in_a_step_is_reported_not_raised(m365, caplog):
    def boom(ctx):
        raise RuntimeError("bug")
    with caplog.at_level(logging.ERROR):
        result = make_plan(m365, [Step("a", "1", run=boom), Step("b", "2", run=lambda c: done())]).apply()
    assert list(result.steps["status"]) == ["failed", "done"]
    assert result.steps.loc[0, "error"] == "RuntimeError: bug"


def test_plan_repr_lists_problems_warnings_and_steps(m365):
    plan = make_plan(m365, [Step("create user", "jane@contoso.com", "detail here", run=lambda c: done())],
                     problems=[Problem("groups", "'All staff' is a distribution list")],
                     warnings=[Problem("licenses", "already has SPB")])
    text = repr(plan)
    assert "1 steps, 1 problems" in text and "distribution list" in text and "already has SPB" in text
    assert "Typed-Secret-1" not in text and "Typed-Secret-1" not in plan._repr_html_()
    assert list(plan.steps.columns) == ["step", "action", "target", "detail"]
