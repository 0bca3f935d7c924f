"""The audit log: who applied what, to which tenant and user, when (UTC) and with what outcome.

One row per apply (or refusal). `detail` is JSON holding the parameters and the per-step outcome;
everything that looks like a secret (passwords, tokens, client secrets) is removed before it is
written, so the log can be exported and shared with a customer.
"""
from __future__ import annotations

import json
import logging
import weakref
from datetime import datetime, timezone
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .db import metadata

log = logging.getLogger(__name__)

COLUMNS = ["time", "actor", "role", "tenant_id", "user", "action", "outcome", "detail"]
OUTCOMES = ("started", "done", "partial", "failed", "denied")  # "started": the apply never finished

audit_table = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    # Text, not a short string: a bulk job spanning tenants records them all, joined by ";".
    sa.Column("tenant_id", sa.Text, nullable=False, default=""),
    sa.Column("user", sa.Text, nullable=False, default=""),
    sa.Column("action", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
)

# Keys whose values are never written: they name secrets by convention.
SECRET_KEY_PARTS = ("password", "secret", "token", "credential", "passwd", "authorization")
REDACTED = "[not recorded]"

# Engines whose tables were checked in this process, with the table names checked.
_ready: "weakref.WeakKeyDictionary[Engine, set[str]]" = weakref.WeakKeyDictionary()


def ensure_tables(engine: Engine, *tables: sa.Table) -> None:
    """Create these tables if missing (once per engine and process).

    The store's create_schema() makes every table on first use; this covers engines that were
    created before this module was imported, and costs one metadata check per engine.
    """
    wanted = tables or (audit_table,)
    done = _ready.setdefault(engine, set())
    missing = [t for t in wanted if t.name not in done]
    if missing:
        metadata.create_all(engine, tables=missing, checkfirst=True)
        done.update(t.name for t in missing)


def scrub(value: Any) -> Any:
    """A copy of `value` with every secret-looking key's value replaced, at any depth."""
    if isinstance(value, dict):
        return {k: (REDACTED if _secret_key(k) and v not in (None, "", False) else scrub(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [scrub(v) for v in value]
    return value


def _secret_key(key: Any) -> bool:
    text = str(key).lower()
    # "force_change_password" and "reveal_password" are switches, not secrets: keep them.
    if text in {"force_change_password", "forcechangepasswordnextsignin", "reveal_password",
                "reset_password"}:
        return False
    return any(part in text for part in SECRET_KEY_PARTS)


def record(engine: Engine, *, actor: str, role: str, action: str, outcome: str,
           tenant_id: str = "", user: str = "", detail: dict | None = None,
           time: datetime | None = None) -> int:
    """Append one audit entry and return its id. `detail` is scrubbed of secrets first."""
    ensure_tables(engine)
    text = json.dumps(scrub(detail or {}), default=str, sort_keys=True)
    row = {"time": time or datetime.now(timezone.utc), "actor": actor, "role": role,
           "tenant_id": tenant_id or "", "user": user or "", "action": action,
           "outcome": outcome, "detail": text}
    with engine.begin() as conn:
        entry_id = conn.execute(audit_table.insert().values(**row)).inserted_primary_key[0]
    log.info("audit: %s (%s) %s %s in %s: %s", actor, role, action, user or "-", tenant_id or "-",
             outcome)
    return entry_id


def finish(engine: Engine, entry_id: int, *, outcome: str, detail: dict | None = None) -> None:
    """Complete a "started" entry with the outcome and the per-step detail of its apply."""
    text = json.dumps(scrub(detail or {}), default=str, sort_keys=True)
    with engine.begin() as conn:
        conn.execute(audit_table.update().where(audit_table.c.id == entry_id)
                     .values(outcome=outcome, detail=text))
    log.info("audit: entry %s finished: %s", entry_id, outcome)


def interrupted_onboardings(engine: Engine, tenant_id: str, upn: str) -> list[tuple[int, str]]:
    """(entry id, user id) of every onboarding of `upn` that created its user and never
    finished (its process died), newest first."""
    ensure_tables(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(audit_table.c.id, audit_table.c.detail).where(
            audit_table.c.tenant_id == tenant_id, audit_table.c.action == "onboard",
            audit_table.c.outcome == "started", sa.func.lower(audit_table.c.user) == upn.lower())
            .order_by(audit_table.c.id.desc())).all()
    found = []
    for entry_id, text in rows:
        user_id = json.loads(text or "{}").get("user_id")
        if user_id:
            found.append((entry_id, user_id))
    return found


def interrupted_onboarding(engine: Engine, tenant_id: str, upn: str) -> str | None:
    """The user id created by an onboarding of `upn` that never finished (its process died
    after creating the user), so a new plan can take over that user instead of refusing it."""
    found = interrupted_onboardings(engine, tenant_id, upn)
    return found[0][1] if found else None


def supersede(engine: Engine, entry_ids, *, by_entry: int) -> None:
    """Close "started" entries whose work a later apply (entry `by_entry`) took over.

    They become "partial" (their own run stopped part-way) with `completed_by` naming the
    entry that finishes the job, so a later onboarding of the same user name is no longer
    taken for a resumption of them.
    """
    ids = [int(i) for i in entry_ids if int(i) != int(by_entry)]
    if not ids:
        return
    with engine.begin() as conn:
        rows = conn.execute(sa.select(audit_table.c.id, audit_table.c.detail).where(
            audit_table.c.id.in_(ids), audit_table.c.outcome == "started")).all()
        for entry_id, text in rows:
            detail = json.loads(text or "{}")
            detail.update({"completed_by": int(by_entry),
                           "note": f"interrupted; completed by audit entry {int(by_entry)}"})
            conn.execute(audit_table.update().where(audit_table.c.id == entry_id,
                                                    audit_table.c.outcome == "started")
                         .values(outcome="partial",
                                 detail=json.dumps(scrub(detail), default=str, sort_keys=True)))
    log.info("audit: entries %s completed by entry %s", ids, by_entry)


def read(engine: Engine, *, tenant_id: str | None = None, user: str | None = None,
         action: str | None = None, actor: str | None = None, outcome: str | None = None,
         since: datetime | str | None = None, until: datetime | str | None = None,
         limit: int | None = None) -> pd.DataFrame:
    """Entries newest first, filtered by any of the arguments (user matches id or UPN text)."""
    ensure_tables(engine)
    t = audit_table
    query = sa.select(t.c.time, t.c.actor, t.c.role, t.c.tenant_id, t.c.user, t.c.action,
                      t.c.outcome, t.c.detail).order_by(t.c.time.desc(), t.c.id.desc())
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
        query = query.where(t.c.time >= _utc(since))
    if until is not None:
        query = query.where(t.c.time <= _utc(until))
    if limit:
        query = query.limit(int(limit))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)
    # SQLite returns naive datetimes; every time we write is UTC, so say so.
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["detail"] = [json.loads(d) if d else {} for d in frame["detail"]]
    return frame


def _utc(value: datetime | str) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()
