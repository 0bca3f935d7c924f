"""Onboarding templates per tenant: list, save, delete, make from a user, copy to other tenants.

`TemplatesMixin` gives the `M365` object these methods; `plan_onboarding(..., template=...)` and
bulk onboarding files (a Template column) use the templates (services.workflows.templating says
how a template fills a new user). Every write is checked against the actor's role ("templates",
admins) and audited; a template is checked against the tenant's live domains, SKUs, groups and
roles before it is saved, and one naming anything the tenant lacks is refused whole, each
problem naming its field and value.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from .errors import GraphError, M365DashError
from .store import templates as store
from .workflows.onboarding import USERNAME_FORMATS, username_from
from .workflows.plan import Problem
from .workflows.resolve import (get_user, group_write_refusal, license_sources, load_facts,
                                member_groups, resolve_tenant, role_assignments)
from .workflows.templating import FIELDS, LIST_FIELDS, OFFICE_FIELDS, Template, check, name_problem, resolve_in
from .workflows.validation import PROPERTIES

__all__ = ["TemplatesMixin", "TemplateProblems", "Template", "COLUMNS", "COPY_COLUMNS"]

COLUMNS = ["tenant_id", "name", "is_default", *FIELDS, "updated", "updated_by"]
COPY_COLUMNS = ["tenant_id", "template", "status", "missing", "detail"]
COPIED, COPIED_PARTLY, NOT_COPIED = "copied", "copied without what is missing", "not copied"


class TemplateProblems(M365DashError, ValueError):
    """A template write refused for bad input; nothing was written. `.problems` lists each
    Problem(field, message)."""

    def __init__(self, what: str, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{what} was not saved; nothing was changed. Fix these and try "
                         f"again:\n{lines}")


class TemplatesMixin:
    """Template methods of the `M365` object (needs graph, store, actor, resolve_tenant,
    require_role and audit from its host)."""

    def templates(self, tenant=None) -> pd.DataFrame:
        """The templates of a tenant (all tenants for None): tenant_id, name, is_default, then
        every template field (licenses, groups and roles joined by "; "), updated, updated_by.
        A tenant's default comes first."""
        ids = None if tenant is None else [self.resolve_tenant(tenant)]
        rows = []
        for row in store.template_rows(self.store.engine, ids):
            values = Template.from_row(row).values()
            values.update({k: "; ".join(values[k]) for k in LIST_FIELDS})
            rows.append({"tenant_id": row["tenant_id"], "name": row["name"],
                         "is_default": bool(row["is_default"]), **values,
                         "updated": row["updated"], "updated_by": row["updated_by"]})
        frame = pd.DataFrame(rows, columns=COLUMNS)
        frame["updated"] = pd.to_datetime(frame["updated"], utc=True)
        return frame

    def template(self, tenant, name) -> Template:
        """One template (its `.values()` are what save_template takes); a TemplateProblems
        naming the tenant's templates when there is none of that name."""
        tenant_id = self.resolve_tenant(tenant)
        row = store.template_row(self.store.engine, tenant_id, str(name))
        if row is None:
            raise TemplateProblems(f"template '{name}'", [_unknown(self, tenant_id, name)])
        return Template.from_row(row)

    def save_template(self, tenant, name, *, default: bool | None = None, **fields) -> Template:
        """Create or replace the tenant's template `name` with these fields (FIELDS; those not
        given are empty: this writes the whole template). default=True makes it the tenant's
        default (the previous default stops being one), False makes it not the default, None
        keeps what it was (a new template is not the default). Admins only; audited."""
        tenant_id = self.resolve_tenant(tenant)
        shown = {"name": str(name), "default": default, **fields}
        self.require_role("templates", action="template_save", tenant_id=tenant_id, detail=shown)
        problems = []
        why = name_problem(name)
        if why:
            problems.append(Problem("name", why))
        values, value_problems = check(_facts(self, tenant_id, "template"), fields)
        problems.extend(value_problems)
        if problems:
            raise TemplateProblems(f"template '{name}'", problems)
        return _write(self, tenant_id, str(name).strip(), values, default, "template_save", {})

    def delete_template(self, tenant, name) -> None:
        """Delete the tenant's template `name` (a TemplateProblems when there is none). Admins
        only; audited."""
        tenant_id = self.resolve_tenant(tenant)
        self.require_role("templates", action="template_delete", tenant_id=tenant_id,
                          detail={"name": str(name)})
        if not store.delete_row(self.store.engine, tenant_id, str(name)):
            raise TemplateProblems(f"deleting template '{name}'", [_unknown(self, tenant_id, name)])
        self.audit(action="template_delete", outcome="done", tenant_id=tenant_id,
                   detail={"name": str(name)})

    def template_from_user(self, tenant, user, name, *, default: bool | None = None,
                           save: bool = True) -> Template:
        """A template holding an existing user's domain, username format (when their user name
        follows one), office fields (usage location, department, job title, company, office,
        address, city, country), directly assigned licenses, groups Graph can change and
        directory roles; never names or phones. Read live from Graph. `.left_out` lists
        (field, value, why) of what could not go in (licenses inherited from a group, groups
        Graph cannot change). Saved (admins only, audited) unless save=False."""
        tenant_id = self.resolve_tenant(tenant)
        if save:
            self.require_role("templates", action="template_save", tenant_id=tenant_id,
                              detail={"name": str(name), "from_user": str(user)})
        client = self.graph.tenant(tenant_id)
        current = get_user(client, str(user))
        if current is None:
            raise TemplateProblems(f"template '{name}'", [Problem("user", (
                f"no user '{user}' in this tenant; use an object id or user principal name"))])
        facts = _facts(self, tenant_id, "template")
        values, left_out = _user_values(client, facts, current)
        values, problems = check(facts, values)
        why = name_problem(name)
        if why:
            problems.insert(0, Problem("name", why))
        if problems:
            raise TemplateProblems(f"template '{name}'", problems)
        if not save:
            made = Template(tenant_id, str(name).strip(), bool(default), **values)
        else:
            made = _write(self, tenant_id, str(name).strip(), values, default, "template_save",
                          {"from_user": current["userPrincipalName"]})
        made.left_out = left_out
        return made

    def copy_template(self, tenant, name, to_tenants, *, new_name: str | None = None,
                      overwrite: bool = False) -> pd.DataFrame:
        """Copy a template to other tenants, resolving licenses by SKU part number and groups
        and roles by name there. What a target lacks is left out of its copy and listed, one
        row per target: tenant_id, template, status (copied | copied without what is missing |
        not copied), missing ("field value: why" joined by "; "), detail. A target that has a
        template of that name keeps it unless overwrite=True. A new copy is not the target's
        default (an overwritten default stays one). Admins only; one audit entry per target."""
        source_id = self.resolve_tenant(tenant)
        targets = [to_tenants] if isinstance(to_tenants, str) else list(to_tenants or [])
        self.require_role("templates", action="template_copy", tenant_id=source_id,
                          detail={"name": str(name), "to": [str(t) for t in targets]})
        source = self.template(source_id, name)
        target_name = str(new_name).strip() if new_name else source.name
        why = name_problem(target_name)
        if why:
            raise TemplateProblems(f"copy of template '{name}'", [Problem("new_name", why)])
        if not targets:
            raise TemplateProblems(f"copy of template '{name}'", [Problem(
                "to_tenants", "name at least one tenant to copy to")])
        return pd.DataFrame([_copy_one(self, source, target_name, target, overwrite)
                             for target in targets], columns=COPY_COLUMNS)

    def groups_from_user(self, tenant, user) -> pd.DataFrame:
        """"Copy groups from user": the groups an existing user is a direct member of that can
        be given to another user (groups() columns, from the store): distribution lists,
        mail-enabled security groups and dynamic groups are left out, since Graph cannot add
        members to them."""
        groups = self.user_groups(tenant, user)
        keep = groups["writable"].fillna(False).astype(bool) & ~groups["is_dynamic"].fillna(False).astype(bool)
        return groups[keep].reset_index(drop=True)


def _unknown(m365, tenant_id: str, name) -> Problem:
    known = ", ".join(r["name"] for r in store.template_rows(m365.store.engine, [tenant_id]))
    return Problem("name", f"no template '{name}' in this tenant; its templates are: "
                           f"{known or 'none yet'}")


def _facts(m365, tenant_id: str, what: str):
    try:
        return load_facts(m365.graph.tenant(tenant_id))
    except GraphError as exc:
        raise TemplateProblems(what, [Problem("tenant", f"the tenant's domains, licenses, groups "
                                              f"and roles could not be read ({exc.graph_message}); "
                                              "try again")]) from exc


def _write(m365, tenant_id: str, name: str, values: dict, default: bool | None, action: str,
           extra: dict) -> Template:
    existing = store.template_row(m365.store.engine, tenant_id, name)
    is_default = bool(existing and existing["is_default"]) if default is None else bool(default)
    made = Template(tenant_id, name, is_default, **values)
    row = {**made.to_row(), "updated": datetime.now(timezone.utc), "updated_by": m365.actor.name}
    created = store.save_row(m365.store.engine, row)
    m365.audit(action=action, outcome="done", tenant_id=tenant_id,
               detail={"name": name, "created": created, "default": is_default, **extra,
                       "values": values})
    return made


def _user_values(client, facts, current: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    """A user's template values and what could not be taken over: (field, value, why)."""
    values: dict = {name: current.get(PROPERTIES[name][0]) for name in OFFICE_FIELDS}
    local, _, domain = current["userPrincipalName"].partition("@")
    values["domain"] = domain if domain.lower() in facts.verified_domains else None
    values["username_format"] = next(
        (fmt for fmt in USERNAME_FORMATS
         if username_from(current.get("givenName"), current.get("surname"), fmt) == local.lower()),
        None)
    left_out: list[tuple[str, str, str]] = []
    licenses = []
    for sku_id, entry in license_sources(current).items():
        part = facts.skus.get(sku_id, {}).get("skuPartNumber") or sku_id
        if entry["direct"]:
            licenses.append(part)
        else:
            names = ", ".join(facts.groups.get(g, {}).get("displayName", g) for g in entry["groups"])
            left_out.append(("licenses", part, f"inherited from group {names}; the user gets it "
                                               "through that group"))
    values["licenses"] = licenses
    groups = []
    for group in member_groups(client, current["id"]):
        group = facts.groups.get(group["id"].lower(), group)
        refusal = group_write_refusal(group)
        if refusal:
            left_out.append(("groups", group.get("displayName") or group["id"], refusal))
        else:
            groups.append(group["id"])
    values["groups"] = groups
    values["roles"] = list(dict.fromkeys(a.get("roleDefinitionId") for a in
                                         role_assignments(client, current["id"])
                                         if a.get("roleDefinitionId") in facts.roles))
    return values, left_out


def _copy_one(m365, source: Template, name: str, target, overwrite: bool) -> dict:
    target_id, problem = resolve_tenant(m365, target)
    row = {"tenant_id": target_id or str(target), "template": name, "missing": "", "detail": ""}
    if problem:
        return {**row, "status": NOT_COPIED, "detail": problem}
    if target_id == source.tenant_id and name.lower() == source.name.lower():
        return {**row, "status": NOT_COPIED, "detail": "this is the template's own tenant; give "
                                                       "new_name to make a copy beside it"}
    existing = store.template_row(m365.store.engine, target_id, name)
    if existing and not overwrite:
        return {**row, "status": NOT_COPIED, "detail": f"the tenant already has a template "
                                                       f"'{existing['name']}'; pass overwrite=True "
                                                       "to replace it, or new_name=..."}
    try:
        facts = load_facts(m365.graph.tenant(target_id))
    except GraphError as exc:
        return {**row, "status": NOT_COPIED, "detail": f"the tenant could not be read "
                                                       f"({exc.graph_message}); try again"}
    values, missing = resolve_in(facts, source)
    text = "; ".join(f"{field} {value}: {why}" for field, value, why in missing)
    _write(m365, target_id, name, values, None, "template_copy",
           {"from_tenant": source.tenant_id, "from_template": source.name,
            "missing": [{"field": f, "value": v, "why": w} for f, v, w in missing]})
    return {**row, "status": COPIED_PARTLY if missing else COPIED, "missing": text,
            "detail": f"from tenant {source.tenant_id}"}
