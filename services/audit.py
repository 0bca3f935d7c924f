"""The audit log: who applied what, to which tenant and user, when (UTC) and with what outcome.

One row per apply (or refusal). `detail` is JSON holding the parameters and the per-step outcome;
everything that looks like a secret (passwords, tokens, client secrets) is removed before it is
written, so the log can be exported and shared with a customer.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from .store import audit_log as store_log
from .store.schema import audit_log as audit_table  # noqa: F401 - the table, for tests that read it raw

log = logging.getLogger(__name__)

COLUMNS = store_log.COLUMNS
OUTCOMES = ("started", "done", "partial", "failed", "denied")  # "started": the apply never finished

# Keys whose values are never written: they name secrets by convention.
SECRET_KEY_PARTS = ("password", "secret", "token", "credential", "passwd", "authorization")
REDACTED = "[not recorded]"


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
    text = json.dumps(scrub(detail or {}), default=str, sort_keys=True)
    row = {"time": time or datetime.now(timezone.utc), "actor": actor, "role": role,
           "tenant_id": tenant_id or "", "user": user or "", "action": action,
           "outcome": outcome, "detail": text}
    entry_id = store_log.insert_entry(engine, row)
    log.info("audit: %s (%s) %s %s in %s: %s", actor, role, action, user or "-", tenant_id or "-",
             outcome)
    return entry_id


def finish(engine: Engine, entry_id: int, *, outcome: str, detail: dict | None = None) -> None:
    """Complete a "started" entry with the outcome and the per-step detail of its apply."""
    text = json.dumps(scrub(detail or {}), default=str, sort_keys=True)
    store_log.set_outcome(engine, entry_id, outcome=outcome, detail=text)
    log.info("audit: entry %s finished: %s", entry_id, outcome)


def interrupted_onboardings(engine: Engine, tenant_id: str, upn: str) -> list[tuple[int, str]]:
    """(entry id, user id) of every onboarding of `upn` that created its user and never
    finished (its process died), newest first."""
    rows = store_log.started_entries(engine, tenant_id, "onboard", upn)
    found = []
    for entry_id, text in rows:
        user_id = json.loads(text or "{}").get("user_id")
        if user_id:
            found.append((entry_id, user_id))
    return found


def supersede(engine: Engine, entry_ids, *, by_entry: int) -> None:
    """Close "started" entries whose work a later apply (entry `by_entry`) took over.

    They become "partial" (their own run stopped part-way) with `completed_by` naming the
    entry that finishes the job, so a later onboarding of the same user name is no longer
    taken for a resumption of them.
    """
    ids = [int(i) for i in entry_ids if int(i) != int(by_entry)]
    if not ids:
        return

    def completed(text: str) -> str:
        detail = json.loads(text or "{}")
        detail.update({"completed_by": int(by_entry),
                       "note": f"interrupted; completed by audit entry {int(by_entry)}"})
        return json.dumps(scrub(detail), default=str, sort_keys=True)

    store_log.close_started(engine, ids, outcome="partial", new_detail=completed)
    log.info("audit: entries %s completed by entry %s", ids, by_entry)


def read(engine: Engine, *, tenant_id: str | None = None, user: str | None = None,
         action: str | None = None, actor: str | None = None, outcome: str | None = None,
         since: datetime | str | None = None, until: datetime | str | None = None,
         limit: int | None = None) -> pd.DataFrame:
    """Entries newest first, filtered by any of the arguments (user matches id or UPN text)."""
    rows = store_log.entries(engine, tenant_id=tenant_id, user=user, action=action, actor=actor,
                             outcome=outcome, since=None if since is None else _utc(since),
                             until=None if until is None else _utc(until), limit=limit)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # SQLite returns naive datetimes; every time we write is UTC, so say so.
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["detail"] = [json.loads(d) if d else {} for d in frame["detail"]]
    return frame


def _utc(value: datetime | str) -> datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()
