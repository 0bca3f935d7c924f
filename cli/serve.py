"""`m365dash serve` and `m365dash demo`: the dashboard served against configured tenants, or
against emulated demo tenants."""
from __future__ import annotations

import argparse
import sys

from dashboard.server import is_loopback

AUTH_MESSAGE = (
    "m365dash: refusing to serve on {address} without sign-in: without --auth the dashboard only "
    "listens on 127.0.0.1 (loopback). To serve beyond it, configure authentication and a cookie "
    "secret:\n"
    "  users file:  m365dash users add NAME --role admin   (once per person; roles: viewer, "
    "technician, admin)\n"
    "               m365dash serve --address {address} --auth users-file [--users-file PATH]\n"
    "  Entra ID:    set M365DASH_ENTRA_CLIENT_ID, M365DASH_ENTRA_CLIENT_SECRET and "
    "M365DASH_ENTRA_TENANT_ID (or PANEL_OAUTH_KEY, PANEL_OAUTH_SECRET, AAD_TENANT_ID)\n"
    "               m365dash serve --address {address} --auth entra\n"
    "  both:        M365DASH_COOKIE_SECRET=<random, 32+ characters> or --cookie-secret-file FILE\n"
    "See docs/SIGN-IN.md.")
UNAUTHENTICATED_NOTE = (
    "This dashboard is UNAUTHENTICATED: anyone who can reach {address}:{port} on this machine can "
    "use it as {who} ({role}). Use --auth users-file or --auth entra to require sign-in.")


def register_serve(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="serve the dashboard against configured tenants",
                                  description="Serve the dashboard for the tenants in the "
                                              "configuration (sync first with m365dash sync). "
                                              "Without --auth it listens on 127.0.0.1 only, "
                                              "unauthenticated.")
    serve.add_argument("--config", help="m365dash.toml (default: $M365DASH_CONFIG, else "
                                        "$M365DASH_HOME/m365dash.toml)")
    serve.add_argument("--address", default="127.0.0.1",
                       help="listen address (default 127.0.0.1; anything beyond loopback needs --auth)")
    serve.add_argument("--port", type=int, default=5006)
    auth = serve.add_argument_group("sign-in (required beyond 127.0.0.1; see docs/SIGN-IN.md)")
    auth.add_argument("--auth", choices=("none", "users-file", "entra"), default="none",
                      help="users-file: names, roles and bcrypt hashes from `m365dash users`; "
                           "entra: Entra ID OAuth, app roles M365Dash.Viewer/Technician/Admin")
    auth.add_argument("--users-file", metavar="PATH",
                      help="users file for --auth users-file (default: $M365DASH_USERS, else "
                           "$M365DASH_HOME/users.json)")
    auth.add_argument("--cookie-secret-file", metavar="FILE",
                      help="file holding the cookie secret (else $M365DASH_COOKIE_SECRET); "
                           "required with --auth, never defaulted")
    auth.add_argument("--session-hours", type=float, default=12.0, metavar="H",
                      help="sign-ins expire after H hours (default 12)")
    auth.add_argument("--allow-origin", action="append", default=[], metavar="HOST",
                      help="also accept browser pages from HOST (a reverse proxy's public "
                           "host[:port] or URL); repeatable")
    auth.add_argument("--oauth-provider", choices=("azurev2", "azure"), default="azurev2",
                      help="Panel OAuth provider for --auth entra (default azurev2)")
    auth.add_argument("--behind-proxy", action="store_true",
                      help="trust X-Forwarded-For / X-Real-IP and X-Forwarded-Proto from a "
                           "reverse proxy (only when nothing else can reach the port)")
    serve.set_defaults(func=run_serve)


def register_demo(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="emulated tenants with demo data, synced and served",
                                 description="Start the Microsoft 365 emulator with demo tenants "
                                             "(state under $M365DASH_HOME/demo), sync them and serve "
                                             "the dashboard on 127.0.0.1. Ctrl-C stops everything.")
    demo.add_argument("--port", type=int, default=5006)
    demo.add_argument("--tenants", type=int, default=6)
    demo.add_argument("--users-per-tenant", type=int, default=None)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--no-traps", action="store_true",
                      help="every tenant fully consented (by default one lacks a permission, one "
                           "has no Entra ID P1 and one no consent, and new users lag about 1 s "
                           "behind their create, as real tenants do)")
    demo.set_defaults(func=run_demo)


def _check_port(port: int) -> str | None:
    return None if 0 < port < 65536 else f"m365dash: --port must be 1-65535, got {port}"


def auth_settings(args: argparse.Namespace):
    """AuthSettings from the serve options and the environment; None for --auth none.
    Raises dashboard.session_identity.AuthConfigError with what to configure."""
    from dashboard import session_identity as identity
    if args.auth == "none":
        return None
    secret = identity.read_cookie_secret(args.cookie_secret_file)
    if not secret:
        raise identity.AuthConfigError(
            "--auth needs a cookie secret (there is no default): set M365DASH_COOKIE_SECRET to "
            "a random string of 32+ characters or pass --cookie-secret-file FILE, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))' > FILE; chmod 600 FILE")
    if args.auth == "users-file":
        from dashboard.users_file import UsersFile
        return identity.AuthSettings("users-file", cookie_secret=secret,
                                     expiry_hours=args.session_hours,
                                     users_file=UsersFile(args.users_file))
    return identity.AuthSettings("entra", cookie_secret=secret, expiry_hours=args.session_hours,
                                 provider=args.oauth_provider, **identity.entra_from_env())


def run_serve(args: argparse.Namespace) -> int:
    from dashboard.session_identity import AuthConfigError
    if args.auth == "none" and not is_loopback(args.address):
        print(AUTH_MESSAGE.format(address=args.address), file=sys.stderr)
        return 2
    problem = _check_port(args.port)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        settings = auth_settings(args)
    except AuthConfigError as exc:
        print(f"m365dash serve: {exc}", file=sys.stderr)
        return 2
    from dashboard.server import serve
    from services import connect
    from services.schedules import Background

    m365 = connect(args.config)     # ConfigError -> exit 2 in cli.main
    host = f"[{args.address}]" if ":" in args.address else args.address
    print(f"Dashboard on http://{host}:{args.port}/  (Ctrl-C stops it)", flush=True)
    if settings is None:
        print(UNAUTHENTICATED_NOTE.format(address=args.address, port=args.port,
                                          who=m365.actor.name, role=m365.actor.role), flush=True)
    else:
        print(f"Sign-in: {settings.mode}; sessions expire after {settings.expiry_hours:g} h.",
              flush=True)
    # Scheduled offboardings run inside the server too (every 30 s; several servers on one
    # store share the work, each job runs once): see docs/SCHEDULES.md.
    runner = Background(m365).start()
    try:
        serve(m365, address=args.address, port=args.port, auth=settings,
              allow_origins=args.allow_origin, use_xheaders=args.behind_proxy)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
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
    from dashboard.server import serve
    from emulator import Emulator
    from services import connect
    from services.config import home
    from services.schedules import Background

    state_dir = home() / "demo"
    print(f"Starting the Microsoft 365 emulator (state in {state_dir})…", flush=True)
    with Emulator(tenants=args.tenants, users_per_tenant=args.users_per_tenant, seed=args.seed,
                  state_dir=state_dir, access_traps=not args.no_traps,
                  # Graph's replication lag after a create (~1 s), a trap of real tenants too.
                  replication_lag=0.0 if args.no_traps else 1.0) as emu:
        m365 = connect(emu.config_path)
        try:
            report = m365.sync(progress=False)
            print(report, flush=True)
            print(f"\nDashboard: http://127.0.0.1:{args.port}/\n"
                  "This demo is UNAUTHENTICATED: anyone who can reach 127.0.0.1 on this machine "
                  "can use it as an admin. The tenants are emulated; nothing reaches Microsoft.\n"
                  "Ctrl-C stops the dashboard and the emulator.", flush=True)
            runner = Background(m365).start()
            try:
                serve(m365, address="127.0.0.1", port=args.port)
            finally:
                runner.stop()
        except KeyboardInterrupt:
            pass
        finally:
            m365.close()
    return 0
