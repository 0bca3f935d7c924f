"""What every page's view model shares: the M365 object, busy/progress state, alerts, and a
plan waiting for the technician's confirmation.

No widgets here: tests drive these classes directly, and the views bind to their parameters.
Actions are plain methods that run to completion; the served app runs button callbacks in
Panel's thread pool (`pn.config.nthreads`), so a long sync or apply never freezes the page,
while tests simply call the method and look at the parameters afterwards.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import pandas as pd
import param

from services.errors import GraphError, M365DashError, PermissionDenied

log = logging.getLogger(__name__)

STEP_COLUMNS = ["step", "action", "target", "detail"]


@dataclass(frozen=True)
class Alert:
    """One message for the page: kind is a Bootstrap alert type (danger, warning, success, info)."""

    kind: str
    text: str


def error_text(exc: BaseException) -> str:
    """A message a technician can act on; secrets never reach our exceptions' text."""
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

    # Set by the served app (views.common.UiThread): parameter changes made on any other thread
    # (a long action in the worker pool, a sync's progress callback) are applied on the
    # session's event-loop thread, where Panel and Bokeh expect them. Bokeh documents are not
    # thread-safe: changes pushed from a worker were sometimes lost (a plan never appeared).
    # Without it (tests, notebooks) changes apply directly.
    _ui = None

    def attach_ui(self, ui) -> None:
        """Route parameter changes made off `ui`'s thread through `ui.call(fn)`."""
        object.__setattr__(self, "_ui", ui)

    def __setattr__(self, name, value):
        ui = self._ui
        if ui is not None and name in type(self).param and not ui.here():
            ui.call(lambda: super(PageViewModel, self).__setattr__(name, value))
        else:
            super().__setattr__(name, value)

    def set(self, **values) -> None:
        """Set several parameters at once (watchers see one batch), on the UI thread if any."""
        ui = self._ui
        if ui is not None and not ui.here():
            ui.call(lambda: self.param.update(**values))
        else:
            self.param.update(**values)

    def may(self, action: str) -> bool:
        """Whether the acting user's role allows `action` (services check again on apply)."""
        actor = getattr(self.m365, "actor", None)
        return bool(actor and actor.may(action))

    def alert(self, kind: str, text: str) -> None:
        self.alerts = [*self.alerts, Alert(kind, text)]

    def clear_alerts(self) -> None:
        self.alerts = []

    def run_task(self, label: str, work: Callable[[], object]) -> object | None:
        """Run `work` with busy/status set; a failure becomes a danger alert naming `label`."""
        self.busy, self.status, self.progress = True, f"{label}…", 0
        try:
            result = work()
        except Exception as exc:  # noqa: BLE001 - every failure must reach the page as an alert
            log.warning("%s failed: %s", label, exc, exc_info=not isinstance(exc, M365DashError))
            self.alert("danger", f"{label} failed: {error_text(exc)}")
            self.status = f"{label} failed"
            return None
        finally:
            self.busy, self.progress = False, -1
        self.status = f"{label}: done"
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

    def propose(self, plan, title: str, on_apply: Callable) -> bool:
        """Show `plan` for confirmation; False (and problems set) when it may not be applied."""
        self.problems = {}
        for p in plan.problems:
            self.problems = {**self.problems, p.field: (self.problems.get(p.field, "") + " " + p.message).strip()}
        if plan.problems:
            self.discard()
            lines = "; ".join(f"{f}: {m}" for f, m in self.problems.items())
            self.alert("danger", f"Nothing was changed. Please fix: {lines}")
            return False
        self._plan, self._on_apply = plan, on_apply
        self.pending_warnings = [str(w) for w in getattr(plan, "warnings", [])]
        self.pending_steps = plan.steps.reset_index(drop=True)
        self.pending_title = title
        return True

    def discard(self) -> None:
        """Drop the pending plan without applying anything."""
        self._plan, self._on_apply = None, None
        self.pending_title = ""
        self.pending_steps = pd.DataFrame(columns=STEP_COLUMNS)
        self.pending_warnings = []

    def confirm(self) -> object | None:
        """Apply the pending plan; failed steps become alerts naming the step."""
        plan, on_apply = self._plan, self._on_apply
        if plan is None:
            return None
        self.discard()
        result = self.run_task(self._apply_label(plan), plan.apply)
        if result is None:
            return None
        self.last_result = getattr(result, "steps", None)
        # The page reloads what changed before it says "done", so a technician (or a test)
        # acting on the success message acts on the refreshed form.
        if on_apply is not None:
            on_apply(result)
        if getattr(result, "ok", True):
            self.alert("success", f"{self._apply_label(plan)}: every step done.")
        else:
            for row in result.failed().itertuples():
                self.alert("danger", f"Step {row.step} ({row.action} {row.target}) failed: {row.error}")
        self._reported(result)
        return result

    def _reported(self, result) -> None:
        """Runs after an apply's outcome is in `alerts` (a page may close only then)."""

    @staticmethod
    def _apply_label(plan) -> str:
        kind = getattr(plan, "kind", "change")
        user = getattr(plan, "user", "") or ""
        return f"{kind.capitalize()} {user}".strip()
