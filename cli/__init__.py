"""`m365dash`: the command line.

Each command family lives in its own module with `register(subparsers)`; this package only
assembles them and turns the project's errors into messages and exit codes:
0 success, 1 some rows/steps/tenants failed (with a report), 2 bad usage or configuration.

    serve.py     serve, demo            users.py     users add|remove|list
    emulator.py  emulator               sync.py      sync, licenses
    access.py    access              consent.py   consent
    bulk.py      bulk onboard|offboard|update|resume|status
    schedules.py schedules run|list|cancel

The command line sits on top: it imports `services`, `dashboard` and `emulator`; none of them
imports it.
"""
from __future__ import annotations

import argparse
import logging
import sys

from services.errors import ConfigError, M365DashError, PermissionDenied

from . import access, bulk, consent, emulator, schedules, serve, sync, users

__all__ = ["build_parser", "main"]

# Subcommand registrations, in the order they appear in --help.
COMMANDS = (
    serve.register_serve,    # serve
    users.register,          # users
    serve.register_demo,     # demo
    emulator.register,       # emulator
    sync.register,           # sync, licenses
    access.register,         # access
    consent.register,        # consent
    bulk.register,           # bulk onboard|offboard|update|resume|status
    schedules.register,      # schedules run|list|cancel
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="m365dash",
        description="Manage Microsoft 365 users across many client tenants.")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for debug); secrets are never logged")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    logging.basicConfig(
        level={0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.verbose < 2:
        logging.getLogger("msal").setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"m365dash: configuration error: {exc}", file=sys.stderr)
        return 2
    except PermissionDenied as exc:
        print(f"m365dash: permission denied: {exc}", file=sys.stderr)
        return 2
    except M365DashError as exc:
        print(f"m365dash: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("m365dash: interrupted", file=sys.stderr)
        return 130
