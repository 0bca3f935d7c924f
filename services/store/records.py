"""Queries on the offboarding records table (schema.offboarding_records).

services.workflows.records turns an OffboardingRecord into a row and back (lists as JSON
text); these functions only store and find rows.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema import ensure_tables
from .schema import offboarding_records as t


def insert_record(engine: Engine, row: dict) -> None:
    ensure_tables(engine, t)
    with engine.begin() as conn:
        conn.execute(t.insert().values(**row))


def user_records(engine: Engine, tenant_id: str, user_id: str) -> list[dict]:
    """Every record of the user (id in any case) in the tenant, newest first, as dicts."""
    ensure_tables(engine, t)
    query = (sa.select(t).where(t.c.tenant_id == tenant_id, sa.func.lower(t.c.user_id) == user_id.lower())
             .order_by(t.c.time.desc(), t.c.id.desc()))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings().all()]


def recorded_users(engine: Engine, tenant_ids: list[str]) -> list[tuple[str, str, str]]:
    """(tenant id, user id, UPN) of every record in these tenants."""
    ensure_tables(engine, t)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(t.c.tenant_id, t.c.user_id, t.c.user_principal_name)
            .where(t.c.tenant_id.in_(tenant_ids))).all()]
