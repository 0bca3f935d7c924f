"""The bulk journal: a durable record of every step of a job, written before anything is applied.

Each step is written as `pending` when the job is planned, then moved to `done`, `failed` or
`skipped` as it runs, in its own short transaction. A process killed mid-job therefore leaves a
journal that says exactly what is left, and `resume` runs only that. Rows are stored without
passwords: a typed password never reaches the store.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd
from sqlalchemy.engine import Engine

from ..store import journal as store_journal
from ..store.journal import STEP_COLUMNS


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class JobRecord:
    job_id: str
    kind: str
    created: datetime
    actor: str
    role: str
    source: str | None
    status: str
    rows: list[dict]


class Journal:
    """Reads and writes the bulk journal tables of one store engine."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create_job(self, kind: str, actor, source: str | None, rows: list[dict],
                   steps: list[dict]) -> str:
        job_id = f"{_now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        safe_rows = [{k: v for k, v in r.items() if k != "password"} for r in rows]
        store_journal.insert_job(self.engine, dict(
            job_id=job_id, kind=kind, created=_now(), actor=actor.name, role=actor.role,
            source=source, status="planned", rows=json.dumps(safe_rows, default=str)), [
                {"job_id": job_id, "seq": i, "row": s["row"], "tenant_id": s["tenant_id"],
                 "user": s["user"], "step": s["step"], "target": s.get("target", ""),
                 "status": "pending", "error": None, "object_id": None, "updated": _now()}
                for i, s in enumerate(steps)])
        return job_id

    def job(self, job_id: str) -> JobRecord:
        row = store_journal.job_row(self.engine, job_id)
        if row is None:
            raise KeyError(f"no bulk job {job_id!r}; `m365dash bulk status` lists recent jobs")
        created = row["created"]
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return JobRecord(row["job_id"], row["kind"], created, row["actor"], row["role"],
                         row["source"], row["status"], json.loads(row["rows"] or "[]"))

    def jobs(self, limit: int = 20) -> pd.DataFrame:
        return pd.DataFrame(store_journal.recent_jobs(self.engine, limit),
                            columns=store_journal.JOB_LIST_COLUMNS)

    def steps(self, job_id: str) -> pd.DataFrame:
        return pd.DataFrame(store_journal.step_rows(self.engine, job_id), columns=STEP_COLUMNS)

    def set_status(self, job_id: str, status: str) -> None:
        store_journal.set_job_status(self.engine, job_id, status)

    def record(self, job_id: str, outcomes: list[tuple[int, str, str | None, str | None]]) -> None:
        """Store (seq, status, error, object_id) for several steps in one transaction."""
        if not outcomes:
            return
        updates = []
        for seq, status, error, object_id in outcomes:
            values = {"status": status, "error": error, "updated": _now()}
            if object_id:
                values["object_id"] = object_id
            updates.append((seq, values))
        store_journal.update_steps(self.engine, job_id, updates)

    def created_by_bulk(self, tenant_id: str, upns: list[str]) -> set[str]:
        """UPNs (lower-case) that an earlier bulk job created: re-running a file converges on them."""
        if not upns:
            return set()
        return store_journal.users_with_step(self.engine, tenant_id, [u.lower() for u in upns],
                                             step="create", status="done")
