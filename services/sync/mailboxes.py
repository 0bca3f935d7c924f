"""Mailboxes in sync: one `Get-Mailbox` per tenant (paged, `$select`ed) through Exchange Online.

All Users shows each user's mailbox type and forwarding from it, so a technician can find the
shared mailboxes that still hold a license or still allow sign-in (the admin center and
Lighthouse flag both: a shared mailbox needs neither). Exchange has no delta query, so the
mailboxes are read with every full sync, when the last read is older than MAILBOX_MAX_AGE, and
right after a workflow changed a mailbox (it marks them stale); an incremental sync in between
stays one `$batch`. Tenants whose app lacks Exchange access
(services/permissions.py, feature `exchange`) are not asked; a refusal or failure here is a
warning of the sync, never its failure: the mailbox rows stored earlier stay.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from ..errors import GraphError
from ..exchange import EXCHANGE_PERMISSION, ExchangeOnline, forwarding_address
from ..permissions import EXCHANGE
from ..store.snapshot import TenantSnapshot

log = logging.getLogger(__name__)

SELECT = ("ExternalDirectoryObjectId,UserPrincipalName,RecipientTypeDetails,"
          "ForwardingSmtpAddress,DeliverToMailboxAndForward,HiddenFromAddressListsEnabled")
_ROLE = EXCHANGE[1]
MAILBOX_MAX_AGE = timedelta(minutes=30)
RESOURCE = "mailboxes"            # its sync_state row


def due(reader) -> bool:
    """Whether this sync reads the mailboxes (a TenantReader after read())."""
    return reader.full_read.get("users", True) or reader._due(RESOURCE, MAILBOX_MAX_AGE)


def may_read(exchange_permissions, app_roles) -> bool:
    """Whether the tenant's grants let the app call Exchange (roles None: not known, try)."""
    if EXCHANGE_PERMISSION not in set(exchange_permissions or ()):
        return False
    return app_roles is None or _ROLE.met(set(), set(app_roles))


def mailbox_row(tenant_id: str, mailbox: dict) -> dict | None:
    uid = str(mailbox.get("ExternalDirectoryObjectId") or "").lower()
    if not uid:
        return None          # a mailbox without an Entra user (e.g. a system mailbox)
    return {"tenant_id": tenant_id, "user_id": uid,
            "mailbox_type": mailbox.get("RecipientTypeDetails"),
            "forwarding_to": forwarding_address(mailbox.get("ForwardingSmtpAddress")),
            "keeps_copy": bool(mailbox.get("DeliverToMailboxAndForward")),
            "hidden_from_address_lists": bool(mailbox.get("HiddenFromAddressListsEnabled"))}


def read_mailboxes(client, snapshot: TenantSnapshot, exchange_permissions) -> None:
    """Fill `snapshot.mailboxes`, or leave it None (not read) with a warning when refused."""
    if not may_read(exchange_permissions, snapshot.app_roles):
        return
    exo = ExchangeOnline(client)
    try:
        found = exo.mailboxes(select=SELECT)
    except GraphError as exc:
        text = f"mailboxes not read from Exchange Online: {exc.graph_message}"
        log.info("tenant %s: %s", snapshot.tenant_id, text)
        snapshot.warnings.append(text[:500])
        return
    try:
        dynamic = exo.get("Get-DynamicDistributionGroup", {"ResultSize": "Unlimited"})
    except GraphError as exc:
        snapshot.warnings.append(f"dynamic distribution groups not read: {exc.graph_message}"[:500])
    else:
        snapshot.dynamic_lists = [
            {"tenant_id": snapshot.tenant_id, "id": str(g.get("Guid") or g.get("Name")),
             "display_name": g.get("DisplayName") or g.get("Name"),
             "mail": g.get("PrimarySmtpAddress"), "recipient_filter": g.get("RecipientFilter")}
            for g in dynamic if g.get("Guid") or g.get("Name")]
    rows = {}
    for mailbox in found:
        row = mailbox_row(snapshot.tenant_id, mailbox)
        if row:
            rows[row["user_id"]] = row
    snapshot.mailboxes = list(rows.values())
    snapshot.objects += len(found)
