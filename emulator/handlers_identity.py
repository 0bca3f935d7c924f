"""The login endpoints of each tenant: OIDC discovery, signing keys, the v2.0 token endpoint.

Answers and errors follow Entra ID (AADSTS codes, `error_codes`, trace and correlation ids), so
msal's `ConfidentialClientApplication` works against it unchanged. Client credentials with a
client secret or a certificate (a signed client assertion, emulator/assertions.py) are supported,
and the device-code grant a partner admin signs in to Partner Center with
(emulator/partner_center.py). Scope Graph's `.default` or Exchange Online's
(`https://outlook.office365.com/.default`: audience https://outlook.office365.com, `roles`
["Exchange.ManageAsApp"] when granted). Faults never apply here.
"""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timezone
from urllib.parse import unquote

import tornado.web

from .assertions import AssertionRefused
from .identity import APP_NAME, EXCHANGE_AUDIENCE, GRAPH_AUDIENCE

GRAPH_SCOPES = ("https://graph.microsoft.com/.default", "https://graph.microsoft.com//.default",
                "00000003-0000-0000-c000-000000000000/.default")
# Exchange Online's admin API (docs/EXCHANGE.md): the same app, another resource.
EXCHANGE_SCOPES = ("https://outlook.office365.com/.default",
                   "https://outlook.office365.com//.default",
                   "00000002-0000-0ff1-ce00-000000000000/.default")
IGNORED_SCOPES = ("openid", "profile", "offline_access", "email")
TENANT_NOT_FOUND = ("Tenant '{t}' not found. Check to make sure you have the correct tenant ID and "
                    "are signing into the correct cloud. Check with your subscription "
                    "administrator, this may happen if there are no active subscriptions for the "
                    "tenant.")


class IdentityHandler(tornado.web.RequestHandler):
    def initialize(self, server):
        self.server = server

    def set_default_headers(self):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store, no-cache")
        request_id = str(uuid.uuid4())
        self.set_header("request-id", request_id)          # every answer carries one
        self.set_header("x-ms-request-id", request_id)      # Entra's own name for it

    def compute_etag(self):
        return None

    def _json(self, status: int, body: dict) -> None:
        self.set_status(status)
        self.finish(json.dumps(body))

    def aad_error(self, status: int, error: str, code: int, text: str) -> None:
        trace, correlation = str(uuid.uuid4()), self.request.headers.get(
            "client-request-id") or str(uuid.uuid4())
        stamp = datetime.now(timezone.utc)
        description = (f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
                       f"\r\nTimestamp: {stamp:%Y-%m-%d %H:%M:%S}Z")
        self._json(status, {"error": error, "error_description": description, "error_codes": [code],
                            "timestamp": f"{stamp:%Y-%m-%d %H:%M:%S}Z", "trace_id": trace,
                            "correlation_id": correlation,
                            "error_uri": f"https://login.microsoftonline.com/error?code={code}"})

    def tenant_info(self, name: str):
        return self.server.world.resolve(unquote(name))


class DiscoveryHandler(IdentityHandler):
    def get(self, tenant: str, version: str | None = None):
        info = self.tenant_info(tenant)
        if info is None:
            return self.aad_error(400, "invalid_tenant", 90002, TENANT_NOT_FOUND.format(t=tenant))
        host, tid = self.server.authority_host, info.id
        v2 = "/v2.0" if version else ""
        self._json(200, {
            "token_endpoint": f"{host}/{tid}/oauth2{v2}/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{host}/{tid}/discovery{v2}/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{host}/{tid}{v2}" if v2 else f"https://sts.windows.net/{tid}/",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{host}/{tid}/oauth2{v2}/authorize",
            "device_authorization_endpoint": f"{host}/{tid}/oauth2{v2}/devicecode",
            "http_logout_supported": True, "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{host}/{tid}/oauth2{v2}/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "tid", "ver", "oid", "roles"],
            "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        })


class KeysHandler(IdentityHandler):
    def get(self, tenant: str, version: str | None = None):
        if self.tenant_info(tenant) is None:
            return self.aad_error(400, "invalid_tenant", 90002, TENANT_NOT_FOUND.format(t=tenant))
        self._json(200, self.server.identity.jwks())


DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def device_code_token(handler, info, form):
    from .partner_center import device_code_token as grant    # it builds on this module
    return grant(handler, info, form)


class TokenHandler(IdentityHandler):
    def check_xsrf_cookie(self):
        return None

    def post(self, tenant: str):
        server = self.server
        server.stats.add("tokens")
        info = self.tenant_info(tenant)
        if info is None:
            return self.aad_error(400, "invalid_request", 90002, TENANT_NOT_FOUND.format(t=tenant))
        form = {k: v[-1].decode("utf-8", "replace") for k, v in self.request.body_arguments.items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = self.request.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return self.aad_error(401, "invalid_client", 7000216, "Invalid client credentials.")
        grant = form.get("grant_type")
        if not grant:
            return self.aad_error(400, "invalid_request", 900144,
                                  "The request body must contain the following parameter: 'grant_type'.")
        if grant == DEVICE_CODE_GRANT and client_id == server.identity.client_id:
            return device_code_token(self, info, form)
        if grant != "client_credentials":
            return self.aad_error(400, "unsupported_grant_type", 70003,
                                  f"The app requested an unsupported grant type '{grant}'. The "
                                  "emulator supports client credentials and device code only.")
        if not client_id:
            return self.aad_error(400, "invalid_request", 900144,
                                  "The request body must contain the following parameter: 'client_id'.")
        identity = server.identity
        if (client_id != identity.client_id or info.kind == "former"
                or server.access.get(info.id).consent == 700016):
            return self.aad_error(400, "unauthorized_client", 700016,
                                  f"Application with identifier '{client_id}' was not found in the "
                                  f"directory '{info.display_name}'. This can happen if the "
                                  "application has not been installed by the administrator of the "
                                  "tenant or consented to by any user in the tenant. You may have "
                                  "sent your authentication request to the wrong tenant.")
        if form.get("client_assertion"):
            host = server.authority_host
            audiences = {f"{host}/{t}/oauth2/v2.0/token" for t in (tenant, info.id)}
            try:
                identity.certificates.verify(form, client_id, audiences)
            except AssertionRefused as exc:
                return self.aad_error(401, "invalid_client", exc.code, exc.text)
        elif not secret:
            return self.aad_error(401, "invalid_client", 7000216,
                                  "'client_assertion', 'client_secret' or 'request' is required for "
                                  "the 'client_credentials' grant type.")
        elif not identity.secret_matches(secret):
            return self.aad_error(401, "invalid_client", 7000215,
                                  "Invalid client secret provided. Ensure the secret being sent in "
                                  "the request is the client secret value, not the client secret "
                                  f"ID, for a secret added to app '{client_id}'.")
        scopes = [s for s in (form.get("scope") or "").split() if s not in IGNORED_SCOPES]
        if not scopes:
            return self.aad_error(400, "invalid_request", 900144,
                                  "The request body must contain the following parameter: 'scope'.")
        for scope in scopes:
            if not scope.endswith("/.default"):
                return self.aad_error(400, "invalid_scope", 1002012,
                                      f"The provided value for scope {scope} is not valid. Client "
                                      "credential flows must have a scope value with /.default "
                                      "suffixed to the resource identifier (application ID URI).")
            if scope not in GRAPH_SCOPES and scope not in EXCHANGE_SCOPES:
                return self.aad_error(400, "invalid_resource", 500011,
                                      f"The resource principal named {scope[:-9]} was not found in "
                                      f"the tenant named {info.display_name}.")
        exchange = any(scope in EXCHANGE_SCOPES for scope in scopes)
        if exchange and any(scope in GRAPH_SCOPES for scope in scopes):
            return self.aad_error(400, "invalid_scope", 70011,
                                  f"The provided value for the input parameter 'scope' is not "
                                  f"valid. The scope {' '.join(scopes)} is not valid: a client "
                                  "credentials request asks for one resource's .default only.")
        access = server.access.get(info.id)
        if access.consent == 65001:
            # The app is known to the tenant but no administrator granted its permissions.
            return self.aad_error(400, "invalid_grant", 65001,
                                  f"The user or administrator has not consented to use the "
                                  f"application with ID '{client_id}' named '{APP_NAME}'. Send an "
                                  "interactive authorization request for this user and resource.")
        if exchange:
            token, lifetime = identity.issue(info.id, roles=access.exchange_roles(),
                                             audience=EXCHANGE_AUDIENCE)
        else:
            token, lifetime = identity.issue(info.id, roles=sorted(access.granted),
                                             audience=GRAPH_AUDIENCE)
        self._json(200, {"token_type": "Bearer", "expires_in": max(0, lifetime - 1),
                         "ext_expires_in": max(0, lifetime - 1), "access_token": token})
