"""Scheduled plans: `plan_offboarding(..., at=...)` whose apply stores a job instead of writing.

The plan is built and validated against current Graph as usual, so the person scheduling sees
what it would do now; apply() checks the role and the problems as for any plan, then stores the
job (tenant, user, the plan_offboarding options, `at` in UTC, who scheduled it) and audits that.
At its time services.schedules plans it again against Graph as it is then and applies that.

`at` must say its time zone: an aware datetime, or ISO 8601 text with an offset
("2026-12-04T17:00+01:00", "...Z"). A naive datetime is refused rather than guessed: the
scheduling machine's zone, the tenant's and the technician's often differ, and a leaver blocked
an hour early or late is worse than a clear problem.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from ..errors import UserNotFound
from ..store import schedules as store
from .plan import DONE, SKIPPED, Plan, PlanHasProblems, Problem, Result

MAX_AHEAD = timedelta(days=365)
EXAMPLE = "2026-12-04T17:00+01:00"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_at(at) -> tuple[datetime | None, str | None]:
    """(`at` in UTC, None), or (None, why it is not a usable date and time)."""
    if isinstance(at, str):
        text = at.strip()
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            return None, (f"'{text}' is not an ISO 8601 date and time; write it like {EXAMPLE} "
                          "(with its UTC offset) or 2026-12-04T16:00Z")
    elif not isinstance(at, datetime):
        if isinstance(at, date):
            return None, (f"{at.isoformat()} is a date without a time; give the date and time "
                          f"with its UTC offset, e.g. {EXAMPLE}")
        return None, f"must be a datetime or ISO 8601 text such as {EXAMPLE}, not {type(at).__name__}"
    if hasattr(at, "to_pydatetime"):            # a pandas Timestamp
        at = at.to_pydatetime()
    if at.tzinfo is None or at.utcoffset() is None:
        return None, (f"{at.isoformat(sep=' ', timespec='minutes')} has no time zone; give one "
                      f"(e.g. {EXAMPLE}, or a datetime with tzinfo=ZoneInfo('Europe/Berlin')) so "
                      "the offboarding runs at the time meant")
    return at.astimezone(timezone.utc), None


def check_at(at, now: datetime | None = None) -> tuple[datetime | None, str | None]:
    """parse_at(), and the rule: after `now`, at most a year ahead."""
    when, problem = parse_at(at)
    if problem:
        return None, problem
    now = now or _utc_now()
    shown = f"{when:%Y-%m-%d %H:%M} UTC"
    if when <= now:
        return None, (f"{shown} is in the past (it is {now:%Y-%m-%d %H:%M} UTC now); choose a "
                      "later time, or offboard now without `at`")
    if when > now + MAX_AHEAD:
        return None, (f"{shown} is more than a year ahead (the latest is "
                      f"{now + MAX_AHEAD:%Y-%m-%d %H:%M} UTC); schedule it closer to the date")
    return when, None


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored is UTC.
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ScheduledResult(Result):
    """What applying a scheduled plan did: stored job `job_id` to run at `at` (UTC)."""

    def __init__(self, plan: Plan, job_id: int, at: datetime, existing: bool = False):
        rows = [{"step": 1, "action": "schedule", "target": f"{plan.kind} at {iso(at)}",
                 "status": SKIPPED if existing else DONE,
                 "error": f"already scheduled as job {job_id}" if existing else None}]
        super().__init__(f"scheduled {plan.kind}", plan.tenant_id, plan.user, plan.user_id, rows)
        self.job_id, self.at = job_id, at


def schedule(plan: Plan, at, options: dict) -> Plan:
    """Make `plan` a scheduled one: a problem on field "at" when `at` is unusable, else its
    apply() stores a job with `options` (plan_offboarding's keyword arguments)."""
    when, problem = check_at(at)
    plan.parameters["at"] = iso(when) if when else str(at)
    if problem:
        plan.problems.append(Problem("at", problem))
        return plan
    if options.get("reset_password") and options.get("reveal_password"):
        plan.problems.append(Problem("reveal_password", "a scheduled offboarding runs with nobody "
                                     "watching, so its new password cannot be shown; schedule it "
                                     "without reveal_password (the password stays unknown)"))
        return plan
    plan.scheduled_at = when
    stored = {k: v for k, v in options.items() if k != "reveal_password"}
    plan.deferred = lambda p: _store(p, when, stored)
    return plan


def _display_name(m365, tenant_id: str, user_id: str) -> str:
    try:
        return str(m365.resolve_user(tenant_id, user_id).get("display_name") or "")
    except (UserNotFound, ValueError, KeyError):
        return ""       # not synced yet: the listing shows the user principal name


def _store(plan: Plan, when: datetime, options: dict) -> ScheduledResult:
    m365 = plan.m365
    now = _utc_now()
    if when <= now:
        # Planned in time, confirmed too late (a dialog left open): say so, store nothing.
        raise PlanHasProblems(plan.kind, [Problem("at", f"{when:%Y-%m-%d %H:%M} UTC has passed "
                                                  "since this plan was made; plan it again")])
    text = json.dumps(options, sort_keys=True, default=str)
    for job in store.waiting_jobs(m365.store.engine, plan.tenant_id, plan.user_id):
        same_time = _as_utc(job["at"]) == when
        if same_time and job["options"] == text:
            # The same plan applied again (a double click, a resumed bulk row): one job.
            return ScheduledResult(plan, int(job["id"]), when, existing=True)
    action = f"schedule_{plan.kind}"
    detail = {"parameters": plan.parameters, "steps_now": plan.steps.to_dict("records")}
    entry_id = m365.audit(action=action, outcome="started", tenant_id=plan.tenant_id,
                          user=plan.user, detail=detail)
    job_id = store.insert_job(m365.store.engine, {
        "kind": "offboard", "tenant_id": plan.tenant_id, "user_id": plan.user_id,
        "user_principal_name": plan.user,
        "display_name": _display_name(m365, plan.tenant_id, plan.user_id),
        "options": text, "at": when, "created": now,
        "actor": m365.actor.name, "role": m365.actor.role, "status": store.SCHEDULED,
        "attempts": 0, "progress": "[]"})
    m365.audit_finish(entry_id, outcome="done", detail={**detail, "job_id": job_id})
    return ScheduledResult(plan, job_id, when)
