"""What a user had when offboarded: licenses, groups and roles, kept so restore can re-apply them.

Written when an offboarding is applied, before any step runs, so even a half-finished
offboarding leaves the record. Graph forgets a deleted user's licenses and memberships; this
table is where they are remembered.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..audit import ensure_tables
from ..db import metadata

records_table = sa.Table(
    "offboarding_records", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("user_id", sa.String(64), nullable=False, index=True),
    sa.Column("user_principal_name", sa.Text, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False, default=""),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    # JSON text: [{"sku_id", "sku_part_number", "product_name", "disabled_plans", "direct", "groups"}]
    sa.Column("licenses", sa.Text, nullable=False, default="[]"),
    # [{"id", "display_name", "writable"}]
    sa.Column("groups", sa.Text, nullable=False, default="[]"),
    # [{"role_definition_id", "display_name", "directory_scope_id"}] (older rows have no scope: "/")
    sa.Column("roles", sa.Text, nullable=False, default="[]"),
)


@dataclass
class OffboardingRecord:
    tenant_id: str
    user_id: str
    user_principal_name: str
    display_name: str = ""
    actor: str = ""
    deleted: bool = False
    licenses: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)
    roles: list[dict] = field(default_factory=list)
    time: datetime | None = None


def save(engine: Engine, record: OffboardingRecord) -> None:
    ensure_tables(engine, records_table)
    with engine.begin() as conn:
        conn.execute(records_table.insert().values(
            time=record.time or datetime.now(timezone.utc), tenant_id=record.tenant_id,
            user_id=record.user_id, user_principal_name=record.user_principal_name,
            display_name=record.display_name, actor=record.actor, deleted=record.deleted,
            licenses=json.dumps(record.licenses), groups=json.dumps(record.groups),
            roles=json.dumps(record.roles)))


def latest(engine: Engine, tenant_id: str, user_id: str) -> OffboardingRecord | None:
    """The most recent record of this user that holds something to re-apply."""
    ensure_tables(engine, records_table)
    t = records_table
    query = (sa.select(t).where(t.c.tenant_id == tenant_id, sa.func.lower(t.c.user_id) == user_id.lower())
             .order_by(t.c.time.desc(), t.c.id.desc()))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    for row in rows:
        licenses, groups = json.loads(row["licenses"]), json.loads(row["groups"])
        roles = json.loads(row["roles"])
        # A later offboarding step (delete after an earlier license removal) may find nothing
        # left; the earlier record still knows what the user had.
        if licenses or groups or roles or row is rows[-1]:
            return OffboardingRecord(row["tenant_id"], row["user_id"], row["user_principal_name"],
                                     row["display_name"], row["actor"], bool(row["deleted"]),
                                     licenses, groups, roles, row["time"])
    return None


def known_users(engine: Engine, tenant_ids: list[str]) -> dict[tuple[str, str], str]:
    """(tenant id, lower-case user id) -> UPN for every user with a record in these tenants."""
    ensure_tables(engine, records_table)
    t = records_table
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.tenant_id, t.c.user_id, t.c.user_principal_name)
                            .where(t.c.tenant_id.in_(tenant_ids))).all()
    return {(r[0], r[1].lower()): r[2] for r in rows}
