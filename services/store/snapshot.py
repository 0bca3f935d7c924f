"""What one tenant's sync read from Graph, staged in memory before it is written.

Sync fills a `TenantSnapshot` completely before the store opens its transaction, so a failure
while reading leaves the store untouched, and the write (delta links included) is all or nothing.
A resource left as None was not read this time (not due, or refused): its stored rows stay.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Change:
    """Rows of a delta-tracked resource: a full replacement, or upserts and removals."""

    full: bool
    rows: list[dict] = field(default_factory=list)        # rows (partial when not full)
    removed: list[str] = field(default_factory=list)      # object ids gone since the last link
    delta_link: str | None = None


@dataclass
class GroupChange(Change):
    # full: group id -> {member id: type}; delta: additions and removals as (group, member[, type])
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    added: list[tuple[str, str, str]] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TenantSnapshot:
    tenant_id: str
    organization: dict | None = None         # display_name, default_domain, initial_domain
    domains: list[dict] | None = None
    skus: list[dict] | None = None
    role_definitions: list[dict] | None = None
    role_assignments: list[dict] | None = None
    users: Change | None = None
    # user id -> (last sign-in, last non-interactive sign-in); None = not read this time
    sign_ins: dict[str, tuple[str | None, str | None]] | None = None
    has_sign_in_activity: bool | None = None
    entra_p1: bool | None = None                 # False: signInActivity refused for no P1
    access: dict | None = None                   # tenants-table access columns (services.access)
    app_roles: list[str] | None = None           # the app's directory roles; None: not read
    groups: GroupChange | None = None
    mailboxes: list[dict] | None = None          # mailboxes-table rows; None: not read
    dynamic_lists: list[dict] | None = None      # dynamic distribution groups; None: not read
    apps: dict[str, list[dict]] | None = None   # group id -> appRoleAssignment rows
    apps_full: bool = False                      # apps covers every group (else only those keys)
    # organization, domains and role definitions were read (they are not read on every sync)
    reference_read: bool = False
    warnings: list[str] = field(default_factory=list)
    objects: int = 0                             # Graph objects read, for the report

    def resources(self) -> dict[str, str]:
        """Which resources were read and how: full | incremental (for the report)."""
        out = {}
        for name, change in (("users", self.users), ("groups", self.groups)):
            if change is not None:
                out[name] = "full" if change.full else "incremental"
        return out
