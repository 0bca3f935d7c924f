"""Bulk onboarding: validate every row against live tenant state, then create users in batches.

Rows are checked against one snapshot per tenant (see `context.py`), so 1,000 rows cost a few
requests to validate. Applying runs in phases across all users of a tenant: creates (20 per
`$batch`), then role assignments and license assignments (20 per `$batch`), then group additions
(`members@odata.bind`, 20 members per PATCH, 20 PATCHes per `$batch`); distribution lists and
mail-enabled security groups last, one Exchange Online cmdlet per member (Exchange has no batch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..access import feature_refusal
from ..passwords import check_password
from ..workflows.onboarding import upn_from
from ..workflows.mailbox_steps import list_needs_mailbox
from ..workflows.resolve import exchange_group, group_write_refusal
from ..workflows.validation import (PROPERTIES, graph_value, mail_nickname, property_problems,
                                    upn_problem)
from .context import BulkContext, load_context
from .csvfile import BulkTable, RowProblem, read_bulk
from .templated import apply_templates, column_of


@dataclass
class OnboardRow:
    row: int
    tenant_id: str
    upn: str
    body: dict                       # Graph POST /users body without the password
    password: str | None             # typed in the CSV, else generated at apply
    sku_ids: list[str] = field(default_factory=list)
    group_ids: list[str] = field(default_factory=list)
    list_ids: list[str] = field(default_factory=list)   # distribution lists (Exchange Online)
    role_ids: list[str] = field(default_factory=list)
    manager_id: str | None = None
    exists_id: str | None = None     # set when an earlier bulk job already created this user
    labels: dict[str, str] = field(default_factory=dict)   # id -> the name the operator wrote


def full_user_name(user_name, domain) -> tuple[str, str]:
    """(UPN, problem) for a row's User Name and Domain cells: the name alone when it is a full
    sign-in name, name@domain when it is the part before the @ and a Domain is given."""
    name, domain = str(user_name or "").strip(), str(domain or "").strip().lstrip("@")
    if not domain:
        return name, ""
    if "@" in name:
        if name.rsplit("@", 1)[1].lower() != domain.lower():
            return name, (f"{name} already has a domain, and the Domain column says {domain}: "
                          "give the part before the @ only, or leave Domain empty")
        return name, ""
    return upn_from(name, domain), ""


def validate_rows(table: BulkTable, contexts: dict[str, BulkContext], tenant_of: dict[str, str],
                  already_created: dict[str, set[str]]) -> tuple[list[OnboardRow], list[RowProblem]]:
    """Check every row; returns the rows that may be applied and every problem found."""
    problems: list[RowProblem] = []
    good: list[OnboardRow] = []
    seats_wanted: dict[tuple[str, str], list[int]] = {}
    for raw in table.rows:
        n = raw["row"]
        col = column_of(table, raw)     # values a template supplied: its Template column
        before = len(problems)
        tenant_id = tenant_of.get(str(raw.get("tenant", "")).lower())
        if not tenant_id:
            problems.append(RowProblem(n, col("tenant"), f"unknown tenant '{raw.get('tenant', '')}'; "
                                       "use a tenant id, verified domain or display name"))
            continue
        ctx = contexts[tenant_id]
        upn, why = full_user_name(raw.get("user_principal_name"), raw.get("domain"))
        if why:
            problems.append(RowProblem(n, col("user_principal_name"), why))
            continue
        raw["user_principal_name"] = upn
        for fieldname in ("given_name", "surname"):
            if not raw.get(fieldname):
                problems.append(RowProblem(n, col(fieldname), "is required"))
        for p in property_problems({k: raw.get(k) for k in PROPERTIES if k in raw}):
            problems.append(RowProblem(n, col(p.field), p.message))
        message = upn_problem(upn, ctx.facts.verified_domains)
        if message:
            problems.append(RowProblem(n, col("user_principal_name"), message))
        exists_id = None
        if upn.lower() in ctx.taken:
            if upn.lower() in already_created.get(tenant_id, set()):
                exists_id = ctx.upn_to_id.get(upn.lower())
            else:
                problems.append(RowProblem(n, col("user_principal_name"),
                                           f"{upn} already exists in this tenant; pick another user name"))
        elif "nick:" + mail_nickname(upn).lower() in ctx.taken:
            problems.append(RowProblem(n, col("user_principal_name"),
                                       f"mail nickname '{mail_nickname(upn)}' is already used in this tenant"))
        usage = str(raw.get("usage_location", "")).strip().upper()
        password = raw.get("password") or None
        if password:
            message = check_password(password, upn.split("@", 1)[0])
            if message:
                problems.append(RowProblem(n, col("password"), message))
        item = OnboardRow(n, tenant_id, upn, {}, password, exists_id=exists_id)
        for name in raw.get("licenses", []):
            sku_id, why = ctx.facts.find_sku(name)
            if sku_id is None:
                problems.append(RowProblem(n, col("licenses"), why))
                continue
            item.sku_ids.append(sku_id)
            item.labels[sku_id] = name
        if item.sku_ids and not usage:
            problems.append(RowProblem(n, col("usage_location") if "usage_location" in table.headers
                                       else "Usage Location",
                                       "a license needs a usage location (two-letter country code, e.g. US)"))
        for name in raw.get("groups", []):
            group, why = ctx.facts.find_group(name)
            refusal = group_write_refusal(group) if group else None
            if why or refusal:
                problems.append(RowProblem(n, col("groups"), why or f"'{name}' {refusal}"))
                continue
            (item.list_ids if exchange_group(group) else item.group_ids).append(group["id"])
            item.labels[group["id"]] = name
        if item.list_ids:
            lists = [ctx.facts.groups.get(g.lower(), {"id": g}) for g in item.list_ids]
            for p in list_needs_mailbox(ctx.facts, [(s, []) for s in item.sku_ids], lists):
                problems.append(RowProblem(n, col("groups"), p.message))
        for name in raw.get("roles", []):
            role, why = ctx.facts.find_role(name)
            if why:
                problems.append(RowProblem(n, col("roles"), why))
                continue
            item.role_ids.append(role["id"])
            item.labels[role["id"]] = name
        manager = str(raw.get("manager", "") or "").strip()
        if manager:
            item.manager_id = ctx.upn_to_id.get(manager.lower())
            if item.manager_id is None:
                problems.append(RowProblem(n, col("manager"), f"no user '{manager}' in this tenant; the "
                                           "manager must exist before the file is applied"))
            else:
                item.labels[item.manager_id] = manager
        if len(problems) == before:
            item.body = _user_body(raw, upn, usage)
            good.append(item)
            if not exists_id:   # only rows that will be applied take a seat
                for sku_id in item.sku_ids:
                    seats_wanted.setdefault((tenant_id, sku_id), []).append(n)
    for (tenant_id, sku_id), rows in seats_wanted.items():
        left = contexts[tenant_id].seats_left(sku_id)
        if len(rows) > left:
            name = contexts[tenant_id].facts.skus[sku_id].get("skuPartNumber", sku_id)
            for n in rows[max(left, 0):]:
                problems.append(RowProblem(n, table.header_of("licenses"), f"{name} has {max(left, 0)} seats left and "
                                           f"{len(rows)} rows ask for one; buy seats or remove it here"))
    bad_rows = {p.row for p in problems}
    return [r for r in good if r.row not in bad_rows], problems


def _user_body(raw: dict, upn: str, usage: str) -> dict:
    body = {"accountEnabled": True, "userPrincipalName": upn, "mailNickname": mail_nickname(upn)}
    for name, (prop, _limit) in PROPERTIES.items():
        if name != "account_enabled" and raw.get(name) not in (None, ""):
            body[prop] = graph_value(name, raw[name])
    if usage:
        body["usageLocation"] = usage
    body.setdefault("displayName", f"{raw.get('given_name', '')} {raw.get('surname', '')}".strip())
    return body


def plan_steps(rows: list[OnboardRow]) -> list[dict]:
    """The journal steps for these rows, in the order they are applied."""
    steps = []
    for r in rows:
        steps.append({"row": r.row, "tenant_id": r.tenant_id, "user": r.upn, "step": "create",
                      "target": r.upn})
        steps += [{"row": r.row, "tenant_id": r.tenant_id, "user": r.upn, "step": "role",
                   "target": rid} for rid in r.role_ids]
        if r.sku_ids:
            steps.append({"row": r.row, "tenant_id": r.tenant_id, "user": r.upn, "step": "license",
                          "target": ";".join(r.sku_ids)})
        steps += [{"row": r.row, "tenant_id": r.tenant_id, "user": r.upn, "step": "group",
                   "target": gid} for gid in r.group_ids]
        steps += [{"row": r.row, "tenant_id": r.tenant_id, "user": r.upn, "step": "list",
                   "target": gid} for gid in r.list_ids]
        if r.manager_id:
            steps.append({"row": r.row, "tenant_id": r.tenant_id, "user": r.upn, "step": "manager",
                          "target": r.manager_id})
    return steps


def prepare(m365, source, *, kind: str = "onboard") -> tuple[BulkTable, list[OnboardRow], list[RowProblem]]:
    table = read_bulk(source, kind)
    if any(p.row == 1 for p in table.problems):
        return table, [], list(table.problems)
    tenant_of: dict[str, str] = {}
    for name in {str(r.get("tenant", "")) for r in table.rows}:
        try:
            tenant_of[name.lower()] = m365.resolve_tenant(name)
        except ValueError:
            continue   # reported per row by validate_rows
    template_problems = apply_templates(m365, table, tenant_of) if kind == "onboard" else []
    contexts = {tid: load_context(m365.graph.tenant(tid)) for tid in set(tenant_of.values())}
    # User Name + Domain give the full sign-in name before anything looks the user up.
    for raw in table.rows:
        upn, why = full_user_name(raw.get("user_principal_name"), raw.get("domain"))
        if not why:
            raw["user_principal_name"] = upn
    journal = m365.bulk_journal
    created = {tid: journal.created_by_bulk(tid, [r["user_principal_name"] for r in table.rows])
               for tid in contexts}
    rows, problems = validate_rows(table, contexts, tenant_of, created)
    refused = access_problems(m365, table, rows)
    if refused:
        bad = {p.row for p in refused}
        rows = [r for r in rows if r.row not in bad]
    return table, rows, list(table.problems) + template_problems + problems + refused


def access_problems(m365, table: BulkTable, rows: list[OnboardRow]) -> list[RowProblem]:
    """Rows a tenant's access refuses before anything is written (services.access's rule):
    creating needs user writes, and each list needs its own permission."""
    answers: dict[tuple[str, str], str | None] = {}
    problems = []
    for r in rows:
        wanted = [("user_principal_name", "user_create"), ("licenses", "license_assign"),
                  ("groups", "group_membership"), ("roles", "role_assign"),
                  ("manager", "user_edit"), ("lists", "exchange")]
        present = {"user_principal_name": True, "licenses": bool(r.sku_ids),
                   "groups": bool(r.group_ids), "roles": bool(r.role_ids),
                   "lists": bool(r.list_ids),
                   "manager": bool(r.manager_id)}
        for column, feature in wanted:
            if not present[column] or r.exists_id and feature == "user_create":
                continue
            key = (r.tenant_id, feature)
            if key not in answers:
                answers[key] = feature_refusal(m365, r.tenant_id, feature)
            if answers[key]:
                header = table.header_of("groups" if column == "lists" else column)
                problems.append(RowProblem(r.row, header, answers[key]))
    return problems


def problems_frame(problems: list[RowProblem]) -> pd.DataFrame:
    return pd.DataFrame([(p.row, p.column, p.message) for p in sorted(problems, key=lambda p: p.row)],
                        columns=["row", "column", "problem"])
