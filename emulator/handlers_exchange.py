"""Exchange Online's admin API: `POST /adminapi/beta/{tenant}/InvokeCommand` (docs/EXCHANGE.md).

The pipeline follows the Graph handler's: latency -> bearer token (audience
https://outlook.office365.com; a Graph token is refused with 401) -> the tenant in the path
(404 unknown, 401 when it is not the token's `tid`) -> tenant outage (`deny_tenant`) -> fault
roll (429 with Retry-After, 503) -> the X-AnchorMailbox header (400 without) ->
Exchange.ManageAsApp in the token's `roles` (401 without) -> an Exchange Administrator or Global
Administrator directory role on the app (403 without) -> the cmdlet -> optionally a dropped
connection after a write. Every answer has a `request-id` header; errors use Exchange's body.
Pages: `Prefer: odata.maxpagesize=N` (default and most 1000); `@odata.nextLink` is POSTed with
the same body; `?$select=A,B` limits each object's fields.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from urllib.parse import quote, unquote

import tornado.web

from . import exchange as X
from .errors import FAULT_TEXT
from .exchange_cmdlets import run
from .exchange_params import canonical
from .identity import EXCHANGE_AUDIENCE, GRAPH_AUDIENCE, TokenError
from .paging import decode_token, encode_token

log = logging.getLogger(__name__)
JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
MAX_PAGE = 1000
_MAXPAGE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
WRONG_AUDIENCE = ("The access token's audience must be https://outlook.office365.com: ask the "
                  "token endpoint for scope https://outlook.office365.com/.default.")


def injected(status: int, headers: dict | None = None) -> X.ExoError:
    _, message = FAULT_TEXT.get(status, ("", f"HTTP {status}"))
    return X.ExoError(status, X.INJECTED.get(status, X.ODATA), message, headers=headers)


class ExchangeHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")

    def initialize(self, server):
        self.server = server

    def set_default_headers(self):
        self.request_id = str(uuid.uuid4())
        self.set_header("request-id", self.request_id)
        self.set_header("Content-Type", JSON_TYPE)

    def compute_etag(self):
        return None

    def check_xsrf_cookie(self):
        return None

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        self.server.stats.status(status)
        self.set_status(status)
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        self.finish(json.dumps(body).encode("utf-8"))

    def _error(self, exc: X.ExoError) -> None:
        self._send(exc.status, exc.body(), exc.headers)

    def get(self, _tenant):
        self._error(X.ExoError(405, X.ODATA, "The HTTP method is not allowed: InvokeCommand "
                               "takes POST."))

    patch = put = delete = get

    async def post(self, path_tenant):
        server = self.server
        if server.faults.latency_ms:
            await asyncio.sleep(server.faults.latency_ms / 1000.0)
        try:
            claims = self._authenticate()
        except TokenError as exc:
            server.stats.request(None)
            self.set_header("WWW-Authenticate", 'Bearer client_id="00000002-0000-0ff1-ce00-'
                            '000000000000", trusted_issuers="00000001-0000-0000-c000-'
                            '000000000000@*", token_types="app_asserted_user_v1 service_asserted_app_v1"')
            return self._error(X.ExoError(401, X.BAD_TOKEN, str(exc)))
        tid = claims["tid"]
        server.stats.request(tid)
        server.stats.add("exchange_requests")
        info = server.world.resolve(unquote(path_tenant))
        if info is None or info.id not in server.world.served:
            return self._error(X.ExoError(404, X.INJECTED[404], f"The tenant '{unquote(path_tenant)}' "
                                          "could not be found."))
        if info.id != tid:
            return self._error(X.ExoError(401, X.BAD_TOKEN, f"The token's tenant ({tid}) is not "
                                          f"the organization of the request ({info.id})."))
        if tid in server.denied:
            server.stats.add("denied")
            return self._error(injected(server.denied[tid]))
        roll = server.faults.roll()
        if roll is not None:
            server.stats.add("throttled" if roll.status == 429 else "errors")
            return self._error(injected(roll.status, roll.headers))
        try:
            self._check_access(claims, tid)
            payload = self._payload()
            cmdlet = canonical(payload.get("CmdletName"))
            parameters = payload.get("Parameters")
            offset = self._offset(cmdlet)
            tenant = server.world.tenant(tid)
            result = run(tenant, cmdlet, parameters)
        except X.ExoError as exc:
            return self._error(exc)
        except Exception:  # a bug in a cmdlet: a 500 for this request only
            log.exception("unexpected failure in InvokeCommand")
            return self._error(X.ExoError(500, X.ODATA, "An internal server error occurred."))
        if result.write:
            server.stats.exchange_write(tid, cmdlet, dict(parameters or {}), result.changed)
            if server.faults.drop():
                server.stats.add("dropped")
                self.detach().close()          # the write stands; the client sees no answer
                return
        self._send(200, self._page(tid, cmdlet, result, offset))

    def _authenticate(self) -> dict:
        header = self.request.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("The Authorization header must carry a Bearer access token.")
        identity = self.server.identity
        try:
            claims = identity.verify(token.strip(), audience=EXCHANGE_AUDIENCE)
        except TokenError as exc:
            if "audience" not in str(exc):
                raise
            try:
                identity.verify(token.strip(), audience=GRAPH_AUDIENCE)
            except TokenError:
                raise TokenError(WRONG_AUDIENCE) from None
            raise TokenError(WRONG_AUDIENCE + " This token is for Microsoft Graph.") from None
        if claims.get("tid") not in self.server.world.served:
            raise TokenError("The tenant of the token is unknown.")
        return claims

    def _check_access(self, claims: dict, tid: str) -> None:
        if not self.request.headers.get("X-AnchorMailbox", "").strip():
            raise X.ExoError(400, X.ODATA, "The X-AnchorMailbox header is required: "
                             "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@" + tid)
        if "Exchange.ManageAsApp" not in (claims.get("roles") or ()):
            raise X.ExoError(401, X.NO_PERMISSION, f"The app '{claims.get('appid')}' was not "
                             "granted the Exchange.ManageAsApp application permission of Office "
                             "365 Exchange Online (00000002-0000-0ff1-ce00-000000000000) in this "
                             "organization, or its token predates the grant.")
        if not self.server.access.get(tid).exchange_admin:
            raise X.ExoError(403, X.ACCESS_DENIED, f"The app '{claims.get('appid')}' isn't "
                             "assigned to any management roles: give its service principal the "
                             "Exchange Administrator (or Global Administrator) directory role in "
                             "Microsoft Entra ID.")

    def _payload(self) -> dict:
        try:
            body = json.loads(self.request.body or b"")
        except (ValueError, UnicodeDecodeError):
            body = None
        payload = body.get("CmdletInput") if isinstance(body, dict) else None
        if not isinstance(payload, dict) or not payload.get("CmdletName"):
            raise X.ExoError(400, X.ODATA, 'The request body must be JSON: {"CmdletInput": '
                             '{"CmdletName": "...", "Parameters": {...}}}.')
        return payload

    def _offset(self, cmdlet: str) -> int:
        token = self.get_query_argument("$skiptoken", None)
        if token is None:
            return 0
        try:
            state = decode_token(token)
        except Exception:  # decode_token raises Graph's fault; Exchange answers its own
            state = None
        if not isinstance(state, dict) or state.get("c") != cmdlet or not isinstance(state.get("o"), int):
            raise X.ExoError(400, X.ODATA, "The $skiptoken is not valid for this request: POST the "
                             "same body to the @odata.nextLink that returned it.")
        return state["o"]

    def _page(self, tid: str, cmdlet: str, result, offset: int) -> dict:
        m = _MAXPAGE.search(self.request.headers.get("Prefer") or "")
        size = max(1, min(MAX_PAGE, int(m.group(1)))) if m else MAX_PAGE
        select = self.get_query_argument("$select", None)
        items = result.page(offset, size)
        if select:
            wanted = [s.strip() for s in select.split(",") if s.strip()]
            items = [_project(item, wanted) for item in items]
        base = self.server.exchange_url
        body = {"@odata.context": f"{base}/{tid}/$metadata#Collection(Exchange.GenericHashTable)"}
        if offset + size < len(result.value):
            link = f"{base}/{tid}/InvokeCommand?$skiptoken={encode_token({'c': cmdlet, 'o': offset + size})}"
            if select:
                link += "&$select=" + quote(select, safe=",")
            body["@odata.nextLink"] = link
        body["@adminapi.warnings"] = list(result.warnings) if offset == 0 else []
        body["value"] = items
        return body

    def write_error(self, status_code, **kwargs):
        exc = X.ExoError(status_code, X.ODATA, "An internal server error occurred."
                         if status_code >= 500 else f"HTTP {status_code}")
        self.finish(json.dumps(exc.body()))


def _project(item: dict, wanted: list[str]) -> dict:
    keys = {k.lower(): k for k in item}
    return {keys[w.lower()]: item[keys[w.lower()]] for w in wanted if w.lower() in keys}


def routes(server) -> list:
    return [(r"(?i)/adminapi/beta/([^/]+)/InvokeCommand", ExchangeHandler, {"server": server})]
