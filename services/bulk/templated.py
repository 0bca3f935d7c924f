"""Onboarding templates in bulk files: a Template column, row values overriding it.

Before the rows are validated, each row takes its template's values where its own cells are
empty (the same rule as `plan_onboarding(..., template=...)`, services.workflows.templating):
office fields, licenses, groups and roles, and the user name, built from First and Last Name
with the template's username format and domain when the User Name cell is empty. An empty
Template cell means the tenant's default template (if any), "none" no template. An unknown
template is a problem on that row's Template column; a problem in a value the template supplied
is reported on the Template column too, so the operator knows where to fix it.
"""
from __future__ import annotations

from ..workflows import templating
from ..workflows.onboarding import upn_from, username_from
from .csvfile import BulkTable, RowProblem

FILLED = "_from_template"     # row key: the fields its template supplied


def apply_templates(m365, table: BulkTable, tenant_of: dict[str, str]) -> list[RowProblem]:
    """Fill every row of an onboarding table from its template, in place; the problems of rows
    whose template cannot be used (those rows are left out of table.rows)."""
    found: dict[tuple[str, str], tuple] = {}
    problems: list[RowProblem] = []
    kept, seen = [], {}
    column = table.header_of("template") if "template" in table.headers else "Template"
    for row in table.rows:
        tenant_id = tenant_of.get(str(row.get("tenant", "")).lower())
        if not tenant_id:
            kept.append(row)            # the unknown tenant is reported by validate_rows
            continue
        wanted = str(row.get("template") or "").strip()
        key = (tenant_id, wanted.lower())
        if key not in found:
            found[key] = templating.find(m365.store.engine, tenant_id, wanted or None)
        template, problem = found[key]
        if problem:
            problems.append(RowProblem(row["row"], column, problem.message))
            continue
        filled = fill_row(template, row)
        upn = str(row.get("user_principal_name") or "").strip().lower()
        if not upn and (template is not None or "user_principal_name" not in table.headers):
            problems.append(RowProblem(row["row"], table.header_of("user_principal_name")
                                       if "user_principal_name" in table.headers else column,
                                       _no_user_name(template)))
            continue
        if "user_principal_name" in filled and upn:
            if (tenant_id, upn) in seen:
                problems.append(RowProblem(row["row"], column, (
                    f"template '{template.name}' builds the user name {upn}, which row "
                    f"{seen[(tenant_id, upn)]} has too; give this row a User Name")))
                continue
        if upn:
            seen.setdefault((tenant_id, upn), row["row"])
        kept.append(row)
    table.rows = kept
    return problems


def _no_user_name(template) -> str:
    if template is None:
        return ("the user name is empty and no template applies to build one; fill the User "
                "Name or name a template with a username format and a domain")
    if not (template.username_format and template.domain):
        return (f"the user name is empty and template '{template.name}' has no username format "
                "and domain to build one; fill the User Name or complete the template")
    return (f"the user name is empty and template '{template.name}' could not build one from "
            "First and Last Name (it needs letters A-Z); fill the User Name")


def fill_row(template, row: dict) -> list[str]:
    """Give `row` its template's values where its cells are empty; returns the fields filled."""
    filled: list[str] = []
    if template is None:
        return filled
    for name in templating.USER_FIELDS:
        value = getattr(template, name)
        if not row.get(name) and value:
            row[name] = value
            filled.append(name)
    for name in templating.LIST_FIELDS:
        if not row.get(name) and getattr(template, name):
            row[name] = list(getattr(template, name))
            filled.append(name)
    if not str(row.get("user_principal_name") or "").strip() and template.username_format \
            and template.domain:
        local = username_from(row.get("given_name"), row.get("surname"), template.username_format)
        if local:
            row["user_principal_name"] = upn_from(local, template.domain)
            filled.append("user_principal_name")
    row[FILLED] = filled
    return filled


def column_of(table: BulkTable, row: dict):
    """The header to name for a field of this row: the Template column for values its template
    supplied, else the field's own column."""
    filled = set(row.get(FILLED) or ())
    template_column = table.header_of("template")

    def col(fieldname: str) -> str:
        return template_column if fieldname in filled else table.header_of(fieldname)
    return col
