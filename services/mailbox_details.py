"""One user's mailbox as the user page shows it, read live from Exchange Online.

Type, size and quota, forwarding, whether it is hidden from the address lists, and who holds
Full Access and Send As: four cmdlets (Get-Mailbox, Get-MailboxStatistics,
Get-MailboxPermission, Get-RecipientPermission). A tenant without Exchange access gets the
access rule's reason instead of a call (services.access, feature "exchange").
"""
from __future__ import annotations

from .access import feature_refusal
from .errors import GraphError
from .exchange import SHARED, SHARED_MAILBOX_LIMIT, ExchangeOnline, forwarding_address, size_bytes

KINDS = {"UserMailbox": "user mailbox", "SharedMailbox": "shared mailbox",
         "RoomMailbox": "room mailbox", "EquipmentMailbox": "equipment mailbox"}


def mailbox_details(m365, tenant, user) -> dict:
    """{"available": bool, "reason": why not, "type", "kind" (in words), "size_bytes",
    "quota_bytes", "over_shared_limit", "forwarding_to", "keeps_copy", "hidden",
    "full_access": [{"user", "automapping"}], "send_as": [user, ...]}; `available` False with
    a reason when the tenant's access refuses Exchange, the user has no mailbox, or Exchange
    could not be read."""
    tenant_id = m365.resolve_tenant(tenant)
    row = m365.resolve_user(tenant_id, user)
    upn = str(row["user_principal_name"])
    refused = feature_refusal(m365, tenant_id, "exchange")
    if refused:
        return {"available": False, "reason": refused}
    exo = ExchangeOnline(m365.graph.tenant(tenant_id))
    try:
        box = exo.mailbox(upn)
        if box is None:
            return {"available": False, "reason": "no Exchange Online mailbox (no license with "
                                                  "Exchange, or a mailbox hosted on-premises)"}
        size = exo.mailbox_size(upn)
        full = exo.full_access(upn)
        send_as = exo.send_as(upn)
    except GraphError as exc:
        return {"available": False, "reason": f"Exchange Online did not answer: {exc.graph_message}"}
    kind = str(box.get("RecipientTypeDetails") or "")
    return {"available": True, "reason": "", "type": kind, "kind": KINDS.get(kind, kind),
            "size_bytes": size, "quota_bytes": size_bytes(box.get("ProhibitSendReceiveQuota")),
            "over_shared_limit": bool(size and size > SHARED_MAILBOX_LIMIT and kind != SHARED),
            "forwarding_to": forwarding_address(box.get("ForwardingSmtpAddress")),
            "keeps_copy": bool(box.get("DeliverToMailboxAndForward")),
            "hidden": bool(box.get("HiddenFromAddressListsEnabled")),
            "full_access": [{"user": p.get("User"), "automapping": p.get("AutoMapping")}
                            for p in full],
            "send_as": [p.get("Trustee") for p in send_as]}


def shared_mailbox_to_tidy(users):
    """Which rows of `m365.users()` are shared mailboxes that still hold a license or still
    allow sign-in (a boolean Series): a shared mailbox needs neither under 50 GB, and an
    enabled account with a password is a way in that nobody watches (the admin center and
    Lighthouse flag both)."""
    shared = users["mailbox_type"].astype(str) == "SharedMailbox"
    licensed = users["licenses"].fillna("").astype(str) != ""
    enabled = users["account_enabled"].fillna(True).astype(bool)
    return shared & (licensed | enabled)


def tidy_reason(row) -> str:
    """Why a shared mailbox row is flagged ('' when it is not)."""
    if str(row.get("mailbox_type")) != "SharedMailbox":
        return ""
    parts = []
    if str(row.get("licenses") or ""):
        parts.append("holds a license")
    if row.get("account_enabled") is not False:
        parts.append("sign-in allowed")
    return " and ".join(parts)
