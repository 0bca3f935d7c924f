"""Serving the dashboard: one Bokeh server, a fresh page per browser session."""
from __future__ import annotations

import ipaddress
import socket

from .resources import configure

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


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


def serve(m365, *, address: str = "127.0.0.1", port: int = 5006, threaded: bool = False,
          show: bool = False):
    """Serve the dashboard for `m365`. Blocks unless `threaded` (then returns the server thread,
    whose `.stop()` ends it). Refuses a non-loopback address: that needs authentication."""
    if not is_loopback(address):
        raise ValueError(f"refusing to serve on {address}: serving beyond 127.0.0.1 needs "
                         "authentication, which is not configured")
    configure()
    import panel as pn

    from .app import TITLE, build_page
    origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    return pn.serve({"/": lambda: build_page(m365)}, address=address, port=port, show=show,
                    threaded=threaded, title=TITLE, websocket_origin=origins,
                    start=True, verbose=False)
