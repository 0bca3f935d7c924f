"""What the app needs in each tenant, and what each grant switches on: the one table.

Every feature names its requirements; a requirement is met by any of its permissions (Graph's
reference pages list several, least privileged first) and, when it is missing, the first one,
the permission we ask MSPs to grant, is what we report. Directory roles (held by the app's
service principal in the tenant) are requirements too: Graph refuses an app-only password reset
without one, whatever permissions were granted.

The README's permission table is generated from this module (`markdown_table()`), and a test
checks that the two agree. `services.access` derives each tenant's status from it.
"""
from __future__ import annotations

from dataclasses import dataclass

_DIR_READ = ("Directory.Read.All", "Directory.ReadWrite.All")


@dataclass(frozen=True)
class Requirement:
    grant: str                       # what to grant (reported when missing)
    also: tuple[str, ...] = ()       # other permissions or roles that satisfy it too
    role: bool = False               # a directory role of the app, not an application permission
    api: str = "Microsoft Graph"     # the API whose permission it is (app registration's list)

    @property
    def any_of(self) -> tuple[str, ...]:
        return (self.grant, *self.also)

    @property
    def label(self) -> str:
        """How the missing list names it: a permission by its name, a role as a role."""
        return f"{self.grant} (directory role)" if self.role else self.grant

    def met(self, permissions: set[str], roles: set[str] | None) -> bool:
        if self.role:
            # Roles not read (no permission to list role assignments): do not claim they lack.
            return roles is None or bool(roles.intersection(self.any_of))
        return bool(permissions.intersection(self.any_of))


@dataclass(frozen=True)
class Feature:
    key: str
    label: str                       # in an MSP technician's words
    needs: tuple[Requirement, ...]
    needs_p1: bool = False           # Entra ID P1 (or a suite that includes it) in the tenant
    needs_intune: bool = False       # an Intune license in the tenant
    partner_only: bool = False       # needed in the partner tenant, not in customer tenants


def _r(grant: str, *also: str, role: bool = False, api: str = "Microsoft Graph") -> Requirement:
    return Requirement(grant, also, role, api)


EXCHANGE_API = "Office 365 Exchange Online"
# Exchange Online's admin API (services/exchange.py): its own application permission, and a
# directory role of the app that manages Exchange (without one every cmdlet is refused).
EXCHANGE = (_r("Exchange.ManageAsApp", api=EXCHANGE_API),
            _r("Exchange Administrator", "Global Administrator", role=True))


READ_USERS = _r("User.ReadWrite.All", "User.Read.All", *_DIR_READ)
WRITE_USERS = _r("User.ReadWrite.All", "Directory.ReadWrite.All")

FEATURES: dict[str, Feature] = {f.key: f for f in (
    Feature("users", "see users and their licenses", (READ_USERS,)),
    Feature("groups", "see groups and their members",
            (_r("Group.ReadWrite.All", "Group.Read.All", "GroupMember.ReadWrite.All",
                "GroupMember.Read.All", *_DIR_READ),)),
    Feature("group_apps", "see the apps assigned to groups",
            (_r("Directory.ReadWrite.All", "Directory.Read.All", "Application.Read.All",
                "AppRoleAssignment.ReadWrite.All"),)),
    Feature("licenses", "see tenant name and license seats",
            (_r("Organization.Read.All", "Organization.ReadWrite.All", *_DIR_READ),)),
    Feature("domains", "see verified domains",
            (_r("Domain.Read.All", "Domain.ReadWrite.All", *_DIR_READ),)),
    Feature("roles", "see directory roles and who holds them",
            (_r("RoleManagement.ReadWrite.Directory", "RoleManagement.Read.Directory",
                "RoleManagement.Read.All", *_DIR_READ),)),
    Feature("last_sign_in", "last sign-in and recent sign-ins",
            (_r("AuditLog.Read.All"), READ_USERS), needs_p1=True),
    Feature("user_create", "create users", (WRITE_USERS,)),
    Feature("user_edit", "edit users (properties, manager, block sign-in)", (WRITE_USERS,)),
    Feature("user_delete", "delete and restore users", (WRITE_USERS,)),
    Feature("license_assign", "assign and remove licenses",
            (_r("User.ReadWrite.All", "LicenseAssignment.ReadWrite.All",
                "Directory.ReadWrite.All"),)),
    Feature("group_membership", "add users to groups and remove them",
            (_r("Group.ReadWrite.All", "GroupMember.ReadWrite.All", "Directory.ReadWrite.All"),)),
    Feature("role_assign", "assign and remove directory roles",
            (_r("RoleManagement.ReadWrite.Directory"),)),
    Feature("revoke_sessions", "revoke sign-in sessions",
            (_r("User.ReadWrite.All", "User.RevokeSessions.All", "Directory.ReadWrite.All"),)),
    Feature("password_reset", "reset passwords",
            (WRITE_USERS, _r("User Administrator", "Privileged Authentication Administrator",
                             "Helpdesk Administrator", "Password Administrator",
                             "Global Administrator", role=True))),
    Feature("group_owners", "hand a leaver's groups to a new owner",
            (_r("Group.ReadWrite.All", "Directory.ReadWrite.All"),)),
    Feature("mfa_reset", "list and remove a leaver's MFA methods",
            (_r("UserAuthenticationMethod.ReadWrite.All"),)),
    Feature("tap", "Temporary Access Pass at onboarding (with the tenant's pass policy)",
            (_r("UserAuthenticationMethod.ReadWrite.All"),
             _r("Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"))),
    Feature("mailbox_settings", "set a leaver's automatic replies (out of office)",
            (_r("MailboxSettings.ReadWrite"),)),
    Feature("devices", "see a user's managed devices (Intune)",
            (_r("DeviceManagementManagedDevices.Read.All",
                "DeviceManagementManagedDevices.ReadWrite.All"),), needs_intune=True),
    Feature("device_retire", "retire a leaver's Intune devices (no wipe)",
            (_r("DeviceManagementManagedDevices.PrivilegedOperations.All"),), needs_intune=True),
    Feature("exchange", "manage mailboxes and distribution lists (shared mailbox, Full Access, "
            "forwarding, address lists; Exchange Online)", EXCHANGE),
    Feature("discovery", "find customer tenants through GDAP (partner tenant)",
            (_r("DelegatedAdminRelationship.Read.All", "DelegatedAdminRelationship.ReadWrite.All"),),
            partner_only=True),
)}

# Built-in role template ids (equal to their role definition ids in every tenant).
ROLE_TEMPLATES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
}

# Workflow steps (their `action` words) -> the feature they use; steps whose action is not
# listed here name their feature themselves (Step.feature) or need no check.
STEP_FEATURES = {
    "create user": "user_create", "update properties": "user_edit", "set manager": "user_edit",
    "remove manager": "user_edit", "block sign-in": "user_edit", "unblock sign-in": "user_edit",
    "revoke sessions": "revoke_sessions", "reset password": "password_reset",
    "delete user": "user_delete", "restore user": "user_delete",
    "assign role": "role_assign", "remove role": "role_assign",
    "assign licenses": "license_assign", "remove licenses": "license_assign",
    "change licenses": "license_assign",
    "add to group": "group_membership", "remove from group": "group_membership",
    "add group owner": "group_owners", "remove group owner": "group_owners",
}
# Words in a step's action that name a feature other helpers' steps use (MFA, auto-reply, Intune).
STEP_WORDS = (("temporary access pass", "tap"), ("authentication method", "mfa_reset"),
              ("mfa", "mfa_reset"), ("auto-reply", "mailbox_settings"),
              ("automatic replies", "mailbox_settings"), ("mailbox", "mailbox_settings"),
              ("retire", "device_retire"), ("wipe", "device_retire"))


def step_feature(action: str) -> str | None:
    """The feature a workflow step with this action uses, or None."""
    text = (action or "").strip().lower()
    if text in STEP_FEATURES:
        return STEP_FEATURES[text]
    return next((feature for word, feature in STEP_WORDS if word in text), None)


def tenant_features() -> list[Feature]:
    """Features that customer tenants must grant (the partner-only ones left out)."""
    return [f for f in FEATURES.values() if not f.partner_only]


def unmet(feature: Feature, permissions: set[str], roles: set[str] | None) -> list[Requirement]:
    return [r for r in feature.needs if not r.met(permissions, roles)]


def requested_permissions() -> list[str]:
    """Every application permission the app registration should request, in table order."""
    return list(dict.fromkeys(r.grant for f in FEATURES.values() for r in f.needs if not r.role))


def requested_roles() -> list[str]:
    return list(dict.fromkeys(r.grant for f in FEATURES.values() for r in f.needs if r.role))


def switched_on_by(grant: str) -> list[str]:
    """The labels of the features that ask for this permission or role."""
    return [f.label for f in FEATURES.values() if any(r.grant == grant for r in f.needs)]


def markdown_table() -> str:
    """The README's table: each permission or role to request, and what it switches on."""
    lines = ["| permission | what it switches on |", "|---|---|"]
    apis = {r.grant: r.api for f in FEATURES.values() for r in f.needs}
    lines += [f"| `{p}`{_api_note(apis[p])} | {'; '.join(switched_on_by(p))} |"
              for p in requested_permissions()]
    lines += [f"| `{r}` (directory role of the app) | {'; '.join(switched_on_by(r))} |"
              for r in requested_roles()]
    return "\n".join(lines)


def _api_note(api: str) -> str:
    return "" if api == "Microsoft Graph" else f" ({api} API)"
