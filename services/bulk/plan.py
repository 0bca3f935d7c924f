"""Bulk plans: what a CSV would do, row by row and step by step (what it did is in results.py)."""
from __future__ import annotations

import os
import time

import pandas as pd

from .csvfile import RowProblem
from .jobs import start_job
from .onboard import problems_frame
from .results import BulkResult

# Offboarding and update rows are validated by planning them against live state. The first
# apply within this many seconds runs those plans instead of planning every row again (each plan
# costs several Graph reads); an older plan, a second apply and a resumed job plan afresh. A
# reused plan is as safe as a fresh one: every step reads the current state before it writes.
PLAN_REUSE_SECONDS = 600.0


class BulkProblems(ValueError):
    """Raised by apply() when rows have problems and skip_invalid was not given."""

    def __init__(self, problems: list[RowProblem]):
        self.problems = problems
        rows = sorted({p.row for p in problems})
        lines = "\n".join(f"  {p}" for p in sorted(problems, key=lambda p: p.row)[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problems in {len(rows)} rows; fix them, or pass "
                         f"skip_invalid=True (--skip-invalid) to apply only the valid rows:\n{lines}{more}")


class BulkPlan:
    """A validated bulk file. `problems` lists every bad row; `steps` what apply() would do."""

    def __init__(self, m365, kind: str, source_name: str | None, rows: list, problems: list[RowProblem],
                 steps: list[dict], labels: dict[str, str], typed_passwords: dict[int, str] | None = None):
        self.m365, self.kind, self.source_name = m365, kind, source_name
        self.rows = rows
        self.problems = problems
        self._steps = steps
        self._labels = labels
        self._typed = typed_passwords or {}
        self._row_plans: dict[int, object] = {}
        self._planned_at = time.monotonic()

    def keep_row_plans(self, plans: dict[int, object]) -> None:
        """Keep the workflow plans validation built, by spreadsheet row, for the first apply."""
        self._row_plans = dict(plans)
        self._planned_at = time.monotonic()

    def take_row_plans(self) -> dict[int, object]:
        """The validated row plans, once, while fresh; empty when they must be planned again."""
        plans, self._row_plans = self._row_plans, {}
        if time.monotonic() - self._planned_at > PLAN_REUSE_SECONDS:
            return {}
        return plans

    @property
    def problems_frame(self) -> pd.DataFrame:
        return problems_frame(self.problems)

    @property
    def steps(self) -> pd.DataFrame:
        return pd.DataFrame([(s["row"], s["user"], s["step"], self._labels.get(s["target"], s["target"]))
                             for s in self._steps], columns=["row", "user", "step", "target"])

    def __repr__(self) -> str:
        return (f"BulkPlan({self.kind}: {len({s['row'] for s in self._steps})} rows to apply, "
                f"{len(self._steps)} steps, {len(self.problems)} problems)")

    def _repr_html_(self) -> str:
        html = f"<p><b>{self.__repr__()}</b></p>"
        if self.problems:
            html += "<p>Problems:</p>" + self.problems_frame.to_html(index=False, max_rows=30)
        return html + self.steps.to_html(index=False, max_rows=30)

    def apply(self, *, skip_invalid: bool = False, progress: bool = True, on_progress=None,
              passwords_file: str | os.PathLike | None = None) -> BulkResult:
        if self.problems and not skip_invalid:
            raise BulkProblems(self.problems)
        return start_job(self, progress=progress, on_progress=on_progress, passwords_file=passwords_file)
