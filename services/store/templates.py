"""Queries on the onboarding templates table (schema.onboarding_templates).

services.templates decides what a template holds and checks it against the tenant; these
functions only store and find rows. Names are unique per tenant in any case (`name_key`), and
at most one template per tenant is the default: making one the default clears the flag of the
others in the same transaction.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .schema import ensure_tables
from .schema import onboarding_templates as t


def _key(name: str) -> str:
    return str(name).strip().lower()


def template_rows(engine: Engine, tenant_ids: list[str] | None = None) -> list[dict]:
    """Every template of these tenants (all tenants for None): by tenant, the default first,
    then by name."""
    ensure_tables(engine, t)
    query = sa.select(t).order_by(t.c.tenant_id, t.c.is_default.desc(), t.c.name_key)
    if tenant_ids is not None:
        query = query.where(t.c.tenant_id.in_(list(tenant_ids)))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings().all()]


def template_row(engine: Engine, tenant_id: str, name: str) -> dict | None:
    """The tenant's template of this name (any case), or None."""
    ensure_tables(engine, t)
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.tenant_id == tenant_id,
                                              t.c.name_key == _key(name))).mappings().first()
    return dict(row) if row else None


def default_row(engine: Engine, tenant_id: str) -> dict | None:
    """The tenant's default template, or None."""
    ensure_tables(engine, t)
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(t.c.tenant_id == tenant_id,
                                              t.c.is_default == sa.true())).mappings().first()
    return dict(row) if row else None


def save_row(engine: Engine, row: dict) -> bool:
    """Insert or replace the template `row` (schema columns except name_key); True when it is
    new. With is_default, every other template of the tenant stops being the default."""
    ensure_tables(engine, t)
    values = {**row, "name_key": _key(row["name"])}
    where = (t.c.tenant_id == values["tenant_id"]) & (t.c.name_key == values["name_key"])
    with engine.begin() as conn:
        if values.get("is_default"):
            conn.execute(t.update().where(t.c.tenant_id == values["tenant_id"],
                                          t.c.name_key != values["name_key"])
                         .values(is_default=False))
        exists = conn.execute(sa.select(t.c.name_key).where(where)).first() is not None
        if exists:
            conn.execute(t.update().where(where).values(**values))
        else:
            conn.execute(t.insert().values(**values))
    return not exists


def delete_row(engine: Engine, tenant_id: str, name: str) -> bool:
    """Delete the tenant's template of this name; False when there was none."""
    ensure_tables(engine, t)
    with engine.begin() as conn:
        result = conn.execute(t.delete().where(t.c.tenant_id == tenant_id,
                                               t.c.name_key == _key(name)))
    return bool(result.rowcount)
