"""Plans and results: the apply engine shared by every user workflow.

A workflow validates its input against live tenant state and returns a `Plan`: the problems that
stop it, warnings that do not, and the Graph steps it would run. `apply()` checks the actor's role
(a refusal is audited as denied), runs the steps in order and returns a `Result` saying per step
done / skipped / failed and why. Every step checks the current state before writing, so applying
the same plan again does only what is still missing. A step whose prerequisite failed is skipped
with that reason; the steps that succeeded stay reported as done.
"""
from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from .. import audit as _audit
from ..access import feature_refusal
from ..permissions import step_feature
from ..errors import GraphError, M365DashError, PermissionDenied
from ..graph import BatchResponse, TenantGraph

log = logging.getLogger(__name__)

DONE, SKIPPED, FAILED = "done", "skipped", "failed"
PLAN_COLUMNS = ["step", "action", "target", "detail"]
RESULT_COLUMNS = ["step", "action", "target", "status", "error"]


@dataclass(frozen=True)
class Problem:
    """Why a plan may not be applied: the field at fault and what to do about it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class PlanHasProblems(M365DashError, ValueError):
    """apply() on a plan with problems: nothing was written."""

    def __init__(self, kind: str, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"this {kind} plan has {len(self.problems)} problem(s) and was not "
                         f"applied; nothing was changed. Fix them and plan again:\n{lines}")


@dataclass
class Outcome:
    status: str
    error: str | None = None     # the failure, or why the step was skipped
    blocked: bool = False        # skipped because a step it needs failed (or was blocked)


def done(note: str | None = None) -> Outcome:
    return Outcome(DONE, note)


def skipped(reason: str) -> Outcome:
    return Outcome(SKIPPED, reason)


def graph_failure(exc: GraphError) -> str:
    """A step's error text: Graph's code and message, with the request-id for a support ticket."""
    text = " ".join(str(p) for p in (exc.status, exc.code) if p)
    text = f"{text}: {exc.graph_message}" if text else str(exc.graph_message)
    return f"{text} (request-id {exc.request_id})" if exc.request_id else text


@dataclass
class ApplyContext:
    """What steps share during one apply: the tenant's client and the user being changed."""

    client: TenantGraph
    plan: "Plan"
    user_id: str | None = None
    password: str | None = None                   # generated during this apply; handed over once
    temporary_access_pass: str | None = None      # created during this apply; handed over once
    cache: dict[str, Any] = field(default_factory=dict)


@dataclass
class Step:
    """One Graph change. Either `run` (one call) or `request` + `accept` (sent through $batch).

    `run(ctx)` checks the current state, writes if needed and returns an Outcome (raising a
    GraphError means failed). `request(ctx)` returns the $batch request, or an Outcome when there
    is nothing to do; `accept(ctx, response)` turns the answer into an Outcome.
    """

    action: str
    target: str
    detail: str = ""
    run: Callable[[ApplyContext], Outcome] | None = None
    request: Callable[[ApplyContext], dict | Outcome] | None = None
    accept: Callable[[ApplyContext, BatchResponse], Outcome] | None = None
    after: tuple[int, ...] = ()                    # numbers of the steps this one needs
    number: int = 0
    # The services.permissions feature it uses (None: found from `action`), checked when the
    # step is added so a tenant that lacks the permission refuses the plan before any write.
    feature: str | None = None

    @property
    def label(self) -> str:
        return f"step {self.number} ({self.action} {self.target})"


class Result:
    """What an apply did. `password` holds a generated password, once; it is never in repr."""

    def __init__(self, kind: str, tenant_id: str, user: str, user_id: str | None,
                 rows: list[dict], password: str | None = None, audit_error: str | None = None,
                 temporary_access_pass: str | None = None):
        self.kind, self.tenant_id, self.user, self.user_id = kind, tenant_id, user, user_id
        self.steps = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        self.password = password
        # A Temporary Access Pass for first sign-in, only here (never in repr, logs or store).
        self.temporary_access_pass = temporary_access_pass
        self.audit_error = audit_error

    @property
    def ok(self) -> bool:
        return not (self.steps["status"] == FAILED).any()

    @property
    def counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.steps["status"].value_counts().items()}

    def failed(self) -> pd.DataFrame:
        return self.steps[self.steps["status"] == FAILED]

    def __repr__(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items())) or "no steps"
        head = f"Result({self.kind} {self.user or '-'}: {'ok' if self.ok else 'FAILED STEPS'}; {counts}"
        if self.password:
            head += "; a generated password is in .password"
        if self.temporary_access_pass:
            head += "; a Temporary Access Pass is in .temporary_access_pass"
        lines = [head + ")"]
        for row in self.steps.itertuples():
            reason = f" - {row.error}" if row.error else ""
            lines.append(f"  {row.step}. {row.action} {row.target}: {row.status}{reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = "green" if self.ok else "#b00020"
        head = (f"<p><b>{html.escape(self.kind)}</b> {html.escape(self.user or '')}: "
                f"<span style='color:{colour}'>{'ok' if self.ok else 'some steps failed'}</span>")
        if self.password:
            head += " (a generated password is in <code>.password</code>; it is shown nowhere else)"
        if self.temporary_access_pass:
            head += (" (a Temporary Access Pass is in <code>.temporary_access_pass</code>; it is "
                     "shown nowhere else)")
        return head + "</p>" + self.steps.fillna("").to_html(index=False)


class Plan:
    """A validated change, shown before anything is written. See the module docstring."""

    def __init__(self, m365, *, kind: str, permission: str, tenant_id: str | None, user: str,
                 parameters: dict, steps: list[Step] | None = None,
                 problems: list[Problem] | None = None, warnings: list[Problem] | None = None,
                 user_id: str | None = None,
                 before_apply: Callable[[ApplyContext], None] | None = None,
                 reveal_password: bool = True):
        self.m365 = m365
        self.kind, self.permission = kind, permission
        self.tenant_id, self.user, self.user_id = tenant_id, user, user_id
        self.parameters = parameters
        self.problems: list[Problem] = list(problems or [])
        self.warnings: list[Problem] = list(warnings or [])
        # What the user has now (licenses with their source, groups, roles), for forms to list.
        self.current: dict[str, pd.DataFrame] = {}
        self._steps: list[Step] = []
        for step in steps or []:
            self.add(step)
        self._before_apply = before_apply
        self._reveal_password = reveal_password
        # "started" audit entries of interrupted applies whose work this plan takes over.
        self.supersedes: list[int] = []
        # Set for a plan to run later (a scheduled offboarding): apply() checks the role and the
        # problems, then hands the plan to this instead of writing to Graph.
        self.deferred: Callable[["Plan"], "Result"] | None = None
        self.scheduled_at = None          # its time (UTC datetime) when it is a scheduled plan
        # Told each step's outcome as soon as it is known (a scheduled job records its progress,
        # so a takeover after a crash does not repeat finished steps).
        self.on_step: Callable[[Step, Outcome], None] | None = None

    def add(self, step: Step) -> int:
        step.number = len(self._steps) + 1
        self._steps.append(step)
        self._check_access(step)
        return step.number

    def _check_access(self, step: Step) -> None:
        """A problem when the tenant's access switches this step's feature off (one rule:
        services.access.feature_refusal), said once per feature."""
        feature = step.feature or step_feature(step.action)
        if feature is None or not self.tenant_id:
            return
        refused = getattr(self, "_refused", None)
        if refused is None:
            refused = self._refused = {}
        if feature not in refused:
            refused[feature] = feature_refusal(self.m365, self.tenant_id, feature)
            if refused[feature]:
                self.problems.append(Problem(step.action, refused[feature]))

    @property
    def steps(self) -> pd.DataFrame:
        return pd.DataFrame([(s.number, s.action, s.target, s.detail) for s in self._steps],
                            columns=PLAN_COLUMNS)

    def skip(self, numbers, reason: str) -> None:
        """Report these steps as skipped with `reason` instead of running them (work that an
        interrupted apply of the same change already finished)."""
        wanted = {int(n) for n in numbers}
        for step in self._steps:
            if step.number in wanted:
                step.run = lambda _ctx, why=reason: skipped(why)
                step.request = step.accept = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.kind} {self.user or '-'} in tenant "
                 f"{self.tenant_id or '?'}: {len(self._steps)} steps, {len(self.problems)} problems)"]
        lines += [f"  problem  {p}" for p in self.problems]
        lines += [f"  warning  {w}" for w in self.warnings]
        lines += [f"  {s.number}. {s.action} {s.target}" + (f" ({s.detail})" if s.detail else "")
                  for s in self._steps]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        out = [f"<p><b>{html.escape(self.kind)}</b> {html.escape(self.user or '')} "
               f"(tenant {html.escape(self.tenant_id or '?')})</p>"]
        for title, items, colour in (("Problems (nothing can be applied)", self.problems, "#b00020"),
                                     ("Warnings", self.warnings, "#8a6d00")):
            if items:
                out.append(f"<p style='color:{colour}'><b>{title}</b></p><ul>")
                out += [f"<li><b>{html.escape(p.field)}</b>: {html.escape(p.message)}</li>" for p in items]
                out.append("</ul>")
        out.append(self.steps.to_html(index=False))
        return "".join(out)

    # -- applying -------------------------------------------------------------------------------

    def apply(self, *, refresh_store: bool = True) -> Result:
        """Run the steps. Raises PermissionDenied (audited) or PlanHasProblems (nothing written).

        The tenant is synced into the store afterwards, so listings show the change; a caller
        applying many plans (a bulk job) passes refresh_store=False and syncs once at the end.
        """
        m365 = self.m365
        actor = m365.actor
        try:
            actor.require(self.permission)
        except PermissionDenied:
            m365.audit(action=self.kind, outcome="denied", tenant_id=self.tenant_id or "",
                       user=self.user, detail={"parameters": self.parameters,
                                               "needs": self.permission})
            raise
        if self.problems:
            raise PlanHasProblems(self.kind, self.problems)
        if self.deferred is not None:
            return self.deferred(self)
        # Written before the first write, so a process killed mid-apply leaves the plan it was
        # running in the audit log; the entry written at the end says how it went.
        started_detail = {"parameters": self.parameters, "steps": self.steps.to_dict("records")}
        if self.supersedes and self.user_id:
            # This entry carries the user it takes over, so a crash of this apply too leaves
            # it resumable; the entries it takes over are closed now, pointing at it.
            started_detail["user_id"] = self.user_id
        entry_id = m365.audit(action=self.kind, outcome="started", tenant_id=self.tenant_id or "",
                              user=self.user, detail=started_detail)
        if self.supersedes:
            _audit.supersede(m365.store.engine, self.supersedes, by_entry=entry_id)
            self.supersedes = []
        ctx = ApplyContext(m365.graph.tenant(self.tenant_id), self, user_id=self.user_id)
        outcomes: dict[int, Outcome] = {}
        if self._before_apply:
            self._before_apply(ctx)
        pending = list(self._steps)
        while pending:
            step = pending.pop(0)
            if step.request is None:
                outcomes[step.number] = self._run_one(ctx, step, outcomes)
                self._tell(step, outcomes[step.number])
                if ctx.user_id and ctx.user_id != self.user_id:
                    # The user exists now: remember it here and in the audit entry, so a re-apply
                    # (or a new plan after a crash) takes it over instead of creating another.
                    self.user_id = ctx.user_id
                    m365.audit_finish(entry_id, outcome="started",
                                      detail={**started_detail, "user_id": ctx.user_id})
                continue
            group = [step]
            while pending and pending[0].request is not None:
                group.append(pending.pop(0))
            outcomes.update(self._run_batched(ctx, group, outcomes))
            for member in group:
                self._tell(member, outcomes[member.number])
        if ctx.user_id:
            self.user_id = ctx.user_id          # a re-apply finds the user this plan created
        rows = [{"step": s.number, "action": s.action, "target": s.target,
                 "status": outcomes[s.number].status, "error": outcomes[s.number].error}
                for s in self._steps]
        audit_error = self._audit(rows, entry_id)
        if any(s.feature == "exchange" for s in self._steps):
            # Exchange has no delta: the next sync (this refresh, or a bulk job's at its end)
            # reads the mailboxes again.
            self.m365.store.mark_stale(self.tenant_id, "mailboxes")
        if refresh_store:
            self._refresh_store()
        password = ctx.password if self._reveal_password else None
        return Result(self.kind, self.tenant_id, self.user, ctx.user_id, rows, password, audit_error,
                      temporary_access_pass=ctx.temporary_access_pass)

    def _tell(self, step: Step, outcome: Outcome) -> None:
        if self.on_step is not None:
            self.on_step(step, outcome)

    @staticmethod
    def _blocked(step: Step, outcomes: dict[int, Outcome], steps: list[Step]) -> Outcome | None:
        for number in step.after:
            prior = outcomes.get(number)
            if prior is not None and (prior.status == FAILED or prior.blocked):
                name = next(s.label for s in steps if s.number == number)
                why = "failed" if prior.status == FAILED else "was not run"
                return Outcome(SKIPPED, f"not run: {name} {why}", blocked=True)
        return None

    def _run_one(self, ctx: ApplyContext, step: Step, outcomes: dict[int, Outcome]) -> Outcome:
        blocked = self._blocked(step, outcomes, self._steps)
        if blocked:
            return blocked
        try:
            return step.run(ctx) if step.run else done()
        except GraphError as exc:
            log.warning("%s %s failed: %s", self.kind, step.label, exc)
            return Outcome(FAILED, graph_failure(exc))
        except Exception as exc:  # noqa: BLE001 - one step's bug must not hide the other steps
            log.exception("%s %s raised unexpectedly", self.kind, step.label)
            return Outcome(FAILED, f"{type(exc).__name__}: {exc}")

    def _run_batched(self, ctx: ApplyContext, group: list[Step],
                     outcomes: dict[int, Outcome]) -> dict[int, Outcome]:
        results: dict[int, Outcome] = {}
        sendable: list[tuple[Step, dict]] = []
        for step in group:
            blocked = self._blocked(step, outcomes, self._steps)
            if blocked:
                results[step.number] = blocked
                continue
            try:
                req = step.request(ctx)
            except GraphError as exc:
                results[step.number] = Outcome(FAILED, graph_failure(exc))
                continue
            if isinstance(req, Outcome):
                results[step.number] = req
            else:
                sendable.append((step, req))
        if not sendable:
            return results
        try:
            answers = ctx.client.batch([req for _, req in sendable])
        except GraphError as exc:
            log.warning("%s: $batch of %d steps failed: %s", self.kind, len(sendable), exc)
            results.update({s.number: Outcome(FAILED, graph_failure(exc)) for s, _ in sendable})
            return results
        for (step, _req), answer in zip(sendable, answers):
            results[step.number] = step.accept(ctx, answer)
        return results

    def _audit(self, rows: list[dict], entry_id: int) -> str | None:
        statuses = {r["status"] for r in rows}
        if FAILED not in statuses:
            outcome = "done"
        elif DONE in statuses:
            outcome = "partial"
        else:
            outcome = "failed"
        detail = {"parameters": self.parameters, "user_id": self.user_id,
                  "warnings": [str(w) for w in self.warnings],
                  "steps": [{k: r[k] for k in ("step", "action", "target", "status", "error")}
                            for r in rows]}
        try:
            self.m365.audit_finish(entry_id, outcome=outcome, detail=detail)
        except SQLAlchemyError as exc:
            # The changes are made and the result (maybe a password) must reach the caller:
            # report the lost audit entry instead of raising it away.
            log.error("audit entry for %s of %s could not be written: %s", self.kind, self.user, exc)
            return f"the audit entry could not be written: {type(exc).__name__}"
        return None

    def _refresh_store(self) -> None:
        sync = getattr(self.m365, "sync_tenant", None)
        if sync is None:
            return
        try:
            sync(self.tenant_id)
        except Exception as exc:  # noqa: BLE001 - the change stands; the next scheduled sync catches up
            log.warning("store refresh after %s failed for tenant %s: %s", self.kind,
                        self.tenant_id, exc)
