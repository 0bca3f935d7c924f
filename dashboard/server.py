"""Serving the dashboard: one Bokeh server, a fresh page per browser session.

Without sign-in the server listens on loopback only. With sign-in (`auth`, a
dashboard.session_identity.AuthSettings) it may listen anywhere, and then: every request goes
through the auth provider, the cookie secret signs cookies and (derived) Bokeh session tokens,
XSRF cookies are on, the websocket origin allow-list is the served address plus `allow_origins`,
and sessions expire.
Every response carries the security headers (dashboard.signin.SecurityHeaders) in both modes.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import threading

from .resources import configure

log = logging.getLogger(__name__)
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
WILDCARDS = {"0.0.0.0", "::", ""}


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only addresses served without sign-in."""
    if address.strip().lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _host_port(host: str, port: int | None) -> list[str]:
    """`host` as Bokeh's allow-list entries. Bokeh compares the Origin's host:port and treats an
    Origin without a port (any default-port http or https origin) as host:80."""
    host = host.strip().lower()
    if host.count(":") > 1 and not host.startswith("["):     # a bare IPv6 address
        host = f"[{host}]"
    if ":" in host.rsplit("]", 1)[-1]:     # host:port given
        return [host]
    if port is None:
        return [f"{host}:80", f"{host}:443"]
    return [f"{host}:{port}"] + ([f"{host}:80"] if port in (80, 443) else [])


def websocket_origins(address: str, port: int, allow_origins=()) -> list[str]:
    """host:port values a browser page's Origin may have: the served address (for a wildcard
    address, this machine's names), loopback names when serving on loopback, plus
    `allow_origins` (a reverse proxy's public host: `host`, `host:port` or a URL)."""
    hosts: list[str] = []
    if address.strip("[]") in WILDCARDS:
        hosts += [socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1"]
    else:
        hosts.append(address)
        if is_loopback(address):
            hosts += ["localhost", "127.0.0.1"]
    out = [entry for h in hosts if h for entry in _host_port(h, port)]
    for origin in allow_origins or ():
        origin = origin.strip().rstrip("/")
        if "://" in origin:
            origin = origin.split("://", 1)[1].split("/", 1)[0]
        if origin:
            out += _host_port(origin, None)
    return list(dict.fromkeys(out))


def warm_caches(m365) -> threading.Thread:
    """Compute, in a background thread, what every new session reads first: the Overview's
    figures, then the All Users listing (both shared by sessions, per store state). The first
    technician to open the dashboard then does not wait seconds for them at 100,000 users; one
    who comes sooner waits for this computation instead of starting a second one."""
    def work():
        from .viewmodels.listing_cache import user_listing
        from .viewmodels.overview import warm
        warm(m365)
        try:
            user_listing(m365)
        except Exception:  # noqa: BLE001 - All Users reads it itself, and says why it cannot
            log.exception("reading the All Users listing ahead failed")

    thread = threading.Thread(target=work, name="m365dash-warm", daemon=True)
    thread.start()
    return thread


def serve(m365, *, address: str = "127.0.0.1", port: int = 5006, threaded: bool = False,
          show: bool = False, auth=None, allow_origins=(), use_xheaders: bool = False):
    """Serve the dashboard for `m365`. Blocks unless `threaded` (then returns the server thread,
    whose `.stop()` ends it). Without `auth` (dashboard.session_identity.AuthSettings) only a
    loopback address is accepted."""
    if auth is None and not is_loopback(address):
        raise ValueError(f"refusing to serve on {address}: serving beyond 127.0.0.1 needs "
                         "authentication (--auth users-file or --auth entra), which is not "
                         "configured")
    configure()
    import panel as pn

    from . import session_identity, signin
    from .app import TITLE, build_page

    def page():
        with session_identity.serving(auth):
            built = build_page(m365)
        session_identity.watch_session(pn.state.curdoc, auth)
        return built

    opts = signin.server_options(auth)
    if use_xheaders:
        opts["use_xheaders"] = True
    origins = websocket_origins(address, port, allow_origins)
    warm_caches(m365)
    log.info("serving on %s:%s, sign-in: %s, websocket origins: %s", address, port,
             auth.mode if auth else "none (loopback)", ", ".join(origins))
    return pn.serve({"/": page}, address=address, port=port, show=show,
                    threaded=threaded, title=TITLE, websocket_origin=origins,
                    start=True, verbose=False, **opts)
