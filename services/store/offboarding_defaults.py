"""Queries on the per-tenant offboarding defaults (schema.offboarding_defaults).

services.offboarding_defaults decides what is valid; these functions store and read one row per
tenant, the options as JSON text.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .schema import ensure_tables
from .schema import offboarding_defaults as t


def read_row(engine: Engine, tenant_id: str) -> dict | None:
    ensure_tables(engine, t)
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.tenant_id == tenant_id)).mappings().first()
    return dict(row) if row is not None else None


def save_row(engine: Engine, tenant_id: str, *, options: str, auto_reply_message: str | None,
             updated: datetime, updated_by: str) -> None:
    """Insert or replace the tenant's row (options as JSON text), in one transaction."""
    ensure_tables(engine, t)
    values = {"options": options, "auto_reply_message": auto_reply_message, "updated": updated,
              "updated_by": updated_by}
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                changed = conn.execute(t.update().where(t.c.tenant_id == tenant_id)
                                       .values(**values)).rowcount
                if not changed:
                    conn.execute(t.insert().values(tenant_id=tenant_id, **values))
            return
        except IntegrityError:
            # Two first saves of the same tenant at once: the other one inserted; update it.
            if attempt == 2:
                raise
