"""Bulk changes from CSV: `m365.bulk_onboard(path_or_dataframe)` and friends return a plan."""
from __future__ import annotations

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor

from .csvfile import RowProblem, read_bulk
from .jobs import resume_job, row_plan
from .journal import Journal
from .onboard import plan_steps, prepare
from .plan import BulkPlan, BulkProblems
from .results import BulkResult
from ..workflows.resolve import shared_facts

__all__ = ["BulkMixin", "BulkPlan", "BulkProblems", "BulkResult", "RowProblem"]


PLANNING_THREADS = 4


def _plan_rows(m365, kind: str, rows: list[dict]) -> list:
    """row_plan() of each row, in order, a few at a time; a ValueError is returned in place of
    its plan (the row's problem), any other exception is raised."""
    def one(row):
        try:
            return row_plan(m365, kind, row)
        except ValueError as exc:
            return exc
    if len(rows) < 2:
        return [one(row) for row in rows]
    with ThreadPoolExecutor(max_workers=min(PLANNING_THREADS, len(rows)),
                            thread_name_prefix="bulk-plan") as pool:
        futures = [pool.submit(contextvars.copy_context().run, one, row) for row in rows]
        return [f.result() for f in futures]


def _source_name(source) -> str | None:
    if isinstance(source, (str, os.PathLike)) and "\n" not in str(source):
        return os.path.basename(str(source))
    return None


class BulkMixin:
    """Bulk methods of the `M365` object (needs `graph`, `actor`, `store`, workflows)."""

    @property
    def bulk_journal(self) -> Journal:
        return Journal(self.store.engine)

    def bulk_onboard(self, source) -> BulkPlan:
        """Validate an onboarding CSV (path, text, bytes or DataFrame) and plan its steps."""
        _table, rows, problems = prepare(self, source, kind="onboard")
        labels = {k: v for r in rows for k, v in r.labels.items()}
        typed = {r.row: r.password for r in rows if r.password}
        for r in rows:
            r.password = None   # typed passwords travel separately and never reach the journal
        return BulkPlan(self, "onboard", _source_name(source), rows, problems, plan_steps(rows),
                        labels, typed)

    def bulk_offboard(self, source) -> BulkPlan:
        return self._bulk_rows(source, "offboard")

    def bulk_update(self, source) -> BulkPlan:
        return self._bulk_rows(source, "update")

    def _bulk_rows(self, source, kind: str) -> BulkPlan:
        """Validate an offboarding or update file by planning each row against live state.

        Rows are planned by a few threads sharing each tenant's facts (Graph waits, mostly
        Retry-After under throttling, overlap); problems and steps come out in row order.
        """
        table = read_bulk(source, kind)
        problems = list(table.problems)
        rows, steps, plans = [], [], {}
        if not any(p.row == 1 for p in problems):
            bad = {p.row for p in problems}
            todo = []
            for row in table.rows:
                if row["row"] in bad:
                    continue
                try:
                    tenant_id = self.resolve_tenant(row["tenant"])    # discovery, if any, once
                except ValueError as exc:
                    problems.append(RowProblem(row["row"], table.header_of("tenant"), str(exc)))
                    continue
                todo.append((row, tenant_id))
            with shared_facts():
                planned = _plan_rows(self, kind, [row for row, _ in todo])
            for (row, tenant_id), plan in zip(todo, planned):
                if isinstance(plan, ValueError):
                    problems.append(RowProblem(row["row"], table.header_of("tenant"), str(plan)))
                    continue
                if plan.problems:
                    for p in plan.problems:
                        problems.append(RowProblem(row["row"], table.header_of(p.field), p.message))
                    continue
                rows.append(row)
                plans[row["row"]] = plan
                target = "; ".join(plan.steps["action"].astype(str))
                if row.get("at"):
                    target = f"at {row['at']}: {target}"     # a scheduled job, not a change now
                steps.append({"row": row["row"], "tenant_id": tenant_id, "user": row["user"],
                              "step": kind, "target": target})
        problems.sort(key=lambda p: p.row)
        bulk = BulkPlan(self, kind, _source_name(source), rows, problems, steps, {})
        bulk.keep_row_plans(plans)     # the first apply runs these instead of planning again
        return bulk

    def bulk_resume(self, job_id: str, *, progress=True, on_progress=None, passwords_file=None) -> BulkResult:
        """Finish an interrupted job: only its pending and failed steps run."""
        return resume_job(self, job_id, progress=progress, on_progress=on_progress,
                          passwords_file=passwords_file)

    def bulk_status(self, job_id: str):
        """The journal of one job: every step with its status and error."""
        self.bulk_journal.job(job_id)   # a clear KeyError for an unknown id
        return self.bulk_journal.steps(job_id)

    def bulk_jobs(self, limit: int = 20):
        return self.bulk_journal.jobs(limit)
