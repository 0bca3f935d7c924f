"""Exchange Online's admin REST API (the one behind ExchangeOnlineManagement v3), app-only.

Graph v1.0 cannot convert a mailbox, grant Full Access or Send As, forward mail, hide a person
from the address lists or change a distribution list; this API can. Every call is one cmdlet
POSTed to `{exchange_url}/{tenant}/InvokeCommand` through the tenant's `TenantGraph.request`, the
project's one HTTP choke point, with the Exchange token audience and Exchange's error body: the
same retries, throttling, token renewal and request counting as Graph. The contract (headers,
answers, errors, cmdlets) is docs/EXCHANGE.md; the emulator serves the same.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from .errors import GraphError, NotFound, error_class
from .graph import TenantGraph

log = logging.getLogger(__name__)

EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
EXCHANGE_PERMISSION = "Exchange.ManageAsApp"
# The system mailbox every app-only call anchors on (as the ExchangeOnlineManagement module does).
ANCHOR = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"
PAGE_SIZE = 1000
# An unlicensed shared mailbox may hold 50 GB (Microsoft's Exchange Online limits).
SHARED_MAILBOX_LIMIT = 50 * 1024 ** 3
NOT_FOUND = "ManagementObjectNotFoundException"
ALREADY_MEMBER = "MemberAlreadyExistsException"
NOT_MEMBER = "MemberNotFoundException"
SHARED = "SharedMailbox"
_BYTES = re.compile(r"\(([\d,.\s]+)\s*bytes\)")


def from_exchange_body(status: int, body, *, request_id: str | None = None,
                       method: str | None = None, url: str | None = None,
                       tenant_id: str | None = None) -> GraphError:
    """A GraphError from Exchange's error body: the message from `details[].message` (after the
    last "|"), else `innererror.internalException.message`, else `message`; the exception's
    short name (ManagementObjectNotFoundException) as its code."""
    err = body.get("error") if isinstance(body, dict) else None
    err = err if isinstance(err, dict) else {}
    details = [d for d in err.get("details") or [] if isinstance(d, dict)]
    inner = err.get("innererror") or err.get("innerError") or {}
    internal = inner.get("internalException") or {} if isinstance(inner, dict) else {}
    message = exception = None
    for detail in details:
        text = str(detail.get("message") or "")
        if text:
            parts = text.split("|")
            message = parts[-1].strip()
            if len(parts) >= 3:
                exception = parts[-2].strip()
            break
    if not message:
        message = internal.get("message") or err.get("message") or f"HTTP {status}"
    exception = (exception or internal.get("type") or "").rsplit(".", 1)[-1] or None
    code = exception or err.get("code")
    cls = NotFound if exception == NOT_FOUND else error_class(status)
    request_id = (inner.get("request-id") if isinstance(inner, dict) else None) or request_id
    return cls(message, status=status, code=code, request_id=request_id, method=method, url=url,
               tenant_id=tenant_id, details=details)


@dataclass
class CmdletAnswer:
    """What one cmdlet returned: its objects (every page) and Exchange's warnings."""

    value: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def size_bytes(text) -> int | None:
    """Bytes from Exchange's size text ("51.3 GB (55,083,295,744 bytes)"), or None."""
    if isinstance(text, (int, float)):
        return int(text)
    match = _BYTES.search(str(text or ""))
    return int(re.sub(r"\D", "", match.group(1))) if match else None


def forwarding_address(value) -> str | None:
    """"smtp:x@y" -> "x@y" (ForwardingSmtpAddress carries its address type)."""
    text = str(value or "").strip()
    if not text:
        return None
    kind, sep, address = text.partition(":")
    return address if sep and kind.lower() == "smtp" else text


def gigabytes(n: int | None) -> str:
    return "" if n is None else f"{n / 1024 ** 3:.1f} GB"


class ExchangeOnline:
    """Cmdlets for one tenant, sent through that tenant's Graph client (`client.request`)."""

    def __init__(self, client: TenantGraph):
        self.client = client
        base = client.hub.settings.exchange_url.rstrip("/")
        self.url = f"{base}/{client.tenant_id}/InvokeCommand"
        self.headers = {"X-AnchorMailbox": f"{ANCHOR}{client.tenant_id}",
                        "Prefer": f"odata.maxpagesize={PAGE_SIZE}",
                        "Content-Type": "application/json"}

    def invoke(self, cmdlet: str, parameters: dict | None = None, *,
               select: str | None = None) -> CmdletAnswer:
        """Run one cmdlet; follows `@odata.nextLink` by POSTing the same body again."""
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": dict(parameters or {})}}
        answer = CmdletAnswer()
        url, params = self.url, ({"$select": select} if select else None)
        while url:
            page = self.client.request("POST", url, params=params, json=body,
                                       headers=self.headers, scope=EXCHANGE_SCOPE,
                                       parse_error=from_exchange_body) or {}
            answer.value.extend(page.get("value") or [])
            for key in ("@adminapi.warnings", "adminapi.warnings"):
                answer.warnings.extend(str(w) for w in page.get(key) or [])
            url, params = page.get("@odata.nextLink"), None
        return answer

    def get(self, cmdlet: str, parameters: dict | None = None, *,
            select: str | None = None) -> list[dict]:
        return self.invoke(cmdlet, parameters, select=select).value

    # ---- reading -----------------------------------------------------------------------------

    def mailbox(self, identity: str, select: str | None = None) -> dict | None:
        """The user's mailbox, or None when they have none in Exchange Online."""
        try:
            found = self.get("Get-Mailbox", {"Identity": identity}, select=select)
        except NotFound:
            return None
        return found[0] if found else None

    def mailboxes(self, select: str | None = None) -> list[dict]:
        return self.get("Get-Mailbox", {"ResultSize": "Unlimited"}, select=select)

    def mailbox_size(self, identity: str) -> int | None:
        stats = self.get("Get-MailboxStatistics", {"Identity": identity})
        return size_bytes(stats[0].get("TotalItemSize")) if stats else None

    def full_access(self, identity: str) -> list[dict]:
        """Explicit Full Access grants on the mailbox (not inherited, not the owner's SELF)."""
        return [p for p in self.get("Get-MailboxPermission", {"Identity": identity})
                if not p.get("IsInherited") and not p.get("Deny")
                and "FullAccess" in (p.get("AccessRights") or [])
                and not str(p.get("User") or "").upper().startswith("NT AUTHORITY")]

    def send_as(self, identity: str) -> list[dict]:
        return [p for p in self.get("Get-RecipientPermission", {"Identity": identity})
                if "SendAs" in (p.get("AccessRights") or []) and not p.get("IsInherited")
                and not str(p.get("Trustee") or "").upper().startswith("NT AUTHORITY")]

    # ---- writing -----------------------------------------------------------------------------

    def add_member(self, group: str, member: str) -> bool:
        """Add to a distribution list or mail-enabled security group; False when already in."""
        try:
            self.invoke("Add-DistributionGroupMember", {"Identity": group, "Member": member,
                                                        "BypassSecurityGroupManagerCheck": True})
        except GraphError as exc:
            if exc.code == ALREADY_MEMBER:
                return False
            raise
        return True

    def remove_member(self, group: str, member: str) -> bool:
        """Take out of a distribution list or mail-enabled security group; False when not in."""
        try:
            self.invoke("Remove-DistributionGroupMember", {
                "Identity": group, "Member": member, "BypassSecurityGroupManagerCheck": True,
                "Confirm": False})
        except GraphError as exc:
            if exc.code == NOT_MEMBER:
                return False
            raise
        return True


def exchange_roles(tokens, tenant_id: str) -> list[str]:
    """The Exchange application permissions the tenant granted the app (the `roles` claim of
    its Exchange Online token); [] when the token cannot be had there."""
    try:
        return list(tokens.claims(tenant_id, EXCHANGE_SCOPE).get("roles") or [])
    except GraphError as exc:
        log.info("no Exchange Online token for tenant %s: %s", tenant_id, exc)
        return []
