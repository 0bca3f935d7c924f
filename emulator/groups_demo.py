"""Demo groups: every kind Graph knows, Teams, a dynamic group, app and license assignments.

The first templates cover one of each kind, so even a small `groups_per_tenant` shows them all;
a tenant asks for exactly `count` groups, extra ones are project groups.
"""
from __future__ import annotations

import base64
import random
import re
import uuid

from .model import Group, Tenant, days_ago
from .names import PROJECT_WORDS, SAAS_APPS

# (name, kind, team, members rule, extra); kinds: m365 | security | distribution | mail_security
TEMPLATES = (
    ("All Company", "m365", True, "all", None),
    ("Sales Team", "m365", True, "dept:Sales", None),
    ("SG-VPN Users", "security", False, "share:0.3", None),
    ("DL-All Staff", "distribution", False, "all", None),
    ("Finance Approvers", "mail_security", False, "dept:Finance", None),
    ("Dynamic - Sales Department", "dynamic", False, "rule", 'user.department -eq "Sales"'),
    ("SG-License-Power BI Pro", "security", False, "share:0.15", "license:POWER_BI_PRO"),
    ("SG-App-Salesforce", "security", False, "dept:Sales", "app:Salesforce"),
    ("Marketing", "m365", False, "dept:Marketing", None),
    ("SG-App-Zoom", "security", False, "share:0.4", "app:Zoom"),
    ("IT Department", "m365", True, "dept:IT", None),
    ("DL-Managers", "distribution", False, "heads", None),
    ("SG-App-Adobe Creative Cloud", "security", False, "dept:Marketing", "app:Adobe Creative Cloud"),
    ("SG-App-ServiceNow", "security", False, "dept:IT", "app:ServiceNow"),
    ("Project Phoenix", "m365", True, "share:0.1", None),
    ("Social Committee", "m365", False, "share:0.2", None),
    ("SG-MFA Exempt", "security", False, "share:0.02", None),
    ("Dynamic - Engineering", "dynamic", False, "rule", 'user.department -eq "Engineering"'),
    ("DL-Customer Updates", "distribution", False, "dept:Customer Support", None),
    ("Engineering Team", "m365", True, "dept:Engineering", "app:Slack"),
)


def _owner(group: Group, rule: str, people: dict):
    """A department's group belongs to its head, a project group to one of its members, the
    rest to IT. Drawn from the group's own stream so the world's main stream is not shifted."""
    heads = people["heads"]
    fallback = heads.get("IT") or people["all"][0]
    if rule.startswith("dept:"):
        return heads.get(rule[5:]) or fallback
    if rule.startswith("share:") and group.members:
        members = [u for u in people["all"][1:] if u.id in group.members]
        if members:
            return random.Random(f"{group.id}/owner").choice(members)
    return fallback


def _nickname(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", name) or "group"


def _extra_templates(count: int, rng: random.Random) -> list:
    out = []
    for i in range(count):
        word = PROJECT_WORDS[i % len(PROJECT_WORDS)]
        suffix = f" {i // len(PROJECT_WORDS) + 2}" if i >= len(PROJECT_WORDS) else ""
        kind = "m365" if i % 2 == 0 else "security"
        out.append((f"Project {word}{suffix}", kind, i % 4 == 0, f"share:{rng.uniform(0.03, 0.2):.2f}", None))
    return out


def build_groups(tenant: Tenant, people: dict, rng: random.Random, count: int) -> None:
    templates = list(TEMPLATES[:count]) + _extra_templates(max(0, count - len(TEMPLATES)), rng)
    live = [u for u in people["all"]]
    domain = tenant.info.default_domain
    for name, kind, team, rule, extra in templates:
        group = Group(_props(tenant, rng, name, kind, team, domain, extra), len(tenant.group_list))
        tenant.add_group(group)
        if kind != "dynamic":
            for user in _members(rule, live, people, rng):
                group.members[user.id] = "user"
        if kind in ("m365", "security"):
            group.owners.append(_owner(group, rule, people).id)
        if extra and extra.startswith("app:"):
            _assign_app(tenant, group, extra[4:], rng)
        if extra and extra.startswith("license:"):
            sku_id = next((s for s, sku in tenant.skus.items() if sku["skuPartNumber"] == extra[8:]), None)
            if sku_id:
                group.licenses[sku_id] = []
                group.p["assignedLicenses"] = [{"disabledPlans": [], "skuId": sku_id}]
                group.p["licenseProcessingState"] = {"state": "ProcessingComplete"}


def _props(tenant, rng, name, kind, team, domain, extra) -> dict:
    nick = _nickname(name)
    mail_enabled = kind in ("m365", "distribution", "mail_security")
    props = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "classification": None,
        "createdDateTime": days_ago(rng.randint(30, 900)), "deletedDateTime": None,
        "description": f"{name} ({tenant.info.display_name})", "displayName": name,
        "expirationDateTime": None, "groupTypes": [], "isAssignableToRole": None,
        "mail": f"{nick}@{domain}" if mail_enabled else None, "mailEnabled": mail_enabled,
        "mailNickname": nick, "membershipRule": None, "membershipRuleProcessingState": None,
        "onPremisesSyncEnabled": None, "preferredDataLocation": None, "preferredLanguage": None,
        "proxyAddresses": [f"SMTP:{nick}@{domain}"] if mail_enabled else [],
        "renewedDateTime": None, "resourceBehaviorOptions": [], "resourceProvisioningOptions": [],
        "securityEnabled": kind in ("security", "mail_security", "dynamic"),
        "securityIdentifier": "S-1-12-1-" + "-".join(str(rng.getrandbits(32)) for _ in range(4)),
        "theme": None, "visibility": None,
    }
    if kind == "m365":
        props["groupTypes"] = ["Unified"]
        props["visibility"] = "Private" if rng.random() < 0.5 else "Public"
        props["renewedDateTime"] = props["createdDateTime"]
        if team:
            props["resourceProvisioningOptions"] = ["Team"]
    if kind == "dynamic":
        props["groupTypes"] = ["DynamicMembership"]
        props["membershipRule"] = extra
        props["membershipRuleProcessingState"] = "On"
    return props


def _members(rule: str, users: list, people: dict, rng: random.Random) -> list:
    if rule == "all":
        return users
    if rule == "heads":
        return list(people["heads"].values())
    if rule.startswith("dept:"):
        return [u for u in users if u.p["department"] == rule[5:]]
    if rule.startswith("share:"):
        share = float(rule[6:])
        return [u for u in users if rng.random() < share]
    return []


def _assign_app(tenant: Tenant, group: Group, app: str, rng: random.Random) -> None:
    role_id = dict(SAAS_APPS).get(app, "00000000-0000-0000-0000-000000000000")
    sp = tenant.service_principals.setdefault(app, str(uuid.uuid5(uuid.UUID(tenant.id), app)))
    raw = rng.getrandbits(256).to_bytes(32, "big")
    group.apps.append({
        "id": base64.urlsafe_b64encode(raw).decode().rstrip("="), "appRoleId": role_id,
        "createdDateTime": days_ago(rng.randint(10, 400)), "deletedDateTime": None,
        "principalDisplayName": group.p["displayName"], "principalId": group.id,
        "principalType": "Group", "resourceDisplayName": app, "resourceId": sp,
    })
