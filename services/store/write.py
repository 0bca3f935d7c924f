"""Writing one tenant's staged snapshot in a single transaction.

Everything a sync read for a tenant, its delta links included, commits together or not at all:
a crash or error part-way leaves the previous complete snapshot readable, and the stored delta
links still match the stored rows, so the next sync continues from a consistent point.
Only portable Core statements are used (delete + insert instead of dialect-specific upserts).
"""
from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import rows as R
from . import schema as S
from .snapshot import Change, GroupChange, TenantSnapshot

CHUNK = 500      # ids per IN (...) list: well inside every backend's bind-parameter limit


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _insert(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert rows; a key a row lacks is NULL, keys starting "_" are ignored."""
    _run(conn, insert_statements(conn.dialect, table, rows))


def _run(conn: Connection, statements: list[tuple[str, object]]) -> None:
    for sql, params in statements:
        conn.exec_driver_sql(sql, params)


def insert_statements(dialect, table: sa.Table, rows: list[dict]) -> list[tuple[str, object]]:
    """The driver-level statements that insert `rows`, built without touching the database.

    The statement is compiled by SQLAlchemy for the dialect and handed to the driver directly:
    Core's per-value bind processing doubled the cost of writing 100k users, and these tables
    hold only strings, integers and booleans, which every driver adapts itself. With positional
    placeholders (SQLite) many rows go in one multi-row VALUES statement: the sqlite3 module
    releases the GIL around every statement step, and with sync threads busy parsing JSON each
    re-acquisition waited up to a switch interval, one row at a time.
    """
    if not rows:
        return []
    keys, compiled, (head, group) = _compiled_insert(dialect, table)
    if not compiled.positional:
        return [(str(compiled), [{k: row.get(k) for k in keys} for row in rows])]
    order = compiled.positiontup
    per = max(1, MAX_PARAMS // len(order))
    return [(head + ", ".join([group] * len(part)), _flat(part, order)) for part in _chunks(rows, per)]


def _flat(rows: list[dict], order: tuple) -> tuple:
    """The rows' values in `order`, one after the other; a key a row lacks is None.

    `itemgetter` fetches a complete row's values in one C call (a full read's rows have every
    column); a row lacking a key takes the slower path.
    """
    take = _getter(tuple(order))
    out: list = []
    extend = out.extend
    for row in rows:
        try:
            extend(take(row))
        except KeyError:
            extend([row.get(k) for k in order])
    return tuple(out)


@lru_cache(maxsize=64)
def _getter(order: tuple):
    return itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))


MAX_PARAMS = 30000     # bind parameters per statement (SQLite allows 32766 since 3.32)


@lru_cache(maxsize=64)
def _compiled_insert(dialect, table: sa.Table):
    keys = [c.name for c in table.columns]
    compiled = table.insert().compile(dialect=dialect, column_keys=keys)
    text = str(compiled)
    cut = text.rindex(" VALUES ") + len(" VALUES ")
    return keys, compiled, (text[:cut], text[cut:])


def _delete_ids(conn: Connection, table: sa.Table, tenant_id: str, column, ids: Iterable[str]) -> None:
    ids = list(ids)
    for part in _chunks(ids):
        conn.execute(table.delete().where(table.c.tenant_id == tenant_id, column.in_(part)))


def _stored(conn: Connection, table: sa.Table, tenant_id: str, ids: list[str]) -> dict[str, dict]:
    out = {}
    for part in _chunks(ids):
        result = conn.execute(sa.select(table).where(table.c.tenant_id == tenant_id,
                                                     table.c.id.in_(part)))
        for row in result.mappings():
            out[row["id"]] = dict(row)
    return out


def prepare(dialect, snap: TenantSnapshot) -> dict[sa.Table, list]:
    """Insert statements for every resource the snapshot replaces whole (full reads).

    Built before the store's write lock is taken: on SQLite writers queue one at a time, and the
    Python work of a 1,000-user tenant kept the others waiting while sync threads competed for
    the GIL. Inside the lock only database work remains.
    """
    tid = snap.tenant_id
    out: dict[sa.Table, list] = {}
    for table, rows in ((S.domains, snap.domains), (S.skus, snap.skus),
                        (S.role_definitions, snap.role_definitions),
                        (S.role_assignments, snap.role_assignments),
                        (S.mailboxes, snap.mailboxes),
                        (S.dynamic_distribution_groups, snap.dynamic_lists)):
        if rows is not None:
            out[table] = insert_statements(dialect, table, rows)
    if snap.users is not None and snap.users.full:
        licenses = []
        for row in snap.users.rows:       # staged rows are ours: complete them in place
            row["tenant_id"] = tid
            if snap.sign_ins is not None:
                row["last_sign_in"], row["last_non_interactive_sign_in"] = \
                    snap.sign_ins.get(row["id"], (None, None))
            uid = row["id"]
            for e in row.get("_licenses", ()):
                licenses.append({"tenant_id": tid, "user_id": uid, **e})
        out[S.users] = insert_statements(dialect, S.users, snap.users.rows)
        out[S.user_licenses] = insert_statements(dialect, S.user_licenses, licenses)
    if snap.groups is not None and snap.groups.full:
        rows = []
        for r in snap.groups.rows:
            row = R.derive_group({**r, "tenant_id": tid})
            row["member_ids"], row["other_members"] = R.member_lists(snap.groups.members.get(r["id"], {}))
            rows.append(row)
        out[S.groups] = insert_statements(dialect, S.groups, rows)
    if snap.apps is not None and snap.apps_full:
        out[S.group_apps] = insert_statements(
            dialect, S.group_apps, [row for rows in snap.apps.values() for row in rows])
    return out


def write_snapshot(conn: Connection, snap: TenantSnapshot, now: str, prepared=None) -> None:
    """Apply `snap` inside the caller's transaction `conn` (`prepared`: from `prepare()`)."""
    tid = snap.tenant_id
    if prepared is None:
        prepared = prepare(conn.dialect, snap)
    # Two processes syncing one tenant at once would both delete, then both insert the same
    # keys (UniqueViolation on PostgreSQL): the tenant's row lock makes the second wait for the
    # first to commit. SQLite takes one writer at a time anyway and ignores FOR UPDATE.
    conn.execute(sa.select(S.tenants.c.tenant_id).where(S.tenants.c.tenant_id == tid)
                 .with_for_update())
    for table, statements in prepared.items():
        conn.execute(table.delete().where(table.c.tenant_id == tid))
        _run(conn, statements)
    if snap.users is not None and not snap.users.full:
        _write_users(conn, tid, snap.users)
    if snap.sign_ins is not None and (snap.users is None or not snap.users.full):
        _update_sign_ins(conn, tid, snap.sign_ins)
    if snap.groups is not None and not snap.groups.full:
        _write_groups(conn, tid, snap.groups)
    if snap.apps is not None and not snap.apps_full:
        _write_apps(conn, tid, snap.apps)
    _write_state(conn, snap, now)
    _write_tenant(conn, snap, now)


def _write_users(conn: Connection, tid: str, change: Change) -> None:
    """Lay a delta over the stored users (full reads are written from `prepare()`)."""
    changed = [r["id"] for r in change.rows]
    stored = _stored(conn, S.users, tid, changed)
    rows, licenses, relicensed = [], [], list(change.removed)
    for partial in change.rows:
        # A delta answer may hold only what changed: lay it over what the store has.
        row = {**stored.get(partial["id"], {}), **partial, "tenant_id": tid}
        rows.append(row)
        if "_licenses" in partial:
            relicensed.append(row["id"])
            licenses.extend({"tenant_id": tid, "user_id": row["id"], **e} for e in partial["_licenses"])
    _delete_ids(conn, S.users, tid, S.users.c.id, set(change.removed) | set(changed))
    _delete_ids(conn, S.user_licenses, tid, S.user_licenses.c.user_id, relicensed)
    _insert(conn, S.users, rows)
    _insert(conn, S.user_licenses, licenses)
    if change.removed:
        _forget_members(conn, tid, set(change.removed))


def _forget_members(conn: Connection, tid: str, gone: set[str]) -> None:
    """A deleted user is no longer anyone's member, even before the groups delta says so."""
    g = S.groups
    for row in conn.execute(sa.select(g.c.id, g.c.member_ids, g.c.other_members)
                            .where(g.c.tenant_id == tid)).mappings().all():
        members = R.parse_members(row)
        if gone & members.keys():
            ids, others = R.member_lists({m: k for m, k in members.items() if m not in gone})
            conn.execute(g.update().where(g.c.tenant_id == tid, g.c.id == row["id"])
                         .values(member_ids=ids, other_members=others))


def _update_sign_ins(conn: Connection, tid: str, sign_ins: dict) -> None:
    stmt = (S.users.update()
            .where(S.users.c.tenant_id == sa.bindparam("t_id"), S.users.c.id == sa.bindparam("u_id"))
            .values(last_sign_in=sa.bindparam("ls"), last_non_interactive_sign_in=sa.bindparam("lni")))
    params = [{"t_id": tid, "u_id": uid, "ls": ls, "lni": lni} for uid, (ls, lni) in sign_ins.items()]
    for part in _chunks(params, 5000):
        conn.execute(stmt, part)


def _write_groups(conn: Connection, tid: str, change: GroupChange) -> None:
    """Lay a delta over the stored groups and their member lists."""
    changed = [r["id"] for r in change.rows]
    stored = _stored(conn, S.groups, tid, changed)
    members = {gid: R.parse_members(row) for gid, row in stored.items()}
    for gid, mid in change.dropped:
        members.get(gid, {}).pop(mid, None)
    for gid, mid, kind in change.added:
        members.setdefault(gid, {})[mid] = kind
    rows = []
    for r in change.rows:
        row = R.derive_group({**stored.get(r["id"], {}), **r, "tenant_id": tid})
        row["member_ids"], row["other_members"] = R.member_lists(members.get(r["id"], {}))
        rows.append(row)
    _delete_ids(conn, S.groups, tid, S.groups.c.id, set(changed) | set(change.removed))
    _insert(conn, S.groups, rows)
    if change.removed:
        _delete_ids(conn, S.group_apps, tid, S.group_apps.c.group_id, change.removed)


def _write_apps(conn: Connection, tid: str, apps: dict[str, list[dict]]) -> None:
    """Replace the app assignments of some groups (all of them come from `prepare()`)."""
    _delete_ids(conn, S.group_apps, tid, S.group_apps.c.group_id, list(apps))
    _insert(conn, S.group_apps, [row for rows in apps.values() for row in rows])


def _write_state(conn: Connection, snap: TenantSnapshot, now: str) -> None:
    tid = snap.tenant_id
    updates: dict[str, dict] = {}
    for name, change in (("users", snap.users), ("groups", snap.groups)):
        if change is not None:
            updates[name] = {"delta_link": change.delta_link, "full": change.full}
    if snap.sign_ins is not None:
        updates["sign_ins"] = {"delta_link": None, "full": True}
    if snap.apps is not None and snap.apps_full:
        updates["apps"] = {"delta_link": None, "full": True}
    if snap.reference_read:
        updates["reference"] = {"delta_link": None, "full": True}
    if snap.mailboxes is not None:
        updates["mailboxes"] = {"delta_link": None, "full": True}
    if not updates:
        return
    stored = {r.resource: r.full_at for r in conn.execute(
        sa.select(S.sync_state.c.resource, S.sync_state.c.full_at)
        .where(S.sync_state.c.tenant_id == tid))}
    conn.execute(S.sync_state.delete().where(S.sync_state.c.tenant_id == tid,
                                             S.sync_state.c.resource.in_(list(updates))))
    _insert(conn, S.sync_state, [
        {"tenant_id": tid, "resource": name, "delta_link": u["delta_link"],
         "full_at": now if u["full"] else stored.get(name), "updated": now}
        for name, u in updates.items()])


def _write_tenant(conn: Connection, snap: TenantSnapshot, now: str) -> None:
    values = {"last_sync": now, "last_attempt": now, "last_error": None}
    if snap.organization:
        values.update({k: v for k, v in snap.organization.items() if v})
    if snap.has_sign_in_activity is not None:
        values["has_sign_in_activity"] = snap.has_sign_in_activity
    if snap.entra_p1 is not None:
        values["entra_p1"] = snap.entra_p1
    if snap.access:
        values.update(snap.access)
    result = conn.execute(S.tenants.update().where(S.tenants.c.tenant_id == snap.tenant_id)
                          .values(**values))
    if result.rowcount == 0:
        conn.execute(S.tenants.insert().values(tenant_id=snap.tenant_id, active=True,
                                               sync_enabled=True, source="direct", **values))


ACCESS_COLUMNS = ("access", "missing_permissions", "granted_permissions", "app_roles",
                  "access_detail", "access_checked", "entra_p1", "intune")


def record_access(conn: Connection, tenant_id: str, values: dict) -> bool:
    """Store what the app may do in a known tenant (services.access), apart from any snapshot;
    False when the store has no such tenant (a check never adds tenants to sync)."""
    values = {k: v for k, v in values.items() if k in ACCESS_COLUMNS}
    if not values:
        return True
    result = conn.execute(S.tenants.update().where(S.tenants.c.tenant_id == tenant_id)
                          .values(**values))
    return result.rowcount > 0


def record_failure(conn: Connection, tenant_id: str, reason: str, now: str) -> None:
    """Note a failed sync on the tenant; its previous snapshot and last_sync stay as they were."""
    result = conn.execute(S.tenants.update().where(S.tenants.c.tenant_id == tenant_id)
                          .values(last_attempt=now, last_error=reason[:2000]))
    if result.rowcount == 0:
        conn.execute(S.tenants.insert().values(tenant_id=tenant_id, active=True, sync_enabled=True,
                                               source="direct", last_attempt=now,
                                               last_error=reason[:2000]))
