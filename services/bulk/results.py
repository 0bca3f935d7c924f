"""What a bulk job did: its per-step results and the file its generated passwords go to.

Shared by `plan.py` (apply() returns a BulkResult) and `jobs.py` (which builds one), so that
neither has to import the other for these types.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..exports import to_csv, write_private

RESULT_COLUMNS = ["row", "user", "step", "target", "outcome", "error"]


class PasswordFile:
    """Appends generated passwords to a file created mode 0600, as soon as each user exists."""

    def __init__(self, path: str | os.PathLike | None):
        self.path = Path(path) if path else None
        self.kept: dict[str, str] = {}
        if self.path and not self.path.exists():
            write_private(self.path, "user_principal_name,password\n")

    def __call__(self, upn: str, password: str) -> None:
        self.kept[upn] = password
        if self.path:
            buf = io.StringIO()
            csv.writer(buf).writerow([upn, password])
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            with os.fdopen(fd, "a", encoding="utf-8", newline="") as fh:
                fh.write(buf.getvalue())
                fh.flush()
                os.fsync(fh.fileno())


@dataclass
class BulkResult:
    job_id: str
    kind: str
    steps: pd.DataFrame                       # RESULT_COLUMNS
    passwords: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not (self.steps["outcome"] == "failed").any()

    @property
    def counts(self) -> dict[str, int]:
        return self.steps["outcome"].value_counts().to_dict()

    @property
    def user_counts(self) -> dict[str, int]:
        """Users (rows of the file) done and failed: a user is failed when any of their steps
        failed, done otherwise. What an operator counts, rather than Graph steps."""
        if self.steps.empty:
            return {"done": 0, "failed": 0}
        failed = self.steps.groupby("row")["outcome"].agg(lambda o: bool((o == "failed").any()))
        return {"done": int((~failed).sum()), "failed": int(failed.sum())}

    def failed(self) -> pd.DataFrame:
        return self.steps[self.steps["outcome"] == "failed"]

    def to_csv(self, path: str | os.PathLike | None = None):
        return to_csv(self.steps, path)

    def __repr__(self) -> str:
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        return f"BulkResult(job {self.job_id}, {self.kind}: {counts or 'nothing to do'})"

    def _repr_html_(self) -> str:
        return f"<p><b>{self.__repr__()}</b></p>" + self.steps.to_html(index=False, max_rows=50)
