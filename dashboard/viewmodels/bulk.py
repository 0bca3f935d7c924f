"""Bulk: upload a CSV, see its plan (problems by row and column, the steps), apply it with
progress, download the results. Built on `m365.bulk_onboard / bulk_offboard / bulk_update`."""
from __future__ import annotations

from functools import partial

import pandas as pd
import param

from services.exports import to_csv

from .base import PageViewModel, error_text

KINDS = {"Onboard": "onboard", "Offboard": "offboard", "Update": "update"}
PROBLEM_COLUMNS = ["row", "column", "problem"]
STEP_COLUMNS = ["row", "user", "step", "target"]
RESULT_COLUMNS = ["row", "user", "step", "target", "outcome", "error"]
# The first columns of each kind's template (the admin center's bulk-add headers for onboard).
TEMPLATES = {
    "onboard": ["Tenant", "User Name", "First Name", "Last Name", "Display Name", "Job Title",
                "Department", "Usage Location", "Licenses", "Groups", "Roles", "Manager"],
    "offboard": ["Tenant", "User", "Delete", "Remove Licenses", "Remove Groups", "Remove Roles",
                 "Block Sign-in", "Revoke Sessions", "Reset Password"],
    "update": ["Tenant", "User", "Department", "Job Title", "Add Licenses", "Remove Licenses",
               "Add Groups", "Remove Groups"],
}


# One example row per template: a tenant by its domain, lists separated by ';', yes/no toggles.
EXAMPLES = {
    "onboard": ["contoso.com", "jane.doe@contoso.com", "Jane", "Doe", "Jane Doe", "Accountant",
                "Finance", "US", "Microsoft 365 Business Premium", "Finance; All Company", "",
                "john.smith@contoso.com"],
    "offboard": ["contoso.com", "jane.doe@contoso.com", "no", "yes", "yes", "yes", "yes", "yes",
                 "no"],
    "update": ["contoso.com", "jane.doe@contoso.com", "Finance", "Senior Accountant",
               "Microsoft 365 E3", "Microsoft 365 Business Premium", "Finance Leads", ""],
}


class BulkViewModel(PageViewModel):
    """State and actions of the Bulk page."""

    kind = param.Selector(default="onboard", objects=KINDS, doc="What the file does: onboard, "
                          "offboard or update users.")
    file_name = param.String(default="", doc="Name of the uploaded file.")
    problems = param.DataFrame(default=pd.DataFrame(columns=PROBLEM_COLUMNS), doc="Every problem "
                               "in the file by spreadsheet row and column; those rows are not applied.")
    steps = param.DataFrame(default=pd.DataFrame(columns=STEP_COLUMNS), doc="What applying the "
                            "valid rows would do, row by row.")
    skip_invalid = param.Boolean(default=False, doc="Apply the valid rows even when other rows "
                                                    "have problems.")
    results = param.DataFrame(default=None, allow_None=True, doc="Per-step outcome of the last "
                              "apply (row, user, step, target, outcome, error).")
    job_id = param.String(default="", doc="Journal id of the last job (m365dash bulk status ID).")
    passwords = param.Dict(default={}, doc="Generated passwords of the last onboarding, by user "
                                           "principal name; offered once as a download.")

    def __init__(self, **params):
        super().__init__(**params)
        self._plan = None

    @property
    def available(self) -> bool:
        """False when this build's services have no bulk methods."""
        return all(hasattr(self.m365, f"bulk_{k}") for k in KINDS.values())

    @param.depends("kind", watch=True)
    def _kind_changed(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._plan = None
        self.param.update(file_name="", problems=pd.DataFrame(columns=PROBLEM_COLUMNS),
                          steps=pd.DataFrame(columns=STEP_COLUMNS), results=None, job_id="",
                          passwords={})

    def template_csv(self) -> str:
        """The kind's columns with one example row to write over."""
        return to_csv(pd.DataFrame([EXAMPLES[self.kind]], columns=TEMPLATES[self.kind]))

    async def upload(self, content: bytes | str, file_name: str = "upload.csv") -> bool:
        """Read and plan the file; problems and steps show what would happen."""
        self.reset()
        self.clear_alerts()
        if not self.available:
            self.alert("danger", "The bulk service is not available in this installation.")
            return False
        self.file_name = file_name
        method = getattr(self.m365, f"bulk_{self.kind}")
        # Bytes, never a str: the service reads a one-line str as a file path.
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        plan = await self.run_task(f"Reading {file_name}", method, data)
        if plan is None:
            return False
        self._plan = plan
        self.problems = plan.problems_frame if hasattr(plan, "problems_frame") else \
            pd.DataFrame([(p.row, p.column, p.message) for p in plan.problems], columns=PROBLEM_COLUMNS)
        self.steps = plan.steps
        if plan.problems:
            self.alert("warning", f"{len(plan.problems)} problem(s) in {self.problems['row'].nunique()} "
                                  "row(s): fix the file, or apply only the valid rows.")
        return True

    @param.depends("busy", "steps", "problems", "skip_invalid", "results")
    def apply_blockers(self) -> list[str]:
        out = []
        if self.busy:
            out.append("a job is running")
        if self._plan is None:
            out.append("upload a CSV file first")
        elif self.results is not None:
            out.append("this file was applied; upload it again to re-check")
        elif len(self.steps) == 0:
            out.append("no valid row to apply")
        elif len(self.problems) and not self.skip_invalid:
            out.append("some rows have problems: fix them or tick 'apply only the valid rows'")
        if not self.may("bulk"):
            out.append("your role may not run bulk jobs")
        return out

    async def apply(self) -> bool:
        """Run the job with progress; the results table says what happened per step."""
        if self.apply_blockers():
            self.alert("warning", "Cannot apply: " + "; ".join(self.apply_blockers()))
            return False

        def on_progress(done: int, total: int) -> None:
            self.report(progress=int(100 * done / total) if total else 100,
                        status=f"{done} of {total} steps")

        result = await self.run_task("Bulk job", partial(
            self._plan.apply, skip_invalid=self.skip_invalid, progress=False,
            on_progress=on_progress))
        if result is None:
            return False
        self.results = result.steps
        self.job_id = str(getattr(result, "job_id", ""))
        self.passwords = dict(getattr(result, "passwords", {}) or {})
        people = result.user_counts
        counts = (f"{people['done']:,} user{'s' if people['done'] != 1 else ''} done, "
                  f"{people['failed']:,} failed")
        if people["failed"]:
            counts += " (the results below say which step failed and why)"
        self.alert("success" if result.ok else "danger", f"Bulk job {self.job_id}: {counts}.")
        return bool(result.ok)

    def results_csv(self) -> str:
        return to_csv(self.results if self.results is not None else pd.DataFrame(columns=RESULT_COLUMNS))

    def passwords_csv(self) -> str:
        """The generated passwords, once: they are cleared from this page after the download."""
        text = to_csv(pd.DataFrame(sorted(self.passwords.items()),
                                   columns=["user_principal_name", "password"]))
        self.passwords = {}
        return text


__all__ = ["BulkViewModel", "KINDS", "error_text"]
