"""The HTTPS server: Tornado routes, Graph request pipeline, faults, outages, counters.

Exchange Online's InvokeCommand has its own handler with the same steps
(emulator/handlers_exchange.py). Every Graph request goes: latency (an async sleep, so concurrent requests overlap) -> bearer
token (the tenant comes from its `tid` claim) -> tenant outage switch -> fault roll -> the
route -> optionally a dropped connection after a write. Every answer carries `request-id`.
Request bodies and Authorization headers are never logged.
"""
from __future__ import annotations

import asyncio
import json
import logging
import ssl
import uuid

import tornado.web

from . import batch
from .access import AccessRegistry
from .access import check as check_access
from .errors import GraphFault, injected
from .handlers_exchange import routes as exchange_routes
from .handlers_identity import DiscoveryHandler, KeysHandler, TokenHandler
from .identity import GRAPH_AUDIENCE, TokenError
from .partner_center import PartnerCenterState
from .partner_center import routes as partner_center_routes
from .replication import Replication
from .router import Ctx, Reply, dispatch, fault, load_routes

log = logging.getLogger(__name__)
JSON_TYPE = ("application/json;odata.metadata=minimal;odata.streaming=true;"
             "IEEE754Compatible=false;charset=utf-8")
WRITES = ("POST", "PATCH", "PUT", "DELETE")


class ServerState:
    """What the handlers share; built by the Emulator, used on the IOLoop thread."""

    def __init__(self, world, identity, faults, stats, graph_url: str, authority_host: str,
                 replication: Replication | None = None):
        self.world, self.identity, self.faults, self.stats = world, identity, faults, stats
        # Replication lag after POST /users (emulator/replication.py); off unless asked for.
        self.replication = replication or Replication(0, 0.0)
        self.graph_url, self.authority_host = graph_url, authority_host
        self.exchange_url = f"{authority_host}/adminapi/beta"    # emulator/handlers_exchange.py
        self.denied: dict[str, int] = {}       # tenant id -> status of its outage
        # tenant id -> Graph requests of that tenant still served before its tokens expire
        self.expire_after: dict[str, int] = {}
        self.access = AccessRegistry()           # consent, permissions, roles, P1 per tenant
        self.partner_center = PartnerCenterState()   # consent pushes (emulator/partner_center.py)
        self.client_id = identity.client_id

    def execute(self, tenant, method, path, query, headers, body, request_id,
                roles=None) -> tuple[Reply, bool]:
        """Run one Graph request against a tenant: (reply, whether it wrote). `roles`: the
        token's granted permissions (None: the tenant's current grant)."""
        ctx = Ctx(self, tenant, method, path, query, headers, body, request_id)
        try:
            access = self.access.get(tenant.id)
            check_access(access, access.granted if roles is None else roles, ctx.method,
                         ctx.path, ctx.args, body)
            self.replication.check(tenant.id, ctx.method, ctx.path, body)
            reply = dispatch(ctx)
            if method in WRITES and reply.status < 400:
                self.stats.write(tenant.id, method, path.split("?")[0])
                if ctx.method == "POST" and ctx.path.lower() == "users" and reply.status == 201:
                    self.replication.created(tenant.id, reply.body if reply.body is not None
                                             else json.loads(reply.text() or "{}"))
            return reply, ctx.wrote
        except GraphFault as exc:
            return fault(exc, request_id, headers.get("client-request-id")), False
        except Exception:  # a bug in a route: Graph's 500 for this request (or batch item) only
            log.exception("unexpected failure in %s /%s", method, path.split("?")[0])
            exc = GraphFault(500, "generalException", "An unexpected error occurred.")
            return fault(exc, request_id, headers.get("client-request-id")), ctx.wrote


class GraphHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")

    def initialize(self, server: ServerState):
        self.server = server

    def set_default_headers(self):
        # Also runs again when Tornado answers an error itself, so every answer has an id.
        self.request_id = str(uuid.uuid4())
        self.set_header("request-id", self.request_id)

    def compute_etag(self):
        return None

    def check_xsrf_cookie(self):
        return None

    async def get(self, path):
        await self._handle(path)

    post = patch = put = delete = get

    def _send(self, reply: Reply) -> None:
        self.server.stats.status(reply.status)
        self.set_status(reply.status)
        for name, value in reply.headers.items():
            self.set_header(name, value)
        text = reply.text()
        if text is None:
            self.finish()
            return
        if "Content-Type" not in reply.headers:
            self.set_header("Content-Type", JSON_TYPE)
        self.finish(text.encode("utf-8"))

    def _error(self, exc: GraphFault, request_id: str) -> None:
        self._send(fault(exc, request_id, self.request.headers.get("client-request-id")))

    async def _handle(self, _path):
        server = self.server
        request_id = self.request_id
        self.set_header("client-request-id", self.request.headers.get("client-request-id") or request_id)
        latency = server.faults.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000.0)
        try:
            claims = self._authenticate()
        except TokenError as exc:
            server.stats.request(None)
            self.set_header("WWW-Authenticate", 'Bearer realm="", authorization_uri="https://'
                            'login.microsoftonline.com/common/oauth2/authorize", client_id="'
                            '00000003-0000-0000-c000-000000000000"')
            return self._error(GraphFault(401, "InvalidAuthenticationToken", str(exc)), request_id)
        tenant_id = claims["tid"]
        if tenant_id in server.expire_after:
            server.expire_after[tenant_id] -= 1
            if server.expire_after[tenant_id] < 0:
                # The tenant's tokens expire now, this request's included: 401 as Graph answers.
                del server.expire_after[tenant_id]
                server.identity.expire(tenant_id, audience=GRAPH_AUDIENCE)   # Graph's only
                server.stats.add("expired_tokens")
                try:
                    claims = self._authenticate()
                except TokenError as exc:
                    server.stats.request(None)
                    return self._error(GraphFault(401, "InvalidAuthenticationToken", str(exc)),
                                       request_id)
        server.stats.request(tenant_id)
        if tenant_id in server.denied:
            server.stats.add("denied")
            return self._error(injected(server.denied[tenant_id]), request_id)
        roll = server.faults.roll()
        if roll is not None:
            server.stats.add("throttled" if roll.status == 429 else "errors")
            return self._error(roll, request_id)
        method = self.request.method
        path = self.request.path[len("/v1.0/"):]
        headers = {k.lower(): v for k, v in self.request.headers.items() if k.lower() != "authorization"}
        tenant = server.world.tenant(tenant_id)
        try:
            if path.lower() in ("$batch", "%24batch"):
                if method != "POST":
                    raise GraphFault(405, "Request_BadRequest", "Specified HTTP method is not "
                                     "allowed for the request target.")
                payload = Ctx(server, tenant, method, "", "", headers, self.request.body, request_id).json()
                roles = claims.get("roles") or []

                def run_item(method_, path_, query, headers_, body):
                    return server.execute(tenant, method_, path_, query, headers_, body, request_id,
                                          roles=roles)
                reply, wrote = batch.run(server, tenant, payload, request_id, run_item)
            else:
                reply, wrote = server.execute(tenant, method, path, self.request.query, headers,
                                              self.request.body, request_id,
                                              roles=claims.get("roles") or [])
        except GraphFault as exc:
            return self._error(exc, request_id)
        if wrote and method in WRITES and server.faults.drop():
            server.stats.add("dropped")
            # The write stands; the client sees the connection reset and no answer.
            self.detach().close()
            return
        self._send(reply)

    def _authenticate(self) -> dict:
        header = self.request.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("Access token is empty.")
        claims = self.server.identity.verify(token.strip())
        if claims.get("tid") not in self.server.world.served:
            raise TokenError("Access token validation failure. The tenant of the token is unknown.")
        return claims

    def write_error(self, status_code, **kwargs):
        # Tornado's own refusals (405 for other methods) and unexpected exceptions: Graph's body.
        self.set_header("Content-Type", JSON_TYPE)
        if status_code == 405:
            exc = GraphFault(405, "Request_BadRequest", "Specified HTTP method is not allowed for "
                             "the request target.")
        else:
            exc = GraphFault(status_code, "generalException", "An unexpected error occurred.")
        self.finish(Reply(status_code, exc.body(self.request_id)).text())


class FallbackHandler(tornado.web.RequestHandler):
    """Anything else: Graph's answer to an unknown version or path."""

    def prepare(self):
        self.set_status(400 if self.request.path.count("/") > 1 else 404)
        self.set_header("Content-Type", JSON_TYPE)
        request_id = str(uuid.uuid4())
        self.set_header("request-id", request_id)
        segment = self.request.path.strip("/").split("/")[0]
        self.finish(Reply(400, GraphFault(400, "BadRequest", f"Invalid version: {segment}"
                                          if segment else "Invalid request").body(request_id)).text())


def _log_request(handler) -> None:
    # Method, path (no query string: it may hold long tokens) and status, at debug level.
    log.debug("%s %s -> %d (%.1f ms)", handler.request.method, handler.request.path,
              handler.get_status(), 1000.0 * handler.request.request_time())


def make_app(server: ServerState) -> tornado.web.Application:
    load_routes()
    args = {"server": server}
    tenant = r"([^/]+)"
    return tornado.web.Application([
        (r"/v1\.0/(.*)", GraphHandler, args),
        (rf"/{tenant}(/v2\.0)?/\.well-known/openid-configuration", DiscoveryHandler, args),
        (rf"/{tenant}/discovery(/v2\.0)?/keys", KeysHandler, args),
        (rf"/{tenant}/oauth2/v2\.0/token", TokenHandler, args),
        *partner_center_routes(server),
        *exchange_routes(server),
        (r"/.*", FallbackHandler),
    ], log_function=_log_request, compress_response=False)


def ssl_context(cert_path, key_path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context
