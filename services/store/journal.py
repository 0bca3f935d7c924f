"""Queries on the bulk journal tables (schema.bulk_jobs, schema.bulk_steps).

services.bulk.journal.Journal decides what a job and its steps hold; these functions store and
read them, each in its own short transaction.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema import bulk_jobs, bulk_steps

STEP_COLUMNS = ["seq", "row", "tenant_id", "user", "step", "target", "status", "error", "object_id"]
JOB_LIST_COLUMNS = ["job_id", "kind", "created", "actor", "status", "source"]
CHUNK = 500       # values per IN (...) list


def insert_job(engine: Engine, job: dict, steps: list[dict]) -> None:
    """One bulk_jobs row and its bulk_steps rows, in one transaction."""
    with engine.begin() as conn:
        conn.execute(bulk_jobs.insert().values(**job))
        if steps:
            conn.execute(bulk_steps.insert(), steps)


def job_row(engine: Engine, job_id: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(bulk_jobs).where(bulk_jobs.c.job_id == job_id)).mappings().first()
    return dict(row) if row is not None else None


def recent_jobs(engine: Engine, limit: int) -> list[tuple]:
    """JOB_LIST_COLUMNS of the newest `limit` jobs, newest first."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(*[bulk_jobs.c[c] for c in JOB_LIST_COLUMNS])
            .order_by(bulk_jobs.c.created.desc()).limit(limit)).all()]


def step_rows(engine: Engine, job_id: str) -> list[tuple]:
    """STEP_COLUMNS of every step of the job, in order."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(*[bulk_steps.c[c] for c in STEP_COLUMNS])
            .where(bulk_steps.c.job_id == job_id).order_by(bulk_steps.c.seq)).all()]


def set_job_status(engine: Engine, job_id: str, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(bulk_jobs.update().where(bulk_jobs.c.job_id == job_id).values(status=status))


def update_steps(engine: Engine, job_id: str, updates: list[tuple[int, dict]]) -> None:
    """Set the values of several steps, (seq, {column: value}), in one transaction."""
    with engine.begin() as conn:
        for seq, values in updates:
            conn.execute(bulk_steps.update()
                         .where(bulk_steps.c.job_id == job_id, bulk_steps.c.seq == seq)
                         .values(**values))


def users_with_step(engine: Engine, tenant_id: str, users: list[str], *, step: str,
                    status: str) -> set[str]:
    """The users among `users` (lower-case) with a `step` step in `status` in the tenant."""
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(users), CHUNK):
            chunk = users[start:start + CHUNK]
            rows = conn.execute(sa.select(bulk_steps.c.user).where(
                bulk_steps.c.tenant_id == tenant_id, bulk_steps.c.step == step,
                bulk_steps.c.status == status, sa.func.lower(bulk_steps.c.user).in_(chunk))).all()
            found.update(r[0].lower() for r in rows)
    return found

