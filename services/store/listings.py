"""The DataFrame listings of DESIGN.md, read from the store.

Each function takes an open connection and a tenant scope (a list of tenant ids, or None for
every tenant) and returns the documented columns first, then extras. Per-user values that repeat
(license sets, their sources) are stored compactly and decoded once per distinct value, which
keeps `users()` over 100,000 users well under a second.
"""
from __future__ import annotations

import json
from typing import Iterable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import access as access_rules
from .. import licensing
from .. import skus as sku_names
from . import schema as S
from .frames import apply_dtypes, frame, raw_rows, tenant_filter, tenant_names

TENANTS = ["tenant_id", "display_name", "default_domain", "synced", "last_sync", "users",
           "licensed_users", "seats_total", "seats_consumed", "seats_available", "skus_out_of_seats"]
TENANTS_EXTRA = ["initial_domain", "source", "last_attempt", "last_error", "groups",
                 # what the app may do there (services.access; consent_url is added by the API)
                 "access", "missing_permissions", "features_off", "last_sign_in_note",
                 "entra_p1", "granted_permissions", "app_roles", "access_checked",
                 "access_detail", "intune"]
USERS = ["tenant_id", "tenant_name", "id", "user_principal_name", "display_name", "given_name",
         "surname", "account_enabled", "usage_location", "department", "job_title", "licenses",
         "created", "last_sign_in"]
USERS_EXTRA = ["license_sources", "mail", "office_location", "mobile_phone", "business_phones",
               "user_type", "last_non_interactive_sign_in", "on_premises_sync",
               # Exchange Online (services/sync/mailboxes.py): "" when no mailbox is known
               "mailbox_type", "forwarding_to", "hidden_from_address_lists"]
MAILBOX_COLUMNS = ("mailbox_type", "forwarding_to", "hidden_from_address_lists")
LICENSES = ["tenant_id", "tenant_name", "sku_id", "sku_part_number", "product_name",
            "capability_status", "enabled", "consumed", "available", "suspended", "warning",
            "utilization"]
LICENSES_EXTRA = ["out_of_seats", "applies_to", "locked_out"]
USER_LICENSES = ["tenant_id", "user_id", "user_principal_name", "sku_id", "sku_part_number",
                 "product_name"]
USER_LICENSES_EXTRA = ["assigned_directly", "assigned_by_group", "assigned_by_group_name",
                       "state", "error", "tenant_name"]
GROUPS = ["tenant_id", "id", "display_name", "kind", "is_team", "is_dynamic", "writable",
          "members", "apps"]
GROUPS_EXTRA = ["tenant_name", "mail", "group_types", "description", "mail_enabled",
                "security_enabled", "membership_rule", "on_premises_sync", "read_only_reason",
                "changed_in"]
ROLES = ["tenant_id", "role_definition_id", "display_name", "members"]
ROLES_EXTRA = ["tenant_name", "is_built_in", "description", "template_id", "member_ids"]

# `writable`: Graph changes the members. Distribution lists and mail-enabled security groups are
# changed through Exchange Online instead (`changed_in`), where the tenant's access allows it
# (services.access, feature "exchange").
EXCHANGE_KINDS = ("distribution", "mail_security")
READ_ONLY_REASONS = {
    "distribution": "distribution list: changed through Exchange Online, not Graph",
    "mail_security": "mail-enabled security group: changed through Exchange Online, not Graph",
}


def _part_numbers(conn: Connection, scope) -> dict[tuple[str, str], str]:
    k = S.skus
    return {(r.tenant_id, r.sku_id): r.sku_part_number or "" for r in conn.execute(
        sa.select(k.c.tenant_id, k.c.sku_id, k.c.sku_part_number).where(tenant_filter(k, scope)))}


def _product(parts: dict, tenant_id: str, sku_id: str) -> str:
    return sku_names.product_name(sku_id, parts.get((tenant_id, sku_id)))


def _group_names(conn: Connection, scope) -> dict[tuple[str, str], str]:
    g = S.groups
    return {(r.tenant_id, r.id): r.display_name or r.id for r in conn.execute(
        sa.select(g.c.tenant_id, g.c.id, g.c.display_name).where(tenant_filter(g, scope)))}


# ---- tenants ---------------------------------------------------------------------------------

def tenants(conn: Connection, scope: Iterable[str] | None = None) -> pd.DataFrame:
    t, u, g = S.tenants, S.users, S.groups
    stmt = sa.select(t).where(t.c.active == sa.true(), tenant_filter(t, scope)) \
        .order_by(t.c.display_name, t.c.tenant_id)
    base = [dict(r) for r in conn.execute(stmt).mappings()]
    licensed = sa.case((sa.func.coalesce(u.c.sku_ids, "") != "", 1), else_=0)
    counts = {r.tenant_id: (r.n, r.licensed) for r in conn.execute(
        sa.select(u.c.tenant_id, sa.func.count().label("n"), sa.func.sum(licensed).label("licensed"))
        .where(tenant_filter(u, scope)).group_by(u.c.tenant_id))}
    # Seat figures from the licenses() rows themselves: skus_out_of_seats counts exactly the
    # rows whose out_of_seats column is True (one rule, services.licensing.out_of_seats).
    skus = licenses(conn, scope)
    skus = skus.assign(tenant_id=skus["tenant_id"].astype(str))
    seats = {tid: (int(one["enabled"].sum()), int(one["consumed"].sum()),
                   int(one["out_of_seats"].sum()))
             for tid, one in skus.groupby("tenant_id", sort=False)}
    n_groups = {r.tenant_id: r.n for r in conn.execute(
        sa.select(g.c.tenant_id, sa.func.count().label("n")).where(tenant_filter(g, scope))
        .group_by(g.c.tenant_id))}
    rows = []
    for r in base:
        tid = r["tenant_id"]
        n, lic = counts.get(tid, (0, 0))
        total, consumed, out = seats.get(tid, (0, 0, 0))
        synced = r["last_sync"] is not None
        rows.append({
            "tenant_id": tid, "display_name": r["display_name"] or tid,
            "default_domain": r["default_domain"], "synced": bool(r["sync_enabled"]),
            "last_sync": r["last_sync"],
            "users": n if synced else None, "licensed_users": lic or 0 if synced else None,
            "seats_total": total or 0 if synced else None,
            "seats_consumed": consumed or 0 if synced else None,
            "seats_available": (total or 0) - (consumed or 0) if synced else None,
            "skus_out_of_seats": out or 0 if synced else None,
            "initial_domain": r["initial_domain"], "source": r["source"],
            "last_attempt": r["last_attempt"], "last_error": r["last_error"],
            "groups": n_groups.get(tid, 0) if synced else None,
            "access": r["access"] or access_rules.NOT_CHECKED,
            "missing_permissions": r["missing_permissions"] or "",
            "features_off": access_rules.features_off_text(r),
            "last_sign_in_note": access_rules.last_sign_in_note(r),
            "entra_p1": r["entra_p1"], "granted_permissions": r["granted_permissions"],
            "app_roles": r["app_roles"], "access_checked": r["access_checked"],
            "access_detail": r["access_detail"], "intune": r["intune"]})
    df = frame(rows, TENANTS + TENANTS_EXTRA)
    return apply_dtypes(df, {
        "tenant_id": "str", "display_name": "str", "default_domain": "str", "synced": "bool",
        "last_sync": "utc", "users": "Int64", "licensed_users": "Int64", "seats_total": "Int64",
        "seats_consumed": "Int64", "seats_available": "Int64", "skus_out_of_seats": "Int64",
        "initial_domain": "str", "source": "str", "last_attempt": "utc", "last_error": "str",
        "groups": "Int64", "access": "str", "missing_permissions": "str", "features_off": "str",
        "last_sign_in_note": "str", "entra_p1": "boolean", "granted_permissions": "str",
        "app_roles": "str", "access_checked": "utc", "access_detail": "str",
        "intune": "boolean"})


# ---- users -----------------------------------------------------------------------------------

def users(conn: Connection, scope: Iterable[str] | None = None,
          only_ids: Iterable[str] | None = None) -> pd.DataFrame:
    u = S.users
    stored = ["tenant_id", "id", "user_principal_name", "display_name", "given_name", "surname",
              "account_enabled", "usage_location", "department", "job_title", "sku_ids",
              "created", "last_sign_in", "license_sources", "mail", "office_location",
              "mobile_phone", "business_phones", "user_type", "last_non_interactive_sign_in",
              "on_premises_sync"]
    where = [tenant_filter(u, scope)]
    if only_ids is not None:
        where.append(u.c.id.in_(list(only_ids)))
    m = S.mailboxes
    joined = u.outerjoin(m, sa.and_(m.c.tenant_id == u.c.tenant_id, m.c.user_id == u.c.id))
    stmt = sa.select(*[u.c[c] for c in stored], *[m.c[c] for c in MAILBOX_COLUMNS]) \
        .select_from(joined).where(*where) \
        .order_by(u.c.tenant_id, u.c.user_principal_name)      # ix_users_tenant_upn order
    df = frame(raw_rows(conn, stmt), [*stored, *MAILBOX_COLUMNS])
    df["mailbox_type"] = df["mailbox_type"].fillna("")
    tenant = pd.Categorical(df["tenant_id"])
    parts = _part_numbers(conn, scope)
    groups = _group_names(conn, scope)
    df["tenant_id"] = tenant
    df["licenses"] = _decode(tenant, df["sku_ids"], lambda t, v: "; ".join(sorted(
        _product(parts, t, s) for s in v.split(";") if s)))
    df["license_sources"] = _decode(tenant, df["license_sources"],
                                    lambda t, v: _sources_text(parts, groups, t, v))
    df["tenant_name"] = _tenant_names(tenant, tenant_names(conn))
    df = df[USERS + USERS_EXTRA]
    return apply_dtypes(df, {
        "tenant_id": "category", "tenant_name": "category", "account_enabled": "boolean",
        "usage_location": "category", "department": "category", "created": "utc",
        "last_sign_in": "utc", "last_non_interactive_sign_in": "utc",
        "on_premises_sync": "boolean", "mailbox_type": "category",
        "hidden_from_address_lists": "boolean"})


def _decode(tenant: pd.Categorical, values: pd.Series, decode) -> pd.Series:
    """decode(tenant_id, value) once per distinct (tenant, value) pair, mapped over all rows."""
    if values.empty:
        return pd.Series([], dtype="str", index=values.index)
    vcodes, vuniques = pd.factorize(values.fillna("").to_numpy(dtype=object))
    width = len(vuniques) + 1
    kcodes, keys = pd.factorize(tenant.codes.astype(np.int64) * width + vcodes)
    texts = np.array([decode(tenant.categories[k // width], vuniques[k % width])
                      if vuniques[k % width] else "" for k in keys], dtype=object)
    return pd.Series(texts[kcodes], index=values.index, dtype="str")


def _sources_text(parts: dict, groups: dict, tid: str, code: str) -> str:
    out = []
    for entry in code.split(";"):
        sku, _, how = entry.partition("=")
        labels = []
        for piece in how.split(","):
            if piece == "direct":
                labels.append("direct")
            elif piece.startswith("g:"):
                labels.append("group " + groups.get((tid, piece[2:]), piece[2:]))
        out.append(f"{_product(parts, tid, sku)} ({', '.join(labels) or 'direct'})")
    return "; ".join(out)


# ---- licenses --------------------------------------------------------------------------------

def licenses(conn: Connection, scope: Iterable[str] | None = None) -> pd.DataFrame:
    k = S.skus
    stmt = sa.select(k).where(tenant_filter(k, scope)).order_by(k.c.tenant_id, k.c.sku_part_number)
    names = tenant_names(conn)
    rows = []
    for r in conn.execute(stmt).mappings():
        enabled, consumed = r["enabled"] or 0, r["consumed"] or 0
        rows.append({"tenant_id": r["tenant_id"], "tenant_name": names.get(r["tenant_id"]),
                     "sku_id": r["sku_id"], "sku_part_number": r["sku_part_number"],
                     "product_name": sku_names.product_name(r["sku_id"], r["sku_part_number"]),
                     "capability_status": r["capability_status"], "enabled": enabled,
                     "consumed": consumed, "available": enabled - consumed,
                     "suspended": r["suspended"], "warning": r["warning"],
                     "utilization": consumed / enabled if enabled else float("nan"),
                     "applies_to": r["applies_to"], "locked_out": r["locked_out"]})
    df = frame(rows, LICENSES + LICENSES_EXTRA)
    df["out_of_seats"] = licensing.out_of_seats_frame(df)
    return apply_dtypes(df, {
        "tenant_id": "category", "tenant_name": "category", "capability_status": "category",
        "enabled": "Int64", "consumed": "Int64", "available": "Int64", "suspended": "Int64",
        "warning": "Int64", "utilization": "float", "out_of_seats": "bool",
        "locked_out": "Int64"})


def with_sku_names(conn: Connection, scope, df: pd.DataFrame) -> pd.Categorical:
    """Give a frame of (tenant_id, sku_id) rows its sku_part_number and product_name columns
    (decoded once per distinct SKU); returns the tenant column as a Categorical."""
    parts = _part_numbers(conn, scope)
    tenant = pd.Categorical(df["tenant_id"])
    df["tenant_id"] = tenant
    df["sku_part_number"] = _decode(tenant, df["sku_id"], lambda t, v: parts.get((t, v))
                                    or sku_names.part_number(v) or "")
    df["product_name"] = _decode(tenant, df["sku_id"], lambda t, v: _product(parts, t, v))
    return tenant


def user_licenses(conn: Connection, scope: Iterable[str] | None = None) -> pd.DataFrame:
    ul, u = S.user_licenses, S.users
    stored = ["tenant_id", "user_id", "user_principal_name", "sku_id", "assigned_directly",
              "assigned_by_group", "state", "error"]
    stmt = (sa.select(ul.c.tenant_id, ul.c.user_id, u.c.user_principal_name, ul.c.sku_id,
                      ul.c.direct, ul.c.assigned_by_group, ul.c.state, ul.c.error)
            .join(u, (u.c.tenant_id == ul.c.tenant_id) & (u.c.id == ul.c.user_id))
            .where(tenant_filter(ul, scope))
            .order_by(ul.c.tenant_id, u.c.user_principal_name, ul.c.sku_id))
    df = frame(raw_rows(conn, stmt), stored)
    groups = _group_names(conn, scope)
    tenant = with_sku_names(conn, scope, df)
    df["assigned_by_group_name"] = _decode(tenant, df["assigned_by_group"], lambda t, v: "; ".join(
        groups.get((t, g), g) for g in v.split(";") if g))
    df["assigned_by_group"] = _decode(tenant, df["assigned_by_group"], lambda t, v: v.replace(";", "; "))
    df["tenant_name"] = _tenant_names(tenant, tenant_names(conn))
    df = df[USER_LICENSES + USER_LICENSES_EXTRA]
    return apply_dtypes(df, {"tenant_id": "category", "sku_part_number": "category",
                             "product_name": "category", "assigned_directly": "boolean",
                             "tenant_name": "category"})


def _tenant_names(tenant: pd.Categorical, names: dict[str, str]) -> pd.Categorical:
    """tenant_name as a categorical aligned with the tenant_id codes (no per-row lookups)."""
    labels = [names.get(t, t) for t in tenant.categories]
    if len(set(labels)) == len(labels):
        return tenant.rename_categories(labels)
    return pd.Categorical(np.array(labels, dtype=object)[tenant.codes]) if len(tenant) else \
        pd.Categorical([])


# ---- groups and roles --------------------------------------------------------------------------

def groups(conn: Connection, scope: Iterable[str] | None = None,
           only_ids: Iterable[str] | None = None) -> pd.DataFrame:
    g, a = S.groups, S.group_apps
    where = [tenant_filter(g, scope)]
    if only_ids is not None:
        where.append(g.c.id.in_(list(only_ids)))
    stmt = sa.select(g).where(*where).order_by(g.c.tenant_id, g.c.display_name)
    apps: dict[tuple[str, str], set[str]] = {}
    for r in conn.execute(sa.select(a.c.tenant_id, a.c.group_id, a.c.resource_display_name)
                          .where(tenant_filter(a, scope))):
        apps.setdefault((r.tenant_id, r.group_id), set()).add(r.resource_display_name or "")
    names = tenant_names(conn)
    rows = []
    for r in conn.execute(stmt).mappings():
        key = (r["tenant_id"], r["id"])
        reason = READ_ONLY_REASONS.get(r["kind"]) or (
            "dynamic group: members come from its membership rule" if r["is_dynamic"] else
            "synced from on-premises Active Directory: change it there" if r["on_premises_sync"]
            else None)
        rows.append({**{c: r[c] for c in ("tenant_id", "id", "display_name", "kind", "is_team",
                                          "is_dynamic", "mail", "description",
                                          "mail_enabled", "security_enabled", "membership_rule",
                                          "on_premises_sync")},
                     "members": _count(r["member_ids"]) + _count(r["other_members"]),
                     "apps": "; ".join(sorted(x for x in apps.get(key, ()) if x)),
                     "tenant_name": names.get(r["tenant_id"]),
                     "group_types": "; ".join(_json_list(r["group_types"])),
                     "read_only_reason": reason, "writable": r["writable"],
                     "changed_in": "Exchange Online" if r["kind"] in EXCHANGE_KINDS else "Graph"})
    df = frame(rows, GROUPS + GROUPS_EXTRA)
    return apply_dtypes(df, {"tenant_id": "category", "kind": "category", "is_team": "boolean",
                             "is_dynamic": "boolean", "writable": "boolean", "members": "Int64",
                             "tenant_name": "category", "mail_enabled": "boolean",
                             "security_enabled": "boolean", "on_premises_sync": "boolean"})


DYNAMIC_LIST_REASON = ("dynamic distribution group: its members come from its recipient filter "
                       "in Exchange Online; change the filter there")


def dynamic_distribution_groups(conn: Connection, scope: Iterable[str] | None = None) -> pd.DataFrame:
    """Exchange's dynamic distribution groups (not in Graph), as the group pickers list them."""
    d = S.dynamic_distribution_groups
    rows = [dict(r) for r in conn.execute(sa.select(d).where(tenant_filter(d, scope))
                                          .order_by(d.c.tenant_id, d.c.display_name)).mappings()]
    df = frame(rows, ["tenant_id", "id", "display_name", "mail", "recipient_filter"])
    df["kind"] = "dynamic_distribution"
    df["read_only_reason"] = DYNAMIC_LIST_REASON
    return df


def _count(joined) -> int:
    return joined.count(";") + 1 if joined else 0


def _json_list(text) -> list:
    return json.loads(text) if text else []


def roles(conn: Connection, scope: Iterable[str] | None = None) -> pd.DataFrame:
    d, a = S.role_definitions, S.role_assignments
    holders: dict[tuple[str, str], set[str]] = {}
    for r in conn.execute(sa.select(a.c.tenant_id, a.c.role_definition_id, a.c.principal_id)
                          .where(tenant_filter(a, scope))):
        holders.setdefault((r.tenant_id, r.role_definition_id), set()).add(r.principal_id)
    names = tenant_names(conn)
    rows = []
    for r in conn.execute(sa.select(d).where(tenant_filter(d, scope))
                          .order_by(d.c.tenant_id, d.c.display_name)).mappings():
        ids = holders.get((r["tenant_id"], r["id"]), set())
        rows.append({"tenant_id": r["tenant_id"], "role_definition_id": r["id"],
                     "display_name": r["display_name"], "members": len(ids),
                     "tenant_name": names.get(r["tenant_id"]), "is_built_in": r["is_built_in"],
                     "description": r["description"], "template_id": r["template_id"],
                     "member_ids": "; ".join(sorted(ids))})
    df = frame(rows, ROLES + ROLES_EXTRA)
    return apply_dtypes(df, {"tenant_id": "category", "members": "Int64",
                             "tenant_name": "category", "is_built_in": "boolean"})
