"""The dashboard's basic-auth users file: salted bcrypt hashes and a role per user.

bcrypt (a well-kept library) does the hashing; nothing here is home-made crypto. The file is
JSON, created mode 0600, and never holds a plain password.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import bcrypt

from .actors import ROLES
from .config import home
from .exports import write_private

NAME_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")
MIN_PASSWORD = 12


def default_users_path() -> Path:
    return Path(os.environ.get("M365DASH_USERS") or home() / "users.json")


class UsersFile:
    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else default_users_path()

    def _load(self) -> dict:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"users file {self.path} is unreadable: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"users file {self.path} must hold a JSON object of users")
        return data

    def add(self, name: str, role: str, password: str) -> None:
        if not NAME_RE.match(name or ""):
            raise ValueError("user name: 1-128 letters, digits or . _ @ + -")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"password must be at least {MIN_PASSWORD} characters")
        users = self._load()
        users[name] = {"hash": bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii"),
                       "role": role}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_private(self.path, json.dumps(users, indent=2, sort_keys=True))

    def remove(self, name: str) -> bool:
        users = self._load()
        if users.pop(name, None) is None:
            return False
        write_private(self.path, json.dumps(users, indent=2, sort_keys=True))
        return True

    def roles(self) -> dict[str, str]:
        return {name: entry.get("role", "viewer") for name, entry in self._load().items()}

    def verify(self, name: str, password: str) -> str | None:
        """The user's role when the password matches, else None (same cost for unknown users)."""
        entry = self._load().get(name)
        stored = (entry or {}).get("hash", "").encode("ascii") or bcrypt.hashpw(b"x", bcrypt.gensalt())
        ok = bcrypt.checkpw(password.encode("utf-8"), stored)
        if not entry or not ok:
            return None
        role = entry.get("role")
        return role if role in ROLES else None
