"""App-only tokens, one msal authority per tenant.

msal keeps the token cache and renews a token before it expires (it refreshes once the token
is past its `refresh_in` point); we add a lock per tenant so parallel sync threads ask once,
and a way to throw a token away when Graph answers 401 with it.

msal reads the authority's OpenID configuration when an application is built, one GET per
tenant; `_SharedDiscovery` answers it from the first tenant's document (see there).
"""
from __future__ import annotations

import base64
import json
import logging
import re
import threading

import msal

from .certificates import CertificateCredential, load_certificate
from .config import GraphSettings
from .errors import AuthFailure

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
# AADSTS codes of the token endpoint's refusals that the technician can act on.
SECRET_REFUSED = {7000215, 7000222, 7000216, 700027, 700024}   # wrong/expired secret, bad cert
APP_MISSING = {700016, 65001}                                  # app not in tenant, no consent
TENANT_UNKNOWN = {90002, 90072}


# {authority host}/{tenant GUID}/v2.0/.well-known/openid-configuration, as msal asks for it
_DISCOVERY = re.compile(r"(https://[^/?#]+)/([0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})"
                        r"/v2\.0/\.well-known/openid-configuration")


class _Document:
    """The part of a `requests.Response` msal reads (status_code, text, headers)."""

    def __init__(self, text: str):
        self.status_code = 200
        self.text = text
        self.headers = {"content-type": "application/json; charset=utf-8"}

    def raise_for_status(self) -> None:
        return None


class _SharedDiscovery:
    """The HTTP client msal gets: the session, with one OpenID discovery shared by all tenants.

    Entra's v2.0 OpenID configuration of a tenant addressed by its GUID is the authority's one
    document with that GUID in its endpoints (issuer, token, authorize, device code); msal reads
    nothing else from it. The first tenant's document is fetched (and checked to have that shape);
    later GUID tenants on the same authority host get it with their own GUID, which saves a GET
    per tenant (100 tenants: 100 round trips, most of msal's time). Each tenant still gets its
    token from its own token endpoint, so an unknown tenant is refused there (AADSTS90002), as
    the discovery GET would have refused it. Tenants named by domain are looked up as before.
    """

    def __init__(self, session):
        self._session = session
        self._template: tuple[str, str, str] | None = None     # (host, tenant GUID, document)

    def get(self, url, **kwargs):
        match = _DISCOVERY.fullmatch(url) if isinstance(url, str) else None
        template = self._template
        if match and template and match.group(1) == template[0] and not kwargs.get("params"):
            return _Document(template[2].replace(template[1], match.group(2).lower()))
        resp = self._session.get(url, **kwargs)
        if match and template is None and resp.status_code == 200:
            self._learn(match.group(1), match.group(2).lower(), resp.text)
        return resp

    def _learn(self, host: str, tenant: str, text: str) -> None:
        """Keep the document as the template if its endpoints are this tenant's, by GUID."""
        try:
            doc = json.loads(text)
        except ValueError:
            return
        expected = {"token_endpoint": f"{host}/{tenant}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{host}/{tenant}/oauth2/v2.0/authorize",
                    "issuer": f"{host}/{tenant}/v2.0"}
        if isinstance(doc, dict) and all(doc.get(k) == v for k, v in expected.items()):
            self._template = (host, tenant, text)

    def post(self, url, **kwargs):
        return self._session.post(url, **kwargs)

    def close(self) -> None:
        return None         # the session belongs to the Graph hub, which closes it


class TokenProvider:
    """Hands out access tokens per tenant; never logs or raises with a token or secret inside."""

    def __init__(self, settings: GraphSettings, http_session):
        self._settings = settings
        self._session = http_session
        self._http = _SharedDiscovery(http_session)
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.acquired = 0   # tokens actually fetched from the token endpoint
        self._certificate: CertificateCredential | None = None

    def _credential(self):
        if self._settings.client_secret is not None:
            return self._settings.client_secret.reveal()
        with self._guard:
            if self._certificate is None:       # read once; a bad file is a ConfigError
                self._certificate = load_certificate(self._settings.certificate,
                                                     self._settings.certificate_thumbprint)
            return self._certificate.msal_credential()

    def _app(self, tenant_id: str) -> tuple[msal.ConfidentialClientApplication, threading.Lock]:
        """The tenant's msal application (built on first use) and its lock.

        Built under the tenant's own lock, not the provider's: building may read the authority's
        OpenID configuration over HTTP, and 16 sync threads used to wait for one another's GET.
        """
        with self._guard:
            lock = self._locks.setdefault(tenant_id, threading.Lock())
            app = self._apps.get(tenant_id)
        if app is None:
            with lock:
                app = self._apps.get(tenant_id)
                if app is None:
                    app = msal.ConfidentialClientApplication(
                        self._settings.client_id,
                        client_credential=self._credential(),
                        authority=f"{self._settings.authority_host}/{tenant_id}",
                        http_client=self._http,
                        instance_discovery=False,
                    )
                    with self._guard:
                        self._apps[tenant_id] = app
        return app, lock

    def token(self, tenant_id: str, scope: str = GRAPH_SCOPE) -> str:
        """An app-only token for the tenant; `scope` another resource's `.default` (Exchange
        Online's), from the same msal application and cache."""
        try:
            app, lock = self._app(tenant_id)
        except ValueError as exc:
            # msal raises ValueError when OIDC discovery fails (unknown tenant, bad host).
            raise AuthFailure(f"token authority rejected tenant {tenant_id}: {exc}",
                              tenant_id=tenant_id, code="authority_error") from None
        with lock:
            try:
                result = app.acquire_token_for_client(scopes=[scope])
            except ValueError as exc:
                # msal raises ValueError when OIDC discovery fails (unknown tenant, bad host).
                raise AuthFailure(f"token authority rejected tenant {tenant_id}: {exc}",
                                  tenant_id=tenant_id, code="authority_error") from None
            if "access_token" not in result:
                code = result.get("error") or "token_error"
                description = (result.get("error_description") or "").split("\r\n")[0]
                # The AADSTS codes travel as details: services.access tells "no consent"
                # (700016, 65001) from "tenant unknown" (90002) by them.
                raise AuthFailure(self._refusal(tenant_id, result, description),
                                  status=401, code=code, tenant_id=tenant_id,
                                  request_id=result.get("correlation_id"),
                                  details=[{"code": f"AADSTS{c}"}
                                           for c in result.get("error_codes") or []])
            if result.get("token_source") == "identity_provider":
                self.acquired += 1
                log.debug("token acquired for tenant %s", tenant_id)
            return result["access_token"]

    def _refusal(self, tenant_id: str, result: dict, description: str) -> str:
        """What the token endpoint's refusal means and what to check, naming tenant and app.

        Entra's own description follows (its AADSTS code is what support asks for); neither it
        nor this text ever holds the secret.
        """
        app = self._settings.client_id
        codes = set(result.get("error_codes") or [])
        error = result.get("error") or ""
        certificate = self._certificate if self._settings.client_secret is None else None
        if certificate is not None and (codes & SECRET_REFUSED or error == "invalid_client"):
            advice = (f"tenant {tenant_id} refused the certificate {certificate.describe()} of "
                      f"app {app}: the app registration's Certificates & secrets must list this "
                      "thumbprint (upload the certificate's public part there), or "
                      "graph.certificate_path in m365dash.toml must point at the certificate "
                      "that is registered; check it has not expired")
        elif codes & SECRET_REFUSED or (error == "invalid_client" and not codes & APP_MISSING):
            advice = (f"tenant {tenant_id} refused the client secret of app {app}: check "
                      "graph.client_secret in m365dash.toml (its Value, not its Secret ID, from "
                      "the app registration's Certificates & secrets, and not expired; for "
                      "env:NAME, the environment variable)")
        elif codes & APP_MISSING or error == "unauthorized_client":
            advice = (f"app {app} is not installed in tenant {tenant_id}: a Global Administrator "
                      "of that tenant must grant admin consent to it, or remove the tenant from "
                      "[[tenants]] / end its GDAP relationship; check graph.client_id too")
        elif codes & TENANT_UNKNOWN or error == "invalid_tenant":
            advice = (f"tenant {tenant_id} does not exist at {self._settings.authority_host}: "
                      "check the tenant id in [[tenants]] or graph.partner_tenant_id")
        else:
            advice = f"could not get a token for tenant {tenant_id} as app {app}"
        return f"{advice}. Entra ID said: {description}" if description else advice

    def claims(self, tenant_id: str, scope: str = GRAPH_SCOPE) -> dict:
        """What the tenant's app-only token says about the app, read from its payload without
        verifying it (Graph verifies; we only read our own grant): `roles` (the application
        permissions granted in that tenant), `oid` (the app's service principal id there),
        `tid`, `appid`. Gets a token if none is cached; the token itself never leaves here."""
        return token_claims(self.token(tenant_id, scope))

    def invalidate(self, tenant_id: str, token: str | None = None) -> None:
        """Forget the tenant's cached access token so the next call asks for a new one.

        With `token` (the one Graph refused), only that token is forgotten: threads that sent
        requests with it at the same time all see 401, and the first one's renewal must not be
        thrown away by the others, so the tenant renews once.
        """
        app, lock = self._app(tenant_id)
        with lock:
            cache = app.token_cache
            for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                if token is None or item.get("secret") == token:
                    cache.remove_at(item)


CLAIMS = ("roles", "oid", "tid", "appid", "idtyp")


def token_claims(token: str) -> dict:
    """The app-describing claims of a JWT access token ({} when it is not a readable JWT)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        return {}
    return {k: data[k] for k in CLAIMS if isinstance(data, dict) and k in data}
