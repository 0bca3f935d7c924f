"""Partner Center's application-consent API and the device-code sign-in a partner admin uses
for it (`m365dash consent --push`).

- `POST /{tenant}/oauth2/v2.0/devicecode`: the device authorization endpoint msal's
  `initiate_device_flow` calls; the token endpoint's
  `urn:ietf:params:oauth:grant-type:device_code` grant answers `authorization_pending` to the
  first poll of a code and then issues a delegated token (audience Partner Center, scope
  `user_impersonation`), as if the admin had signed in at the verification URL meanwhile.
- `POST /partnercenter/v1/customers/{customer}/applicationconsents` (Partner Center's
  `https://api.partnercenter.microsoft.com/v1/...`): body `{"applicationId", "applicationGrants":
  [{"enterpriseApplicationId", "scope": "A,B"}]}` (learn.microsoft.com, "Control Panel Vendor
  APIs"). A customer that has not consented gets the consent (its access trap flips: the next
  token request succeeds, with the granted scopes as its `roles`): 201; a customer that already
  consented: 409 Conflict. `Emulator.throttle_partner_center(n)` makes the next n calls 429 with
  Retry-After.
"""
from __future__ import annotations

import json
import secrets
import time
import uuid

import jwt
import tornado.web

from .handlers_identity import IdentityHandler

PARTNER_CENTER_AUDIENCE = "https://api.partnercenter.microsoft.com"
PARTNER_CENTER_SCOPE = PARTNER_CENTER_AUDIENCE + "/user_impersonation"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ADMIN_UPN = "partner.admin@partner.example"


class PartnerCenterState:
    """Pending device codes, the consent calls seen, and the throttle switch (IOLoop thread)."""

    def __init__(self):
        self.codes: dict[str, dict] = {}          # device code -> {tenant, scope, polls}
        self.requests: list[tuple[str, str, int]] = []   # (method, customer id, status)
        self.throttle = 0                         # the next n consent calls answer 429
        self.retry_after = 1


def _pc_error(handler, status: int, code: int, description: str) -> None:
    handler.set_status(status)
    handler.finish(json.dumps({"code": code, "description": description, "data": [],
                               "source": "PartnerFD"}))


class DeviceCodeHandler(IdentityHandler):
    def check_xsrf_cookie(self):
        return None

    def post(self, tenant: str):
        info = self.tenant_info(tenant)
        if info is None:
            return self.aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        form = {k: v[-1].decode("utf-8", "replace") for k, v in self.request.body_arguments.items()}
        if form.get("client_id") != self.server.identity.client_id:
            return self.aad_error(400, "unauthorized_client", 700016,
                                  f"Application with identifier '{form.get('client_id')}' was "
                                  f"not found in the directory '{info.display_name}'.")
        scopes = (form.get("scope") or "").split()
        if PARTNER_CENTER_SCOPE not in scopes:
            return self.aad_error(400, "invalid_scope", 70011,
                                  "The provided value for the input parameter 'scope' is not "
                                  "valid: the emulator signs in to Partner Center only.")
        code, user_code = secrets.token_urlsafe(32), secrets.token_hex(4).upper()
        self.server.partner_center.codes[code] = {"tenant": info.id, "polls": 0}
        url = "https://microsoft.com/devicelogin"
        self._json(200, {
            "user_code": user_code, "device_code": code, "verification_uri": url,
            "expires_in": 900, "interval": 1,
            "message": f"To sign in, use a web browser to open the page {url} and enter the "
                       f"code {user_code} to authenticate."})


def device_code_token(handler, info, form: dict) -> None:
    """The token endpoint's device-code grant (called by TokenHandler)."""
    state = handler.server.partner_center
    pending = state.codes.get(form.get("device_code") or "")
    if pending is None or pending["tenant"] != info.id:
        return handler.aad_error(400, "expired_token", 70020,
                                 "The provided authorization code or refresh token has expired "
                                 "due to inactivity. Send a new interactive authorization request.")
    pending["polls"] += 1
    if pending["polls"] == 1:
        return handler.aad_error(400, "authorization_pending", 70016,
                                 "OAuth 2.0 device flow error. Authorization is pending. Continue "
                                 "polling.")
    del state.codes[form["device_code"]]
    token, lifetime = handler.server.identity.issue_user(
        info.id, PARTNER_CENTER_AUDIENCE, "user_impersonation", ADMIN_UPN)
    handler._json(200, {"token_type": "Bearer", "scope": PARTNER_CENTER_SCOPE,
                        "expires_in": lifetime - 1, "ext_expires_in": lifetime - 1,
                        "access_token": token})


class ApplicationConsentsHandler(tornado.web.RequestHandler):
    def initialize(self, server):
        self.server = server

    def set_default_headers(self):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("MS-RequestId", str(uuid.uuid4()))

    def check_xsrf_cookie(self):
        return None

    def compute_etag(self):
        return None

    def post(self, customer: str):
        status = self._consent(customer.lower())
        self.server.partner_center.requests.append(("POST", customer.lower(), status))

    def _consent(self, customer: str) -> int:
        server, state = self.server, self.server.partner_center
        if state.throttle > 0:
            state.throttle -= 1
            self.set_header("Retry-After", str(state.retry_after))
            _pc_error(self, 429, 429, "Rate limit is exceeded. Try again later.")
            return 429
        scheme, _, token = (self.request.headers.get("Authorization") or "").partition(" ")
        try:
            claims = server.identity.verify_user(token.strip(), PARTNER_CENTER_AUDIENCE)
        except jwt.InvalidTokenError:
            _pc_error(self, 401, 401, "Unauthorized: the token is missing, invalid or expired.")
            return 401
        partner = server.world.partner.id
        if scheme.lower() != "bearer" or claims.get("tid") != partner:
            _pc_error(self, 401, 401, "Unauthorized: the token is not a partner user's token.")
            return 401
        info = server.world.served.get(customer)
        if info is None or info.kind != "customer":
            _pc_error(self, 404, 600039, f"Customer {customer} was not found for this partner.")
            return 404
        try:
            body = json.loads(self.request.body or b"{}")
            grants = body["applicationGrants"]
            scopes = {s.strip() for g in grants if g["enterpriseApplicationId"] == GRAPH_APP_ID
                      for s in g["scope"].split(",") if s.strip()}
            app_id = body["applicationId"]
        except (ValueError, KeyError, TypeError, AttributeError):
            _pc_error(self, 400, 600008, "The request body is not a valid application consent.")
            return 400
        if app_id != server.identity.client_id or not scopes:
            _pc_error(self, 400, 600008, "applicationId or applicationGrants is not valid.")
            return 400
        access = server.access.get(customer)
        if access.consent is None:
            _pc_error(self, 409, 409, "Permission entry already exists.")
            return 409
        server.access.set(customer, consent=None, granted=scopes)
        self.set_status(201)
        self.finish(json.dumps({"applicationId": app_id, "applicationGrants": grants,
                                "createdDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                 time.gmtime())}))
        return 201


def routes(server) -> list:
    args = {"server": server}
    return [(r"/([^/]+)/oauth2/v2\.0/devicecode", DeviceCodeHandler, args),
            (r"/partnercenter/v1/customers/([^/]+)/applicationconsents",
             ApplicationConsentsHandler, args)]
