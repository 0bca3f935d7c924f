"""The project's exception hierarchy.

Graph failures carry what a technician or a support ticket needs: HTTP status, Graph's error
code, its message and the request-id. Nothing here ever holds a token, secret or password.
"""
from __future__ import annotations


class M365DashError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(M365DashError):
    """The configuration is missing, unreadable or invalid; names the key and the file."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None):
        self.key = key
        self.path = str(path) if path is not None else None
        where = []
        if key:
            where.append(f"key '{key}'")
        if path:
            where.append(f"in {path}")
        super().__init__(f"{message} ({' '.join(where)})" if where else message)


class UserNotFound(M365DashError, ValueError):
    """A user argument that names no user of the tenant in the store (deleted, mistyped, or
    created since the last sync). `.tenant_id` and `.user` say which."""

    def __init__(self, tenant_id: str, user: str, message: str):
        super().__init__(message)
        self.tenant_id, self.user = tenant_id, user


class PermissionDenied(M365DashError):
    """The acting user's role does not allow this change."""

    def __init__(self, actor: str, role: str, action: str):
        self.actor, self.role, self.action = actor, role, action
        super().__init__(f"{actor} (role {role}) may not {action}")


class GraphError(M365DashError):
    """An error answer from Microsoft Graph (or the token endpoint)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 request_id: str | None = None, method: str | None = None,
                 url: str | None = None, tenant_id: str | None = None,
                 details: list | None = None):
        self.status = status
        self.code = code
        self.graph_message = message
        self.request_id = request_id
        self.method = method
        self.url = url
        self.tenant_id = tenant_id
        self.details = details or []
        parts = [f"{status}" if status else "", code or "", message]
        text = " ".join(p for p in parts if p)
        if method and url:
            text += f" [{method} {url}]"
        if request_id:
            text += f" (request-id {request_id})"
        super().__init__(text)


class BadRequest(GraphError):
    """400: the request was malformed or breaks a rule Graph enforces."""


class AuthFailure(GraphError):
    """401, or the token endpoint refused the app's credentials."""


class PermissionDeniedByGraph(GraphError):
    """403: the app lacks consent or the permission in that tenant."""


class NotFound(GraphError):
    """404: the object does not exist in that tenant."""


class Conflict(GraphError):
    """409, or 400 with an ObjectConflict detail: the object already exists."""


class Gone(GraphError):
    """410: typically an expired delta token; callers fall back to a full read."""


class Throttled(GraphError):
    """429 after every retry was spent."""


class Transient(GraphError):
    """503/504 or a connection failure after every retry was spent."""


class AmbiguousWrite(Transient):
    """A write whose answer was lost: the connection dropped after the request was sent, so
    Graph may or may not have applied it. Never re-sent blindly; the caller looks for the
    object before writing again. Carries status (None: no answer came) and Graph's code
    ("connectionLost") like every GraphError; a Transient, as any failed connection is."""


_BY_STATUS = {400: BadRequest, 401: AuthFailure, 403: PermissionDeniedByGraph, 404: NotFound,
              409: Conflict, 410: Gone, 429: Throttled, 503: Transient, 504: Transient}


def error_class(status: int | None, details: list | None = None) -> type[GraphError]:
    if status == 400 and any((d or {}).get("code") == "ObjectConflict" for d in details or []):
        return Conflict
    return _BY_STATUS.get(status or 0, GraphError)


def from_graph_body(status: int, body, *, request_id: str | None = None, method: str | None = None,
                    url: str | None = None, tenant_id: str | None = None) -> GraphError:
    """Build the right GraphError from Graph's documented error body."""
    code = message = None
    details: list = []
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        code = err.get("code")
        message = err.get("message")
        details = err.get("details") or []
        inner = err.get("innerError") or err.get("innererror") or {}
        request_id = inner.get("request-id") or request_id
    if not message:
        message = f"HTTP {status}"
    cls = error_class(status, details)
    return cls(message, status=status, code=code, request_id=request_id, method=method, url=url,
               tenant_id=tenant_id, details=details)
