"""Replication lag: a user just created is not yet known to every directory replica.

Entra ID is eventually consistent. Right after `POST /users` answers 201, the calls that
reference the new user (assignLicense, group `members/$ref` and `members@odata.bind`, manager
`$ref`, directory role assignments, authentication methods and Temporary Access Passes) may
reach a replica that has not heard of it yet and answer 404 `Request_ResourceNotFound`,
"Resource '{id}' does not exist or one of its queried reference-property objects are not
present." Reads of the user itself (`GET /users/{id}`) are left alone: the product looks users
up by name to decide whether to create them, and making those lie would model a different trap.

With `replication_lag=L` seconds, each new user gets its own lag, drawn from a seeded stream
(uniform in 0..2L, so L on average); until it has passed, each guarded call on the user answers
404 with probability `MISS_RATE` (another seeded roll: some requests reach a replica that
already knows). Off (L = 0) unless the emulator is built with it.
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
from urllib.parse import unquote

from .errors import not_found

MISS_RATE = 0.8
# Paths (after /v1.0/, compared lower-case) whose *subject* is a user: users/{ref}/...
_USER_SUBJECT = re.compile(r"users/([^/]+)/(assignlicense|manager/\$ref|authentication(/.*)?)$")
_GROUP_REF = re.compile(r"groups/[^/]+/(members|owners)/\$ref$")
_GROUP = re.compile(r"groups/[^/]+$")
_ROLE_ASSIGNMENTS = "rolemanagement/directory/roleassignments"


class Replication:
    def __init__(self, seed: int, lag_seconds: float = 0.0, clock=time.monotonic):
        if lag_seconds < 0:
            raise ValueError("replication_lag must be >= 0 seconds")
        self.lag = float(lag_seconds)
        self._rng = random.Random(f"m365emu/{seed}/replication")
        self._clock = clock
        self._lock = threading.Lock()
        # (tenant id, lower-case id or UPN) -> (object id, clock time until which it may lag)
        self._fresh: dict[tuple[str, str], tuple[str, float]] = {}
        self.misses = 0

    def created(self, tenant_id: str, user: dict) -> None:
        """A `POST /users` just answered 201 with this user."""
        if not self.lag or not isinstance(user, dict) or not user.get("id"):
            return
        with self._lock:
            until = self._clock() + self._rng.uniform(0.0, 2.0 * self.lag)
            self._forget_old()
            for key in (user["id"], user.get("userPrincipalName")):
                if key:
                    self._fresh[(tenant_id, str(key).lower())] = (user["id"], until)

    def check(self, tenant_id: str, method: str, path: str, body: bytes | None) -> None:
        """Raise Graph's 404 when this request references a user its replica has not seen yet."""
        if not self.lag or not self._fresh:
            return
        for ref in _referenced(method, unquote(path).strip("/").lower(), body):
            with self._lock:
                entry = self._fresh.get((tenant_id, ref))
                if entry is None or entry[1] <= self._clock():
                    continue
                if self._rng.random() >= MISS_RATE:
                    continue
                self.misses += 1
            raise not_found(entry[0])

    def _forget_old(self) -> None:
        now = self._clock()
        if len(self._fresh) > 1000:
            self._fresh = {k: v for k, v in self._fresh.items() if v[1] > now}


def _referenced(method: str, path: str, body: bytes | None) -> list[str]:
    """Lower-case user ids or UPNs that this request needs to exist."""
    refs = []
    match = _USER_SUBJECT.fullmatch(path)
    if match:
        refs.append(match.group(1))
    guarded = (match is not None or _GROUP_REF.fullmatch(path)
               or (method == "PATCH" and _GROUP.fullmatch(path))
               or (method == "POST" and path == _ROLE_ASSIGNMENTS))
    if not guarded or not body or method not in ("POST", "PATCH", "PUT"):
        return refs
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return refs             # the route itself answers the bad JSON
    if not isinstance(payload, dict):
        return refs
    links = [payload.get("@odata.id")] + list(payload.get("members@odata.bind") or [])
    refs += [str(link).rstrip("/").rsplit("/", 1)[-1].lower() for link in links if link]
    if payload.get("principalId"):
        refs.append(str(payload["principalId"]).lower())
    return refs
