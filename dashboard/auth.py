"""Who is signed in to a browser session, as a services Actor."""
from __future__ import annotations

from services.actors import Actor


def session_actor(default: Actor) -> Actor:
    """The Actor of the current Panel session: `default` while the server runs without sign-in
    (loopback only). Raises PermissionError when the signed-in person has no role any more."""
    return default
