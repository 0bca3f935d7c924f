"""Who is acting, and what their role lets them do.

Checked in services on every write (not only by hiding buttons in the dashboard).
"""
from __future__ import annotations

import getpass
from dataclasses import dataclass

from .errors import PermissionDenied

ROLES = ("viewer", "technician", "admin")

# What each role may apply; admin may do everything a technician may, and more.
ALLOWED = {
    "viewer": frozenset(),
    "technician": frozenset({"onboard", "edit"}),
    # "templates": save, copy and delete onboarding templates (what every new hire gets);
    # "prices": the license price table the idle-license cost is computed from.
    "admin": frozenset({"onboard", "edit", "offboard", "delete", "restore", "bulk", "sync_settings",
                        "templates", "prices"}),
}


@dataclass(frozen=True)
class Actor:
    name: str
    role: str = "admin"

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {self.role!r}")
        if not self.name or not str(self.name).strip():
            raise ValueError("actor name must not be empty")

    def may(self, action: str) -> bool:
        return action in ALLOWED[self.role]

    def require(self, action: str) -> None:
        """Raise PermissionDenied unless this actor's role allows `action`."""
        if not self.may(action):
            raise PermissionDenied(self.name, self.role, action)


def default_actor() -> Actor:
    """The operating-system user, as admin: the CLI and notebooks run on the operator's machine."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "local-operator"
    return Actor(name, "admin")
