"""Consent for many tenants at once (`m365dash consent`): which active GDAP customers have not
consented to the app, with their admin-consent links, and, for CSP partners, pushing the app's
consent to each of them through Partner Center's application-consent API.

The push (docs/ACCESS.md, "Consent for many tenants"):
- a partner admin signs in with msal's device-code flow (public client, the partner tenant's
  authority, scope `https://api.partnercenter.microsoft.com/user_impersonation`); the prompt
  (verification URL and code) goes to the operator, the token is never printed, stored or logged;
- per customer: `POST {partner_center_url}/v1/customers/{tenantId}/applicationconsents` with
  `{"applicationId", "applicationGrants": [{"enterpriseApplicationId": Microsoft Graph's app id,
  "scope": "the Graph application permissions, comma-separated"}]}` (learn.microsoft.com,
  "Control Panel Vendor APIs"; the Partner Center PowerShell module's
  New-PartnerCustomerApplicationConsent sends the same shape). 201 is "consented", 409 Conflict
  (the consent exists) "already consented"; 429 waits its Retry-After, 5xx and dropped
  connections back off, then the same `ms-requestid` is sent again (Partner Center's idempotency
  key).

This is the one HTTP call of the project outside services/graph.py: TenantGraph's choke point
authenticates with the app's own token per tenant and cannot carry a user's delegated token for
another API. Nothing else changes: the store is not written; the next sync or `m365dash access`
finds the new consent.
"""
from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

import msal
import pandas as pd
import requests

from . import access as A
from . import permissions as P
from .discovery import discover
from .errors import AuthFailure, ConfigError, GraphError
from .graph import parse_retry_after

log = logging.getLogger(__name__)

PARTNER_CENTER_SCOPE = "https://api.partnercenter.microsoft.com/user_impersonation"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"     # Microsoft Graph's enterprise app
CONSENTED, ALREADY, FAILED = "consented", "already consented", "failed"
LIST_COLUMNS = ["tenant", "tenant_id", "consent_url", "access_checked"]
OUTCOME_COLUMNS = ["tenant", "tenant_id", "outcome", "detail"]
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_ATTEMPTS = 6
BACKOFF_CAP = 30.0


def graph_scope() -> str:
    """The Graph application permissions the app asks for, as Partner Center's `scope`."""
    return ",".join(P.requested_permissions())


def consent_body(app_id: str) -> dict:
    return {"applicationId": app_id,
            "applicationGrants": [{"enterpriseApplicationId": GRAPH_APP_ID,
                                   "scope": graph_scope()}]}


def pending(m365, tenant_ids: list[str] | None = None) -> tuple[pd.DataFrame, str | None]:
    """(active customers whose stored access is "no consent", with their consent links; a
    warning when the partner's customer list could not be read and the store's was used)."""
    report = m365.access(tenant_ids)
    warning = None
    try:
        active = {t.tenant_id.lower() for t in discover(m365.graph, m365.config)}
    except GraphError as exc:
        active = None
        warning = (f"the partner's active customers could not be read ({exc}); listing the "
                   "tenants the store knows as active")
    rows = report[report["access"] == A.NO_CONSENT]
    if active is not None:
        rows = rows[rows["tenant_id"].str.lower().isin(active)]
    return rows[LIST_COLUMNS].reset_index(drop=True), warning


def sign_in(settings, session, prompt) -> str:
    """A partner admin's delegated Partner Center token by device code; `prompt(text)` shows
    the verification URL and code. Raises AuthFailure with Entra's reason (never the token)."""
    if not settings.partner_tenant_id:
        raise ConfigError("consent --push signs in to the partner tenant: set partner_tenant_id",
                          key="graph.partner_tenant_id")
    app = msal.PublicClientApplication(
        settings.partner_center_client_id or settings.client_id,
        authority=f"{settings.authority_host}/{settings.partner_tenant_id}",
        http_client=session, instance_discovery=False)
    flow = app.initiate_device_flow(scopes=[PARTNER_CENTER_SCOPE])
    if "user_code" not in flow:
        raise AuthFailure("the Partner Center sign-in could not start: "
                          f"{flow.get('error_description') or flow.get('error') or flow}")
    prompt(flow.get("message") or f"Open {flow['verification_uri']} and enter the code "
                                  f"{flow['user_code']}")
    result = app.acquire_token_by_device_flow(flow)
    token = result.get("access_token")
    if not token:
        raise AuthFailure("the Partner Center sign-in failed: "
                          f"{result.get('error_description') or result.get('error')}")
    return token


@dataclass
class Pusher:
    """Sends one consent per customer with the partner admin's token (kept here only)."""
    session: requests.Session
    base_url: str
    app_id: str
    token: str = field(repr=False, default="")     # the partner admin's token: never shown
    sleep: object = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def push(self, tenant_id: str) -> tuple[str, str]:
        """(outcome, detail) for one customer: consented / already consented / failed."""
        url = f"{self.base_url.rstrip('/')}/v1/customers/{quote(tenant_id, safe='')}/applicationconsents"
        request_id = str(uuid.uuid4())          # the same on every retry: Partner Center's key
        body = consent_body(self.app_id)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                       "ms-requestid": request_id, "ms-correlationid": str(uuid.uuid4())}
            try:
                resp = self.session.post(url, json=body, headers=headers, timeout=60)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure, wait = f"connection failed ({type(exc).__name__})", None
            else:
                status = resp.status_code
                if status in (200, 201):
                    return CONSENTED, ""
                if status == 409:
                    return ALREADY, ""
                failure = f"{status} {_description(resp)}".strip()
                if status not in RETRY_STATUSES:
                    return FAILED, failure
                wait = parse_retry_after(resp.headers.get("Retry-After")) if status == 429 else None
            if attempt == MAX_ATTEMPTS:
                break
            if wait is None:
                wait = self.rng.uniform(0, min(BACKOFF_CAP, 2.0 ** attempt))
            log.info("Partner Center consent for %s: %s; again in %.1fs", tenant_id, failure, wait)
            self.sleep(wait)
        return FAILED, f"{failure} (gave up after {MAX_ATTEMPTS} attempts)"


def _description(resp) -> str:
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or "")[:300]
    if isinstance(body, dict):
        return str(body.get("description") or body.get("message") or body.get("error") or "")[:300]
    return ""


def push_all(m365, rows: pd.DataFrame, prompt, *, sleep=time.sleep) -> pd.DataFrame:
    """Sign in once, push the consent to every listed customer; one outcome row each."""
    settings = m365.config.graph
    session = m365.graph.session
    token = sign_in(settings, session, prompt)
    pusher = Pusher(session, settings.partner_center_url, settings.client_id, token=token,
                    sleep=sleep)
    out = []
    for row in rows.itertuples():
        outcome, detail = pusher.push(row.tenant_id)
        log.info("Partner Center consent for %s: %s", row.tenant_id, outcome)
        out.append({"tenant": row.tenant, "tenant_id": row.tenant_id, "outcome": outcome,
                    "detail": detail})
    return pd.DataFrame(out, columns=OUTCOME_COLUMNS)
