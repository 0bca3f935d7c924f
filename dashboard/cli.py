"""`m365dash serve` and `m365dash demo`: the dashboard's commands (registered by services.cli)."""
from __future__ import annotations

import argparse
import sys

from .server import is_loopback

AUTH_MESSAGE = ("m365dash: refusing to serve on {address}: the dashboard is served without "
                "sign-in, so it only listens on 127.0.0.1 (loopback). Serving beyond it needs "
                "authentication (Entra ID OAuth or a users file), which is not configured yet.")


def register(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="serve the dashboard against configured tenants",
                                  description="Serve the dashboard on 127.0.0.1 for the tenants "
                                              "in the configuration (sync first with m365dash sync).")
    serve.add_argument("--config", help="m365dash.toml (default: $M365DASH_CONFIG, else "
                                        "$M365DASH_HOME/m365dash.toml)")
    serve.add_argument("--address", default="127.0.0.1", help="listen address (loopback only)")
    serve.add_argument("--port", type=int, default=5006)
    serve.set_defaults(func=run_serve)

    demo = subparsers.add_parser("demo", help="emulated tenants with demo data, synced and served",
                                 description="Start the Microsoft 365 emulator with demo tenants "
                                             "(state under $M365DASH_HOME/demo), sync them and serve "
                                             "the dashboard on 127.0.0.1. Ctrl-C stops everything.")
    demo.add_argument("--port", type=int, default=5006)
    demo.add_argument("--tenants", type=int, default=6)
    demo.add_argument("--users-per-tenant", type=int, default=None)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=run_demo)


def _check_port(port: int) -> str | None:
    return None if 0 < port < 65536 else f"m365dash: --port must be 1-65535, got {port}"


def run_serve(args: argparse.Namespace) -> int:
    if not is_loopback(args.address):
        print(AUTH_MESSAGE.format(address=args.address), file=sys.stderr)
        return 2
    problem = _check_port(args.port)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from services import connect

    from .server import serve
    m365 = connect(args.config)     # ConfigError -> exit 2 in services.cli
    print(f"Dashboard on http://{args.address}:{args.port}/  (Ctrl-C stops it)", flush=True)
    try:
        serve(m365, address=args.address, port=args.port)
    except KeyboardInterrupt:
        pass
    finally:
        m365.close()
    return 0


def run_demo(args: argparse.Namespace) -> int:
    problem = _check_port(args.port)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.tenants < 1 or (args.users_per_tenant is not None and args.users_per_tenant < 1):
        print("m365dash: --tenants and --users-per-tenant must be at least 1", file=sys.stderr)
        return 2
    from services import connect
    from services.config import home
    from services.emulator import Emulator

    from .server import serve
    state_dir = home() / "demo"
    print(f"Starting the Microsoft 365 emulator (state in {state_dir})…", flush=True)
    with Emulator(tenants=args.tenants, users_per_tenant=args.users_per_tenant, seed=args.seed,
                  state_dir=state_dir) as emu:
        m365 = connect(emu.config_path)
        try:
            report = m365.sync(progress=False)
            print(report, flush=True)
            print(f"\nDashboard: http://127.0.0.1:{args.port}/\n"
                  "This demo is UNAUTHENTICATED: anyone who can reach 127.0.0.1 on this machine "
                  "can use it as an admin. The tenants are emulated; nothing reaches Microsoft.\n"
                  "Ctrl-C stops the dashboard and the emulator.", flush=True)
            serve(m365, address="127.0.0.1", port=args.port)
        except KeyboardInterrupt:
            pass
        finally:
            m365.close()
    return 0
