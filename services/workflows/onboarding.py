"""Onboarding: create a user, then assign roles, licenses (one assignLicense) and groups ($batch).

Everything is validated first, against the tenant as it is now, and every problem is reported at
once, field by field. Applying creates the user, then runs the rest; a step that fails (the last
seat was taken since planning, say) is reported with Graph's reason and re-applying the same plan
does only what is missing: it finds the user it created instead of creating another.
"""
from __future__ import annotations

import re
import unicodedata

from .. import audit as _audit
from ..errors import GraphError
from ..passwords import check_password
from . import mailbox_steps as MB
from . import steps as S
from . import tap
from .manager import check_manager
from .plan import Plan, Problem
from .resolve import (as_names, exchange_group, load_facts, nickname_taken, resolve_tenant,
                      user_exists)
from .validation import (PROPERTIES, graph_value, group_requests, license_requests, mail_nickname,
                         property_problems, role_requests, upn_issue)

IDENTITY_FIELDS = {"username", "domain", "user_principal_name", "password",
                   "force_change_password", "manager"}
KNOWN_FIELDS = IDENTITY_FIELDS | set(PROPERTIES)


def upn_from(username, domain) -> str:
    """The user principal name for a user name and a domain: 'jane.doe' and 'contoso.com' give
    'jane.doe@contoso.com' (a leading '@' on the domain is dropped); a user name that is already
    a full UPN stands alone when no domain is given. '' until both parts are there. The Create
    User page and the onboarding plan derive the UPN with this one rule."""
    username = str(username or "").strip()
    domain = str(domain or "").strip().lstrip("@")
    if "@" in username and not domain:
        return username
    return f"{username}@{domain}" if username and domain else ""


# Username formats a template may name: how the part before @ is built from the names.
USERNAME_FORMATS = {
    "first.last": "jane.doe",
    "flast": "jdoe",
    "firstl": "janed",
    "first": "jane",
}
# Letters NFKD does not decompose into a base letter plus accents.
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
                       "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ı": "i",
                       "ð": "d", "Ð": "d"})
_NAME_KEEP = re.compile(r"[^a-z0-9-]")


def _name_part(name) -> str:
    """A name as it may stand in a user name: ASCII lower case, accents folded ('José' ->
    'jose', 'Müller' -> 'muller'), spaces and apostrophes dropped ("O'Brien" -> 'obrien',
    'van der Berg' -> 'vanderberg'), hyphens kept, none at either end."""
    text = unicodedata.normalize("NFKD", str(name or "").strip().translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return _NAME_KEEP.sub("", text).strip("-")


def username_from(given_name, surname, fmt: str) -> str:
    """The user name (before @) a username format builds from a first and a last name:
    'first.last' -> jane.doe, 'flast' -> jdoe, 'firstl' -> janed, 'first' -> jane ('' when a
    name the format needs is missing). Templates, the Create User page and bulk files use this
    one rule; an unknown format is a ValueError naming the formats."""
    key = str(fmt or "").strip().lower()
    if key not in USERNAME_FORMATS:
        raise ValueError(f"unknown username format '{fmt}'; use one of: "
                         + ", ".join(USERNAME_FORMATS))
    first, last = _name_part(given_name), _name_part(surname)
    if not first or (key != "first" and not last):
        return ""
    return {"first.last": f"{first}.{last}", "flast": f"{first[0]}{last}",
            "firstl": f"{first}{last[:1]}", "first": first}[key]


def display_name_from(given_name, surname) -> str:
    """The display name derived from a first and a last name: both, trimmed, with one space
    between ('' when neither is given). The Create User page and the onboarding plan use it."""
    return " ".join(p for p in (str(given_name or "").strip(), str(surname or "").strip()) if p)


def _upn(user: dict) -> str:
    if user.get("user_principal_name"):
        return str(user["user_principal_name"]).strip()
    return upn_from(user.get("username"), user.get("domain"))


def _upn_missing(user: dict, template=None) -> Problem:
    """Which part of the user principal name is missing (the UPN is '' then)."""
    if template is not None and template.username_format and not str(user.get("username") or "").strip():
        return Problem("username", f"template '{template.name}' builds user names as "
                                   f"{template.username_format}, which needs a first and last name "
                                   "with letters A-Z; give the user name yourself (username=...)")
    if str(user.get("username") or "").strip():
        return Problem("domain", "pick a domain for the user name: one of the tenant's verified "
                                 "domains, e.g. domain='contoso.com'")
    if str(user.get("domain") or "").strip().lstrip("@"):
        return Problem("username", "the user name (before @) is empty")
    return Problem("username", "a user name and a domain are required "
                               "(username='jane.doe', domain='contoso.com')")


def _display_name(user: dict) -> str:
    given = str(user.get("display_name") or "").strip()
    if given:
        return given
    return display_name_from(user.get("given_name"), user.get("surname"))


def _public_parameters(tenant, user: dict, licenses, groups, roles, template) -> dict:
    shown = dict(user)
    if shown.get("password"):
        shown["password"] = "[typed, not recorded]"
    return {"tenant": str(tenant), "user": shown, "licenses": licenses, "groups": groups,
            "roles": roles, "template": template.name if template else None}


def plan_onboarding(m365, tenant, user: dict | None = None, licenses=None, groups=None,
                    roles=None, template=None, first_sign_in: str = "password",
                    tap_lifetime_minutes: int | None = None,
                    tap_usable_once: bool | None = None) -> Plan:
    # Imported here: templating builds on this module's username rule (username_from).
    from . import templating
    user = dict(user or {})
    tenant_id, tenant_problem = resolve_tenant(m365, tenant)
    chosen, template_problem = templating.find(m365.store.engine, tenant_id, template) \
        if tenant_id else (None, None)
    user, licenses, groups, roles, filled = templating.fill(chosen, user, licenses, groups, roles)
    licenses = list(licenses or []) if not isinstance(licenses, str) else as_names(licenses)
    groups, roles = as_names(groups), as_names(roles)
    upn = _upn(user)
    typed = user.get("password") or None
    with_pass = str(first_sign_in or "").strip().lower() == "temporary_access_pass"
    parameters = _public_parameters(tenant, user, licenses, groups, roles, chosen)
    parameters.update(first_sign_in=first_sign_in, tap_lifetime_minutes=tap_lifetime_minutes,
                      tap_usable_once=tap_usable_once)
    # With a pass, the password Graph needs is random and shown to no one.
    plan = Plan(m365, kind="onboard", permission="onboard", tenant_id=tenant_id, user=upn,
                parameters=parameters, reveal_password=not with_pass)
    plan.template = chosen.name if chosen else None
    if tenant_problem:
        plan.problems.append(Problem("tenant", tenant_problem))
        return plan
    if template_problem:
        plan.problems.append(template_problem)
    elif chosen and template is None and filled:
        plan.warnings.append(Problem("template", f"the tenant's default template '{chosen.name}' "
                                     f"filled {', '.join(filled)}; pass template=False for none"))
    client = m365.graph.tenant(tenant_id)
    facts = load_facts(client)
    problems = plan.problems

    for name in sorted(set(user) - KNOWN_FIELDS):
        problems.append(Problem(name, "is not a user field; use one of: " + ", ".join(sorted(KNOWN_FIELDS))))
    display = _display_name(user)
    if not display:
        problems.append(Problem("display_name", "give a first and last name, or a display name"))
    if not upn:
        problems.append(_upn_missing(user, chosen))
    else:
        issue = upn_issue(upn, facts.verified_domains)
        if issue:
            problems.append(Problem(*issue))
        else:
            _check_free(m365, plan, client, upn, problems)
    problems.extend(property_problems(user))
    if typed is not None:
        local = (upn or str(user.get("username") or "")).split("@", 1)[0].strip()
        message = check_password(str(typed), local)
        if message:
            problems.append(Problem("password", message))
    force = user.get("force_change_password", True)
    if not isinstance(force, bool):
        problems.append(Problem("force_change_password", "must be true or false"))
    manager_id = None
    if str(user.get("manager") or "").strip():
        manager_id, manager_problem = check_manager(client, facts, user["manager"], upn=upn)
        if manager_problem:
            problems.append(manager_problem)
    sku_list, license_problems = license_requests(facts, licenses)
    problems.extend(license_problems)
    if licenses and not str(user.get("usage_location") or "").strip():
        problems.append(Problem("usage_location", "a license needs a usage location: set the "
                                                  "two-letter country where the user works, e.g. US"))
    group_list, group_problems = group_requests(facts, groups)
    problems.extend(group_problems)
    role_list, role_problems = role_requests(facts, roles)
    problems.extend(role_problems)

    body = {"accountEnabled": user.get("account_enabled", True), "displayName": display,
            "userPrincipalName": upn, "mailNickname": mail_nickname(upn)}
    for name in PROPERTIES:
        if name in ("display_name", "account_enabled") or user.get(name) in (None, ""):
            continue
        body[PROPERTIES[name][0]] = graph_value(name, user[name])
    create_step = S.create_user(upn, body, typed, bool(force))
    if with_pass:
        create_step.detail = ("enabled account; random password shown to no one; first sign-in "
                              "with a Temporary Access Pass")
    create = plan.add(create_step)
    if manager_id:
        plan.add(S.set_manager(manager_id, str(user["manager"]), after=(create,)))
    for role in role_list:
        plan.add(S.assign_role(role, after=(create,)))
    licensed = ()
    if sku_list:
        names = {sku: facts.sku_name(sku) for sku, _ in sku_list}
        licensed = (plan.add(S.change_licenses(sku_list, [], names, after=(create,))),)
    lists = [g for g in group_list if exchange_group(g)]
    if lists:
        problems.extend(MB.list_needs_mailbox(facts, sku_list, lists))
    for group in group_list:
        plan.add(S.add_to_group(group, after=(create, *licensed) if group in lists else (create,)))
    tap_body, tap_problems, tap_warnings = tap.check_options(
        client, first_sign_in, tap_lifetime_minutes, tap_usable_once,
        {g["id"].lower() for g in group_list})
    problems.extend(tap_problems)
    plan.warnings.extend(tap_warnings)
    if with_pass and typed is not None:
        problems.append(Problem("password", "a Temporary Access Pass replaces the password for "
                                            "first sign-in; leave password empty (a random one "
                                            "that no one sees is set)"))
    if tap_body:
        plan.add(tap.create_pass(tap_body, after=(create,)))
    if chosen:
        plan.problems[:] = [templating.from_template(p, chosen, filled) for p in plan.problems]
    return plan


def _check_free(m365, plan: Plan, client, upn: str, problems: list[Problem]) -> None:
    """The UPN and mail nickname must not belong to anyone yet (checked live), unless the user
    is the one an interrupted onboarding of this same UPN created."""
    try:
        existing = user_exists(client, upn)
        interrupted = [entry for entry, user_id in
                       _audit.interrupted_onboardings(m365.store.engine, plan.tenant_id, upn)
                       if existing and user_id == existing]
        if interrupted:
            plan.user_id = existing
            plan.supersedes = interrupted     # closed when this plan's apply starts
            plan.warnings.append(Problem("username", f"{upn} was created by an onboarding that was "
                                                     "interrupted; this plan completes it"))
            return
        if existing:
            problems.append(Problem("username", f"{upn} is already taken in this tenant; pick "
                                                "another user name"))
            return
        nickname = mail_nickname(upn)
        if nickname_taken(client, nickname):
            problems.append(Problem("username", f"the mail nickname '{nickname}' is already used "
                                                "by another account; pick another user name"))
    except GraphError as exc:
        problems.append(Problem("username", f"could not check whether {upn} is free "
                                            f"({exc.graph_message}); try again"))
