"""Live tenant facts for planning: domains, SKUs with seats, groups, roles, and one user's state.

Plans are checked against Graph as it is now, not against the last sync: seats and memberships
change between syncs, and a plan built on stale data would fail at apply. Domains, SKUs and role
definitions come in one `$batch`; groups are paged (one request for up to 999 groups).
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import quote

import pandas as pd

from ..errors import NotFound
from ..graph import TenantGraph
from ..licensing import ASSIGNABLE_STATES, sku_row
from ..skus import product_name

GROUP_SELECT = ("id,displayName,groupTypes,mailEnabled,securityEnabled,membershipRule,"
                "resourceProvisioningOptions")
USER_SELECT = ("id,userPrincipalName,displayName,givenName,surname,mailNickname,accountEnabled,"
               "usageLocation,jobTitle,department,companyName,officeLocation,businessPhones,mobilePhone,"
               "faxNumber,streetAddress,city,state,postalCode,country,otherMails,"
               "assignedLicenses,licenseAssignmentStates,onPremisesSyncEnabled")
SEAT_STATES = ASSIGNABLE_STATES        # capabilityStatus values that accept new assignments


def group_kind(group: dict) -> str:
    if "Unified" in (group.get("groupTypes") or []):
        return "microsoft365"
    if group.get("mailEnabled"):
        return "mail_security" if group.get("securityEnabled") else "distribution"
    return "security"


def group_write_refusal(group: dict) -> str | None:
    """Why this group's members cannot be changed by hand, or None when they can (distribution
    lists and mail-enabled security groups through Exchange Online: `exchange_group`)."""
    if group.get("membershipRule") or "DynamicMembership" in (group.get("groupTypes") or []):
        return "is a dynamic group; its members come from its membership rule, not by hand"
    return None


def exchange_group(group: dict) -> bool:
    """Whether Exchange Online (not Graph) changes this group's members: a distribution list or
    a mail-enabled security group (services/workflows/mailbox_steps.py)."""
    return group_kind(group) in ("distribution", "mail_security")


@dataclass
class TenantFacts:
    tenant_id: str
    domains: dict[str, dict] = field(default_factory=dict)     # lower-case name -> domain
    skus: dict[str, dict] = field(default_factory=dict)        # lower-case sku id -> subscribedSku
    groups: dict[str, dict] = field(default_factory=dict)      # lower-case group id -> group
    roles: dict[str, dict] = field(default_factory=dict)       # role definition id -> definition

    @property
    def verified_domains(self) -> set[str]:
        return {name for name, d in self.domains.items() if d.get("isVerified")}

    def sku_name(self, sku_id: str) -> str:
        sku = self.skus.get(sku_id.lower(), {})
        return product_name(sku_id, sku.get("skuPartNumber", "")) or sku.get("skuPartNumber") or sku_id

    def seats(self, sku_id: str) -> tuple[int, int, int]:
        """(purchased, used, left) of a SKU; left can be negative after a subscription shrank."""
        sku = self.skus[sku_id.lower()]
        purchased = int((sku.get("prepaidUnits") or {}).get("enabled", 0))
        used = int(sku.get("consumedUnits", 0))
        return purchased, used, purchased - used

    def sku_row(self, sku_id: str) -> dict:
        """The SKU as the licenses() row fields `services.licensing` rules read
        (capability_status, enabled, consumed, available)."""
        return sku_row(self.skus[sku_id.lower()])

    def find_sku(self, name: str) -> tuple[str | None, str | None]:
        """(sku id, None) or (None, why not): by SKU id, part number or product name."""
        wanted = str(name).strip().lower()
        for sku_id, sku in self.skus.items():
            part = sku.get("skuPartNumber", "")
            if wanted in (sku_id, part.lower(), self.sku_name(sku_id).lower()):
                return sku_id, None
        have = ", ".join(sorted(f"{s.get('skuPartNumber')} ({self.sku_name(i)})"
                                for i, s in self.skus.items())) or "none"
        return None, (f"no license '{name}' in this tenant; use a SKU part number or product "
                      f"name the tenant has: {have}")

    def find_plans(self, sku_id: str, names: list[str]) -> tuple[list[str], list[str]]:
        """Service plan ids for names or ids within a SKU, and the names that matched none."""
        plans = self.skus[sku_id.lower()].get("servicePlans") or []
        ids, unknown = [], []
        for name in names:
            wanted = str(name).strip().lower()
            match = next((p["servicePlanId"] for p in plans
                          if wanted in (str(p.get("servicePlanId", "")).lower(),
                                        str(p.get("servicePlanName", "")).lower())), None)
            (ids.append(match) if match else unknown.append(str(name)))
        return ids, unknown

    def find_group(self, name: str) -> tuple[dict | None, str | None]:
        wanted = str(name).strip().lower()
        if wanted in self.groups:
            return self.groups[wanted], None
        matches = [g for g in self.groups.values() if (g.get("displayName") or "").lower() == wanted]
        if len(matches) == 1:
            return matches[0], None
        if matches:
            ids = ", ".join(g["id"] for g in matches)
            return None, f"{len(matches)} groups are named '{name}'; use the group id ({ids})"
        return None, f"no group '{name}' in this tenant; check the name or use the group id"

    def find_role(self, name: str) -> tuple[dict | None, str | None]:
        wanted = str(name).strip().lower()
        for role in self.roles.values():
            if wanted in (role["id"].lower(), (role.get("templateId") or "").lower(),
                          (role.get("displayName") or "").lower()):
                return role, None
        return None, (f"no directory role '{name}'; use a role name such as 'User Administrator' "
                      "or a role definition id")


_shared_facts: ContextVar[dict | None] = ContextVar("shared_facts", default=None)


@contextmanager
def shared_facts():
    """Within this block, `load_facts` reads each tenant's facts once and shares them.

    For planning many rows of one bulk file: domains, SKUs, roles and groups are the same for
    every row, and each row re-reading them cost two requests. Worker threads see the cache
    when they run in a copy of this context (`contextvars.copy_context().run`).
    """
    token = _shared_facts.set({"lock": threading.Lock()})
    try:
        yield
    finally:
        _shared_facts.reset(token)


def load_facts(client: TenantGraph, *, groups: bool = True) -> TenantFacts:
    cache = _shared_facts.get()
    if cache is None:
        return _load_facts(client, groups=groups)
    key = (client.tenant_id, groups)
    with cache["lock"]:
        if key not in cache:
            cache[key] = _load_facts(client, groups=groups)
        return cache[key]


def _load_facts(client: TenantGraph, *, groups: bool = True) -> TenantFacts:
    facts = TenantFacts(client.tenant_id)
    answers = client.batch([
        {"method": "GET", "url": "/domains?$select=id,isVerified,isDefault"},
        {"method": "GET", "url": "/subscribedSkus"},
        {"method": "GET", "url": "/roleManagement/directory/roleDefinitions"
                                 "?$select=id,displayName,templateId,isBuiltIn"},
    ])
    for answer in answers:
        err = answer.error(tenant_id=client.tenant_id, method="GET", url="$batch")
        if err:
            raise err
    domains, skus, roles = (a.body.get("value", []) for a in answers)
    facts.domains = {d["id"].lower(): d for d in domains}
    facts.skus = {s["skuId"].lower(): s for s in skus if s.get("appliesTo", "User") == "User"}
    facts.roles = {r["id"]: r for r in roles}
    if groups:
        for group in client.pages("groups", params={"$select": GROUP_SELECT, "$top": "999"}):
            facts.groups[group["id"].lower()] = group
    return facts


_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def user_path(user) -> str | None:
    """`users/{id or UPN}` for an object id or a user principal name, the UPN percent-encoded
    ('#' of a guest's #EXT#, '/', '?', spaces stay inside the one segment), or None for text that
    is neither: no user has it, and sent as is it would name another resource ('..', '', 'a/b')."""
    value = str(user or "").strip()
    if _GUID.match(value):
        return f"users/{value}"
    local, at, domain = value.partition("@")
    if at and local and domain and "@" not in domain:
        return f"users/{quote(value, safe='@')}"
    return None


def get_user(client: TenantGraph, user: str) -> dict | None:
    """The user by object id or UPN with the properties plans compare, or None if absent."""
    path = user_path(user)
    if path is None:
        return None
    try:
        return client.get(path, params={"$select": USER_SELECT})
    except NotFound:
        return None


def user_exists(client: TenantGraph, upn_or_id: str) -> str | None:
    """The object id of the user with this object id or UPN, or None."""
    path = user_path(upn_or_id)
    if path is None:
        return None
    try:
        return client.get(path, params={"$select": "id"})["id"]
    except NotFound:
        return None


def nickname_taken(client: TenantGraph, nickname: str) -> bool:
    quoted = nickname.replace("'", "''")
    body = client.get("users", params={"$filter": f"mailNickname eq '{quoted}'", "$select": "id",
                                       "$top": "1"})
    return bool(body.get("value"))


def member_groups(client: TenantGraph, user_id: str) -> list[dict]:
    """The groups a user is directly a member of (roles and administrative units left out)."""
    out = []
    for obj in client.pages(f"users/{user_id}/memberOf"):
        kind = obj.get("@odata.type")
        # Graph tags every member with its type; without a tag, only groups carry groupTypes.
        if kind == "#microsoft.graph.group" or (kind is None and "groupTypes" in obj):
            out.append(obj)
    return out


def role_assignments(client: TenantGraph, user_id: str) -> list[dict]:
    return list(client.pages("roleManagement/directory/roleAssignments",
                             params={"$filter": f"principalId eq '{user_id}'"}))


def license_sources(user: dict) -> dict[str, dict]:
    """sku id -> {"direct": bool, "groups": [group ids], "disabled_plans": [...]}.

    From `licenseAssignmentStates` when Graph gives it (group-based licensing shows there), else
    every assigned license counts as direct.
    """
    out: dict[str, dict] = {}
    states = user.get("licenseAssignmentStates")
    if states is None:
        states = [{"skuId": a["skuId"], "assignedByGroup": None,
                   "disabledPlans": a.get("disabledPlans", [])} for a in user.get("assignedLicenses") or []]
    for state in states:
        sku_id = state["skuId"].lower()
        entry = out.setdefault(sku_id, {"direct": False, "groups": [], "disabled_plans": []})
        if state.get("assignedByGroup"):
            entry["groups"].append(state["assignedByGroup"].lower())
        else:
            entry["direct"] = True
            entry["disabled_plans"] = list(state.get("disabledPlans") or [])
    return out


def as_names(value) -> list[str]:
    """A list of names from None, a list, or a "; "-separated string (CSV cells, CLI flags)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return [v for v in value if not (isinstance(v, str) and not v.strip())]


def resolve_tenant(m365, tenant) -> tuple[str | None, str | None]:
    """(tenant id, None) or (None, why not) for a tenant id, verified domain or display name."""
    if not tenant:
        return None, "a tenant is required: its id, a verified domain or its display name"
    try:
        return m365.resolve_tenant(tenant), None
    except (ValueError, KeyError, LookupError) as exc:
        return None, str(exc)       # names the tenant and says how to find the right one


def current_frames(facts, sources: dict, groups: list[dict], roles: list[dict]) -> dict:
    """What the user has now, for forms to list: licenses (with where each comes from),
    groups (with whether Graph can change them) and roles."""
    lic = pd.DataFrame([
        (facts.skus.get(sku, {}).get("skuPartNumber", sku), facts.sku_name(sku),
         "; ".join((["direct"] if e["direct"] else []) +
                   [f"group {facts.groups.get(g, {}).get('displayName', g)}" for g in e["groups"]]))
        for sku, e in sources.items()], columns=["sku_part_number", "product_name", "assigned"])
    grp = pd.DataFrame([(g["id"], g.get("displayName", ""), group_kind(g),
                         group_write_refusal(g) is None, group_write_refusal(g) or "")
                        for g in groups], columns=["id", "display_name", "kind", "writable", "reason"])
    rol = pd.DataFrame([(r.get("roleDefinitionId"),
                         facts.roles.get(r.get("roleDefinitionId"), {}).get("displayName", ""))
                        for r in roles], columns=["role_definition_id", "display_name"])
    return {"licenses": lic, "groups": grp, "roles": rol}
