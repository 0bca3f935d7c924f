"""Field rules for user properties, checked before any write; every message says what to do.

Limits are Entra ID's (Graph answers a bare 400 when they are broken, too late to be helpful).
"""
from __future__ import annotations

import re

import pycountry

from ..licensing import assign_refusal
from .plan import Problem
from .resolve import group_write_refusal

# Our field name -> (Graph property, maximum length). Phone and mail lists hold one value here.
PROPERTIES = {
    "given_name": ("givenName", 64),
    "surname": ("surname", 64),
    "display_name": ("displayName", 256),
    "job_title": ("jobTitle", 128),
    "department": ("department", 64),
    "company_name": ("companyName", 64),
    "office_location": ("officeLocation", 128),
    "business_phone": ("businessPhones", 64),
    "mobile_phone": ("mobilePhone", 64),
    "fax": ("faxNumber", 64),
    "street_address": ("streetAddress", 1024),
    "city": ("city", 128),
    "state": ("state", 128),
    "postal_code": ("postalCode", 40),
    "country": ("country", 128),
    "usage_location": ("usageLocation", 2),
    "alternate_email": ("otherMails", 256),
    "account_enabled": ("accountEnabled", None),
}
LIST_PROPERTIES = {"businessPhones", "otherMails"}
PHONE_FIELDS = {"business_phone", "mobile_phone", "fax"}

# Entra accepts these in the part of a user principal name before the @.
_UPN_LOCAL = re.compile(r"^[A-Za-z0-9'._!#^~-]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{3,}(\s*(x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NICK_DROP = re.compile(r"[^A-Za-z0-9._-]")


def _country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


COUNTRY_CODES = _country_codes()


def check_usage_location(code: str) -> str | None:
    """None for an ISO 3166-1 alpha-2 country code, else why not and what to use."""
    value = str(code or "").strip()
    if len(value) != 2 or not value.isalpha():
        return (f"'{value}' is not a two-letter country code; use ISO 3166-1 alpha-2, "
                "e.g. US, GB, DE, NL")
    if value.upper() not in COUNTRY_CODES:
        return f"'{value}' is not an ISO 3166-1 country code; use e.g. US, GB, DE, NL"
    return None


def upn_issue(upn: str, verified_domains: set[str] | None) -> tuple[str, str] | None:
    """(field, why) for a malformed user principal name or an unverified domain, else None."""
    value = str(upn or "").strip()
    if value.count("@") != 1:
        return "username", (f"'{value}' is not a user principal name; use username@domain, "
                            "e.g. jane.doe@contoso.com")
    local, domain = value.split("@")
    if not local:
        return "username", "the user name (before @) is empty"
    if len(local) > 64:
        return "username", f"the user name has {len(local)} characters; use at most 64"
    if not _UPN_LOCAL.match(local):
        return "username", ("the user name may hold only letters A-Z, digits and . - _ ' ! # ^ ~ "
                            "(no spaces or accented letters)")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "username", "the user name may not start or end with a period or hold two in a row"
    if not _DOMAIN.match(domain):
        return "domain", f"'{domain}' is not a domain name"
    if verified_domains is not None and domain.lower() not in verified_domains:
        known = ", ".join(sorted(verified_domains)) or "none"
        return "domain", f"'{domain}' is not a verified domain of this tenant; use one of: {known}"
    return None


def upn_problem(upn: str, verified_domains: set[str] | None) -> str | None:
    """None for a well-formed user principal name on a verified domain, else why not."""
    issue = upn_issue(upn, verified_domains)
    return issue[1] if issue else None


def mail_nickname(upn: str) -> str:
    """The mail nickname Graph needs for a new user: the UPN's user name, safe characters only."""
    return _NICK_DROP.sub("", str(upn).split("@", 1)[0])[:64] or "user"


def property_problems(values: dict) -> list[Problem]:
    """Length, format and code checks for the user properties in `values` (our field names)."""
    problems = []
    for name, value in values.items():
        if name not in PROPERTIES or value is None or value == "":
            continue
        prop, limit = PROPERTIES[name]
        if name == "account_enabled":
            if not isinstance(value, bool):
                problems.append(Problem(name, "must be true or false"))
            continue
        text = str(value).strip()
        if name == "usage_location":
            message = check_usage_location(text)
            if message:
                problems.append(Problem(name, message))
            continue
        if limit and len(text) > limit:
            problems.append(Problem(name, f"has {len(text)} characters; Entra ID allows at most {limit}"))
        if name in PHONE_FIELDS and not _PHONE.match(text):
            problems.append(Problem(name, f"'{text}' is not a phone number; use digits with an "
                                          "optional leading + and spaces, e.g. +1 425 555 0100"))
        if name == "alternate_email" and not _EMAIL.match(text):
            problems.append(Problem(name, f"'{text}' is not an email address"))
    return problems


def graph_value(name: str, value):
    """Our field's value as Graph wants it (None clears the property)."""
    prop, _limit = PROPERTIES[name]
    if value is None or (isinstance(value, str) and not value.strip()):
        return [] if prop in LIST_PROPERTIES else None
    if name == "account_enabled":
        return bool(value)
    text = str(value).strip()
    if name == "usage_location":
        text = text.upper()
    return [text] if prop in LIST_PROPERTIES else text


def current_value(name: str, user: dict):
    """A user's current value of our field, in the same shape graph_value produces."""
    prop, _limit = PROPERTIES[name]
    value = user.get(prop)
    if prop in LIST_PROPERTIES:
        return list(value or [])
    return value if value not in ("",) else None


def license_requests(facts, items, field: str = "licenses", *, check_seats: bool = True,
                     seats_needed: int = 1) -> tuple[list[tuple[str, list[str]]], list[Problem]]:
    """Resolve licenses to (sku id, disabled plan ids) and check that each can be assigned.

    An item is a SKU part number, product name or SKU id, or a dict
    {"sku": ..., "disabled_plans": [service plan names or ids]}.
    """
    wanted: list[tuple[str, list[str]]] = []
    problems: list[Problem] = []
    for item in items:
        if isinstance(item, dict):
            name = item.get("sku") or item.get("sku_part_number") or item.get("sku_id") or ""
            plans = item.get("disabled_plans") or item.get("disabledPlans") or []
        else:
            name, plans = item, []
        sku_id, why = facts.find_sku(name)
        if not sku_id:
            problems.append(Problem(field, why))
            continue
        plan_ids, unknown = facts.find_plans(sku_id, list(plans))
        if unknown:
            known = ", ".join(p.get("servicePlanName", "") for p in facts.skus[sku_id].get("servicePlans") or [])
            problems.append(Problem(field, f"{facts.sku_name(sku_id)} has no service plan "
                                           f"{', '.join(unknown)}; its plans are: {known or 'none'}"))
            continue
        if any(s == sku_id for s, _ in wanted):
            continue                                      # named twice: assign it once
        message = seat_problem(facts, sku_id, seats_needed) if check_seats else None
        if message:
            problems.append(Problem(field, message))
            continue
        wanted.append((sku_id, plan_ids))
    return wanted, problems


def seat_problem(facts, sku_id: str, seats_needed: int = 1) -> str | None:
    """Why this SKU cannot be assigned now (suspended, or no seats left), else None: the
    product name, then the reason `services.licensing.assign_refusal` gives (the same words the
    Create User page shows next to the SKU it greys out)."""
    why = assign_refusal(facts.sku_row(sku_id), seats_needed)
    return f"{facts.sku_name(sku_id)}: {why}" if why else None


def group_requests(facts, names, field: str = "groups") -> tuple[list[dict], list[Problem]]:
    """Resolve groups by name or id and check that Graph can change their members."""
    found: list[dict] = []
    problems: list[Problem] = []
    for name in names:
        group, why = facts.find_group(name)
        if group is None:
            problems.append(Problem(field, why))
            continue
        refusal = group_write_refusal(group)
        if refusal:
            problems.append(Problem(field, f"'{group.get('displayName') or name}' {refusal}; "
                                           "pick another group"))
            continue
        if group not in found:
            found.append(group)
    return found, problems


def role_requests(facts, names, field: str = "roles") -> tuple[list[dict], list[Problem]]:
    found: list[dict] = []
    problems: list[Problem] = []
    for name in names:
        role, why = facts.find_role(name)
        if role is None:
            problems.append(Problem(field, why))
        elif role not in found:
            found.append(role)
    return found, problems
