"""Small reads on an open connection that the `M365` object needs besides the listings:
finding a tenant by verified domain, a user by id or UPN, a user's groups and roles, a tenant's
domains, and the per-tenant change tokens of `M365.tenant_versions()`.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import schema as S


def verified_domain_tenants(conn: Connection, domain: str) -> list[str]:
    """Ids of the tenants holding `domain` (lower-case) as a verified domain."""
    d = S.domains
    return list(conn.execute(sa.select(d.c.tenant_id).where(
        sa.func.lower(d.c.name) == domain, d.c.is_verified == sa.true())).scalars().all())


def user_id(conn: Connection, tenant_id: str, wanted: str) -> str | None:
    """The id of the tenant's stored user whose id or UPN is `wanted` (lower-case), if any."""
    u = S.users
    return conn.execute(sa.select(u.c.id).where(
        u.c.tenant_id == tenant_id,
        sa.or_(sa.func.lower(u.c.id) == wanted,
               sa.func.lower(u.c.user_principal_name) == wanted))).scalar()


def tenant_versions(conn: Connection) -> dict[str, str]:
    """Tenant id -> a token of its last sync time, whether it is active, when its access was
    last checked (`m365dash access` changes it without a sync), and its delta links."""
    out: dict[str, list[str]] = {}
    t = S.tenants.c
    for tid, last_sync, active, checked in conn.execute(
            sa.select(t.tenant_id, t.last_sync, t.active, t.access_checked)):
        out[tid] = [f"{last_sync}:{bool(active)}:{checked}"]
    state = S.sync_state.c
    for tid, resource, link, updated in conn.execute(
            sa.select(state.tenant_id, state.resource, state.delta_link, state.updated)
            .order_by(state.tenant_id, state.resource)):
        out.setdefault(tid, []).append(f"{resource}={updated}:{link}")
    return {tid: "|".join(parts) for tid, parts in out.items()}


def domain_rows(conn: Connection, tenant_id: str, verified_only: bool) -> list[dict]:
    """The tenant's stored domains (tenant_domains columns), verified ones only if asked."""
    d = S.domains
    stmt = sa.select(d).where(d.c.tenant_id == tenant_id)
    if verified_only:
        stmt = stmt.where(d.c.is_verified == sa.true())
    return [dict(r) for r in conn.execute(stmt).mappings()]


def user_group_ids(conn: Connection, tenant_id: str, uid: str) -> list[str]:
    """Ids of the groups the user is a direct member of."""
    g = S.groups
    rows = conn.execute(sa.select(g.c.id, g.c.member_ids).where(
        g.c.tenant_id == tenant_id, g.c.member_ids.contains(uid, autoescape=True)))
    return [r.id for r in rows if uid in (r.member_ids or "").split(";")]


def user_role_rows(conn: Connection, tenant_id: str, uid: str) -> list[tuple]:
    """(assignment id, role definition id, role name, directory scope) of the user's directory
    role assignments, by role name."""
    a, d = S.role_assignments, S.role_definitions
    stmt = (sa.select(a.c.id.label("assignment_id"), a.c.role_definition_id,
                      d.c.display_name, a.c.directory_scope_id)
            .select_from(a.outerjoin(d, (d.c.tenant_id == a.c.tenant_id)
                                     & (d.c.id == a.c.role_definition_id)))
            .where(a.c.tenant_id == tenant_id, a.c.principal_id == uid)
            .order_by(d.c.display_name))
    return [tuple(r) for r in conn.execute(stmt).all()]
