"""Who is signed in to a dashboard session: the sign-in settings, the roles, and the signed-in
person of a browser session.

Two ways to sign in (`m365dash serve --auth ...`):

- `users-file`: a login page of our own checks the name and password against the users file
  (dashboard.users_file.UsersFile: bcrypt hashes and a role per user). Panel's built-in basic auth
  compares plain-text passwords, so it is not used.
- `entra`: Panel's OAuth with Entra ID (provider `azurev2`, or `azure` for the v1 endpoints). The
  id token's app-roles claim (`roles`) gives the role: M365Dash.Viewer / M365Dash.Technician /
  M365Dash.Admin, the highest one wins, none means no access.

Either way the signed-in person's name sits in a signed cookie (tornado secure cookie, keyed by the
required cookie secret) that expires after `expiry_hours`; every page, websocket and login request
goes through the auth provider. `session_actor()` turns the cookie of a Panel session into the
services Actor that all writes of that session run as. Nothing secret reaches the browser: the
Bokeh session token (embedded in the page) carries only the `user` and `id_token` cookies, OAuth
cookies are encrypted with a key derived from the cookie secret, and passwords are never echoed.

This module holds the settings, roles and the signed-in person of a session; the login pages,
auth providers, security headers and server options are in `dashboard.signin`.
"""
from __future__ import annotations

import base64
import contextlib
import contextvars
import hashlib
import hmac
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import tornado.iostream
import tornado.web
import tornado.websocket

from services.actors import ROLES, Actor

from .users_file import UsersFile

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOGIN_URL = "/login"
LOGOUT_URL = "/logout"
DEFAULT_EXPIRY_HOURS = 12.0
FAILED_LOGIN_DELAY = 1.0          # seconds added to every failed sign-in (bcrypt costs ~0.2 s more)
MIN_COOKIE_SECRET = 32
SESSION_CHECK_SECONDS = 30.0      # how often an open session checks expiry and the users file

# App-role values in the Entra app registration -> dashboard roles (compared case-insensitively).
ENTRA_APP_ROLES = {"m365dash.viewer": "viewer", "m365dash.technician": "technician",
                   "m365dash.admin": "admin"}
ENTRA_PROVIDERS = ("azurev2", "azure")
# Tenants that would let any Entra organization sign in (and assign itself our app roles).
MULTI_TENANT_AUTHORITIES = {"common", "organizations", "consumers"}

# The only cookies a Bokeh session token (which is embedded in the served page) may carry; OAuth
# access/refresh tokens, the XSRF cookie and Panel's unsigned `is_guest` cookie stay out of it.
# m365_theme is the light/dark choice of the header's switch (dashboard.shell): no secret.
SESSION_COOKIES = ["user", "id_token", "m365_theme"]
# Request headers kept out of the session token.
EXCLUDED_HEADERS = ["Cookie", "Authorization", "Proxy-Authorization", "X-Api-Key"]
# Cookies the logout page clears (ours and Panel's OAuth ones).
AUTH_COOKIES = ("user", "id_token", "access_token", "refresh_token", "oauth_expiry", "is_guest",
                "panel-oauth-state", "panel-oauth-code", "next_url")

SECURITY_HEADERS = {
    # Everything from this server only (the browser itself then refuses any CDN, font or
    # tracking request); Bokeh and Panel need inline scripts and styles and eval.
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline' "
                               "'unsafe-eval' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' "
                               "data: blob:; font-src 'self' data:; connect-src 'self'; "
                               "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'self'; "
                               "object-src 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


# ---- roles ---------------------------------------------------------------------------------------

def highest_role(roles: Iterable[str]) -> str | None:
    """The most capable of `roles` (viewer < technician < admin), or None when there is none."""
    found = [r for r in roles if r in ROLES]
    return max(found, key=ROLES.index) if found else None


def role_from_claims(claims: Mapping[str, Any] | None) -> str | None:
    """The dashboard role an Entra id token's app-roles claim grants (highest wins), else None."""
    values = (claims or {}).get("roles") or []
    if isinstance(values, str):
        values = [values]
    return highest_role(ENTRA_APP_ROLES.get(str(v).strip().lower(), "") for v in values)


def actor_from_claims(claims: Mapping[str, Any] | None, name: str | None = None) -> Actor:
    """The Actor for an Entra sign-in; PermissionError when the token grants no dashboard role."""
    claims = claims or {}
    name = name or next((str(claims[k]) for k in ("preferred_username", "upn", "unique_name",
                                                   "email", "oid") if claims.get(k)), "")
    role = role_from_claims(claims)
    if not name or not role:
        raise PermissionError(f"{name or 'this account'} has no M365 Dashboard role "
                              "(assign M365Dash.Viewer, .Technician or .Admin in Entra ID)")
    return Actor(name, role)


def actor_from_users_file(name: str | None, users: UsersFile) -> Actor:
    """The Actor for a users-file sign-in; PermissionError when the name is no longer listed."""
    role = users.roles().get(name or "") if name else None
    if role not in ROLES:
        raise PermissionError(f"{name or 'this account'} is not (or no longer) a dashboard user")
    return Actor(name, role)


# ---- settings ------------------------------------------------------------------------------------

class AuthConfigError(ValueError):
    """Sign-in is asked for but not configured completely; the message says what is missing."""


@dataclass
class AuthSettings:
    """How one server signs people in. `mode` is "users-file" or "entra"."""
    mode: str
    cookie_secret: str = field(repr=False)
    expiry_hours: float = DEFAULT_EXPIRY_HOURS
    users_file: UsersFile | None = None
    provider: str = "azurev2"
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    tenant_id: str = ""
    redirect_uri: str | None = None
    jwt_user: str = ""       # id-token claim naming the person; default by provider

    def __post_init__(self):
        if self.mode not in ("users-file", "entra"):
            raise AuthConfigError(f"unknown --auth {self.mode!r}: use users-file or entra")
        if not self.cookie_secret or len(self.cookie_secret) < MIN_COOKIE_SECRET:
            raise AuthConfigError(
                f"a cookie secret of at least {MIN_COOKIE_SECRET} characters is required: set "
                "M365DASH_COOKIE_SECRET or pass --cookie-secret-file FILE (for example "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))' > FILE`)")
        if not 0 < self.expiry_hours <= 24 * 30:
            raise AuthConfigError("--session-hours must be more than 0 and at most 720")
        if self.mode == "users-file":
            if self.users_file is None:
                self.users_file = UsersFile()
            try:
                users = self.users_file.roles()
            except ValueError as exc:
                raise AuthConfigError(str(exc)) from None
            if not users:
                raise AuthConfigError(
                    f"the users file {self.users_file.path} has no users: add one with "
                    f"`m365dash users add NAME --role admin --users-file {self.users_file.path}`")
        else:
            if self.provider not in ENTRA_PROVIDERS:
                raise AuthConfigError(f"--oauth-provider must be one of {', '.join(ENTRA_PROVIDERS)}")
            missing = [name for name, value in (
                ("M365DASH_ENTRA_CLIENT_ID (or PANEL_OAUTH_KEY)", self.client_id),
                ("M365DASH_ENTRA_CLIENT_SECRET (or PANEL_OAUTH_SECRET)", self.client_secret),
                ("M365DASH_ENTRA_TENANT_ID (or AAD_TENANT_ID)", self.tenant_id)) if not value]
            if missing:
                raise AuthConfigError("--auth entra needs the environment variables "
                                      + ", ".join(missing))
            if not self.jwt_user:
                self.jwt_user = "preferred_username" if self.provider == "azurev2" else "unique_name"
            if self.tenant_id.strip().lower() in MULTI_TENANT_AUTHORITIES:
                raise AuthConfigError(
                    f"the Entra tenant must be your own tenant id, not {self.tenant_id!r}: a "
                    "multi-tenant authority would let other organizations sign in")

    @property
    def expiry_days(self) -> float:
        return self.expiry_hours / 24.0

    @property
    def encryption_key(self) -> bytes:
        """A Fernet key for Panel's OAuth cookies, derived from the cookie secret."""
        digest = hmac.new(self.cookie_secret.encode("utf-8"), b"m365dash oauth cookie encryption",
                          hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest)

    @property
    def session_secret(self) -> str:
        """The key Bokeh signs session ids and tokens with, derived from the cookie secret."""
        return hmac.new(self.cookie_secret.encode("utf-8"), b"m365dash bokeh session signing",
                        hashlib.sha256).hexdigest()


def read_cookie_secret(secret_file: str | os.PathLike | None = None,
                       env: Mapping[str, str] | None = None) -> str | None:
    """The cookie secret from --cookie-secret-file, else $M365DASH_COOKIE_SECRET; None if neither.
    There is never a default."""
    env = os.environ if env is None else env
    if secret_file:
        try:
            text = Path(secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AuthConfigError(f"cannot read the cookie secret file {secret_file}: "
                                  f"{exc.strerror or exc}") from None
        return text or None
    return (env.get("M365DASH_COOKIE_SECRET") or "").strip() or None


def entra_from_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """client_id, client_secret, tenant_id (and redirect_uri when set) from our M365DASH_ENTRA_*
    variables, falling back to the names Panel documents (PANEL_OAUTH_KEY, PANEL_OAUTH_SECRET,
    AAD_TENANT_ID or PANEL_OAUTH_EXTRA_PARAMS={'tenant': ...}, PANEL_OAUTH_REDIRECT_URI)."""
    env = os.environ if env is None else env
    extra: dict = {}
    if env.get("PANEL_OAUTH_EXTRA_PARAMS"):
        import ast
        try:
            extra = dict(ast.literal_eval(env["PANEL_OAUTH_EXTRA_PARAMS"]))
        except (ValueError, SyntaxError, TypeError):
            raise AuthConfigError("PANEL_OAUTH_EXTRA_PARAMS must be a Python dict literal, "
                                  "e.g. {'tenant': '<tenant id>'}") from None
    out = {
        "client_id": env.get("M365DASH_ENTRA_CLIENT_ID") or env.get("PANEL_OAUTH_KEY") or "",
        "client_secret": env.get("M365DASH_ENTRA_CLIENT_SECRET") or env.get("PANEL_OAUTH_SECRET") or "",
        "tenant_id": (env.get("M365DASH_ENTRA_TENANT_ID") or env.get("AAD_TENANT_ID")
                      or str(extra.get("tenant", ""))),
    }
    redirect = env.get("M365DASH_ENTRA_REDIRECT_URI") or env.get("PANEL_OAUTH_REDIRECT_URI")
    if redirect:
        out["redirect_uri"] = redirect
    claim = env.get("M365DASH_ENTRA_USER_CLAIM") or env.get("PANEL_OAUTH_JWT_USER")
    if claim:
        out["jwt_user"] = claim
    return out


# ---- the signed-in person of a Panel session ----------------------------------------------------

NO_AUTH = "no-auth"      # marks a session of a server that runs without sign-in (loopback)
_UNKNOWN = object()
_current: contextvars.ContextVar = contextvars.ContextVar("m365dash_auth", default=_UNKNOWN)
_by_document: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
@contextlib.contextmanager
def serving(settings: AuthSettings | None):
    """The server wraps each session's page builder in this, so session_actor() knows how the
    session was signed in (one process may run servers with different settings, as tests do);
    the session's document remembers it for calls made later, from callbacks."""
    value = settings if settings is not None else NO_AUTH
    token = _current.set(value)
    try:
        import panel as pn
        if pn.state.curdoc is not None:
            _by_document[pn.state.curdoc] = value
        yield
    finally:
        _current.reset(token)


def _settings_for_session() -> AuthSettings | None:
    """The sign-in settings of the current session; None for a server without sign-in and
    outside any server (view-model tests, notebooks). Fails closed: a served session that
    dashboard.server did not build raises PermissionError instead of getting the default
    (admin) actor."""
    value = _current.get()
    if value is _UNKNOWN:
        import panel as pn
        doc = pn.state.curdoc
        if doc is not None:
            value = _by_document.get(doc, _UNKNOWN)
            if value is _UNKNOWN and getattr(doc, "session_context", None) is not None:
                raise PermissionError("cannot tell who is signed in to this session")
    if value is _UNKNOWN or value == NO_AUTH:
        return None
    return value


def _signed_cookie(cookies: Mapping[str, str], name: str, settings: AuthSettings) -> str | None:
    value = (cookies.get(name) or "").strip('"')
    if not value:
        return None
    decoded = tornado.web.decode_signed_value(settings.cookie_secret, name, value,
                                              max_age_days=settings.expiry_days)
    return decoded.decode("utf-8", "replace") if decoded else None


def actor_from_cookies(cookies: Mapping[str, str], settings: AuthSettings) -> Actor:
    """The Actor behind a session's cookies (signed with the cookie secret, not expired)."""
    name = _signed_cookie(cookies, "user", settings)
    if not name:
        raise PermissionError("not signed in, or the sign-in has expired")
    if signed_out_since(name, cookie_issued(cookies.get("user", "").strip('"'))):
        raise PermissionError(f"{name} has signed out since this sign-in")
    if settings.mode == "users-file":
        return actor_from_users_file(name, settings.users_file)
    id_token = _signed_cookie(cookies, "id_token", settings)
    claims: dict = {}
    if id_token:
        from cryptography.fernet import Fernet, InvalidToken
        from panel.util import decode_token
        try:
            claims = decode_token(Fernet(settings.encryption_key).decrypt(id_token.encode()).decode())
        except (InvalidToken, ValueError):
            claims = {}
    # The id token came straight from our tenant's token endpoint; check it says so anyway.
    if claims.get("tid") and str(claims["tid"]).lower() != settings.tenant_id.lower():
        raise PermissionError(f"{name} signed in through another Entra tenant")
    if claims.get("aud") and claims["aud"] != settings.client_id:
        raise PermissionError(f"{name} signed in to another application")
    return actor_from_claims(claims, name)


def session_actor(default: Actor) -> Actor:
    """The Actor of the current Panel session: `default` while the server runs without sign-in
    (loopback only). Raises PermissionError when the signed-in person has no role any more
    (removed from the users file, no app-role claim) or the sign-in has expired."""
    settings = _settings_for_session()
    if settings is None:
        return default
    import panel as pn
    cookies = dict(pn.state.cookies or {})
    if cookies.get("is_guest"):
        raise PermissionError("guest access is not allowed")
    return actor_from_cookies(cookies, settings)


def cookie_issued(value: str | None) -> float | None:
    """When a tornado signed cookie (format v2: 2|1:0|10:<timestamp>|...) was issued."""
    try:
        return float(value.split("|")[2].split(":", 1)[1])
    except (AttributeError, IndexError, ValueError):
        return None


def _close_session(doc, reason: str) -> None:
    """Close the websockets of a Bokeh session (the page then shows it lost the connection; a
    reload goes to the sign-in page)."""
    session = getattr(getattr(doc, "session_context", None), "_session", None)
    for connection in list(getattr(session, "_subscribed_connections", ())):
        try:
            connection._socket.close(1008, reason)
        except (AttributeError, tornado.websocket.WebSocketClosedError, tornado.iostream.StreamClosedError) as exc:
            # The browser went away first: nothing left to close.
            log.debug("session websocket already closed (%s)", type(exc).__name__)


# name -> when that person last signed out (whole seconds, like the cookie's timestamp). A
# sign-in cookie issued before it is refused, and open sessions opened with one are closed, so
# signing out in one tab ends the person's other tabs of this server process too.
_signed_out: dict[str, int] = {}
_signed_out_lock = threading.Lock()


def record_sign_out(name: str | None) -> None:
    if not name:
        return
    with _signed_out_lock:
        _signed_out[name] = int(time.time())
    log.info("dashboard sign-out: %s", name)


def signed_out_since(name: str | None, issued: float | None) -> bool:
    """Whether `name` signed out after the sign-in cookie issued at `issued` (epoch seconds).
    Both are whole seconds: a cookie issued in the second of the sign-out counts as before it
    (signing in again in that same second is refused once; the next second works)."""
    if not name:
        return False
    with _signed_out_lock:
        out = _signed_out.get(name)
    return out is not None and (issued is None or issued <= out)


def watch_session(doc, settings: AuthSettings | None) -> None:
    """End an open session when its sign-in expires, its person signs out in another tab, or
    (users file) its user is removed; checked every SESSION_CHECK_SECONDS. A page load or
    websocket after that is refused by the provider."""
    if settings is None or doc is None:
        return
    cookies = dict(getattr(getattr(doc.session_context, "request", None), "cookies", {}) or {})
    issued = cookie_issued(cookies.get("user")) or time.time()
    ends = issued + settings.expiry_hours * 3600
    name = _signed_cookie(cookies, "user", settings)

    def check():
        reason = None
        if time.time() >= ends:
            reason = "sign-in expired"
        elif signed_out_since(name, issued):
            reason = "signed out"
        elif settings.mode == "users-file":
            try:
                if name not in settings.users_file.roles():
                    reason = "user removed"
            except ValueError:
                reason = "users file unreadable"
        if reason:
            log.info("ending dashboard session of %s: %s", name, reason)
            _close_session(doc, reason)

    doc.add_periodic_callback(check, int(SESSION_CHECK_SECONDS * 1000))


def sign_out_url() -> str | None:
    """Where the current session's "Sign out" link points: LOGOUT_URL when the server signs
    people in, None on the unauthenticated loopback server (nothing to sign out of)."""
    try:
        return LOGOUT_URL if _settings_for_session() is not None else None
    except PermissionError:
        return LOGOUT_URL
