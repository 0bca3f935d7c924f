"""Graph routes as plain functions, so an HTTP request and a `$batch` item run the same code.

A handler takes a `Ctx` (tenant, method, path, query options, headers, body) and returns a
`Reply` whose body is either a Python value or text that is already JSON (`Reply.raw`), which
lets list endpoints join cached JSON without re-encoding it.
"""
from __future__ import annotations

import json
import re
from typing import Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode

from .errors import MSG_BAD_JSON, GraphFault, bad_request, method_not_allowed, segment_not_found
from .model import Tenant, dumps

_ROUTES: list[tuple[re.Pattern, dict[str, Callable]]] = []
_PATTERNS: dict[str, dict] = {}
_ID = r"(?P<{}>[^/]+)"


class Reply:
    __slots__ = ("status", "body", "raw", "headers")

    def __init__(self, status: int = 200, body=None, *, raw: str | None = None,
                 headers: dict | None = None):
        self.status, self.body, self.raw, self.headers = status, body, raw, headers or {}

    def text(self) -> str | None:
        """The JSON text of the body, or None when there is no body (204)."""
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return None
        return dumps(self.body)


class Ctx:
    """One Graph request, from HTTP or from inside a `$batch`."""

    __slots__ = ("server", "tenant", "method", "path", "args", "headers", "body_bytes",
                 "request_id", "wrote", "_json")

    def __init__(self, server, tenant: Tenant, method: str, path: str, query: str,
                 headers: dict, body_bytes: bytes | None, request_id: str):
        self.server, self.tenant, self.method = server, tenant, method.upper()
        self.path = path.strip("/")
        self.args = {}
        self.headers = headers            # lower-case names
        for key, value in parse_qsl(query or "", keep_blank_values=True):
            self.args[key.lower() if key.startswith("$") else key] = value
        self.body_bytes, self.request_id = body_bytes, request_id
        self.wrote = False
        self._json = None

    @property
    def base(self) -> str:
        return self.server.graph_url

    @property
    def eventual(self) -> bool:
        return (self.headers.get("consistencylevel") or "").lower() == "eventual"

    def json(self):
        if self._json is None:
            if not self.body_bytes:
                raise bad_request(MSG_BAD_JSON, code="BadRequest")
            try:
                self._json = json.loads(self.body_bytes)
            except (ValueError, UnicodeDecodeError):
                raise bad_request(MSG_BAD_JSON, code="BadRequest") from None
        return self._json

    def link(self, path: str, params: dict) -> str:
        """An absolute link such as @odata.nextLink, query options kept readable ($skiptoken)."""
        query = urlencode(params, safe="$',()", quote_via=quote)
        return f"{self.base}/{path}?{query}" if query else f"{self.base}/{path}"

    def context(self, fragment: str) -> str:
        return f"{self.base}/$metadata#{fragment}"


def route(pattern: str, *methods: str):
    """Register a handler for a path pattern like 'users/{uid}/memberOf' (case-insensitive)."""
    def register(fn):
        table = _PATTERNS.get(pattern)
        if table is None:
            regex = re.sub(r"\{(\w+)\}", lambda m: _ID.format(m.group(1)),
                           re.escape(pattern).replace(r"\{", "{").replace(r"\}", "}"))
            table = _PATTERNS[pattern] = {}
            _ROUTES.append((re.compile(regex, re.IGNORECASE), table))
        for method in methods:
            table[method] = fn
        return fn
    return register


def dispatch(ctx: Ctx) -> Reply:
    for regex, table in _ROUTES:
        m = regex.fullmatch(ctx.path)
        if m:
            handler = table.get(ctx.method)
            if handler is None:
                raise method_not_allowed()
            params = {k: unquote(v) for k, v in m.groupdict().items()}
            return handler(ctx, **params)
    first = ctx.path.split("/")[0] or "v1.0"
    raise segment_not_found(unquote(first) if not _known_prefix(ctx.path) else ctx.path.rsplit("/", 1)[-1])


def _known_prefix(path: str) -> bool:
    head = path.split("/")[0].lower()
    return any(p.split("/")[0].lower() == head for p in _PATTERNS)


def load_routes() -> None:
    """Import the handler modules, which register their routes."""
    from . import handlers_directory, handlers_groups, handlers_users  # noqa: F401
    from . import handlers_apps  # noqa: F401
    from . import handlers_auth_methods, handlers_devices, handlers_mailbox, handlers_owners  # noqa: F401


def fault(exc: GraphFault, ctx_request_id: str, client_request_id: str | None) -> Reply:
    return Reply(exc.status, exc.body(ctx_request_id, client_request_id), headers=dict(exc.headers))
