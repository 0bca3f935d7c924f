"""The local store: the synced snapshot of every tenant, in any SQLAlchemy database.

`Store(url)` opens the engine (SQLite in WAL mode by default), creates and upgrades the schema on
first use, and offers the few operations sync and the API need: the tenant registry (discovered
tenants and their sync switch), per-resource sync state, and the one-transaction snapshot write.
Listings (DataFrames) are read by `services.store.listings`, the API's other reads by
`services.store.lookups`. The audit log, the offboarding records and the bulk journal are tables
of this store too (`schema.py`), written and read through `services.store.audit_log`,
`services.store.records` and `services.store.journal`: no module outside this package builds a
query.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..db import make_engine
from . import schema as S
from .rows import utc_now
from .schema import create_schema
from .snapshot import Change, GroupChange, TenantSnapshot
from .write import prepare, record_access, record_failure, write_snapshot

__all__ = ["Store", "SyncState", "TenantSnapshot", "Change", "GroupChange", "create_schema",
           "ensure_sqlite_folder"]

log = logging.getLogger(__name__)


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite database file named by `url` (other URLs: nothing)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class SyncState:
    delta_link: str | None
    full_at: str | None        # ISO UTC of the last full read of the resource
    updated: str | None


class Store:
    def __init__(self, url: str | None = None, *, engine: Engine | None = None):
        if engine is None and not url:
            raise ValueError("Store needs a database URL or an engine")
        self.url = url or str(engine.url)
        self.engine = engine or make_engine(url)
        create_schema(self.engine)
        # SQLite has one writer at a time; queueing sync threads here is cheaper than letting
        # them spin on SQLITE_BUSY. Other databases take concurrent transactions.
        self._write_lock = threading.Lock() if self.engine.dialect.name == "sqlite" else None
        # Snapshots waiting for the SQLite writer (see `write`).
        self._queue: list[_Pending] = []
        self._queue_guard = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def close(self) -> None:
        self.engine.dispose()

    def _writing(self):
        return self._write_lock or _NoLock()

    # ---- snapshot -------------------------------------------------------------------------

    def write(self, snapshot: TenantSnapshot, *, now: str | None = None, before_commit=None) -> None:
        """Write one tenant's snapshot in one transaction (all of it, or nothing).

        `before_commit(conn)` runs inside the transaction after every write; tests use it to
        prove that a failure at that point leaves the previous snapshot intact.
        """
        now = now or utc_now()
        prepared = prepare(self.engine.dialect, snapshot)      # outside the write lock
        item = _Pending(snapshot, prepared, now, before_commit)
        if self._write_lock is None:
            self._write_one(item)
        else:
            # Group commit: SQLite takes one writer at a time, so sync threads queue here. The
            # thread that gets the lock writes every snapshot queued by then in one transaction
            # (one commit, no hand-over of the lock and the GIL between tenants); the others find
            # their snapshot written when they get the lock. Should the group fail, each of its
            # snapshots is written again in a transaction of its own, so one tenant's failure
            # stays that tenant's. A quiet incremental sync of 100 tenants spent a third of its
            # time handing the lock over and committing.
            with self._queue_guard:
                self._queue.append(item)
            with self._write_lock:
                if not item.done:
                    with self._queue_guard:
                        group, self._queue = self._queue, []
                    self._write_group(group)
        if item.error is not None:
            raise item.error

    def _write_one(self, item: "_Pending") -> None:
        try:
            with self.engine.begin() as conn:
                write_snapshot(conn, item.snapshot, item.now, item.prepared)
                if item.before_commit is not None:
                    item.before_commit(conn)
        except Exception as exc:  # noqa: BLE001 - handed to the thread that asked for the write
            item.error = exc
        finally:
            item.done = True

    def _write_group(self, group: list["_Pending"]) -> None:
        try:
            if len(group) > 1:
                try:
                    with self.engine.begin() as conn:
                        for item in group:
                            write_snapshot(conn, item.snapshot, item.now, item.prepared)
                            if item.before_commit is not None:
                                item.before_commit(conn)
                except Exception as exc:  # noqa: BLE001 - retried one by one below
                    log.debug("group write of %d snapshots failed (%s); writing them one by one",
                              len(group), exc)
                else:
                    for item in group:
                        item.done = True
                    return
            for item in group:
                self._write_one(item)
        finally:
            for item in group:          # interrupted (KeyboardInterrupt): never report success
                if not item.done:
                    item.error = item.error or RuntimeError("store write interrupted")
                    item.done = True

    def record_failure(self, tenant_id: str, reason: str) -> None:
        with self._writing(), self.engine.begin() as conn:
            record_failure(conn, tenant_id, reason, utc_now())

    def record_access(self, tenant_id: str, values: dict) -> bool:
        """Write a tenant's access columns (services.access) without touching its snapshot."""
        with self._writing(), self.engine.begin() as conn:
            return record_access(conn, tenant_id, values)

    def sync_state(self, tenant_id: str) -> dict[str, SyncState]:
        st = S.sync_state
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(st.c.resource, st.c.delta_link, st.c.full_at,
                                            st.c.updated).where(st.c.tenant_id == tenant_id))
            return {r.resource: SyncState(r.delta_link, r.full_at, r.updated) for r in result}

    def mark_stale(self, tenant_id: str, resource: str) -> None:
        """Make the next sync of the tenant read `resource` again (its sync state is dropped),
        e.g. the mailboxes after a workflow changed one."""
        st = S.sync_state
        with self.engine.begin() as conn:
            conn.execute(st.delete().where(st.c.tenant_id == tenant_id, st.c.resource == resource))

    def group_ids(self, tenant_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(S.groups.c.id)
                                     .where(S.groups.c.tenant_id == tenant_id)).scalars())

    def counts(self, tenant_id: str) -> tuple[int, int]:
        """(users, groups) stored for the tenant, in one statement."""
        u, g = S.users, S.groups
        stmt = sa.select(
            sa.select(sa.func.count()).select_from(u).where(u.c.tenant_id == tenant_id).scalar_subquery(),
            sa.select(sa.func.count()).select_from(g).where(g.c.tenant_id == tenant_id).scalar_subquery())
        with self.engine.connect() as conn:
            n_users, n_groups = conn.execute(stmt).one()
        return int(n_users), int(n_groups)

    # ---- tenant registry --------------------------------------------------------------------

    def tenant_rows(self, *, active_only: bool = True) -> list[dict]:
        t = S.tenants
        stmt = sa.select(t).order_by(t.c.display_name, t.c.tenant_id)
        if active_only:
            stmt = stmt.where(t.c.active == sa.true())
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def tenant(self, tenant_id: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(S.tenants).where(S.tenants.c.tenant_id == tenant_id)
                               ).mappings().first()
            return dict(row) if row else None

    def save_discovered(self, found: Iterable, *, authoritative: bool = True) -> None:
        """Record discovered tenants; new ones start with sync on, known ones keep their switch.

        With `authoritative`, tenants the discovery no longer lists are marked inactive (their
        data stays, hidden from listings) rather than deleted: a relationship that lapsed for a
        day should not cost a full history.
        """
        now = utc_now()
        t = S.tenants
        found = list(found)
        with self._writing(), self.engine.begin() as conn:
            known = {r.tenant_id: r for r in conn.execute(
                sa.select(t.c.tenant_id, t.c.display_name, t.c.default_domain, t.c.last_sync))}
            for item in found:
                row = known.get(item.tenant_id)
                if row is None:
                    conn.execute(t.insert().values(
                        tenant_id=item.tenant_id, display_name=item.display_name,
                        default_domain=item.default_domain, source=item.source, active=True,
                        sync_enabled=True, discovered=now))
                    continue
                values = {"active": True, "discovered": now, "source": item.source}
                # The organization's own name (written by sync) wins over the partner's label.
                if item.display_name and (not row.display_name or not row.last_sync):
                    values["display_name"] = item.display_name
                if item.default_domain and not row.default_domain:
                    values["default_domain"] = item.default_domain
                conn.execute(t.update().where(t.c.tenant_id == item.tenant_id).values(**values))
            if authoritative:
                seen = [i.tenant_id for i in found]
                stmt = t.update().values(active=False)
                if seen:
                    stmt = stmt.where(t.c.tenant_id.not_in(seen))
                conn.execute(stmt)

    def set_sync_enabled(self, tenant_id: str, enabled: bool) -> None:
        with self._writing(), self.engine.begin() as conn:
            result = conn.execute(S.tenants.update().where(S.tenants.c.tenant_id == tenant_id)
                                  .values(sync_enabled=bool(enabled)))
            if result.rowcount == 0:
                raise KeyError(tenant_id)


class _Pending:
    """One snapshot waiting to be written, and how its write ended."""

    __slots__ = ("snapshot", "prepared", "now", "before_commit", "done", "error")

    def __init__(self, snapshot: TenantSnapshot, prepared, now: str, before_commit):
        self.snapshot, self.prepared, self.now = snapshot, prepared, now
        self.before_commit = before_commit
        self.done = False
        self.error: BaseException | None = None


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
