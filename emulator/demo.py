"""The demo world, deterministic from a seed: a partner (MSP) tenant and its customers.

`plan_world` decides the tenants (ids, names, domains, sizes) cheaply; `build_tenant` fills
one tenant's directory from its own random stream, so any tenant can be built alone, in any
order, with the same result. Dates are offsets from today, so "signed in 95 days ago" stays
true whenever the world is built.
"""
from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field

from . import exchange_demo, groups_demo, licensing, membership
from .model import Tenant, User, days_ago
from .names import (COMPANY_STEMS, DEPARTMENT_WEIGHTS, DEPARTMENTS, FIRST_NAMES, INDUSTRIES,
                    PLACES, SURNAMES)
from .roles import BY_NAME

TLD = {"US": "com", "CA": "ca", "GB": "co.uk", "NL": "nl", "DE": "de", "IE": "ie", "AU": "com.au"}
LANGUAGE = {"US": "en-US", "CA": "en-CA", "GB": "en-GB", "NL": "nl-NL", "DE": "de-DE",
            "IE": "en-IE", "AU": "en-AU"}
DEMO_SIZES = (15, 120)     # users per customer tenant when no size is given
PARTNER_USERS = 12


@dataclass
class TenantInfo:
    index: int
    id: str
    display_name: str
    slug: str
    place: tuple
    user_count: int
    created_days_ago: int
    kind: str = "customer"          # customer | partner | former
    domains: list = field(default_factory=list)   # (name, verified, default, initial)

    @property
    def initial_domain(self) -> str:
        return f"{self.slug}.onmicrosoft.com"

    @property
    def default_domain(self) -> str:
        return next(name for name, _, default, _ in self.domains if default)


def guid(rng: random.Random) -> str:
    """A version-4 GUID from the given random stream (fast path of uuid.UUID(version=4))."""
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _info(rng, index, name, slug, place, users, kind) -> TenantInfo:
    info = TenantInfo(index, guid(rng), name, slug, place, users, rng.randint(400, 3000), kind)
    tld = TLD[place[3]]
    info.domains = [(f"{slug}.{tld}", True, True, False), (info.initial_domain, True, False, True),
                    (f"{slug}-group.com", False, False, False)]
    return info


def plan_world(seed: int, tenants: int, users_per_tenant: int | None) -> tuple:
    """(partner, customers, former customer) TenantInfos; only names, ids and sizes."""
    rng = random.Random(f"m365emu/{seed}/world")
    partner = _info(rng, 0, "Adatum IT Services", "adatumit", PLACES[0], PARTNER_USERS, "partner")
    used = {partner.slug}
    customers = []
    for i in range(tenants):
        for attempt in range(1000):
            stem, industry = rng.choice(COMPANY_STEMS), rng.choice(INDUSTRIES)
            slug = f"{stem}{industry}".lower() + (str(attempt // 50 + 1) if attempt >= 50 else "")
            if slug not in used:
                break
        used.add(slug)
        size = users_per_tenant if users_per_tenant is not None else rng.randint(*DEMO_SIZES)
        customers.append(_info(rng, i + 1, f"{stem} {industry}", slug, rng.choice(PLACES),
                               size, "customer"))
    former = _info(rng, tenants + 1, "Former Client Ltd", "formerclient", PLACES[4], 0, "former")
    return partner, customers, former


def build_tenant(info: TenantInfo, seed: int, groups_per_tenant: int) -> Tenant:
    rng = random.Random(f"m365emu/{seed}/tenant/{info.index}")
    tenant = Tenant(info)
    _organization(tenant, info)
    people = _users(tenant, info, rng)
    skus = _subscriptions(tenant, info, rng)
    _assign_direct(tenant, people, skus, rng)
    groups_demo.build_groups(tenant, people, rng, groups_per_tenant if info.kind == "customer"
                             else min(groups_per_tenant, 6))
    for user in tenant.user_list:
        membership.apply_dynamic_rules(tenant, user)
        licensing.refresh_user(tenant, user)
    _settle_seats(tenant, info, skus, rng)
    _roles(tenant, people, rng)
    _delete_some(tenant, people, rng)
    _hybrid_users(tenant, info, people, seed)
    exchange_demo.build(tenant, people, seed)       # mailboxes: sizes, shared, dynamic groups
    tenant.dirty = False
    return tenant


def _organization(tenant: Tenant, info: TenantInfo) -> None:
    city, state, country, code, postal, street, phone = info.place
    tenant.domains = [{
        "id": name, "authenticationType": "Managed", "availabilityStatus": None,
        "isAdminManaged": True, "isDefault": default, "isInitial": initial, "isRoot": True,
        "isVerified": verified, "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": 2147483647, "state": None,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"] if verified else [],
    } for name, verified, default, initial in info.domains]
    tenant.org = {
        "id": info.id, "businessPhones": [f"{phone} 0100"], "city": city, "country": country,
        "countryLetterCode": code, "createdDateTime": days_ago(info.created_days_ago),
        "deletedDateTime": None, "displayName": info.display_name, "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": None, "onPremisesSyncEnabled": None, "postalCode": postal,
        "preferredLanguage": "en", "privacyProfile": None, "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [], "state": state or None, "street": street,
        "technicalNotificationMails": [f"it@{info.default_domain}"], "tenantType": "AAD",
        "assignedPlans": [], "provisionedPlans": [],
        "verifiedDomains": [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": d,
                             "isInitial": i, "name": n, "type": "Managed"}
                            for n, v, d, i in info.domains if v],
    }


def _departments(rng: random.Random, n: int) -> list[str]:
    names = list(DEPARTMENT_WEIGHTS)
    weights = [DEPARTMENT_WEIGHTS[d] for d in names]
    chosen = ["Executive", "IT"] + rng.choices(names, weights, k=max(0, n - 2))
    return chosen[:n]


def _users(tenant: Tenant, info: TenantInfo, rng: random.Random) -> dict:
    """Create the people; returns roles of note (admin, managers, IT staff) and the list."""
    domain = info.default_domain
    city, state, country, code, postal, street, phone = info.place
    heads: dict[str, User] = {}
    people = {"all": [], "it": [], "heads": heads, "unlicensed": set()}
    # Live users are exactly user_count; a few more are made and then deleted (recycle bin).
    extra = 0 if info.kind == "partner" else max(1, info.user_count // 30)
    count = max(1, info.user_count) + extra
    people["extra"] = extra
    departments = ["IT"] if info.kind == "partner" else _departments(rng, count)
    for n in range(count):
        dept = departments[n % len(departments)] if info.kind == "partner" else departments[n]
        given, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        local = f"{given}.{surname}".lower()
        if n == 0:
            given, surname, local = "Admin", "Account", "admin"
        base, k = local, 1
        while f"{local}@{domain}" in tenant.upns:
            k += 1
            local = f"{base}{k}"
        upn = f"{local}@{domain}"
        titles = DEPARTMENTS[dept]
        title = "IT Administrator" if n == 0 else titles[0] if dept not in heads else rng.choice(titles[1:])
        created = rng.randint(20, max(30, info.created_days_ago))
        props = {
            "id": guid(rng), "accountEnabled": rng.random() > 0.08 or n == 0,
            "businessPhones": [f"{phone} {rng.randint(1000, 9999)}"], "city": city,
            "companyName": info.display_name, "country": country, "createdDateTime": days_ago(created),
            "department": dept, "displayName": f"{given} {surname}",
            "employeeId": f"E{rng.randint(10000, 99999)}",
            "givenName": given, "jobTitle": title, "mailNickname": local, "officeLocation": f"{city} Office",
            "postalCode": postal, "preferredLanguage": LANGUAGE[code], "streetAddress": street,
            "surname": surname, "usageLocation": code, "userPrincipalName": upn, "userType": "Member",
            "lastPasswordChangeDateTime": days_ago(rng.randint(1, created)),
            "identities": [{"signInType": "userPrincipalName", "issuer": info.initial_domain,
                            "issuerAssignedId": upn}],
        }
        if state:
            props["state"] = state
        if rng.random() < 0.6:
            props["mobilePhone"] = f"{phone} {rng.randint(1000, 9999)}"
        roll = rng.random()
        if n > 0 and roll < 0.04:
            del props["usageLocation"]              # cannot be licensed until one is set
            people["unlicensed"].add(props["id"])
        elif n > 0 and roll < 0.10:
            people["unlicensed"].add(props["id"])
        props["signInActivity"] = _sign_in(rng, created, props["accountEnabled"])
        if props["signInActivity"] is None:
            del props["signInActivity"]
        user = User(props, len(tenant.user_list))
        tenant.add_user(user)
        people["all"].append(user)
        if dept not in heads and n > 0:
            heads[dept] = user
        if dept == "IT" or n == 0:
            people["it"].append(user)
    ceo = heads.get("Executive")
    for user in people["all"][1:]:
        head = heads.get(user.p["department"])
        user.manager = (ceo.id if ceo and head is user and user is not ceo else
                        head.id if head and head is not user else None)
    return people


def _sign_in(rng: random.Random, created_days: int, enabled: bool) -> dict | None:
    roll = rng.random()
    if roll < 0.08:
        return None                                   # never signed in
    stale = roll < 0.22 or (not enabled and roll < 0.7)
    ago = rng.uniform(91, min(400, created_days + 91)) if stale else rng.uniform(0.01, 30)
    ago = min(ago, created_days)
    interactive = days_ago(ago)
    non_interactive = days_ago(max(0.001, ago - rng.uniform(0, min(ago, 2))))
    return {"lastSignInDateTime": interactive, "lastSignInRequestId": guid(rng),
            "lastNonInteractiveSignInDateTime": non_interactive,
            "lastNonInteractiveSignInRequestId": guid(rng),
            "lastSuccessfulSignInDateTime": interactive, "lastSuccessfulSignInRequestId": guid(rng)}


def _subscriptions(tenant: Tenant, info: TenantInfo, rng: random.Random) -> dict:
    """Subscribe the SKUs (seats settled later, once consumption is known)."""
    n = info.user_count
    suites = ("SPB", "O365_BUSINESS_PREMIUM", "SPE_E3", "ENTERPRISEPACK")
    primary = suites[info.index % 4] if n <= 300 or info.index % 4 >= 2 else "SPE_E3"
    parts = [primary, "O365_BUSINESS_ESSENTIALS", "EXCHANGESTANDARD", "POWER_BI_PRO",
             "FLOW_FREE", "TEAMS_EXPLORATORY", "VISIOCLIENT", "PROJECTPROFESSIONAL"]
    if primary in ("O365_BUSINESS_PREMIUM", "ENTERPRISEPACK"):
        parts.append("AAD_PREMIUM")
    if info.index % 3 == 0:
        parts.append("Microsoft_365_Copilot")
    chosen = {}
    for part in parts:
        sku = licensing.subscribed_sku(info.id, part, 10**6, subscription_id=guid(rng))
        sku["accountName"] = info.slug
        tenant.skus[sku["skuId"]] = sku
        chosen[part] = sku["skuId"]
    chosen["primary"] = chosen[primary]
    return chosen


def _assign_direct(tenant: Tenant, people: dict, skus: dict, rng: random.Random) -> None:
    frontline = ("Customer Support", "Operations")
    for user in people["all"]:
        if user.id in people["unlicensed"]:
            continue
        dept = user.p["department"]
        if dept in frontline and rng.random() < 0.4:
            user.direct[skus["O365_BUSINESS_ESSENTIALS" if rng.random() < 0.6 else "EXCHANGESTANDARD"]] = []
        else:
            user.direct[skus["primary"]] = []
        if rng.random() < 0.15:
            user.direct[skus["FLOW_FREE"]] = []
        if rng.random() < 0.03:
            user.direct[skus["TEAMS_EXPLORATORY"]] = []
        if dept == "Engineering" and rng.random() < 0.3:
            user.direct[skus["VISIOCLIENT"]] = []
        if dept == "Executive" and "Microsoft_365_Copilot" in skus:
            user.direct[skus["Microsoft_365_Copilot"]] = []
        if "AAD_PREMIUM" in skus and rng.random() < 0.5:
            user.direct[skus["AAD_PREMIUM"]] = []


def _settle_seats(tenant: Tenant, info: TenantInfo, skus: dict, rng: random.Random) -> None:
    """Purchased seats from what is consumed: some full, one short, one suspended, one warning."""
    licensing.recount(tenant)
    for part, sku_id in skus.items():
        if part == "primary":
            continue
        sku = tenant.skus[sku_id]
        used = sku["consumedUnits"]
        units = sku["prepaidUnits"]
        if part == "FLOW_FREE":
            units["enabled"] = 10000
        elif part == "POWER_BI_PRO":
            units["enabled"] = used                        # fully used
        elif sku_id == skus["primary"] and info.index % 3 == 1:
            units["enabled"] = max(0, used - 2)            # subscription shrank: negative left
        elif part == "PROJECTPROFESSIONAL":
            units["enabled"], units["suspended"] = 0, 3 + info.index % 4
            sku["capabilityStatus"] = "Suspended"
        elif part == "TEAMS_EXPLORATORY":
            units["enabled"] = units["warning"] = 100
            sku["capabilityStatus"] = "Warning"
        elif sku_id == skus["primary"] and info.index % 3 == 2:
            units["enabled"] = used                        # fully used
        else:
            units["enabled"] = used + max(1, round(used * rng.uniform(0.05, 0.25)))


def _roles(tenant: Tenant, people: dict, rng: random.Random) -> None:
    def assign(user: User, role: str) -> None:
        rid = base64.urlsafe_b64encode(rng.getrandbits(256).to_bytes(32, "big")).decode().rstrip("=")
        tenant.role_assignments[rid + "-1"] = {
            "id": rid + "-1", "principalId": user.id, "roleDefinitionId": BY_NAME[role],
            "directoryScopeId": "/"}

    admin = people["all"][0]
    assign(admin, "Global Administrator")
    it = [u for u in people["it"] if u is not admin]
    heads = people["heads"]
    if it:
        assign(it[0], "User Administrator")
        assign(it[0], "Exchange Administrator")
    for user in it[1:3]:
        assign(user, "Helpdesk Administrator")
    if len(it) > 3:
        assign(it[3], "Security Administrator")
    if "Finance" in heads:
        assign(heads["Finance"], "Billing Administrator")
    if "Executive" in heads:
        assign(heads["Executive"], "Global Reader")


def _hybrid_users(tenant: Tenant, info: TenantInfo, people: dict, seed: int) -> None:
    """A few customer users synced from on-premises AD by Entra Connect. Their own random
    stream, drawn after everything else, so every other demo value stays as it was."""
    if info.kind != "customer":
        return
    rng = random.Random(f"m365emu/{seed}/hybrid/{info.index}")
    special = {u.id for u in people["it"]} | {u.id for u in people["heads"].values()}
    pool = [u for u in people["all"][1:] if u.deleted is None and u.id not in special
            and u.id not in people["unlicensed"]]
    ad_domain = f"corp.{info.slug}.local"
    dc = ",".join(f"DC={part}" for part in ad_domain.split("."))
    sid_base = "-".join(str(rng.randint(10**8, 4 * 10**9)) for _ in range(3))
    for n, user in enumerate(rng.sample(pool, min(len(pool), max(2, info.user_count // 20)))):
        p = user.p
        sam = p["mailNickname"].replace(".", "")[:20]
        p.update({
            "onPremisesSyncEnabled": True,
            "onPremisesImmutableId": base64.b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode(),
            "onPremisesSamAccountName": sam,
            "onPremisesUserPrincipalName": f"{sam}@{ad_domain}",
            "onPremisesDomainName": ad_domain,
            "onPremisesDistinguishedName": f"CN={p['displayName']},OU=Staff,{dc}",
            "onPremisesSecurityIdentifier": f"S-1-5-21-{sid_base}-{1104 + n}",
            "onPremisesLastSyncDateTime": days_ago(rng.uniform(0.005, 0.5)),   # every 30 min
        })


def _delete_some(tenant: Tenant, people: dict, rng: random.Random) -> None:
    from .directory import delete_user
    candidates = tenant.user_list[1:]
    for user in rng.sample(candidates, min(len(candidates), people["extra"])):
        delete_user(tenant, user)
        when = days_ago(rng.uniform(1, 25))
        user.deleted = user.p["deletedDateTime"] = when


def link_partner(partner: Tenant, customers: list, former: TenantInfo, seed: int) -> None:
    """GDAP relationships (one expired, for a former client), GDAP customers and contracts."""
    rng = random.Random(f"m365emu/{seed}/partner")
    roles = [{"roleDefinitionId": BY_NAME[name]} for name in
             ("User Administrator", "License Administrator", "Groups Administrator",
              "Helpdesk Administrator", "Global Reader", "Privileged Role Administrator")]
    for info in list(customers) + [former]:
        active = info.kind == "customer"
        started = rng.randint(40, 600)
        end = started - 730 if active else rng.randint(5, 60)
        partner.relationships.append({
            "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
            "id": f"{guid(rng)}-{guid(rng)}", "displayName": f"GDAP {info.display_name}"[:50],
            "duration": "P730D", "status": "active" if active else "expired",
            "autoExtendDuration": "P180D" if active else "PT0S",
            "createdDateTime": days_ago(started + 2), "lastModifiedDateTime": days_ago(started),
            "activatedDateTime": days_ago(started), "endDateTime": days_ago(end),
            "customer": {"tenantId": info.id, "displayName": info.display_name},
            "accessDetails": {"unifiedRoles": roles},
        })
        if active:
            partner.contracts.append({
                "id": guid(rng), "contractType": "ResellerPartner", "customerId": info.id,
                "defaultDomainName": info.default_domain, "displayName": info.display_name,
                "deletedDateTime": None})
