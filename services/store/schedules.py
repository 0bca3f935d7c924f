"""Queries on the scheduled jobs table (schema.scheduled_jobs); services.schedules runs them.

Claiming is the part that must be exactly-once across processes. On PostgreSQL `claim()` selects
one due job `FOR UPDATE SKIP LOCKED` (a second runner skips the row instead of waiting for it or
taking it too) and moves it to "running" in the same transaction. SQLite has no row locks, but
it has one writer at a time: a conditional UPDATE (still due, same status and attempt count) is
atomic there, and its rowcount says who won. Every later
write of a running job names the runner that claimed it, so a runner whose lease was taken over
cannot overwrite the new owner's outcome.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema import ensure_tables
from .schema import scheduled_jobs as t

SCHEDULED, RUNNING, CANCELLED = "scheduled", "running", "cancelled"


def insert_job(engine: Engine, row: dict) -> int:
    ensure_tables(engine, t)
    with engine.begin() as conn:
        return int(conn.execute(t.insert().values(**row)).inserted_primary_key[0])


def job_row(engine: Engine, job_id: int) -> dict | None:
    ensure_tables(engine, t)
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.id == int(job_id))).mappings().first()
    return dict(row) if row is not None else None


def job_rows(engine: Engine, tenant_ids: list[str] | None = None) -> list[dict]:
    """Every job (of these tenants), the latest `at` first."""
    ensure_tables(engine, t)
    stmt = sa.select(t).order_by(t.c.at.desc(), t.c.id.desc())
    if tenant_ids is not None:
        stmt = stmt.where(t.c.tenant_id.in_(tenant_ids))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def waiting_jobs(engine: Engine, tenant_id: str, user_id: str) -> list[dict]:
    """The user's jobs that have not started yet."""
    ensure_tables(engine, t)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(t).where(
            t.c.tenant_id == tenant_id, t.c.user_id == user_id, t.c.status == SCHEDULED)
            .order_by(t.c.at)).mappings()]


def _claimable(now: datetime):
    # Due and waiting, or running under a lease nobody renewed (its process died).
    return sa.or_(sa.and_(t.c.status == SCHEDULED, t.c.at <= now),
                  sa.and_(t.c.status == RUNNING, t.c.lease_until < now))


def claim(engine: Engine, *, now: datetime, runner: str, lease_until: datetime) -> dict | None:
    """Take one claimable job, the earliest first: returns its row as it was before the claim
    (status "running" there means a takeover), or None when nothing is due or every due job is
    another runner's."""
    ensure_tables(engine, t)
    values = dict(status=RUNNING, runner=runner, attempts=t.c.attempts + 1,
                  lease_until=lease_until, ran_at=sa.func.coalesce(t.c.ran_at, now))
    pick = sa.select(t).where(_claimable(now)).order_by(t.c.at, t.c.id)
    if engine.dialect.name == "postgresql":
        # The row lock is held until this transaction, which marks the job running, commits:
        # a second runner's SKIP LOCKED passes over it and takes the next due job, if any.
        with engine.begin() as conn:
            row = conn.execute(pick.limit(1).with_for_update(skip_locked=True)).mappings().first()
            if row is None:
                return None
            conn.execute(t.update().where(t.c.id == row["id"]).values(**values))
            return dict(row)
    while True:
        # SQLite: read outside a transaction (a read-then-write transaction in WAL mode fails
        # with "database is locked" when another process wrote in between), then a
        # compare-and-set per candidate; its rowcount says whether this runner won it.
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(pick.limit(20)).mappings()]
        if not rows:
            return None
        for row in rows:
            with engine.begin() as conn:
                won = conn.execute(t.update().where(
                    t.c.id == row["id"], t.c.status == row["status"],
                    t.c.attempts == row["attempts"], _claimable(now)).values(**values)).rowcount
            if won == 1:
                return row
        # Another runner took every candidate; they are running now: look again.


def renew_lease(engine: Engine, job_id: int, runner: str, lease_until: datetime) -> bool:
    with engine.begin() as conn:
        return conn.execute(t.update().where(t.c.id == job_id, t.c.status == RUNNING,
                                             t.c.runner == runner)
                            .values(lease_until=lease_until)).rowcount == 1


def set_progress(engine: Engine, job_id: int, runner: str, progress: str) -> bool:
    with engine.begin() as conn:
        return conn.execute(t.update().where(t.c.id == job_id, t.c.status == RUNNING,
                                             t.c.runner == runner)
                            .values(progress=progress)).rowcount == 1


def finish(engine: Engine, job_id: int, runner: str, *, status: str, outcome: str,
           finished: datetime, late_seconds: int | None) -> bool:
    """Record a running job's end; False when this runner no longer owns it."""
    with engine.begin() as conn:
        return conn.execute(t.update().where(t.c.id == job_id, t.c.status == RUNNING,
                                             t.c.runner == runner)
                            .values(status=status, outcome=outcome, finished=finished,
                                    late_seconds=late_seconds, lease_until=None)).rowcount == 1


def cancel(engine: Engine, job_id: int, *, by: str, now: datetime, outcome: str) -> bool:
    """Cancel a job still waiting; False when it is running, finished or unknown. On PostgreSQL
    a runner claiming the row at this moment holds its lock: this UPDATE waits for that claim
    to commit and then finds the job running."""
    ensure_tables(engine, t)
    with engine.begin() as conn:
        return conn.execute(t.update().where(t.c.id == int(job_id), t.c.status == SCHEDULED)
                            .values(status=CANCELLED, cancelled_by=by, finished=now,
                                    outcome=outcome)).rowcount == 1
