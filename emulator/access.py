"""What the app may do in each emulated tenant: consent, granted permissions, directory roles, P1.

Real tenants differ here, and an MSP tool meets all of it on first contact:
- no consent: the token endpoint refuses the app (AADSTS700016 when its service principal is
  absent, AADSTS65001 when consent was never granted);
- some application permissions missing: the token's `roles` claim lacks them, and Graph answers
  403 `Authorization_RequestDenied` "Insufficient privileges to complete the operation." to any
  call that needs one of them (Graph decides from the token's claim, so does the emulator);
- no Entra ID P1: `$select=signInActivity` on users and `auditLogs/signIns` answer 403
  `Authentication_RequestFromNonPremiumTenantOrB2CTenant`;
- no Intune: `deviceManagement/managedDevices` (and `users/{id}/managedDevices`) answer 400
  `BadRequest` "Request not applicable to target tenant.", as Graph does for a tenant without an
  Intune license (microsoftgraph/msgraph-beta-sdk-go#198; Microsoft Q&A ties it to the license);
- the app's service principal holds directory roles (resetting a password app-only needs one;
  Exchange Online's cmdlets need Exchange Administrator or Global Administrator);
- Exchange Online's application permission `Exchange.ManageAsApp` (API "Office 365 Exchange
  Online"): the `roles` claim of the tenant's Exchange token holds it, never the Graph token's.

Every tenant starts with everything granted (the app holds User Administrator and Exchange
Administrator). `apply_demo_traps` withdraws things from a few customer tenants (the `m365dash
demo` world and tests that opt in); `Emulator.set_access` changes one tenant at run time.
These settings are not saved in the state folder: they come from the flags at each start.
"""
from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field

from .errors import GraphFault
from .roles import BY_NAME

# Every application permission the dashboard asks for (services/permissions.py lists what each
# one switches on); a tenant that granted all of them is "ready".
ALL_PERMISSIONS = (
    "User.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All",
    "Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory", "AuditLog.Read.All",
    "Organization.Read.All", "Domain.Read.All", "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All", "DelegatedAdminRelationship.Read.All",
    "MailboxSettings.ReadWrite", "UserAuthenticationMethod.ReadWrite.All", "Policy.Read.All")
DEFAULT_ROLES = ("User Administrator", "Exchange Administrator")   # the app's roles everywhere
EXCHANGE_PERMISSION = "Exchange.ManageAsApp"     # of "Office 365 Exchange Online", not of Graph
# Directory roles that let the app run Exchange Online's cmdlets (docs/EXCHANGE.md).
EXCHANGE_ROLES = ("Exchange Administrator", "Global Administrator")

DENIED = ("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
NON_PREMIUM = ("Authentication_RequestFromNonPremiumTenantOrB2CTenant",
               "Neither tenant is B2C or tenant doesn't have premium license")
NO_INTUNE = ("BadRequest", "Request not applicable to target tenant.")
NO_CONSENT_CODES = (700016, 65001)
# Roles that may reset a password app-only (least privileged first).
PASSWORD_ROLES = ("User Administrator", "Privileged Authentication Administrator",
                  "Helpdesk Administrator", "Password Administrator", "Global Administrator")


@dataclass
class TenantAccess:
    granted: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    consent: int | None = None               # None: consented; else the AADSTS code refusing it
    premium: bool = True                     # Entra ID P1 (or higher) in the tenant
    intune: bool = True                      # an Intune license in the tenant
    directory_roles: list[str] = field(default_factory=lambda: list(DEFAULT_ROLES))
    exchange: bool = True                    # Exchange.ManageAsApp granted (Exchange Online API)

    def exchange_roles(self) -> list[str]:
        """The `roles` claim of the tenant's Exchange Online token."""
        return [EXCHANGE_PERMISSION] if self.exchange else []

    @property
    def exchange_admin(self) -> bool:
        return bool(set(self.directory_roles).intersection(EXCHANGE_ROLES))


def service_principal_id(tenant_id: str, client_id: str) -> str:
    """The app's service principal object id in a tenant (stable, like a real one)."""
    return str(uuid.uuid5(uuid.UUID(tenant_id), client_id))


class AccessRegistry:
    def __init__(self):
        self._tenants: dict[str, TenantAccess] = {}

    def get(self, tenant_id: str) -> TenantAccess:
        return self._tenants.setdefault(tenant_id, TenantAccess())

    def set(self, tenant_id: str, *, granted=None, withdraw=(), consent="keep", premium=None,
            directory_roles=None, intune=None, exchange=None) -> TenantAccess:
        access = self.get(tenant_id)
        if granted is not None:
            access.granted = set(granted)
        access.granted -= set(withdraw)
        if consent != "keep":
            if consent not in (None, *NO_CONSENT_CODES):
                raise ValueError(f"consent must be None (consented), 700016 or 65001, not {consent!r}")
            access.consent = consent
        if premium is not None:
            access.premium = bool(premium)
        if intune is not None:
            access.intune = bool(intune)
        if exchange is not None:
            access.exchange = bool(exchange)
        if directory_roles is not None:
            unknown = [r for r in directory_roles if r not in BY_NAME]
            if unknown:
                raise ValueError(f"unknown directory roles {unknown}; use built-in role names")
            access.directory_roles = list(directory_roles)
        return access

    def assignments(self, tenant_id: str, client_id: str) -> list[dict]:
        """The app's directory role assignments, shaped as Graph lists them."""
        principal = service_principal_id(tenant_id, client_id)
        out = []
        for name in self.get(tenant_id).directory_roles:
            role_id = BY_NAME[name]
            # Stable ids: the same role of the same app gets the same assignment id each start.
            rid = base64.urlsafe_b64encode(uuid.uuid5(uuid.UUID(principal), role_id).bytes * 2
                                           ).decode().rstrip("=") + "-1"
            out.append({"id": rid, "principalId": principal, "roleDefinitionId": role_id,
                        "directoryScopeId": "/"})
        return out


def apply_demo_traps(registry: AccessRegistry, customers: list) -> dict[str, str]:
    """Withdraw access from a few customers as real tenants do; returns tenant id -> trap.

    Customer 2 lacks AuditLog.Read.All (no last sign-in), customer 3 has no Entra ID P1,
    customer 4 never consented (AADSTS65001), customer 5 has no Intune and customer 6's app lacks
    the Exchange Administrator directory role (trap "no Exchange Administrator role": it keeps
    User Administrator and Exchange.ManageAsApp, so Exchange Online answers 403 to every
    cmdlet); a smaller world gets the traps that fit (6 customers, the demo's default, get all).
    """
    traps = {}
    picks = [("missing AuditLog.Read.All", dict(withdraw=("AuditLog.Read.All",))),
             ("no Entra ID P1", dict(premium=False)),
             ("no consent (AADSTS65001)", dict(consent=65001)),
             ("no Intune", dict(intune=False)),
             ("no Exchange Administrator role", dict(directory_roles=["User Administrator"]))]
    for info, (label, change) in zip(customers[1:], picks):
        registry.set(info.id, **change)
        traps[info.id] = label
    return traps


# ---- which Graph calls need which permission -------------------------------------------------
# (methods, path regex, any of these permissions). The first match decides; paths that match
# nothing need no permission here. Least privileged first, as Graph's reference pages list them.
_READ_USERS = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
_WRITE_USERS = ("User.ReadWrite.All", "Directory.ReadWrite.All")
_READ_GROUPS = ("GroupMember.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All",
                "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
_WRITE_MEMBERS = ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")
_READ_ROLES = ("RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All",
               "RoleManagement.ReadWrite.Directory", "Directory.ReadWrite.All")
_READ_ORG = ("Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All",
             "Directory.ReadWrite.All")
_READ = ("GET",)
_WRITE = ("POST", "PATCH", "PUT", "DELETE")
_RULES = [(methods, re.compile(pattern, re.IGNORECASE), perms) for methods, pattern, perms in (
    (_READ, r"auditLogs/signIns(/.*)?", ("AuditLog.Read.All",)),
    (_READ + _WRITE, r"users/[^/]+/mailboxSettings.*", ("MailboxSettings.ReadWrite",)),
    (_READ, r"users/[^/]+/authentication(/.*)?", ("UserAuthenticationMethod.Read.All",
                                                   "UserAuthenticationMethod.ReadWrite.All")),
    (_WRITE, r"users/[^/]+/authentication(/.*)?", ("UserAuthenticationMethod.ReadWrite.All",)),
    (_READ, r"(users/[^/]+/)?managedDevices(/.*)?|deviceManagement/managedDevices(/[^/]+)?",
     ("DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All")),
    (_WRITE, r"deviceManagement/managedDevices/[^/]+/\w+",
     ("DeviceManagementManagedDevices.PrivilegedOperations.All",)),
    (_READ, r"users/[^/]+/(memberOf|licenseDetails|manager|ownedDevices)(/.*)?|users(/.*)?",
     _READ_USERS),
    (_WRITE, r"users(/.*)?", _WRITE_USERS),
    (_READ, r"groups/[^/]+/appRoleAssignments", ("Application.Read.All", "Directory.Read.All",
                                                  "AppRoleAssignment.ReadWrite.All",
                                                  "Directory.ReadWrite.All")),
    (_READ, r"groups(/.*)?", _READ_GROUPS),
    (_WRITE, r"groups/[^/]+/(members|owners)(/.*)?", _WRITE_MEMBERS),
    (_WRITE, r"groups(/.*)?", ("Group.ReadWrite.All", "Directory.ReadWrite.All")),
    (_READ, r"roleManagement/.*", _READ_ROLES),
    (_WRITE, r"roleManagement/.*", ("RoleManagement.ReadWrite.Directory",)),
    (_READ, r"directory/deletedItems(/.*)?", _READ_USERS),
    (_WRITE, r"directory/deletedItems(/.*)?", _WRITE_USERS),
    (_READ, r"organization(/.*)?|subscribedSkus(/.*)?", _READ_ORG),
    (_READ, r"domains(/.*)?", ("Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All",
                               "Directory.ReadWrite.All")),
    (_READ, r"tenantRelationships/.*", ("DelegatedAdminRelationship.Read.All",
                                        "DelegatedAdminRelationship.ReadWrite.All")),
    (_READ, r"contracts(/.*)?", ("Directory.Read.All", "Directory.ReadWrite.All")),
    (_READ, r"policies/authenticationMethodsPolicy(/.*)?", ("Policy.Read.All",
                                                          "Policy.ReadWrite.AuthenticationMethod")),
)]
_SIGN_IN_ACTIVITY = re.compile(r"signInActivity", re.IGNORECASE)
_DEVICES = re.compile(r"(users/[^/]+/)?managedDevices(/.*)?|deviceManagement/managedDevices(/.*)?",
                      re.IGNORECASE)
_PASSWORD_PATCH = re.compile(r"users/[^/]+", re.IGNORECASE)


def check(access: TenantAccess, roles, method: str, path: str, args: dict,
          body: bytes | None) -> None:
    """Raise Graph's 403 when the token's `roles` (or the tenant) cannot make this call."""
    granted = set(roles or ())
    path = path.strip("/")
    for methods, regex, perms in _RULES:
        if method in methods and regex.fullmatch(path):
            if not granted.intersection(perms):
                raise GraphFault(403, *DENIED)
            break
    if not access.intune and _DEVICES.fullmatch(path):
        raise GraphFault(400, *NO_INTUNE)
    sign_in_query = (method == "GET" and path.lower().startswith("users") and any(
        _SIGN_IN_ACTIVITY.search(args.get(k) or "") for k in ("$select", "$filter", "$orderby")))
    if sign_in_query or (method == "GET" and path.lower().startswith("auditlogs/signins")):
        if "AuditLog.Read.All" not in granted:
            raise GraphFault(403, *DENIED)
        if not access.premium:
            raise GraphFault(403, *NON_PREMIUM)
    if method == "PATCH" and body and b"passwordProfile" in body and _PASSWORD_PATCH.fullmatch(path):
        # App-only password resets need a directory role on the app, not only User.ReadWrite.All.
        if not set(access.directory_roles).intersection(PASSWORD_ROLES):
            raise GraphFault(403, *DENIED)
