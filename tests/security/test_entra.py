"""--auth entra end to end, with a stand-in for Entra ID's token endpoint on loopback.

The browser's trip to login.microsoftonline.com is replaced by reading the authorize redirect and
coming back with a code, as Entra would; Panel's azurev2 handler then redeems the code at the
stand-in (its token URL is pointed there) and sets its cookies. Everything from the redirect URI
to the session's Actor is the production path.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import requests

TENANT = "0b0e5c1d-0000-4000-8000-00000000beef"
CLIENT_ID = "6d1f0a57-1111-4222-8333-444455556666"
CLIENT_SECRET = "entra-client-secret-" + secrets.token_urlsafe(16)


def _b64(data: dict) -> str:
    from panel.util import base64url_encode
    return base64url_encode(json.dumps(data))


class FakeEntra:
    """POST /{tenant}/oauth2/v2.0/token: redeems codes issued by `code_for(claims)`."""

    def __init__(self):
        self.codes: dict[str, dict] = {}
        self.issued: list[str] = []
        self.redeemed: list[str] = []
        self.authorize_requests: list[str] = []
        self.next_claims: dict | None = None
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                """The authorize endpoint, as if the person had signed in: back with a code."""
                from urllib.parse import quote
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                outer.authorize_requests.append(self.path)
                if url.path != f"/{TENANT}/oauth2/v2.0/authorize" or outer.next_claims is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                code = outer.code_for(outer.next_claims)
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?code={code}"
                                             f"&state={quote(query['state'])}")
                self.end_headers()

            def do_POST(self):
                body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                form = {k: v[0] for k, v in body.items()}
                outer.requests.append({"path": self.path, **form})
                claims = outer.codes.pop(form.get("code", ""), None)
                outer.redeemed.append(form.get("code", ""))
                if (self.path != f"/{TENANT}/oauth2/v2.0/token" or claims is None
                        or form.get("client_secret") != CLIENT_SECRET
                        or form.get("client_id") != CLIENT_ID):
                    self.send_response(400)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": "invalid_grant"}')
                    return
                access = "eyJ0eXAiOiJKV1QifQ." + _b64({"aud": "00000003-0000-0000-c000-000000000000",
                                                     "exp": int(time.time()) + 3600,
                                                     "n": secrets.token_hex(8)}) + ".sig"
                refresh = "refresh-" + secrets.token_urlsafe(24)
                id_token = "eyJhbGciOiJub25lIn0." + _b64(
                    {"aud": CLIENT_ID, "tid": TENANT, "exp": int(time.time()) + 3600,
                     "nonce": secrets.token_hex(4), **claims}) + "."
                outer.issued += [access, refresh, id_token]
                payload = json.dumps({"token_type": "Bearer", "expires_in": 3600,
                                      "access_token": access, "refresh_token": refresh,
                                      "id_token": id_token}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def code_for(self, claims: dict) -> str:
        code = "code-" + secrets.token_urlsafe(12)
        self.codes[code] = claims
        return code

    def stop(self):
        self.httpd.shutdown()


@pytest.fixture
def entra_setup(secure_served, monkeypatch):
    """(settings, fake): --auth entra settings whose token endpoint is FakeEntra; Panel's
    process-wide OAuth configuration is restored afterwards."""
    from panel.auth import AzureAdV2LoginHandler
    from panel.config import config
    from panel.io.state import state

    from dashboard.session_identity import AuthSettings
    for name in ("oauth_provider", "oauth_key", "oauth_secret", "oauth_extra_params",
                 "oauth_jwt_user", "oauth_expiry", "oauth_optional", "oauth_guest_endpoints",
                 "oauth_encryption_key", "oauth_redirect_uri", "cookie_secret"):
        monkeypatch.setattr(config, name, getattr(config, name))     # restored afterwards
    monkeypatch.setattr(state, "encryption", state.encryption)
    for name in ("AAD_TENANT_ID", "PANEL_OAUTH_REDIRECT_URI", "PANEL_OAUTH_SCOPE",
                 "PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET", "PANEL_OAUTH_EXTRA_PARAMS"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeEntra()
    monkeypatch.setattr(AzureAdV2LoginHandler, "_OAUTH_ACCESS_TOKEN_URL_",
                        fake.url + "/{tenant}/oauth2/v2.0/token")
    settings = AuthSettings("entra", cookie_secret=secrets.token_urlsafe(48), client_id=CLIENT_ID,
                            client_secret=CLIENT_SECRET, tenant_id=TENANT)
    yield settings, fake
    fake.stop()


@pytest.fixture
def entra_served(secure_served, entra_setup, extra_server):
    """The dashboard served with --auth entra (Panel's azurev2 handler) against FakeEntra."""
    settings, fake = entra_setup
    # /logout, not /login: the login page of an Entra server redirects to Entra itself.
    base = extra_server(settings, ready="/logout")
    yield base, settings, fake, secure_served[1]


class BrowserOverHttps(requests.Session):
    """A browser that talks https to the proxy: it sends back the Secure cookies it was given
    (the test itself reaches the server over plain http, as the proxy would)."""

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def entra_sign_in(base: str, fake: FakeEntra, claims: dict, next_query: str = "page=tenants",
                  headers: dict | None = None):
    """Follow the dashboard to Entra's authorize URL, come back with a code, as a browser would
    (sending `headers` with every request)."""
    https = (headers or {}).get("X-Forwarded-Proto") == "https"
    s = BrowserOverHttps() if https else requests.Session()
    s.headers.update(headers or {})
    r = s.get(f"{base}/?{next_query}", allow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = s.get(f"{base}/login", params={"next": f"/?{next_query}"}, allow_redirects=False)
    assert r.status_code == 302
    authorize = urlparse(r.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    back = s.get(f"{base}/login", params={"code": fake.code_for(claims), "state": query["state"]},
                 allow_redirects=False)
    return s, authorize, query, back


def test_entra_sign_in_cookies_are_secure_over_https(entra_setup, extra_server):
    """Behind a proxy that terminates https, the cookies that carry the sign-in (Panel's, set by
    its login handler) get the Secure flag, so a plain-http request never carries them."""
    settings, fake = entra_setup
    base = extra_server(settings, ready="/logout", use_xheaders=True)
    s, _, _, back = entra_sign_in(base, fake, {"preferred_username": "sam@msp.example",
                                               "roles": ["M365Dash.Viewer"]},
                                  headers={"X-Forwarded-Proto": "https"})
    assert back.status_code == 302
    set_cookies = back.raw.headers.getlist("Set-Cookie")
    signed_in = [c for c in set_cookies if c.split("=", 1)[0] in ("user", "id_token", "access_token")]
    assert {c.split("=", 1)[0] for c in signed_in} >= {"user", "id_token"}
    assert all("; secure" in c.lower() for c in signed_in), signed_in


def test_entra_sign_in_redirects_to_the_tenant_authority_with_our_redirect_uri(entra_served):
    base, _settings, fake, _ = entra_served
    s = requests.Session()
    r = s.get(f"{base}/login", allow_redirects=False)
    assert r.status_code == 302
    url = urlparse(r.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.scheme, url.netloc) == ("https", "login.microsoftonline.com")
    assert url.path == f"/{TENANT}/oauth2/v2.0/authorize"
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["redirect_uri"] == f"{base}/login"
    assert "openid" in query["scope"]
    assert CLIENT_SECRET not in r.headers["Location"]
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_entra_app_role_becomes_the_session_actor_and_no_token_reaches_the_page(entra_served,
                                                                                server_log):
    from dashboard.session_identity import actor_from_cookies
    base, settings, fake, m365 = entra_served
    name = "ann.tech@msp.example"
    s, _, _, back = entra_sign_in(base, fake, {"preferred_username": name, "name": "Ann Tech",
                                               "roles": ["M365Dash.Viewer",
                                                         "M365Dash.Technician"]})
    assert back.status_code == 302 and back.headers["Location"] == "/?page=tenants"
    assert fake.requests[-1]["redirect_uri"] == f"{base}/login"
    page = s.get(f"{base}/?page=tenants", allow_redirects=False)
    assert page.status_code == 200 and "bokeh" in page.text.lower()
    cookies = {c.name: c.value for c in s.cookies}
    actor = actor_from_cookies(cookies, settings)
    assert (actor.name, actor.role) == (name, "technician")
    # Tokens and the client secret: not in the page (nor its session token), not readable in
    # the cookies (encrypted), not in any log record.
    from bokeh.util.token import get_token_payload
    import re
    token = re.search(r'"token":\s*"([^"]+)"', page.text).group(1)
    payload = json.dumps(get_token_payload(token), default=str)
    assert set(get_token_payload(token)["cookies"]) <= {"user", "id_token"}
    logs = "\n".join(server_log.lines)
    raw_cookies = " ".join(cookies.values())
    for secret in fake.issued + [CLIENT_SECRET]:
        body = secret.split(".")[1] if secret.count(".") == 2 else secret
        assert secret not in page.text and body not in page.text
        assert body not in payload
        assert body not in raw_cookies
        assert secret not in logs
    assert fake.redeemed and all(code not in logs for code in fake.redeemed)
    assert "code=***" in logs                               # the access log redacts it
    out = s.get(f"{base}/logout")
    assert out.status_code == 200
    assert s.get(f"{base}/", allow_redirects=False).status_code == 302


def test_entra_account_without_an_app_role_gets_no_actor(entra_served):
    from dashboard.session_identity import actor_from_cookies
    base, settings, fake, _ = entra_served
    s, _, _, back = entra_sign_in(base, fake, {"preferred_username": "nobody@msp.example",
                                               "roles": ["Some.Other.App.Role"]})
    assert back.status_code == 302
    with pytest.raises(PermissionError, match="no M365 Dashboard role"):
        actor_from_cookies({c.name: c.value for c in s.cookies}, settings)


def test_entra_code_for_a_wrong_state_is_refused(entra_served):
    base, _settings, fake, _ = entra_served
    s = requests.Session()
    s.get(f"{base}/login", allow_redirects=False)
    r = s.get(f"{base}/login", params={"code": fake.code_for({"preferred_username": "x@y",
                                                              "roles": ["M365Dash.Admin"]}),
                                       "state": "forged"}, allow_redirects=False)
    assert r.status_code == 401
    assert "user" not in {c.name for c in s.cookies}
    assert "https://cdn" not in r.text and "<link" not in r.text     # our local error page


@pytest.fixture
def entra_browser(entra_served, browser_context, monkeypatch):
    """new(claims) -> a browser page whose sign-in goes to FakeEntra's authorize endpoint (Panel's
    authorize URL is pointed there), which answers at once with a code for `claims`;
    page.requests lists every URL it requested."""
    from panel.auth import AzureAdV2LoginHandler
    _base, _settings, fake, _ = entra_served
    monkeypatch.setattr(AzureAdV2LoginHandler, "_OAUTH_AUTHORIZE_URL_",
                        fake.url + "/{tenant}/oauth2/v2.0/authorize")

    def new(claims: dict):
        fake.next_claims = claims
        context, capture = browser_context()
        page = context.new_page()
        page.requests = capture.requests
        return page

    return new


def test_browser_entra_sign_in_lands_on_the_dashboard_as_the_signed_in_person(entra_served,
                                                                             entra_browser):
    from urllib.parse import quote
    base = entra_served[0]
    page = entra_browser({"preferred_username": "ann.tech@msp.example",
                          "roles": ["M365Dash.Technician"]})
    page.goto(f"{base}/?page=tenants")
    page.locator(".m365-tenants .tabulator-row").first.wait_for()
    authorize = [u for u in page.requests if "/oauth2/v2.0/authorize" in u]
    assert len(authorize) == 1 and authorize[0].startswith(f"{entra_served[2].url}/{TENANT}/")
    assert f"redirect_uri={quote(base + '/login', safe='')}" in authorize[0]
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["user"]["httpOnly"] and cookies["access_token"]["httpOnly"]
    assert page.evaluate("document.cookie").find("access_token") == -1


def test_browser_entra_account_without_an_app_role_sees_access_denied_and_no_data(
        entra_served, entra_browser):
    base, _settings, _fake, m365 = entra_served
    page = entra_browser({"preferred_username": "nobody@msp.example",
                          "roles": ["Some.Other.App.Role"]})
    page.goto(f"{base}/?page=tenants")
    page.locator(".m365-access-denied").wait_for()
    page.wait_for_timeout(500)
    page.get_by_text("no M365 Dashboard role").first.wait_for()
    assert [n for n in m365.tenants()["display_name"] if page.get_by_text(n).count()] == []
    assert page.locator(".m365-nav-tenants").count() == 0
    assert page.locator(".m365-main").count() == 0
