"""Exchange Online's side of each tenant: mailboxes, their permissions, its error answers.

A user has a mailbox once a license with an Exchange Online plan gave them `mail`
(licensing.refresh_user). The mailbox stays when the license goes: a shared mailbox needs none,
a user mailbox gets 30 days of grace in Exchange (not enforced here: Get-Mailbox keeps answering,
with `SKUAssigned` false and `LicenseRemovedDateTime` set). A deleted user's mailbox leaves
Get-Mailbox and comes back with a restore. Distribution lists and mail-enabled security groups
are the tenant's Graph groups (mailEnabled, not Unified); dynamic distribution groups live here
only (Graph does not know them).

State is `tenant.exchange` (an `ExchangeState`), pickled with the tenant like the rest of it,
so it persists in the state folder at no extra cost: it stores only what differs from a
mailbox's defaults (type, forwarding, hidden, permissions, a size set by the demo), so a
100,000-user tenant holds almost nothing. A demo user's size and item count come from its id
(deterministic, from the seed); users created at run time start nearly empty.
"""
from __future__ import annotations

import functools
import hashlib
import random
import uuid

from .licensing import EXCHANGE_PLANS, _active
from .model import Group, Tenant, User

GB = 1024 ** 3
SHARED, REGULAR = "SharedMailbox", "UserMailbox"
SELF = "NT AUTHORITY\\SELF"
ODATA = "Microsoft.Exchange.Admin.OData.Core.ODataServiceException"
NOT_FOUND = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
ALREADY_MEMBER = "Microsoft.Exchange.Management.Tasks.MemberAlreadyExistsException"
NOT_MEMBER = "Microsoft.Exchange.Management.Tasks.MemberNotFoundException"
NO_COMMAND = "System.Management.Automation.CommandNotFoundException"
BINDING = "System.Management.Automation.ParameterBindingException"
RECIPIENT_TASK = "Microsoft.Exchange.Configuration.Tasks.RecipientTaskException"
ACCESS_DENIED = "Microsoft.Exchange.Configuration.Tasks.CmdletAccessDeniedException"
BAD_TOKEN = "Microsoft.Exchange.Security.OAuth.InvalidOAuthTokenException"
NO_PERMISSION = "System.UnauthorizedAccessException"
STATUS_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                405: "MethodNotAllowed", 429: "TooManyRequests", 500: "InternalServerError",
                503: "ServiceUnavailable", 504: "GatewayTimeout"}
INJECTED = {401: BAD_TOKEN, 403: NO_PERMISSION,
            404: "Microsoft.Exchange.Admin.OData.Core.TenantNotFoundException",
            429: "Microsoft.Exchange.Admin.OData.Core.TooManyRequestsException",
            503: "Microsoft.Exchange.Admin.OData.Core.ServiceUnavailableException"}
_IDS = {NOT_FOUND: "Ex6F9304", ALREADY_MEMBER: "ExB3A6D0", NOT_MEMBER: "Ex8E1E5B",
        RECIPIENT_TASK: "Ex0A1B7F"}


class ExoError(Exception):
    """An Exchange Online error answer (docs/EXCHANGE.md "Errors")."""

    def __init__(self, status: int, exception: str, message: str, *, headers: dict | None = None):
        super().__init__(f"{status} {exception}: {message}")
        self.status, self.exception, self.message = status, exception, message
        self.headers = headers or {}

    @property
    def ex_id(self) -> str:
        return _IDS.get(self.exception) or "Ex" + hashlib.sha1(self.exception.encode()).hexdigest()[:6].upper()

    def body(self) -> dict:
        return {"error": {
            "code": STATUS_CODES.get(self.status, "BadRequest"),
            "message": "Error executing cmdlet" if self.status == 400 else self.message,
            "details": [{"code": "Context", "target": "",
                         "message": f"{self.ex_id}|{self.exception}|{self.message}"}],
            "innererror": {"message": self.message, "type": ODATA,
                           "internalException": {"message": self.message, "type": self.exception}}}}


def refused(message: str, exception: str = RECIPIENT_TASK) -> ExoError:
    return ExoError(400, exception, message)


def binding(message: str) -> ExoError:
    return ExoError(400, BINDING, message)


def server_name(tenant: Tenant) -> str:
    """The domain controller Exchange names in its not-found message, stable per tenant."""
    country = tenant.org.get("countryLetterCode") or ""
    region = "NAM" if country in ("US", "CA") else "APC" if country == "AU" else "EUR"
    n = int(tenant.id[:6], 16)
    return f"{region}{n % 9 + 1:02d}A{n % 7 + 1:03d}DC0{n % 5 + 1}.PROD.OUTLOOK.COM"


def not_found(tenant: Tenant, identity) -> ExoError:
    return ExoError(400, NOT_FOUND, f"The operation couldn't be performed because object "
                                    f"'{identity}' couldn't be found on '{server_name(tenant)}'.")


# ---- state ---------------------------------------------------------------------------------

class ExchangeState:
    """What Exchange keeps beyond the directory; only overrides, per user id (lower case)."""

    def __init__(self, seeded: int = 0):
        self.mailboxes: dict[str, dict] = {}
        self.seeded = seeded        # users with a smaller ordinal are demo users (sized by id)
        self.large: str | None = None          # the demo's one mailbox over 50 GB (user id)
        self.shared: list[str] = []            # the demo's shared mailboxes (user ids)
        self.dynamic: list[dict] = []          # dynamic distribution groups (Exchange only)

    def entry(self, user_id: str) -> dict:
        return self.mailboxes.setdefault(user_id.lower(), {})


def state(tenant: Tenant) -> ExchangeState:
    st = getattr(tenant, "exchange", None)
    if st is None:              # a tenant saved before Exchange existed: its users count as demo
        st = tenant.exchange = ExchangeState(len(tenant.user_list))
    return st


def license_changed(tenant: Tenant, user: User, licensed: bool, stamp: str) -> None:
    """licensing.refresh_user: a user with a mailbox lost (or got back) every Exchange plan."""
    entry = state(tenant).entry(user.id)
    if licensed:
        entry.pop("unlicensed", None)
    else:
        entry["unlicensed"] = stamp


def exchange_plans(tenant: Tenant, user: User) -> set[str]:
    """The Exchange Online plans the user's licenses enable (not disabled)."""
    out = set()
    for sku_id, assigned in _active(user).items():
        sku = tenant.skus.get(sku_id)
        if sku is None:
            continue
        disabled = set(assigned.get("disabledPlans") or ())
        out.update(p["servicePlanName"] for p in sku["servicePlans"]
                   if p["servicePlanName"] in EXCHANGE_PLANS and p["servicePlanId"] not in disabled)
    return out


def has_mailbox(tenant: Tenant, user: User | None) -> bool:
    if user is None or user.deleted is not None or not user.p.get("mail"):
        return False
    st = state(tenant)
    return (user.ordinal < st.seeded or user.id.lower() in st.mailboxes
            or bool(exchange_plans(tenant, user)))


def mailbox_kind(tenant: Tenant, user: User) -> str:
    return state(tenant).mailboxes.get(user.id.lower(), {}).get("type", REGULAR)


def size_of(tenant: Tenant, user: User) -> tuple[int, int]:
    """(bytes, items) of a mailbox: set by the demo or derived from the user's id."""
    st = state(tenant)
    entry = st.mailboxes.get(user.id.lower(), {})
    if "size" in entry:
        return entry["size"], entry["items"]
    rng = random.Random(f"exo/{user.id}")
    if user.ordinal >= st.seeded:                       # created at run time: nearly empty
        size = rng.randint(60_000, 3_000_000)
        return size, max(1, size // 45_000)
    roll = rng.random()
    if roll < 0.07:
        size = rng.uniform(0.04, 0.5) * GB
    elif roll < 0.95:
        size = 0.5 * GB * 40 ** rng.random()            # 0.5 to 20 GB, most of them small
    else:
        size = rng.uniform(20, 45) * GB
    size = int(size)
    return size, max(1, int(size / rng.uniform(55_000, 120_000)))


def byte_text(n: int) -> str:
    """Exchange's ByteQuantifiedSize text: "51.3 GB (55,083,295,744 bytes)"."""
    value, unit = float(n), "B"
    for name in ("KB", "MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, name
    shown = f"{value:.3f}".rstrip("0").rstrip(".") if unit != "B" else str(int(n))
    return f"{shown} {unit} ({n:,} bytes)"


def quota(tenant: Tenant, user: User, plans: set[str] | None = None) -> int:
    entry = state(tenant).mailboxes.get(user.id.lower(), {})
    if "quota" in entry:
        return entry["quota"]
    plans = exchange_plans(tenant, user) if plans is None else plans
    return 100 * GB if "EXCHANGE_S_ENTERPRISE" in plans else 50 * GB


# A full sync asks every tenant for every mailbox: its GUIDs (a SHA-1 each) are computed once.
@functools.lru_cache(maxsize=400_000)
def object_guid(object_id: str, what: str = "object") -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"exo:{what}:{object_id.lower()}"))


def name_of(obj) -> str:
    """A recipient's Name (and Identity): the alias of a user, the display name of a group."""
    if isinstance(obj, Group):
        return obj.p.get("displayName") or obj.p.get("mailNickname") or obj.id
    return obj.p.get("mailNickname") or obj.p["userPrincipalName"].split("@")[0]


def smtp_addresses(user: User) -> list[str]:
    mail = user.p.get("mail")
    addresses = list(user.p.get("proxyAddresses") or ([f"SMTP:{mail}"] if mail else []))
    return addresses


def mailbox_view(tenant: Tenant, user: User) -> dict:
    """One mailbox as Get-Mailbox answers it."""
    st = state(tenant)
    entry = st.mailboxes.get(user.id.lower(), {})
    p = user.p
    plans = exchange_plans(tenant, user)
    limit = quota(tenant, user, plans)
    forward = entry.get("forward_to")
    target = tenant.users.get(forward) if forward else None
    return {
        "Identity": name_of(user), "Name": name_of(user), "Alias": p.get("mailNickname"),
        "DisplayName": p.get("displayName"), "ExternalDirectoryObjectId": user.id,
        "UserPrincipalName": p["userPrincipalName"], "PrimarySmtpAddress": p.get("mail"),
        "WindowsEmailAddress": p.get("mail"), "EmailAddresses": smtp_addresses(user),
        "Guid": object_guid(user.id), "ExchangeGuid": object_guid(user.id, "mailbox"),
        "RecipientType": "UserMailbox", "RecipientTypeDetails": entry.get("type", REGULAR),
        "ForwardingSmtpAddress": entry.get("forward_smtp"),
        "ForwardingAddress": name_of(target) if target is not None else None,
        "DeliverToMailboxAndForward": bool(entry.get("deliver", False)),
        "HiddenFromAddressListsEnabled": bool(entry.get("hidden", False)),
        "ProhibitSendReceiveQuota": byte_text(limit),
        "ProhibitSendQuota": byte_text(limit - limit // 100),
        "IssueWarningQuota": byte_text(limit - limit // 50),
        "IsDirSynced": p.get("onPremisesSyncEnabled") is True,
        "AccountDisabled": not p.get("accountEnabled", True),
        "SKUAssigned": bool(plans), "LicenseRemovedDateTime": entry.get("unlicensed"),
        "WhenMailboxCreated": p.get("createdDateTime"),
    }


def mailboxes(tenant: Tenant) -> list[User]:
    return [u for u in tenant.user_list if has_mailbox(tenant, u)]


# ---- finding recipients --------------------------------------------------------------------

def _key(text) -> str:
    key = str(text or "").strip().lower()
    return key[5:] if key.startswith("smtp:") else key


def find_user(tenant: Tenant, identity) -> User | None:
    """A live user by object id, UPN, any SMTP address, alias or mailbox GUID."""
    key = _key(identity)
    if not key:
        return None
    user = tenant.live_user(key)
    if user is not None:
        return user
    guid_like = len(key) == 36 and key.count("-") == 4
    for user in tenant.user_list:
        if user.deleted is not None:
            continue
        p = user.p
        if (key == (p.get("mail") or "").lower() or key == (p.get("mailNickname") or "").lower()
                or any(_key(a) == key for a in p.get("proxyAddresses") or ())):
            return user
        if guid_like and key in (object_guid(user.id), object_guid(user.id, "mailbox")):
            return user
    return None


def find_mailbox(tenant: Tenant, identity) -> User:
    user = find_user(tenant, identity)
    if not has_mailbox(tenant, user):
        raise not_found(tenant, identity)
    return user


def live_groups(tenant: Tenant) -> list[Group]:
    return [g for g in tenant.group_list if tenant.groups.get(g.id.lower()) is g]


def find_group(tenant: Tenant, identity) -> Group | None:
    """Any live group by object id, SMTP address, alias, display name or Exchange GUID."""
    key = _key(identity)
    group = tenant.group(key) if key else None
    if group is not None or not key:
        return group
    for group in live_groups(tenant):
        p = group.p
        if key in ((p.get("mail") or "").lower(), (p.get("mailNickname") or "").lower(),
                   (p.get("displayName") or "").lower(), object_guid(group.id)):
            return group
        if any(_key(a) == key for a in p.get("proxyAddresses") or ()):
            return group
    return None


def group_kind(group: Group) -> str:
    """MailUniversalDistributionGroup, MailUniversalSecurityGroup, GroupMailbox (Microsoft 365)
    or "" for a group Exchange does not know (a security group that is not mail-enabled)."""
    p = group.p
    if "Unified" in (p.get("groupTypes") or ()):
        return "GroupMailbox"
    if not p.get("mailEnabled"):
        return ""
    return "MailUniversalSecurityGroup" if p.get("securityEnabled") else "MailUniversalDistributionGroup"


def group_view(tenant: Tenant, group: Group) -> dict:
    p = group.p
    kind = group_kind(group)
    owners = [tenant.users.get(o.lower()) for o in group.owners]
    return {
        "Identity": name_of(group), "Name": name_of(group), "DisplayName": p.get("displayName"),
        "Alias": p.get("mailNickname"), "PrimarySmtpAddress": p.get("mail"),
        "EmailAddresses": list(p.get("proxyAddresses") or ()), "Guid": object_guid(group.id),
        "ExternalDirectoryObjectId": group.id, "RecipientType": kind, "RecipientTypeDetails": kind,
        "ManagedBy": [name_of(u) for u in owners if u is not None and u.deleted is None],
        "MemberJoinRestriction": "Closed", "HiddenFromAddressListsEnabled": False,
        "RequireSenderAuthenticationEnabled": True,
        "IsDirSynced": p.get("onPremisesSyncEnabled") is True,
    }


def recipient_view(tenant: Tenant, obj) -> dict:
    """A member as Get-DistributionGroupMember lists it."""
    if isinstance(obj, Group):
        kind = group_kind(obj) or "Group"
        return {"Identity": name_of(obj), "Name": name_of(obj), "DisplayName": obj.p.get("displayName"),
                "Alias": obj.p.get("mailNickname"), "ExternalDirectoryObjectId": obj.id,
                "PrimarySmtpAddress": obj.p.get("mail"), "Guid": object_guid(obj.id),
                "RecipientType": "MailUniversalDistributionGroup" if kind == "GroupMailbox" else kind,
                "RecipientTypeDetails": kind}
    boxed = has_mailbox(tenant, obj)
    return {"Identity": name_of(obj), "Name": name_of(obj), "DisplayName": obj.p.get("displayName"),
            "Alias": obj.p.get("mailNickname"), "ExternalDirectoryObjectId": obj.id,
            "PrimarySmtpAddress": obj.p.get("mail") if boxed else None, "Guid": object_guid(obj.id),
            "RecipientType": "UserMailbox" if boxed else "User",
            "RecipientTypeDetails": mailbox_kind(tenant, obj) if boxed else "User"}


def principal_name(tenant: Tenant, object_id: str) -> str | None:
    """How a permission entry names its trustee (a UPN, a group's address); None once gone."""
    user = tenant.users.get(object_id.lower())
    if user is not None:
        return user.p["userPrincipalName"] if user.deleted is None else None
    group = tenant.groups.get(object_id.lower())
    if group is not None:
        return group.p.get("mail") or name_of(group)
    return None
