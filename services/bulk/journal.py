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
import sqlalchemy as sa

from ..db import metadata

bulk_jobs = sa.Table(
    "bulk_jobs", metadata,
    sa.Column("job_id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("source", sa.String(500)),
    sa.Column("status", sa.String(16), nullable=False),     # planned | running | finished
    sa.Column("rows", sa.Text),                              # JSON list of row payloads, no passwords
)

bulk_steps = sa.Table(
    "bulk_steps", metadata,
    sa.Column("job_id", sa.String(40), sa.ForeignKey("bulk_jobs.job_id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("row", sa.Integer, nullable=False),
    sa.Column("tenant_id", sa.String(64), nullable=False),
    sa.Column("user", sa.String(320), nullable=False),
    sa.Column("step", sa.String(40), nullable=False),      # create | license | group | role | offboard | update
    sa.Column("target", sa.String(400), nullable=False, default=""),
    sa.Column("status", sa.String(12), nullable=False),    # pending | done | failed | skipped
    sa.Column("error", sa.Text),
    sa.Column("object_id", sa.String(64)),
    sa.Column("updated", sa.DateTime(timezone=True)),
)

STEP_COLUMNS = ["seq", "row", "tenant_id", "user", "step", "target", "status", "error", "object_id"]


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

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def create_job(self, kind: str, actor, source: str | None, rows: list[dict],
                   steps: list[dict]) -> str:
        job_id = f"{_now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
        safe_rows = [{k: v for k, v in r.items() if k != "password"} for r in rows]
        with self.engine.begin() as conn:
            conn.execute(bulk_jobs.insert().values(
                job_id=job_id, kind=kind, created=_now(), actor=actor.name, role=actor.role,
                source=source, status="planned", rows=json.dumps(safe_rows, default=str)))
            if steps:
                conn.execute(bulk_steps.insert(), [
                    {"job_id": job_id, "seq": i, "row": s["row"], "tenant_id": s["tenant_id"],
                     "user": s["user"], "step": s["step"], "target": s.get("target", ""),
                     "status": "pending", "error": None, "object_id": None, "updated": _now()}
                    for i, s in enumerate(steps)])
        return job_id

    def job(self, job_id: str) -> JobRecord:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(bulk_jobs).where(bulk_jobs.c.job_id == job_id)).mappings().first()
        if row is None:
            raise KeyError(f"no bulk job {job_id!r}; `m365dash bulk status` lists recent jobs")
        created = row["created"]
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        return JobRecord(row["job_id"], row["kind"], created, row["actor"], row["role"],
                         row["source"], row["status"], json.loads(row["rows"] or "[]"))

    def jobs(self, limit: int = 20) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(bulk_jobs.c.job_id, bulk_jobs.c.kind, bulk_jobs.c.created,
                                          bulk_jobs.c.actor, bulk_jobs.c.status, bulk_jobs.c.source)
                                .order_by(bulk_jobs.c.created.desc()).limit(limit)).all()
        return pd.DataFrame(rows, columns=["job_id", "kind", "created", "actor", "status", "source"])

    def steps(self, job_id: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*[bulk_steps.c[c] for c in STEP_COLUMNS])
                                .where(bulk_steps.c.job_id == job_id)
                                .order_by(bulk_steps.c.seq)).all()
        return pd.DataFrame(rows, columns=STEP_COLUMNS)

    def set_status(self, job_id: str, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(bulk_jobs.update().where(bulk_jobs.c.job_id == job_id).values(status=status))

    def record(self, job_id: str, outcomes: list[tuple[int, str, str | None, str | None]]) -> None:
        """Store (seq, status, error, object_id) for several steps in one transaction."""
        if not outcomes:
            return
        with self.engine.begin() as conn:
            for seq, status, error, object_id in outcomes:
                values = {"status": status, "error": error, "updated": _now()}
                if object_id:
                    values["object_id"] = object_id
                conn.execute(bulk_steps.update()
                             .where(bulk_steps.c.job_id == job_id, bulk_steps.c.seq == seq)
                             .values(**values))

    def created_by_bulk(self, tenant_id: str, upns: list[str]) -> set[str]:
        """UPNs (lower-case) that an earlier bulk job created: re-running a file converges on them."""
        if not upns:
            return set()
        lowered = [u.lower() for u in upns]
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(lowered), 500):
                chunk = lowered[start:start + 500]
                rows = conn.execute(sa.select(bulk_steps.c.user).where(
                    bulk_steps.c.tenant_id == tenant_id, bulk_steps.c.step == "create",
                    bulk_steps.c.status == "done", sa.func.lower(bulk_steps.c.user).in_(chunk))).all()
                found.update(r[0].lower() for r in rows)
        return found
