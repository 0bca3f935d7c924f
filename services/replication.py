"""Graph's replication lag after a create: the one rule for when a 404 is worth waiting out.

Entra ID is eventually consistent. For a few seconds after `POST /users` answers 201, calls
that reference the new user (assignLicense, group `members/$ref` or `members@odata.bind`,
manager `$ref`, directory role assignments, authentication methods) may reach a replica that
does not know it yet and answer 404 `Request_ResourceNotFound`. The same answer later means
what it says (the user was deleted, the id is wrong), so it is waited out only when:

- the status is 404 and Graph's code is `Request_ResourceNotFound`, and
- the call adds or sets something (POST, PATCH, PUT) or reads authentication methods: a read
  such as `GET /users/{id}/manager` answers 404 for a plain "has none", and a DELETE answers 404
  when a lost answer's retry finds the link already gone; neither is lag, and
- the request's path or JSON body names a user that *this client* created (or adopted after a
  lost answer) less than `FRESH_SECONDS` ago, and
- this call has not yet spent `BUDGET_SECONDS` waiting for replicas.

Why here, in the client's choke point (`services/graph.py` asks `FreshUsers`), and not in each
workflow step: the creates and the follow-ups of single onboardings, bulk jobs (plain calls
and `$batch` items) and Temporary Access Passes all pass through `TenantGraph.request` and
`TenantGraph.batch`, and the marker is set where the 201 is seen, so no caller can forget it
and no caller repeats it. Only the refused follow-up call is re-sent; a create is never
re-sent for this reason (its answer was a 201), so lag can never make a second account.
"""
from __future__ import annotations

import json
import threading
import time

NOT_FOUND_CODE = "Request_ResourceNotFound"
FRESH_SECONDS = 120.0     # a user counts as "just created" this long (observed lag: seconds)
BUDGET_SECONDS = 10.0     # waiting per call, at most; then the 404 stands and is reported
FIRST_WAIT, MAX_WAIT = 0.25, 2.0


class FreshUsers:
    """Ids of users this client created moments ago, per tenant client; thread-safe."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._created: dict[str, float] = {}     # lower-case object id -> clock time created

    def mark(self, user_id: str | None) -> None:
        """A user was just created (a 201 to POST /users, or adopted after a lost answer)."""
        if not user_id:
            return
        with self._lock:
            now = self._clock()
            if len(self._created) > 5000:
                self._created = {k: t for k, t in self._created.items()
                                 if now - t < FRESH_SECONDS}
            self._created[str(user_id).lower()] = now

    def saw_create(self, method: str, path: str, body) -> None:
        """Mark the user in a successful answer when the request was POST /users."""
        if method.upper() == "POST" and _is_users(path) and isinstance(body, dict):
            self.mark(body.get("id"))

    def lagging(self, status: int | None, code: str | None, method: str, path: str,
                payload) -> bool:
        """Whether this refusal is replication lag on a user created moments ago."""
        if status != 404 or code != NOT_FOUND_CODE:
            return False
        method = method.upper()
        if method not in ("POST", "PATCH", "PUT") and not (
                method == "GET" and "/authentication/" in path.lower()):
            return False
        with self._lock:
            now = self._clock()
            fresh = [uid for uid, t in self._created.items() if now - t < FRESH_SECONDS]
        if not fresh:
            return False
        text = path.lower()
        if payload is not None:
            text += " " + json.dumps(payload).lower()
        return any(uid in text for uid in fresh)

    def lagging_item(self, status: int, body, item: dict) -> bool:
        """`lagging` for one `$batch` answer and the item that was sent."""
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        return self.lagging(status, code, str(item.get("method", "")), str(item.get("url", "")),
                            item.get("body"))


def lag_wait(attempt: int, spent: float, rng) -> float | None:
    """Seconds to wait before try `attempt + 1` of a lagging call (None: budget spent).
    Doubling from 0.25 s, capped at 2 s, jittered so parallel calls spread out."""
    wait = min(MAX_WAIT, FIRST_WAIT * (2 ** attempt)) * rng.uniform(0.75, 1.0)
    return None if spent + wait > BUDGET_SECONDS else wait


def _is_users(path: str) -> bool:
    tail = path.split("?", 1)[0].rstrip("/")
    return tail.lower().endswith("/users") or tail.lower() in ("users", "/users")
