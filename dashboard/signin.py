"""The sign-in side of the served dashboard: the security headers on every response, the
access log without OAuth codes, our users-file login and logout pages, the auth providers
(users file, Entra ID through Panel's OAuth) and the server options that wire them in.

Who is signed in to a session, and the settings and roles, are in `dashboard.session_identity`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlparse

import tornado.web
from bokeh.server.auth_provider import AuthProvider
from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import session_identity as _identity
from .session_identity import (AUTH_COOKIES, EXCLUDED_HEADERS, LOGIN_URL, LOGOUT_URL,
                               SECURITY_HEADERS, SESSION_COOKIES, TEMPLATES, AuthSettings)

log = logging.getLogger(__name__)


# ---- security headers ----------------------------------------------------------------------------

class SecurityHeaders(tornado.web.OutputTransform):
    """A tornado output transform: every response of the server (pages, login, static files,
    errors, websocket handshakes) gets the security headers, unless a handler set its own, and
    no `Server` header (tornado's names its version, which only helps someone looking for a
    known hole)."""

    def __init__(self, request):
        super().__init__(request)
        self._https = getattr(request, "protocol", "") == "https"

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        if "Server" in headers:
            del headers["Server"]
        for name, value in SECURITY_HEADERS.items():
            if name not in headers:
                headers[name] = value
        if self._https and "Strict-Transport-Security" not in headers:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        return status_code, headers, chunk


# ---- access log ----------------------------------------------------------------------------------

# Query parameters whose values never reach the access log (OAuth codes and state, tokens).
REDACTED_PARAMS = {"code", "state", "session_state", "id_token", "access_token", "refresh_token",
                   "token", "client_secret", "password", "bokeh-session-id"}


def redact_uri(uri: str) -> str:
    """`uri` with the values of REDACTED_PARAMS replaced by `***`."""
    if "?" not in uri:
        return uri
    path, query = uri.split("?", 1)
    parts = []
    for part in query.split("&"):
        key = part.split("=", 1)[0]
        parts.append(f"{key}=***" if key.lower() in REDACTED_PARAMS and "=" in part else part)
    return f"{path}?{'&'.join(parts)}"


def log_request(handler) -> None:
    """tornado's access log line, with OAuth codes and tokens in the query string redacted."""
    from tornado.log import access_log
    status = handler.get_status()
    method = access_log.info if status < 400 else access_log.warning if status < 500 \
        else access_log.error
    request = handler.request
    method("%d %s %s (%s) %.2fms", status, request.method, redact_uri(request.uri or ""),
           request.remote_ip, 1000.0 * request.request_time())


# ---- pages ---------------------------------------------------------------------------------------

_jinja = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                     autoescape=select_autoescape(["html"]))


def render(template: str, **values) -> str:
    return _jinja.get_template(template).render(**values)


def safe_next(url: str | None) -> str:
    """A local path to go to after signing in; anything else (other hosts, schemes, `//x`) -> /."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or parsed.path.startswith((LOGIN_URL, LOGOUT_URL)):
        return "/"
    return url


class _AuthPage(tornado.web.RequestHandler):
    settings_: AuthSettings  # set on the per-server subclass

    def set_default_headers(self):
        self.set_header("Cache-Control", "no-store")

    def _cookie_opts(self) -> dict:
        return {"httponly": True, "samesite": "Lax", "secure": self.request.protocol == "https",
                "path": "/"}


# Sign-in attempts that may be checked per user name and per client address within
# LOGIN_WINDOW seconds; read when a server is built (a LoginThrottle made without limits).
LOGIN_LIMIT = 10
LOGIN_IP_LIMIT = 30
LOGIN_WINDOW = 900.0


class LoginThrottle:
    """Sign-in attempts per user name (`name:` keys, `limit`) and per client address (`ip:` keys,
    `ip_limit`: an office behind one NAT address shares it) within `window` seconds. An attempt
    is counted before its password is checked (`admit`), so a burst sent all at once gets no
    more checks than one sent slowly; past the limit, attempts are refused without checking the
    password (the same for every name, so it says nothing about which names exist). A sign-in
    that succeeds gives its own attempt back (`give_back`)."""

    def __init__(self, limit: int | None = None, ip_limit: int | None = None,
                 window: float | None = None):
        import threading
        self.limit = LOGIN_LIMIT if limit is None else limit
        self.ip_limit = LOGIN_IP_LIMIT if ip_limit is None else ip_limit
        self.window = LOGIN_WINDOW if window is None else window
        self._attempts: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._attempts.get(key, []) if now - t < self.window]
        if times:
            self._attempts[key] = times
        else:
            self._attempts.pop(key, None)
        return times

    def _limit(self, key: str) -> int:
        return self.ip_limit if key.startswith("ip:") else self.limit

    def _full(self, keys, now: float) -> bool:
        return any(len(self._recent(k, now)) >= self._limit(k) for k in keys)

    def blocked(self, *keys: str) -> bool:
        """Whether an attempt for `keys` would be refused now (it records nothing)."""
        import time
        with self._lock:
            return self._full(keys, time.monotonic())

    def admit(self, *keys: str) -> float | None:
        """Count one attempt for every one of `keys` and return its stamp (for give_back); None,
        counting nothing, when any key is at its limit. Checked and counted under one lock, so
        of N attempts at once at most the limit are admitted."""
        import time
        now = time.monotonic()
        with self._lock:
            if self._full(keys, now):
                return None
            for key in keys:
                self._attempts.setdefault(key, []).append(now)
            if len(self._attempts) > 10_000:          # bounded memory under a spray of names
                for key in list(self._attempts)[:5_000]:
                    self._attempts.pop(key, None)
            return now

    def give_back(self, stamp: float, *keys: str) -> None:
        """Uncount the attempt `admit` stamped `stamp` (a sign-in that succeeded)."""
        with self._lock:
            for key in keys:
                times = self._attempts.get(key)
                if times and stamp in times:
                    times.remove(stamp)
                    if not times:
                        del self._attempts[key]


_bcrypt_pool = None


def _password_checks():
    """Two threads check passwords: a burst of sign-ins queues instead of taking every core."""
    global _bcrypt_pool
    if _bcrypt_pool is None:
        from concurrent.futures import ThreadPoolExecutor
        _bcrypt_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="m365dash-login")
    return _bcrypt_pool


def cookie_user(handler, settings: AuthSettings) -> str | None:
    """The name in the request's signed, unexpired `user` cookie; None without one."""
    raw = handler.get_signed_cookie("user", max_age_days=settings.expiry_days)
    return raw.decode("utf-8", "replace") if raw else None


def signed_in_user(handler, settings: AuthSettings) -> str | None:
    """The name in the request's signed, unexpired `user` cookie if that user is still in the
    users file; else None."""
    name = cookie_user(handler, settings)
    if not name:
        return None
    if _identity.signed_out_since(name, _identity.cookie_issued(handler.get_cookie("user"))):
        return None
    try:
        listed = name in settings.users_file.roles()
    except ValueError:
        log.exception("users file unreadable")
        return None
    return name if listed else None


class UsersFileLoginHandler(_AuthPage):
    """GET: the sign-in page. POST: check the name and password (bcrypt, off the event loop);
    success sets the signed `user` cookie and goes back to the page asked for, failure shows the
    page again with one generic message after a delay; too many attempts are throttled."""
    throttle_: LoginThrottle   # set on the per-server subclass

    def _page(self, error: str = "") -> None:
        self.write(render("login.html", title="M365 Dashboard", error=error,
                          xsrf_form_html=self.xsrf_form_html(), login_url=LOGIN_URL,
                          next=safe_next(self.get_argument("next", "/"))))

    def get(self):
        if signed_in_user(self, self.settings_):
            self.redirect(safe_next(self.get_argument("next", "/")))
            return
        self.clear_cookie("user", path="/")     # stale: expired, or the user was removed
        self._page()

    async def post(self):
        name = self.get_body_argument("username", "").strip()
        password = self.get_body_argument("password", "")
        users = self.settings_.users_file
        keys = (f"ip:{self.request.remote_ip}", f"name:{name.lower()}")
        throttle = self.throttle_
        # Counted before the check, not after it fails: a check takes a bcrypt's time, and
        # guesses sent together would all pass a limit that only counted finished failures.
        attempt = throttle.admit(*keys)
        if attempt is None:
            log.warning("dashboard sign-in refused from %s: too many failed attempts",
                        self.request.remote_ip)
            await asyncio.sleep(_identity.FAILED_LOGIN_DELAY)
            self.set_status(429)
            self._page(error="Too many failed sign-ins. Try again in a few minutes.")
            return
        role = None
        if name and password and len(password) <= 1024:
            loop = asyncio.get_running_loop()
            try:
                role = await loop.run_in_executor(_password_checks(), users.verify, name, password)
            except ValueError:   # unreadable users file: logged, shown as a failed sign-in
                log.exception("users file check failed")
        if not role:
            log.warning("failed dashboard sign-in from %s", self.request.remote_ip)
            await asyncio.sleep(_identity.FAILED_LOGIN_DELAY)
            self.set_status(401)
            self._page(error="Sign-in failed: wrong user name or password.")
            return
        # Signing in is no guess: it does not use up the name's or the office's attempts.
        throttle.give_back(attempt, *keys)
        log.info("dashboard sign-in: %s (%s) from %s", name, role, self.request.remote_ip)
        self.clear_cookie("is_guest", path="/")
        self.set_signed_cookie("user", name, expires_days=self.settings_.expiry_days,
                               **self._cookie_opts())
        self.redirect(safe_next(self.get_body_argument("next", "/")))


class LogoutHandler(_AuthPage):
    """Clears every sign-in cookie and shows a page with a link back to the sign-in page."""

    def get(self):
        _identity.record_sign_out(cookie_user(self, self.settings_))
        for name in AUTH_COOKIES:
            self.clear_cookie(name, path="/")
        self.write(render("logout.html", title="M365 Dashboard", login_url=LOGIN_URL))


class UsersFileAuthProvider(AuthProvider):
    """Bokeh/Panel auth provider for the users file: every page, websocket and static request
    asks get_user, which accepts only a fresh signed `user` cookie of a user still in the file.
    `login_throttle` limits the sign-in attempts (default: a LoginThrottle of LOGIN_LIMIT,
    LOGIN_IP_LIMIT and LOGIN_WINDOW), one per server."""

    def __init__(self, settings: AuthSettings, login_throttle: LoginThrottle | None = None):
        from .users_file import dummy_hash
        # Made now, not at the first unknown name, whose refusal would then take two bcrypts.
        dummy_hash()
        self._settings = settings
        self._login = type("LoginHandler", (UsersFileLoginHandler,),
                           {"settings_": settings,
                            "throttle_": login_throttle or LoginThrottle()})
        self._logout = type("LogoutHandler", (LogoutHandler,), {"settings_": settings})
        super().__init__()

    @property
    def get_user(self):
        return lambda handler: signed_in_user(handler, self._settings)

    @property
    def login_url(self):
        return LOGIN_URL

    @property
    def login_handler(self):
        return self._login

    @property
    def logout_url(self):
        return LOGOUT_URL

    @property
    def logout_handler(self):
        return self._logout


def entra_provider(settings: AuthSettings):
    """Panel's OAuth provider set up for Entra ID, with our own logout and error pages (Panel's
    load their CSS from a CDN)."""
    from cryptography.fernet import Fernet
    from panel.auth import OAuthProvider
    from panel.config import config
    from panel.io.state import state

    config.oauth_provider = settings.provider
    config.oauth_key = settings.client_id
    config.oauth_secret = settings.client_secret
    config.oauth_extra_params = {"tenant": settings.tenant_id}
    config.oauth_jwt_user = settings.jwt_user
    config.oauth_expiry = settings.expiry_days
    config.oauth_optional = False
    config.oauth_guest_endpoints = []
    if settings.redirect_uri:
        config.oauth_redirect_uri = settings.redirect_uri
    # Access, refresh and id tokens in Panel's cookies are encrypted (Panel's get_server does not
    # apply oauth_encryption_key itself; `panel serve` does this same assignment).
    config.oauth_encryption_key = settings.encryption_key
    state.encryption = Fernet(settings.encryption_key)
    logout = type("LogoutHandler", (LogoutHandler,), {"settings_": settings})

    class EntraAuthProvider(OAuthProvider):
        _login_class = None

        @property
        def login_handler(self):
            # Panel's handler sends Entra the site root as redirect URI unless one is configured;
            # ours is <scheme>://<host>/login, the URI the app registration names.
            if self._login_class is None:
                base = super().login_handler

                class EntraLoginHandler(base):
                    def set_cookie(self, name, value, *args, **kwargs):
                        # Panel sets its sign-in cookies (user, id and access tokens) without
                        # the Secure flag; over https they must not leak to a plain-http request.
                        if self.request.protocol == "https":
                            kwargs.setdefault("secure", True)
                        return super().set_cookie(name, value, *args, **kwargs)

                    @property
                    def _redirect_uri(self):
                        if config.oauth_redirect_uri:
                            return config.oauth_redirect_uri
                        return f"{self.request.protocol}://{self.request.host}{LOGIN_URL}"

                EntraLoginHandler.__name__ = base.__name__
                # Our page for a failed sign-in. Panel's error_template option reads the file as
                # a bare string, where the {% include %} of our shared style would fail.
                EntraLoginHandler._error_template = _jinja.get_template("error.html")
                self._login_class = EntraLoginHandler
            return self._login_class

        @property
        def logout_handler(self):
            return logout

    return EntraAuthProvider(login_endpoint=LOGIN_URL, logout_endpoint=LOGOUT_URL)


def auth_provider(settings: AuthSettings, login_throttle: LoginThrottle | None = None):
    if settings.mode == "users-file":
        return UsersFileAuthProvider(settings, login_throttle)
    return entra_provider(settings)


_signed_in_autoload_class = None


def sign_in_before_autoload() -> None:
    """Route /autoload.js (Bokeh's per-app routes, process-wide) to Panel's handler, made to ask
    for a sign-in first like Panel's page handler. Panel's own awaits the session lookup, which
    for an anonymous request redirects to the sign-in page and returns None: the await then
    logs a TypeError traceback for every anonymous request. Without sign-in every request is
    signed in, so it changes nothing there."""
    global _signed_in_autoload_class
    from bokeh.server.urls import per_app_patterns
    from panel.io.server import AutoloadJsHandler
    if _signed_in_autoload_class is None:
        class SignedInAutoloadJsHandler(AutoloadJsHandler):
            @tornado.web.authenticated
            async def get(self, *args, **kwargs):
                await super().get(*args, **kwargs)

        _signed_in_autoload_class = SignedInAutoloadJsHandler
    per_app_patterns[:] = [(route, _signed_in_autoload_class, *rest)
                           if handler is AutoloadJsHandler else (route, handler, *rest)
                           for route, handler, *rest in per_app_patterns]


def server_options(settings: AuthSettings | None, *,
                   login_throttle: LoginThrottle | None = None) -> dict:
    """Keyword arguments for pn.serve / Bokeh's Server (and its tornado Application).
    `login_throttle`: the users-file sign-in limits (default: LoginThrottle())."""
    sign_in_before_autoload()
    opts: dict[str, Any] = {"transforms": [SecurityHeaders], "log_function": log_request}
    if settings is None:
        return opts
    from panel.config import config
    config.cookie_secret = settings.cookie_secret    # Panel reads it from here for pn.state.user
    config.oauth_expiry = settings.expiry_days
    opts.update(
        auth_provider=auth_provider(settings, login_throttle),
        cookie_secret=settings.cookie_secret,
        xsrf_cookies=True,
        xsrf_cookie_kwargs={"httponly": True, "samesite": "Strict", "path": "/"},
        sign_sessions=True,
        secret_key=settings.session_secret,
        include_cookies=list(SESSION_COOKIES),
        exclude_headers=list(EXCLUDED_HEADERS),
    )
    return opts
