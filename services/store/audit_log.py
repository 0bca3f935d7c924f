"""Queries on the audit log table (schema.audit_log); services.audit decides what goes in it.

Values arrive ready to store (detail as JSON text, times as UTC datetimes) and come back as
the database returns them: scrubbing secrets and decoding JSON stay with services.audit.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema import audit_log as t
from .schema import ensure_tables

COLUMNS = ["time", "actor", "role", "tenant_id", "user", "action", "outcome", "detail"]


def insert_entry(engine: Engine, row: dict) -> int:
    """Append one entry (COLUMNS keys) and return its id."""
    ensure_tables(engine, t)
    with engine.begin() as conn:
        return conn.execute(t.insert().values(**row)).inserted_primary_key[0]


def set_outcome(engine: Engine, entry_id: int, *, outcome: str, detail: str) -> None:
    with engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == entry_id).values(outcome=outcome, detail=detail))


def started_entries(engine: Engine, tenant_id: str, action: str, user: str) -> list[tuple[int, str]]:
    """(id, detail text) of the "started" entries of `action` on `user` (any case) in the
    tenant, newest first."""
    ensure_tables(engine, t)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t.c.id, t.c.detail).where(
            t.c.tenant_id == tenant_id, t.c.action == action, t.c.outcome == "started",
            sa.func.lower(t.c.user) == user.lower()).order_by(t.c.id.desc())).all()]


def close_started(engine: Engine, entry_ids: list[int], *, outcome: str,
                  new_detail: Callable[[str], str]) -> None:
    """Give the entries among `entry_ids` that are still "started" `outcome` and the detail
    text `new_detail(old detail text)`, in one transaction."""
    with engine.begin() as conn:
        rows = conn.execute(sa.select(t.c.id, t.c.detail).where(
            t.c.id.in_(entry_ids), t.c.outcome == "started")).all()
        for entry_id, text in rows:
            conn.execute(t.update().where(t.c.id == entry_id, t.c.outcome == "started")
                         .values(outcome=outcome, detail=new_detail(text)))


def entries(engine: Engine, *, tenant_id: str | None = None, user: str | None = None,
            action: str | None = None, actor: str | None = None, outcome: str | None = None,
            since: datetime | None = None, until: datetime | None = None,
            limit: int | None = None) -> list[tuple]:
    """Entries (COLUMNS tuples) newest first, filtered by any of the arguments: `tenant_id` is
    contained in the entry's tenants, `user` in its user (any case) or its detail text."""
    ensure_tables(engine, t)
    query = sa.select(*[t.c[c] for c in COLUMNS]).order_by(t.c.time.desc(), t.c.id.desc())
    if tenant_id:
        query = query.where(t.c.tenant_id.contains(tenant_id))
    if user:
        query = query.where(sa.func.lower(t.c.user).contains(user.lower())
                            | t.c.detail.contains(user))
    if action:
        query = query.where(t.c.action == action)
    if actor:
        query = query.where(t.c.actor == actor)
    if outcome:
        query = query.where(t.c.outcome == outcome)
    if since is not None:
        query = query.where(t.c.time >= since)
    if until is not None:
        query = query.where(t.c.time <= until)
    if limit:
        query = query.limit(int(limit))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query).all()]
