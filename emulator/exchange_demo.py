"""Demo Exchange Online data of a tenant, from its own random stream (drawn after everything
else, so every other demo value stays as it was).

In every tenant with enough people:
- the large mailbox: exactly one mailbox over 50 GB (51 to 58 GB), the Executive department's
  head (the CEO) when licensed, else the first licensed user after the admin;
  `Emulator.large_mailbox(tid)` gives its UPN. Every other demo mailbox stays under 45 GB
  (most 0.5 to 20 GB, derived from the user id in exchange.size_of);
- two shared mailboxes, made from two ordinary users (renamed): `info@<domain>` ("Info Desk":
  converted but still licensed, sign-in blocked, two people with Full Access, one with Send
  As) and `reception@<domain>` ("Reception Desk": no license, but sign-in still enabled);
  `Emulator.shared_mailboxes(tid)` lists their UPNs;
- one mailbox forwarding to an outside address (a finding an MSP looks for);
- two dynamic distribution groups ("All Staff Dynamic", "Sales Dynamic"; Exchange only).
Live user counts do not change: the shared mailboxes are users of the tenant, as in Entra.
"""
from __future__ import annotations

import random

from . import exchange as X
from .model import Tenant, User, days_ago


def build(tenant: Tenant, people: dict, seed: int) -> None:
    info = tenant.info
    st = tenant.exchange = X.ExchangeState(len(tenant.user_list))
    rng = random.Random(f"m365emu/{seed}/exchange/{info.index}")
    live = [u for u in people["all"] if u.deleted is None]
    boxed = [u for u in live if u.p.get("mail")]
    if not boxed:
        return
    special = {u.id for u in people["it"]} | {u.id for u in people["heads"].values()} | {live[0].id}
    head = people["heads"].get("Executive")
    large = head if head in boxed else next((u for u in boxed if u is not live[0]), boxed[0])
    st.large = large.id.lower()
    size = int(rng.uniform(51, 58) * X.GB)
    st.entry(large.id).update(size=size, items=int(size / rng.uniform(70_000, 95_000)),
                              quota=100 * X.GB)
    pool = [u for u in live if u.id not in special and u is not large
            and u.p.get("usageLocation") and u.p.get("onPremisesSyncEnabled") is not True]
    licensed = [u for u in pool if u.p.get("mail")]
    unlicensed = [u for u in pool if not u.p.get("mail")]
    if licensed:
        info_box = rng.choice(licensed)
        _make_shared(tenant, info_box, "info", "Info Desk", enabled=False)
        rest = [u for u in licensed if u is not info_box]
        candidates = unlicensed or rest
        if candidates:
            reception = rng.choice(candidates)
            rest = [u for u in rest if u is not reception]
            _make_shared(tenant, reception, "reception", "Reception Desk", enabled=True)
        for user in rng.sample(rest, min(2, len(rest))):
            st.entry(info_box.id).setdefault("full", []).append(
                {"id": user.id.lower(), "automap": True})
        if rest:
            st.entry(info_box.id)["send_as"] = [{"id": rng.choice(rest).id.lower()}]
        if rest:
            forwarder = rng.choice(rest)
            local = forwarder.p["mailNickname"].replace(".", "")
            st.entry(forwarder.id).update(forward_smtp=f"smtp:{local}@gmail.com", deliver=True)
    domain = info.default_domain
    st.dynamic = [_dynamic(rng, "All Staff Dynamic", "AllStaffDynamic", domain,
                           "((RecipientType -eq 'UserMailbox') -and (-not(Name -like "
                           "'SystemMailbox{*')) -and (-not(Name -like 'CAS_{*')))"),
                  _dynamic(rng, "Sales Dynamic", "SalesDynamic", domain,
                           "((Department -eq 'Sales') -and (RecipientType -eq 'UserMailbox'))")]


def _make_shared(tenant: Tenant, user: User, local: str, display: str, *, enabled: bool) -> None:
    """Turn an ordinary demo user into a shared mailbox's account, renamed."""
    p = user.p
    domain = tenant.info.default_domain
    upn = f"{local}@{domain}"
    if upn.lower() in tenant.upns:
        return
    tenant.upns.pop(p["userPrincipalName"].lower(), None)
    tenant.upns[upn.lower()] = user
    given, surname = display.split(" ", 1)
    p.update(userPrincipalName=upn, mailNickname=local, displayName=display, mail=upn,
             proxyAddresses=[f"SMTP:{upn}"], accountEnabled=enabled, givenName=given,
             surname=surname, jobTitle="Shared mailbox")
    for identity in p.get("identities") or ():
        identity["issuerAssignedId"] = upn
    p.pop("mobilePhone", None)
    user.manager = None
    st = X.state(tenant)
    st.entry(user.id)["type"] = X.SHARED
    st.shared.append(user.id.lower())


def _dynamic(rng: random.Random, name: str, alias: str, domain: str, rule: str) -> dict:
    return {"Identity": name, "Name": name, "DisplayName": name, "Alias": alias,
            "PrimarySmtpAddress": f"{alias}@{domain}",
            "Guid": X.object_guid(f"{domain}/{alias}", "dynamic"),
            "ExternalDirectoryObjectId": "", "RecipientType": "DynamicDistributionGroup",
            "RecipientTypeDetails": "DynamicDistributionGroup", "RecipientFilter": rule,
            "IncludedRecipients": "MailboxUsers" if "Department" not in rule else None,
            "ConditionalDepartment": ["Sales"] if "Department" in rule else [],
            "HiddenFromAddressListsEnabled": False, "WhenCreated": days_ago(rng.randint(60, 900))}
