"""Onboarding templates as plans use them: what a template holds, which one applies, how its
values fill a new user, and checking it against a tenant.

A template fills what the caller did not give; whatever the caller gives wins, lists included
(licenses=[...] replaces the template's licenses; licenses=None keeps them). Which template
applies: the one named; with none named, the tenant's default template, if it has one;
`template=False` (or the name "none") for no template at all. The store keeps templates
(services.store.templates); saving, copying and deleting them is services.templates.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, fields

from ..store import templates as store
from .onboarding import USERNAME_FORMATS, username_from
from .plan import Problem
from .resolve import group_write_refusal
from .validation import group_requests, license_requests, property_problems, role_requests

# The user fields a template may hold (our field names, as plan_onboarding takes them).
USER_FIELDS = ("usage_location", "department", "job_title", "company_name", "office_location",
               "street_address", "city", "state", "postal_code", "country")
# Copied by "template from user": where someone works, not who they are (no names or phones).
OFFICE_FIELDS = USER_FIELDS
LIST_FIELDS = ("licenses", "groups", "roles")
FIELDS = ("domain", "username_format") + USER_FIELDS + LIST_FIELDS
NO_TEMPLATE = "none"      # a template name meaning "no template" (in CSV cells, pickers)
MAX_NAME = 100


@dataclass
class Template:
    """One tenant's onboarding template. Lists hold names: SKU part numbers, group and role
    display names (resolved by name when the template is used or copied)."""

    tenant_id: str
    name: str
    is_default: bool = False
    domain: str | None = None
    username_format: str | None = None
    usage_location: str | None = None
    department: str | None = None
    job_title: str | None = None
    company_name: str | None = None
    office_location: str | None = None
    street_address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    licenses: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    # What "template from user" could not take over: (field, value, why). Not stored.
    left_out: list[tuple[str, str, str]] = field(default_factory=list, repr=False, compare=False)

    def values(self) -> dict:
        """The template's fields (FIELDS) as save_template takes them."""
        return {name: getattr(self, name) for name in FIELDS}

    @classmethod
    def from_row(cls, row: dict) -> "Template":
        names = {f.name for f in fields(cls)} - {"left_out"}
        values = {k: v for k, v in row.items() if k in names and k not in LIST_FIELDS}
        lists = {k: json.loads(row.get(k) or "[]") for k in LIST_FIELDS}
        return cls(**values, **lists)

    def to_row(self) -> dict:
        row = {"tenant_id": self.tenant_id, "name": self.name, "is_default": bool(self.is_default)}
        row.update({k: (getattr(self, k) or None) for k in ("domain", "username_format") + USER_FIELDS})
        row.update({k: json.dumps(list(getattr(self, k))) for k in LIST_FIELDS})
        return row


def name_problem(name) -> str | None:
    """Why a template name is not acceptable, else None."""
    text = str(name or "").strip()
    if not text:
        return "a template needs a name, e.g. 'Sales'"
    if text.lower() == NO_TEMPLATE:
        return f"'{text}' means 'no template' and cannot be a template's name; pick another"
    if len(text) > MAX_NAME:
        return f"has {len(text)} characters; use at most {MAX_NAME}"
    if not text.isprintable():
        return "may not hold line breaks or control characters"
    return None


def unknown_field_problems(values: dict) -> list[Problem]:
    problems = []
    for name in sorted(set(values) - set(FIELDS)):
        # "office" or "company" mean office_location and company_name: a part of a field's
        # name is as good a hint as a near spelling.
        hint = [f for f in FIELDS if str(name).lower() in f] or \
            difflib.get_close_matches(str(name), FIELDS, 1)
        problems.append(Problem(name, "is not a template field" + (
            f"; did you mean {hint[0]}?" if hint else "; use one of: " + ", ".join(FIELDS))))
    return problems


def find(engine, tenant_id: str, wanted) -> tuple[Template | None, Problem | None]:
    """The template that applies: (template or None, problem or None). `wanted` is a name,
    None or "" (the tenant's default, if any) or False / "none" (no template)."""
    if wanted is False or (isinstance(wanted, str) and wanted.strip().lower() == NO_TEMPLATE):
        return None, None
    if wanted is None or (isinstance(wanted, str) and not wanted.strip()):
        row = store.default_row(engine, tenant_id)
        return (Template.from_row(row) if row else None), None
    row = store.template_row(engine, tenant_id, str(wanted))
    if row is None:
        known = ", ".join(r["name"] for r in store.template_rows(engine, [tenant_id])) or "none yet"
        return None, Problem("template", f"no template '{wanted}' in this tenant; its templates "
                                         f"are: {known} (m365.templates(tenant) lists them)")
    return Template.from_row(row), None


def fill(template: Template | None, user: dict, licenses, groups, roles):
    """(user, licenses, groups, roles, filled) with the template's values where the caller
    gave none; `filled` names the fields the template supplied (for messages and the plan)."""
    user = dict(user)
    filled: list[str] = []
    if template is None:
        return user, licenses, groups, roles, filled
    for name in ("domain",) + USER_FIELDS:
        value = getattr(template, name)
        if user.get(name) in (None, "") and value not in (None, ""):
            user[name] = value
            filled.append(name)
    if (template.username_format and not str(user.get("username") or "").strip()
            and not str(user.get("user_principal_name") or "").strip()):
        built = username_from(user.get("given_name"), user.get("surname"), template.username_format)
        if built:
            user["username"] = built
            filled.append("username")
    lists = {"licenses": licenses, "groups": groups, "roles": roles}
    for name in LIST_FIELDS:
        if lists[name] is None and getattr(template, name):
            lists[name] = list(getattr(template, name))
            filled.append(name)
    return user, lists["licenses"], lists["groups"], lists["roles"], filled


def from_template(problem: Problem, template: Template, filled: list[str]) -> Problem:
    """A problem about a value the template supplied says so, and how to get past it."""
    if problem.field not in filled:
        return problem
    return Problem(problem.field, f"{problem.message} (the value comes from template "
                                  f"'{template.name}'; fix the template or give {problem.field} "
                                  "yourself)")


def check(facts, values: dict) -> tuple[dict, list[Problem]]:
    """Template values checked against the tenant's facts: (normalized values, problems).

    Licenses become SKU part numbers, groups and roles display names (a group whose name is
    shared by another group of the tenant stays an id); a SKU, group, role or domain the tenant
    lacks is a problem naming the field and the value. Seats are not checked: they are checked
    when a user is onboarded, and a template outlives today's seat count.
    """
    problems = unknown_field_problems(values)
    out = {k: values.get(k) for k in FIELDS if k in values}
    for name in ("domain", "username_format") + USER_FIELDS:
        if isinstance(out.get(name), str):
            out[name] = out[name].strip() or None
    fmt = out.get("username_format")
    if fmt:
        if str(fmt).lower() not in USERNAME_FORMATS:
            problems.append(Problem("username_format", f"'{fmt}' is not a username format; use "
                                    "one of: " + ", ".join(f"{k} ({v})" for k, v in
                                                           USERNAME_FORMATS.items())))
        else:
            out["username_format"] = str(fmt).lower()
    domain = out.get("domain")
    if domain:
        domain = out["domain"] = domain.lstrip("@").lower()
        if domain not in facts.verified_domains:
            known = ", ".join(sorted(facts.verified_domains)) or "none"
            problems.append(Problem("domain", f"'{domain}' is not a verified domain of this "
                                              f"tenant; use one of: {known}"))
    problems.extend(property_problems({k: out.get(k) for k in USER_FIELDS if out.get(k)}))
    if out.get("usage_location"):
        out["usage_location"] = str(out["usage_location"]).upper()
    for name in LIST_FIELDS:
        items = out.get(name) or []
        if isinstance(items, str):
            items = [v.strip() for v in items.split(";") if v.strip()]
        bad = [v for v in items if not isinstance(v, str)]
        if bad:
            problems.append(Problem(name, f"give names, not {type(bad[0]).__name__} values"))
            items = [v for v in items if isinstance(v, str)]
        out[name] = items
    skus, sku_problems = license_requests(facts, out["licenses"], check_seats=False)
    problems.extend(sku_problems)
    out["licenses"] = [facts.skus[sku]["skuPartNumber"] for sku, _ in skus]
    found, group_problems = group_requests(facts, out["groups"])
    problems.extend(group_problems)
    out["groups"] = [_group_label(facts, g) for g in found]
    roles, role_problems = role_requests(facts, out["roles"])
    problems.extend(role_problems)
    out["roles"] = [r.get("displayName") or r["id"] for r in roles]
    return out, problems


def _group_label(facts, group: dict) -> str:
    name = group.get("displayName") or ""
    twins = [g for g in facts.groups.values() if (g.get("displayName") or "").lower() == name.lower()]
    return name if name and len(twins) == 1 else group["id"]


def resolve_in(facts, template: Template) -> tuple[dict, list[tuple[str, str, str]]]:
    """The template's values as they resolve in another tenant (`facts`), and what does not
    exist there: [(field, value, why)]. Licenses by SKU part number, groups and roles by
    name; the domain only if that tenant has verified it."""
    values = template.values()
    missing: list[tuple[str, str, str]] = []
    if values.get("domain") and values["domain"].lower() not in facts.verified_domains:
        missing.append(("domain", values["domain"], "not a verified domain there; the copy has "
                        "no domain (set one of that tenant's domains in it)"))
        values["domain"] = None
    licenses = []
    for item in values["licenses"]:
        sku_id, _why = facts.find_sku(item)
        if sku_id:
            licenses.append(facts.skus[sku_id]["skuPartNumber"])
        else:
            missing.append(("licenses", item, "that tenant has no subscription with this SKU"))
    groups = []
    for item in values["groups"]:
        group, why = facts.find_group(item)
        refusal = group_write_refusal(group) if group else None
        if group is None or refusal:
            missing.append(("groups", item, f"there it {refusal}" if refusal else
                            "no group of this name there" if why.startswith("no group")
                            else why))
        else:
            groups.append(_group_label(facts, group))
    roles = []
    for item in values["roles"]:
        role, _why = facts.find_role(item)
        if role:
            roles.append(role.get("displayName") or role["id"])
        else:
            missing.append(("roles", item, "no directory role of this name there"))
    values.update(licenses=licenses, groups=groups, roles=roles)
    return values, missing
