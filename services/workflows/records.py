"""What a user had when offboarded: licenses, groups and roles, kept so restore can re-apply them.

Written when an offboarding is applied, before any step runs, so even a half-finished
offboarding leaves the record. Graph forgets a deleted user's licenses and memberships; the
store's offboarding_records table (services.store.records) is where they are remembered.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.engine import Engine

from ..store import records as store_records


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
    store_records.insert_record(engine, dict(
        time=record.time or datetime.now(timezone.utc), tenant_id=record.tenant_id,
        user_id=record.user_id, user_principal_name=record.user_principal_name,
        display_name=record.display_name, actor=record.actor, deleted=record.deleted,
        licenses=json.dumps(record.licenses), groups=json.dumps(record.groups),
        roles=json.dumps(record.roles)))


def latest(engine: Engine, tenant_id: str, user_id: str) -> OffboardingRecord | None:
    """The most recent record of this user that holds something to re-apply."""
    rows = store_records.user_records(engine, tenant_id, user_id)
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
    rows = store_records.recorded_users(engine, tenant_ids)
    return {(r[0], r[1].lower()): r[2] for r in rows}
