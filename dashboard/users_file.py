"""The dashboard's sign-in users file (`serve --auth users-file`, `m365dash users`): salted
bcrypt hashes and a role per user.

bcrypt (a well-kept library) does the hashing; nothing here is home-made crypto. The file is
JSON, created mode 0600, and never holds a plain password.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import threading
from pathlib import Path

import bcrypt

from services.actors import ROLES
from services.config import home
from services.exports import write_private

NAME_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,128}$")
MIN_PASSWORD = 12
BCRYPT_MAX_BYTES = 72


_dummy_hash: bytes | None = None
_dummy_lock = threading.Lock()


def dummy_hash() -> bytes:
    """A bcrypt hash of a throwaway password, at the cost of the hashes `add` writes, made once
    per process. An unknown name is checked against it, so refusing it costs one bcrypt check,
    the same as a wrong password for a known name; the server calls this at start-up so the first
    unknown name is not slower either."""
    global _dummy_hash
    if _dummy_hash is None:
        with _dummy_lock:
            if _dummy_hash is None:
                _dummy_hash = bcrypt.hashpw(secrets.token_urlsafe(16).encode("ascii"),
                                            bcrypt.gensalt())
    return _dummy_hash


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
        if len(password.encode("utf-8")) > BCRYPT_MAX_BYTES:
            raise ValueError(f"password must be at most {BCRYPT_MAX_BYTES} bytes (bcrypt reads no "
                             "more): choose a shorter one")
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
        """The user's role when the password matches, else None. Exactly one bcrypt check either
        way (an unknown name against dummy_hash()), so the time taken does not say whether the
        name exists."""
        entry = self._load().get(name)
        stored = (entry or {}).get("hash", "").encode("ascii") or dummy_hash()
        # bcrypt reads 72 bytes; bcrypt 5 refuses longer input instead of ignoring the rest as
        # older releases did (and as the hashes they made expect).
        ok = bcrypt.checkpw(password.encode("utf-8")[:BCRYPT_MAX_BYTES], stored)
        if not entry or not ok:
            return None
        role = entry.get("role")
        return role if role in ROLES else None
