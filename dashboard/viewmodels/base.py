"""What every page's view model shares: the M365 object, busy/progress state, alerts, and a
plan waiting for the technician's confirmation.

No widgets here: tests drive these classes directly, and the views bind to their parameters.
Actions that call Graph (plan, apply, sync, bulk) are coroutines: the blocking work runs in a
worker thread (`asyncio.to_thread`) while the page stays responsive, and every parameter change
happens on the caller's event loop: the session's, when served (Panel runs async callbacks there
under the document lock), or `asyncio.run`'s in a test or notebook.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial
from typing import Callable

import pandas as pd
import param

from services.errors import GraphError, M365DashError, PermissionDenied, UserNotFound

log = logging.getLogger(__name__)

STEP_COLUMNS = ["step", "action", "target", "detail"]


@dataclass(frozen=True)
class Alert:
    """One message for the page: kind is a Bootstrap alert type (danger, warning, success, info)."""

    kind: str
    text: str


# How the pages name the fields and options that plans report problems on (Problem.field).
FIELD_LABELS = {
    "tenant": "Tenant", "user": "User", "given_name": "First name", "surname": "Last name",
    "display_name": "Display name", "username": "Username", "domain": "Domain",
    "user_principal_name": "Sign-in name", "password": "Password",
    "usage_location": "Usage location", "job_title": "Job title", "department": "Department",
    "office_location": "Office", "business_phone": "Business phone",
    "mobile_phone": "Mobile phone", "manager": "Manager", "licenses": "Licenses",
    "add_licenses": "Licenses to add", "remove_licenses": "Licenses to remove",
    "groups": "Groups", "add_groups": "Groups to add", "remove_groups": "Groups to remove",
    "roles": "Directory roles", "add_roles": "Roles to add", "remove_roles": "Roles to remove",
    "changes": "Changes", "options": "Options", "delete": "Delete User",
}


def field_label(field: str) -> str:
    """The label a technician sees for a plan's problem field (never the Python name)."""
    return FIELD_LABELS.get(field, field.replace("_", " ").capitalize())


def error_text(exc: BaseException) -> str:
    """A message a technician can act on; secrets never reach our exceptions' text."""
    if isinstance(exc, UserNotFound):
        # The services' message is written for notebooks (it names Python calls).
        return ("This user is not in the tenant any more: deleted, or not synced yet. A deleted "
                "user can be restored from the Activity page for 30 days.")
    if isinstance(exc, PermissionDenied):
        return f"Permission denied: {exc}"
    if isinstance(exc, GraphError):
        return f"Microsoft Graph refused the request: {exc}"
    if isinstance(exc, (M365DashError, ValueError, KeyError, LookupError)):
        return str(exc).strip("'\"")
    return f"{type(exc).__name__}: {exc}"


class PageViewModel(param.Parameterized):
    """Base of the page view models: state shared by every page."""

    m365 = param.Parameter(default=None, doc="The services M365 object this page reads (store) "
                                             "and writes (workflows) through.")
    busy = param.Boolean(default=False, doc="True while a sync or an apply runs; action buttons "
                                            "are disabled meanwhile.")
    progress = param.Integer(default=-1, bounds=(-1, 100), doc="Percent done of the running task; "
                                                              "-1 when nothing is running.")
    status = param.String(default="", doc="One line on the running or last task.")
    alerts = param.List(default=[], item_type=Alert, doc="Messages to show on the page, newest last.")

    def report(self, **values) -> None:
        """Set parameters from a worker thread (a sync's or a bulk job's progress callback).

        In a served session this schedules the change on the session's event loop under the
        document lock (Panel's `pn.state.execute`; the worker inherits the session's document
        through `asyncio.to_thread`'s context); without a server it applies at once."""
        from panel.io.state import state
        state.execute(partial(self.param.update, **values))

    def may(self, action: str) -> bool:
        """Whether the acting user's role allows `action` (services check again on apply)."""
        actor = getattr(self.m365, "actor", None)
        return bool(actor and actor.may(action))

    def alert(self, kind: str, text: str) -> None:
        self.alerts = [*self.alerts, Alert(kind, text)]

    def clear_alerts(self) -> None:
        self.alerts = []

    async def run_task(self, label: str, work: Callable, *args) -> object | None:
        """Run the blocking `work(*args)` (Graph calls, a sync, an apply) in a worker thread
        while the page shows it busy; a failure becomes a danger alert naming `label`.

        Every parameter change here happens on the caller's event loop; `work` reports progress
        through `report()` only."""
        self.param.update(busy=True, status=f"{label}…", progress=0)
        try:
            result = await asyncio.to_thread(work, *args)
        except Exception as exc:  # noqa: BLE001 - every failure must reach the page as an alert
            log.warning("%s failed: %s", label, exc, exc_info=not isinstance(exc, M365DashError))
            self.param.update(busy=False, progress=-1, status=f"{label} failed")
            self.alert("danger", f"{label} failed: {error_text(exc)}")
            return None
        self.param.update(busy=False, progress=-1, status=f"{label}: done")
        return result


class PlanViewModel(PageViewModel):
    """A page that writes: a plan is shown before anything is written, applied on `confirm()`.

    `propose(plan, title, on_apply)` shows the steps (or the
    problems, field by field, when the plan may not be applied); `confirm()` applies it.
    """

    pending_title = param.String(default="", doc="What the pending plan does, e.g. 'Create "
                                                 "jane@contoso.com'; empty when none is pending.")
    pending_steps = param.DataFrame(default=pd.DataFrame(columns=STEP_COLUMNS), doc="The Graph "
                                    "steps the pending plan would run, in order.")
    pending_warnings = param.List(default=[], doc="Warnings of the pending plan (they do not stop it).")
    problems = param.Dict(default={}, doc="Field name -> message for the last plan's problems; "
                                          "shown next to the field at fault.")
    last_result = param.DataFrame(default=None, allow_None=True, doc="Per-step outcome of the "
                                  "last apply: step, action, target, status, error.")

    _plan = None
    _on_apply: Callable | None = None

    @property
    def has_pending(self) -> bool:
        return self._plan is not None

    async def plan_task(self, label: str, make_plan: Callable, *args, **kwargs):
        """Build a plan (it reads Graph) in a worker thread; None when building it failed."""
        return await self.run_task(label, partial(make_plan, *args, **kwargs))

    def propose(self, plan, title: str, on_apply: Callable) -> bool:
        """Show `plan` for confirmation; False (and problems set) when it may not be applied."""
        problems: dict[str, str] = {}
        for p in plan.problems:
            problems[p.field] = (problems.get(p.field, "") + " " + p.message).strip()
        self.problems = problems
        if plan.problems:
            self.discard()
            lines = "; ".join(f"{field_label(f)}: {m}" for f, m in problems.items())
            self.alert("danger", f"Nothing was changed. Please fix: {lines}")
            return False
        self._plan, self._on_apply = plan, on_apply
        self.param.update(pending_warnings=[w.message if hasattr(w, "message") else str(w)
                                            for w in getattr(plan, "warnings", [])],
                          pending_steps=plan.steps.reset_index(drop=True), pending_title=title)
        return True

    def discard(self) -> None:
        """Drop the pending plan without applying anything."""
        self._plan, self._on_apply = None, None
        self.param.update(pending_title="", pending_steps=pd.DataFrame(columns=STEP_COLUMNS),
                          pending_warnings=[])

    async def confirm(self) -> object | None:
        """Apply the pending plan; failed steps become alerts naming the step."""
        plan, on_apply = self._plan, self._on_apply
        if plan is None:
            return None
        self.discard()
        result = await self.run_task(self._apply_label(plan), plan.apply)
        if result is None:
            return None
        self.last_result = getattr(result, "steps", None)
        # The page reloads what changed before it says "done", so a technician (or a test)
        # acting on the success message acts on the refreshed form.
        if on_apply is not None:
            on_apply(result)
        if getattr(result, "ok", True):
            # An earlier failure on this page is answered by this success: drop its alert.
            self.alerts = [a for a in self.alerts if a.kind != "danger"]
            self.alert("success", self.success_text(plan, result))
        else:
            for row in result.failed().itertuples():
                self.alert("danger", f"Step {row.step} ({row.action} {row.target}) failed: {row.error}")
        self._reported(result)
        return result

    def _reported(self, result) -> None:
        """Runs after an apply's outcome is in `alerts` (a page may close only then)."""

    def success_text(self, plan, result) -> str:
        """What the page says after every step of `plan` succeeded."""
        return f"{self._apply_label(plan)}: every step done."

    @staticmethod
    def _apply_label(plan) -> str:
        kind = getattr(plan, "kind", "change")
        user = getattr(plan, "user", "") or ""
        return f"{kind.capitalize()} {user}".strip()
